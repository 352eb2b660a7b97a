package e2e

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"
)

// BenchmarkWarmPool times what a developer waits for, with the real binary
// on the playground, each as p50/p95 seconds over several runs (the
// iteration count is the benchmark's own: run with -benchtime 1x):
//
//   - running: `create NAME --pool P` -> connected (context written, the
//     default), claiming a running spare (WARMPOOL_CREATES, default 20);
//   - sleeping: the same claiming a sleeping spare (it is woken);
//   - fresh: the same with no spare (a plain install);
//   - registered: `create --register` claiming a running spare ->
//     registered with Argo CD;
//   - wake: `wake NAME --wait` of a sleeping tenant.
//
// Between timed runs the pool is refilled and waited for (`pool set
// --wait`), and the tenant deleted, untimed.
func BenchmarkWarmPool(b *testing.B) {
	n := 20
	if v, err := strconv.Atoi(os.Getenv("WARMPOOL_CREATES")); err == nil && v > 0 {
		n = v
	}
	few := max(n/4, 3)
	w := newWorld(b)
	b.Cleanup(func() { w.run(context.Background(), "pool", "set", warmPool, "--size", "0") })
	timed := func(args ...string) time.Duration {
		start := time.Now()
		w.mustRun(args...)
		return time.Since(start)
	}
	fill := func(state string) {
		w.mustRun("pool", "set", warmPool, "--size", "1", "--state", state, "--wait", "5m")
	}
	create := func(b *testing.B, state string, runs int, extra ...string) {
		for range b.N {
			var ds []time.Duration
			for i := range runs {
				if state != "" {
					fill(state)
				}
				name := fmt.Sprintf("bench-wp-%d", i)
				ds = append(ds, timed(append([]string{"create", name, "--pool", warmPool}, extra...)...))
				t := w.list()[name]
				if (state != "") != (t.ClaimedAt != nil) {
					b.Fatalf("create %s with pool state %q: claimed at %v", name, state, t.ClaimedAt)
				}
				w.mustRun("delete", name, "--yes")
			}
			report(b, ds)
		}
	}
	b.Run("running", func(b *testing.B) { create(b, "running", n) })
	b.Run("sleeping", func(b *testing.B) { create(b, "sleeping", few) })
	b.Run("registered", func(b *testing.B) { create(b, "running", few, "--register", "--connect=false") })
	b.Run("fresh", func(b *testing.B) {
		w.mustRun("pool", "set", warmPool, "--size", "0")
		create(b, "", few)
	})
	b.Run("wake", func(b *testing.B) {
		w.mustRun("create", "bench-wp-wake", "--pool", warmPool, "--connect=false")
		defer w.mustRun("delete", "bench-wp-wake", "--yes")
		for range b.N {
			var ds []time.Duration
			for range few {
				w.mustRun("sleep", "bench-wp-wake")
				ds = append(ds, timed("wake", "bench-wp-wake", "--wait", "5m"))
			}
			report(b, ds)
		}
	})
}
