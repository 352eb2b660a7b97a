package portforward

import (
	"context"
	"fmt"
	"io"
	"net"
	"sync"
)

// Proxy listens on a stable local port and pipes every connection it
// accepts to the connection its dial function returns: the port a
// kubeconfig names stays the same while the forward behind it is replaced
// (a dropped stream, a tenant woken from sleep), and each connection is
// seen (activity).
type Proxy struct {
	// LocalPort is the bound port on 127.0.0.1.
	LocalPort int
	ln        net.Listener
	ctx       context.Context
	cancel    context.CancelFunc
	wg        sync.WaitGroup
}

// Listen starts a Proxy on 127.0.0.1:localPort (0 picks a free port). dial
// runs once per accepted connection and may block (holding the client)
// until a target is up; when it fails the client's connection is reset,
// which Kubernetes clients retry GET requests on.
func Listen(localPort int, dial func(ctx context.Context) (net.Conn, error)) (*Proxy, error) {
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", localPort))
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &Proxy{LocalPort: ln.Addr().(*net.TCPAddr).Port, ln: ln, ctx: ctx, cancel: cancel}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return // closed
			}
			p.wg.Add(1)
			go func() {
				defer p.wg.Done()
				p.serve(c, dial)
			}()
		}
	}()
	return p, nil
}

func (p *Proxy) serve(c net.Conn, dial func(ctx context.Context) (net.Conn, error)) {
	up, err := dial(p.ctx)
	if err != nil {
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0) // a reset, not an EOF mid-handshake
		}
		c.Close()
		return
	}
	stop := context.AfterFunc(p.ctx, func() { c.Close(); up.Close() })
	defer stop()
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		done <- struct{}{}
	}
	go pipe(up, c)
	go pipe(c, up)
	<-done
	c.Close()
	up.Close()
	<-done
}

// Close stops accepting, ends the connections in flight and waits for them.
func (p *Proxy) Close() {
	p.cancel()
	p.ln.Close()
	p.wg.Wait()
}
