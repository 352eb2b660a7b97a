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
// which Kubernetes clients retry GET requests on. dead (may be nil) runs
// when a connection got nothing back for what the client sent: the target
// behind dial's connection is gone (a port-forward to a pod that stopped
// can stay open while every connection through it fails).
func Listen(localPort int, dial func(ctx context.Context) (net.Conn, error), dead func()) (*Proxy, error) {
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
				p.serve(c, dial, dead)
			}()
		}
	}()
	return p, nil
}

func (p *Proxy) serve(c net.Conn, dial func(ctx context.Context) (net.Conn, error), dead func()) {
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
	var sent, got int64
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn, n *int64) {
		*n, _ = io.Copy(dst, src)
		done <- struct{}{}
	}
	go pipe(up, c, &sent)
	go pipe(c, up, &got)
	<-done
	c.Close()
	up.Close()
	<-done
	if sent > 0 && got == 0 && dead != nil && p.ctx.Err() == nil {
		dead()
	}
}

// Close stops accepting, ends the connections in flight and waits for them.
func (p *Proxy) Close() {
	p.cancel()
	p.ln.Close()
	p.wg.Wait()
}
