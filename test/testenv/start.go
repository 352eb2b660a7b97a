package testenv

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// shared is the one playground of this test binary.
var shared struct {
	once   sync.Once
	mu     sync.Mutex                         // held while Up runs, so teardown waits for it
	cancel atomic.Pointer[context.CancelFunc] // cancels a running Up (interrupts)
	env    *Env
	err    error
	dir    string
	keep   bool // TESTENV_DIR_STATE: the caller owns it; it outlives the tests
}

// upTimeout bounds a whole Up, including a cold build of every binary.
const upTimeout = 40 * time.Minute

// suiteOptions are the options of the playground Start shares: kwok nodes,
// and what only tests use: Argo CD ArgoCDV2Version beside ArgoCDVersion (the
// e2e suite runs its Argo CD tests against both) and vCluster
// VClusterOldVersion (the e2e suite's older-chart test).
func suiteOptions(dir string) Options {
	return Options{Dir: dir, ArgoCDV2: true, VClusterOld: true}
}

// Start returns the playground shared by every test of this binary, starting
// it on first use. Its state lives in a temporary directory removed by Main,
// or in $TESTENV_DIR_STATE, which is reused across runs and left running
// (stop it with `playground down --dir $TESTENV_DIR_STATE`). A part that
// cannot start fails the test: the harness never skips.
func Start(t testing.TB) *Env {
	t.Helper()
	shared.once.Do(func() {
		if d := os.Getenv("TESTENV_DIR_STATE"); d != "" {
			shared.dir, shared.keep = d, true
		} else if shared.dir, shared.err = os.MkdirTemp("", "testenv-"); shared.err != nil {
			return
		}
		shared.mu.Lock()
		defer shared.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), upTimeout)
		defer cancel()
		shared.cancel.Store(&cancel)
		start := time.Now()
		opts := suiteOptions(shared.dir)
		opts.Logf = func(f string, a ...any) { fmt.Fprintf(os.Stderr, "testenv: "+f+"\n", a...) }
		shared.env, shared.err = Up(ctx, opts)
		if shared.err == nil {
			fmt.Fprintf(os.Stderr, "testenv: playground ready in %s (%s)\n", time.Since(start).Round(100*time.Millisecond), shared.dir)
		}
	})
	if shared.err != nil {
		t.Fatalf("testenv: playground not available: %v", shared.err)
	}
	return shared.env
}

// Main runs the tests of m and then stops the shared playground (unless it
// lives in $TESTENV_DIR_STATE). Use it as TestMain:
//
//	func TestMain(m *testing.M) { testenv.Main(m) }
//
// It returns instead of exiting; the testing package then exits with the
// tests' result. An interrupt (SIGINT/SIGTERM) also stops the playground
// before the binary dies.
func Main(m *testing.M) {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case sig := <-sigs:
			teardown()
			// Die of the signal as if it had not been caught.
			signal.Reset(sig)
			_ = syscall.Kill(os.Getpid(), sig.(syscall.Signal))
		case <-done:
		}
	}()
	m.Run()
	close(done)
	signal.Stop(sigs)
	teardown()
}

var teardownOnce sync.Once

func teardown() {
	teardownOnce.Do(func() {
		if c := shared.cancel.Load(); c != nil {
			(*c)() // an Up still running stops what it started and returns
		}
		shared.mu.Lock()
		defer shared.mu.Unlock()
		if shared.dir == "" || shared.keep {
			return
		}
		if err := Down(shared.dir); err != nil {
			fmt.Fprintf(os.Stderr, "testenv: stopping the playground: %v\n", err)
		}
	})
}
