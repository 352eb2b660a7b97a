// Package portforward opens in-process port-forwards to pods through the
// Kubernetes API (WebSocket first, SPDY as fallback, as kubectl does), so no
// kubectl binary or second terminal is needed.
package portforward

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"

	"k8s.io/apimachinery/pkg/util/httpstream"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/transport/spdy"
)

// Forward is a running port-forward.
type Forward struct {
	// LocalPort is the bound port on 127.0.0.1.
	LocalPort int
	stop      chan struct{}
	done      chan error
	// ended closes when the forward has ended, however.
	ended chan struct{}
}

// Done yields once when the forward ends (nil after Close).
func (f *Forward) Done() <-chan error { return f.done }

// Ended says the forward has ended, however.
func (f *Forward) Ended() bool {
	select {
	case <-f.ended:
		return true
	default:
		return false
	}
}

// Close stops the forward and releases the local port.
func (f *Forward) Close() {
	select {
	case <-f.stop:
	default:
		close(f.stop)
	}
}

// Start forwards 127.0.0.1:localPort (0 picks a free port) to remotePort of
// pod, and returns once the local listener is ready.
func Start(ctx context.Context, cfg *rest.Config, namespace, pod string, localPort, remotePort int) (*Forward, error) {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	url := cs.CoreV1().RESTClient().Post().Resource("pods").Namespace(namespace).Name(pod).SubResource("portforward").URL()
	rt, upgrader, err := spdy.RoundTripperFor(cfg)
	if err != nil {
		return nil, err
	}
	var dialer httpstream.Dialer = spdy.NewDialer(upgrader, &http.Client{Transport: rt}, http.MethodPost, url)
	if ws, err := portforward.NewSPDYOverWebsocketDialer(url, cfg); err == nil {
		dialer = portforward.NewFallbackDialer(ws, dialer, func(err error) bool {
			return httpstream.IsUpgradeFailure(err) || httpstream.IsHTTPSProxyError(err)
		})
	}
	return start(ctx, dialer, namespace+"/"+pod, localPort, remotePort)
}

func start(ctx context.Context, dialer httpstream.Dialer, target string, localPort, remotePort int) (*Forward, error) {
	f := &Forward{stop: make(chan struct{}), done: make(chan error, 1), ended: make(chan struct{})}
	ready := make(chan struct{})
	errOut := &lastLine{}
	pf, err := portforward.NewOnAddresses(dialer, []string{"127.0.0.1"},
		[]string{fmt.Sprintf("%d:%d", localPort, remotePort)}, f.stop, ready, io.Discard, errOut)
	if err != nil {
		return nil, err
	}
	go func() {
		err := pf.ForwardPorts()
		close(f.ended)
		f.done <- err
	}()
	select {
	case <-ready:
	case err := <-f.done:
		if err == nil {
			err = fmt.Errorf("port-forward to %s ended before it was ready", target)
		}
		return nil, fmt.Errorf("port-forward to %s: %w", target, err)
	case <-ctx.Done():
		f.Close()
		return nil, ctx.Err()
	}
	ports, err := pf.GetPorts()
	if err != nil || len(ports) == 0 {
		f.Close()
		return nil, fmt.Errorf("port-forward to %s: no local port: %v", target, err)
	}
	f.LocalPort = int(ports[0].Local)
	// Close on ctx's end; give up watching once the forward ended by
	// itself (a dropped stream), or each reconnect would leave one behind.
	go func() {
		select {
		case <-ctx.Done():
			f.Close()
		case <-f.stop:
		case <-f.ended:
		}
	}()
	return f, nil
}

// lastLine keeps the last error line client-go's forwarder writes (it logs
// per-connection errors instead of returning them).
type lastLine struct{ s string }

func (l *lastLine) Write(p []byte) (int, error) {
	if s := strings.TrimSpace(string(p)); s != "" {
		l.s = s
	}
	return len(p), nil
}
