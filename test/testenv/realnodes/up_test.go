package realnodes

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/kubectl-tenant/kubectl-tenant/test/testenv"
)

// upRealNodes starts a playground with real nodes in a new directory named
// by prefix, or fails the test; down stops it and removes the directory
// (callers defer it, so it runs before any t.Cleanup).
func upRealNodes(ctx context.Context, t *testing.T, prefix string) (env *testenv.Env, down func()) {
	t.Helper()
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	env, err = testenv.Up(ctx, testenv.Options{Dir: dir, RealNodes: true, Logf: func(f string, a ...any) {
		fmt.Fprintf(os.Stderr, "testenv: "+f+"\n", a...)
	}})
	if err != nil {
		_ = testenv.Down(dir)
		t.Fatalf("playground with real nodes: %v", err)
	}
	t.Logf("playground with real nodes up in %s", time.Since(start).Round(100*time.Millisecond))
	return env, func() {
		if err := testenv.Down(dir); err != nil {
			t.Errorf("playground down: %v", err)
		}
		_ = os.RemoveAll(dir)
	}
}
