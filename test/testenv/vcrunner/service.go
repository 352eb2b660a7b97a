package vcrunner

import (
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
)

// Simulated service networking. In a real cluster CoreDNS resolves
// <svc>.<ns>[.svc[.cluster.local]] to the Service's ClusterIP and kube-proxy
// sends ClusterIP:443 to the pod's 8443. The playground's argocd-server is a
// local process, so the runner plays both parts for the vCluster Service
// (named after the release) of each tenant it runs:
//
//   - kube-proxy: a TCP proxy on the per-tenant loopback address
//     127.213.N.2:443 (Linux routes all of 127/8 to lo) that splices each
//     connection to the vCluster at 10.213.N.2:8443 in the tenant's network
//     namespace. TLS passes through untouched, so SNI and certificate checks
//     are real.
//   - CoreDNS: <env dir>/hosts, mapping 127.213.N.2 to the Service's names.
//     The playground bind-mounts it over /etc/hosts in argocd-server's
//     private mount namespace, which is why it is only ever rewritten in
//     place (a rename would not be seen through the bind mount).

// HostsFile is the name, in the playground directory, of the hosts file the
// runner keeps (see above).
const HostsFile = "hosts"

// HostsHeader is the first line of HostsFile.
const HostsHeader = "127.0.0.1 localhost\n"

// serviceIP is tenant slot n's simulated ClusterIP.
func serviceIP(n int) string { return fmt.Sprintf("127.213.%d.2", n) }

// serviceProxy forwards TCP connections from a listen address to a target.
type serviceProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
}

func startServiceProxy(listen, target string) (*serviceProxy, error) {
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, fmt.Errorf("service proxy: %w", err)
	}
	p := &serviceProxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	go p.serve()
	return p, nil
}

func (p *serviceProxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		_ = c.Close()
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *serviceProxy) untrack(c net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
	_ = c.Close()
}

func (p *serviceProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return // closed
		}
		if !p.track(c) {
			return
		}
		go func() {
			defer p.untrack(c)
			b, err := net.Dial("tcp", p.target)
			if err != nil {
				return // like a Service without a ready endpoint: connection reset
			}
			if !p.track(b) {
				return
			}
			defer p.untrack(b)
			done := make(chan struct{}, 2)
			splice := func(dst, src net.Conn) {
				_, _ = io.Copy(dst, src)
				if tc, ok := dst.(*net.TCPConn); ok {
					_ = tc.CloseWrite()
				}
				done <- struct{}{}
			}
			go splice(b, c)
			go splice(c, b)
			<-done
			<-done
		}()
	}
}

// close stops listening and cuts the open connections.
func (p *serviceProxy) close() {
	_ = p.ln.Close()
	p.mu.Lock()
	p.closed = true
	for c := range p.conns {
		_ = c.Close()
	}
	p.mu.Unlock()
}

// writeHosts rewrites <env dir>/hosts in place for the running tenants.
func (r *runner) writeHosts() error {
	r.hostsMu.Lock()
	defer r.hostsMu.Unlock()
	r.mu.Lock()
	var lines []string
	for _, t := range r.tenants {
		if t.svc == nil {
			continue
		}
		svc := t.release + "." + t.ns
		lines = append(lines, fmt.Sprintf("%s %s %s.svc %s.svc.cluster.local\n", serviceIP(t.net.Index), svc, svc, svc))
	}
	r.mu.Unlock()
	sort.Strings(lines)
	f, err := os.OpenFile(filepath.Join(r.env.Dir, HostsFile), os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	_, err = f.WriteString(HostsHeader + strings.Join(lines, ""))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
