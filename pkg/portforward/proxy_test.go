package portforward

import (
	"context"
	"errors"
	"io"
	"net"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// The proxy holds a client while dial waits, pipes both ways once it
// answers, and resets the client when it fails.
func TestProxyHoldsThenPipesOrResets(t *testing.T) {
	echo, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer echo.Close()
	go func() {
		for {
			c, err := echo.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = io.Copy(c, c); c.Close() }()
		}
	}()
	var fail atomic.Bool
	p, err := Listen(0, func(ctx context.Context) (net.Conn, error) {
		time.Sleep(200 * time.Millisecond) // a wake, in small
		if fail.Load() {
			return nil, errors.New("not yet")
		}
		return net.Dial("tcp", echo.Addr().String())
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(p.LocalPort))

	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4)
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "ping" {
		t.Fatalf("echo through the proxy: %q, %v", buf, err)
	}
	c.Close()

	fail.Store(true)
	c, err = net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(buf); !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("a failed dial: %v, want a connection reset", err)
	}
}
