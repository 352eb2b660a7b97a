package portforward

import (
	"context"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/httpstream"
)

// droppingConn is a stream connection the test can drop, as a pod restart or
// a network blip does.
type droppingConn struct {
	once   sync.Once
	closed chan bool
}

func (c *droppingConn) CreateStream(http.Header) (httpstream.Stream, error) { return nil, nil }
func (c *droppingConn) Close() error                                        { c.drop(); return nil }
func (c *droppingConn) CloseChan() <-chan bool                              { return c.closed }
func (c *droppingConn) SetIdleTimeout(time.Duration)                        {}
func (c *droppingConn) RemoveStreams(...httpstream.Stream)                  {}
func (c *droppingConn) drop()                                               { c.once.Do(func() { close(c.closed) }) }

type dialer struct{ conn *droppingConn }

func (d dialer) Dial(...string) (httpstream.Connection, string, error) {
	return d.conn, "portforward.k8s.io", nil
}

// watchers counts goroutines of this package's forwards still running.
func watchers() int {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	return strings.Count(string(buf), "portforward.start.func")
}

// TestDroppedForwardLeavesNoGoroutine: a forward that ends by itself (the
// stream drops) while its ctx lives on must not leave its watcher behind;
// Hold reconnects with the same long-lived ctx, so each drop leaked one (L8).
func TestDroppedForwardLeavesNoGoroutine(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	before := watchers()
	for range 5 {
		conn := &droppingConn{closed: make(chan bool)}
		f, err := start(ctx, dialer{conn}, "ns/pod", 0, 8443)
		if err != nil {
			t.Fatal(err)
		}
		conn.drop()
		select {
		case err := <-f.Done():
			if err == nil {
				t.Fatal("a dropped forward ended without an error")
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the forward did not end after its stream dropped")
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for watchers() > before && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := watchers() - before; n > 0 {
		t.Fatalf("%d goroutines of ended forwards still run", n)
	}
}
