package e2e

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// BenchmarkConnectFirstRequest is what a user waits for: `kubectl-tenant
// connect NAME --background` (the CLI: process start, the detached
// forwarder's connect, the context written) plus the first `kubectl get ns`
// through the new context (kubectl's start, its credential, the request
// through the forwarder to the real vCluster). Disconnect runs outside the
// timer. The same file runs unchanged on main before issue #25 (the
// tenant's admin key in the kubeconfig) and after (the exec credential
// plugin; connect prefills its cache), for the before/after of
// docs/performance.md.
func BenchmarkConnectFirstRequest(b *testing.B) {
	const name = "bench-first"
	w := newWorld(b)
	if r := w.run(context.Background(), "create", name, "--pool", "project-x", "--connect=false"); r.code != 0 {
		b.Fatalf("create: %s", r.stderr)
	}
	b.Cleanup(func() { w.run(context.Background(), "delete", name, "--yes") })
	var connect, first time.Duration
	b.ResetTimer()
	for b.Loop() {
		t0 := time.Now()
		if r := w.run(context.Background(), "connect", name, "--background"); r.code != 0 {
			b.Fatalf("connect: %s", r.stderr)
		}
		t1 := time.Now()
		cmd := exec.Command("kubectl", "--context", name, "get", "ns", "default", "-o", "name")
		cmd.Env = append(os.Environ(), "KUBECONFIG="+w.kubeconfig)
		out, err := cmd.CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "namespace/default" {
			b.Fatalf("kubectl get ns: %v %s", err, out)
		}
		connect += t1.Sub(t0)
		first += time.Since(t1)
		b.StopTimer()
		if r := w.run(context.Background(), "disconnect", name); r.code != 0 {
			b.Fatalf("disconnect: %s", r.stderr)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(connect.Milliseconds())/float64(b.N), "connect-ms/op")
	b.ReportMetric(float64(first.Milliseconds())/float64(b.N), "first-get-ms/op")
}
