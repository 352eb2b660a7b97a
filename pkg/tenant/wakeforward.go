package tenant

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/portforward"
)

// holdFor bounds how long one client connection is held while the forward
// behind the proxy comes back (a reconnect, a wake): under the TLS
// handshake timeout of Kubernetes clients (10s). The client then sees a
// reset, which they retry GET requests on (client-go: ten times, a second
// apart), and the next connection is held again.
const holdFor = 7 * time.Second

// wakeWait bounds the wait for a tenant a request wakes.
const wakeWait = 3 * time.Minute

func (c *Connection) currentForward() *portforward.Forward {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.forward
}

// setForward makes fw the forward behind the proxy and lets the held
// connections through.
func (c *Connection) setForward(fw *portforward.Forward, pod string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.forward, c.pod = fw, pod
	close(c.up)
	c.up = make(chan struct{})
}

// clearForward forgets fw, ended, unless another forward replaced it.
func (c *Connection) clearForward(fw *portforward.Forward) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.forward == fw {
		c.forward = nil
	}
}

// dial is the proxy's: every client connection is use (recorded at most
// once a minute), and goes to the current forward; while there is none
// (dropped, or the tenant sleeps) it asks Hold for one and waits, up to
// holdFor.
func (c *Connection) dial(ctx context.Context) (net.Conn, error) {
	c.recordUse()
	deadline := time.NewTimer(holdFor)
	defer deadline.Stop()
	for {
		c.mu.Lock()
		fw, up := c.forward, c.up
		c.mu.Unlock()
		if fw != nil && !fw.Ended() {
			conn, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(fw.LocalPort)), 2*time.Second)
			if err == nil {
				return conn, nil
			}
		}
		select {
		case c.demand <- struct{}{}:
		default:
		}
		select {
		case <-up:
		case <-deadline.C:
			return nil, errors.New("the tenant is not answering yet")
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// deadForward ends a forward whose connections get nothing back (its pod
// stopped, the stream did not end): Hold then reconnects, or, when the
// tenant sleeps, waits for the next request to wake it.
func (c *Connection) deadForward() {
	if fw := c.currentForward(); fw != nil {
		fw.Close()
	}
}

// recordUse patches last-connected-at in the background, at most once a
// minute per connection (best effort, as recordConnect).
func (c *Connection) recordUse() {
	now := c.e.now()
	last := c.lastUse.Load()
	if now.Sub(time.Unix(last, 0)) < connectRecordEvery || !c.lastUse.CompareAndSwap(last, now.Unix()) {
		return
	}
	patch := annotationPatch(AnnotationLastConnectedAt, now.UTC().Format(time.RFC3339))
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, _ = c.e.Kube.CoreV1().Namespaces().Patch(ctx, c.ns, types.MergePatchType, patch, metav1.PatchOptions{})
	}()
}

// Hold keeps the connection until ctx ends, re-establishing the forward
// behind the proxy when the stream drops (pod restart, network blip), so
// the kubeconfig stays valid. When the tenant sleeps (gc put it to sleep
// when idle) Hold waits for a request, wakes the tenant and forwards again
// while the request is held: the client's call simply succeeds, later.
func (c *Connection) Hold(ctx context.Context) error {
	if c.proxy == nil {
		<-ctx.Done()
		return nil
	}
	backoff := 200 * time.Millisecond
	for {
		if fw := c.currentForward(); fw != nil {
			select {
			case <-ctx.Done():
				fw.Close()
				return nil
			case err := <-fw.Done():
				fw.Close()         // ended by itself: release what it holds
				c.clearForward(fw) // its Done yields once: never wait on it again
				if ctx.Err() != nil {
					return nil
				}
				c.e.Report.Emit(StepConnect, PhaseWarning, fmt.Sprintf("forward to %s dropped (%v); reconnecting", c.pod, err), nil)
			}
		}
		err := c.forwardOnce(ctx)
		if err == nil {
			c.e.Report.Emit(StepConnect, PhaseDone, fmt.Sprintf("reconnected to %s behind 127.0.0.1:%d", c.pod, c.proxy.LocalPort), nil)
			backoff = 200 * time.Millisecond
			continue
		}
		if ctx.Err() != nil {
			return nil
		}
		var se *SleepingError
		if _, nsErr := c.e.awakeNamespace(ctx, c.opts.Name); errors.As(err, &se) || errors.As(nsErr, &se) {
			if err := c.wakeOnRequest(ctx); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				c.e.Report.Emit(StepConnect, PhaseWarning, "wake failed: "+FirstLine(err.Error()), nil)
			} else {
				continue
			}
		} else {
			c.e.Report.Emit(StepConnect, PhaseWaiting, "reconnect failed: "+FirstLine(err.Error()), nil)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// wakeOnRequest waits for a request through the proxy, then wakes the
// tenant and waits for its API.
func (c *Connection) wakeOnRequest(ctx context.Context) error {
	c.e.Report.Emit(StepConnect, PhaseWaiting, fmt.Sprintf("tenant %s is asleep; the next request wakes it", c.opts.Name), nil)
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-c.demand:
	}
	c.e.Report.Emit(StepConnect, PhaseWaiting, fmt.Sprintf("a request for sleeping tenant %s: waking it", c.opts.Name), nil)
	_, err := c.e.Wake(ctx, WakeOptions{Name: c.opts.Name, Wait: wakeWait})
	return err
}
