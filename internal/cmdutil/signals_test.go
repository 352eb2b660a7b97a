//go:build unix

package cmdutil

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// syncBuffer is written by the signal goroutine and read by the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// The first signal cancels the context; a second one (here SIGTERM after
// SIGHUP) exits 3 at once with the verb's hint (audit H3: repeated Ctrl-C
// and SIGTERM were swallowed; L7: SIGHUP was not handled at all).
func TestInterruptsSecondSignalExits(t *testing.T) {
	var in Interrupts
	in.SetHint("run `kubectl tenant create demo` again to resume", true)
	var errOut syncBuffer
	exited := make(chan int, 1)
	ctx, stop := in.Notify(context.Background(), &errOut, func(code int) { exited <- code })
	defer stop()

	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	<-ctx.Done() // a lost signal fails the test by its timeout
	if !errors.Is(context.Cause(ctx), context.Canceled) || ExitCodeFor(ctx, context.Cause(ctx)) != ExitCancelled {
		t.Fatalf("cause %v, want a cancellation (exit 3)", context.Cause(ctx))
	}
	select {
	case code := <-exited:
		t.Fatalf("exit(%d) after the first signal", code)
	default:
	}

	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := <-exited; code != ExitCancelled {
		t.Fatalf("second signal: exit %d, want 3", code)
	}
	if s := errOut.String(); !strings.HasPrefix(s, "error: ") || !strings.Contains(s, "stopped at once") || !strings.Contains(s, "kubectl tenant create demo") || strings.Count(s, "\n") != 1 {
		t.Fatalf("second-signal line: %q", s)
	}
}

func TestExitCodeFor(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, c := range []struct {
		ctx  context.Context
		err  error
		want int
	}{
		{context.Background(), nil, ExitOK},
		{cancelled, nil, ExitOK},
		{cancelled, errors.New("Get https://x/version: EOF"), ExitCancelled},
		{context.Background(), UsageError{errors.New("bad")}, ExitUsage},
		{context.Background(), &CommandExitError{Command: "false", Code: 7}, 7},
		{context.Background(), errors.New("boom"), ExitError},
	} {
		if got := ExitCodeFor(c.ctx, c.err); got != c.want {
			t.Errorf("ExitCodeFor(%v, %v) = %d, want %d", c.ctx.Err(), c.err, got, c.want)
		}
	}
}

// Every API request has a deadline by default (--request-timeout 30s);
// --request-timeout 0 still turns it off, as in kubectl.
func TestDefaultRequestTimeout(t *testing.T) {
	f := &Factory{ConfigFlags: NewConfigFlags()}
	kc := t.TempDir() + "/kubeconfig"
	if err := os.WriteFile(kc, []byte("apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]\nusers: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f.ConfigFlags.KubeConfig = &kc
	cfg, err := f.ConfigFlags.ToRESTConfig()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Timeout != DefaultRequestTimeout {
		t.Fatalf("rest.Config Timeout %v, want %v", cfg.Timeout, DefaultRequestTimeout)
	}
}

// The first signal's error line says how to finish only for a verb that
// leaves its work behind when stopped.
func TestInterruptedLine(t *testing.T) {
	var in Interrupts
	if got := in.Interrupted(); got != "interrupted" {
		t.Errorf("no hint: %q", got)
	}
	in.SetHint("run `kubectl tenant delete demo --yes` again to finish", true)
	if got, want := in.Interrupted(), "interrupted; run `kubectl tenant delete demo --yes` again to finish"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	in.SetHint("the context may still point at demo", false) // connect restores it itself
	if got := in.Interrupted(); got != "interrupted" {
		t.Errorf("a verb that cleans up: %q", got)
	}
}

// The second signal runs Abort before exit (os.Exit skips deferred
// cleanups: audit N14) and the line names what it removed.
func TestInterruptsSecondSignalAbortsFirst(t *testing.T) {
	var in Interrupts
	var order []string
	var mu sync.Mutex
	note := func(s string) { mu.Lock(); order = append(order, s); mu.Unlock() }
	in.Abort = func() []string { note("abort"); return []string{"/tmp/kubectl-tenant-1", "/home/u/.kube/config.lock"} }
	var errOut syncBuffer
	exited := make(chan int, 1)
	ctx, stop := in.Notify(context.Background(), &errOut, func(code int) { note("exit"); exited <- code })
	defer stop()
	if err := syscall.Kill(os.Getpid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	<-ctx.Done()
	mu.Lock()
	if len(order) != 0 {
		t.Fatalf("the first signal ran %v", order)
	}
	mu.Unlock()
	if err := syscall.Kill(os.Getpid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	<-exited
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(order, ",") != "abort,exit" {
		t.Errorf("order %v, want abort before exit", order)
	}
	if s := errOut.String(); !strings.Contains(s, "stopped at once (removed /tmp/kubectl-tenant-1, /home/u/.kube/config.lock);") || strings.Count(s, "\n") != 1 {
		t.Errorf("second-signal line: %q", s)
	}
}
