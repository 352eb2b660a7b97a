package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
)

// TestUpgradeWaves: two team=a tenants and one team=b; a dry run changes
// nothing; the canary upgrade upgrades team=a only; a re-run is unchanged; an
// unavailable tenant is skipped while the others are upgraded.
func TestUpgradeWaves(t *testing.T) {
	w := newWorld(t)
	tenants := map[string]string{"up-a1": "team=a", "up-a2": "team=a", "up-b": "team=b"}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failed []string
	for name, label := range tenants {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			defer cancel()
			r := w.run(ctx, "create", name, "--pool", "project-x", "--label", label, "--connect=false", "--wait", "8m")
			if r.code != 0 {
				mu.Lock()
				failed = append(failed, name+": "+r.stderr)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(failed) > 0 {
		t.Fatalf("create failed: %v", failed)
	}
	chart := bumpedChart(t, w.env.VClusterChart)
	rev := map[string]int{}
	for n := range tenants {
		rev[n] = w.revision(n)
	}
	up := func(extra ...string) (upgradeOut, result) {
		t.Helper()
		args := append([]string{"upgrade", "--chart", chart, "--chart-version", "0.34.1-test", "--wait", "8m", "-o", "json"}, extra...)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
		defer cancel()
		r := w.run(ctx, args...)
		return stdoutJSON[upgradeOut](t, r), r
	}

	// Dry run: the plan, nothing changed. (From is the version create
	// installed: the host defaults' mirror version.)
	o, r := up("-l", "team=a", "--canary", "1", "--dry-run")
	if r.code != 0 || !o.DryRun || len(o.Waves) != 2 || o.Waves[0].Name != "canary" ||
		len(o.Waves[0].Tenants) != 1 || o.Waves[0].Tenants[0].Name != "up-a1" || o.Waves[1].Tenants[0].Name != "up-a2" ||
		o.Waves[0].Tenants[0].From == "" || o.Waves[0].Tenants[0].From == "0.34.1-test" || o.Waves[0].Tenants[0].To != "0.34.1-test" {
		t.Fatalf("dry run plan: exit %d %+v\nstderr: %s", r.code, o, r.stderr)
	}
	for n := range tenants {
		if got := w.revision(n); got != rev[n] {
			t.Errorf("dry run changed %s: revision %d -> %d", n, rev[n], got)
		}
	}

	// The real thing: team=a upgraded, team=b untouched.
	o, r = up("-l", "team=a", "--canary", "1")
	if r.code != 0 {
		t.Fatalf("upgrade: exit %d\n%s", r.code, r.stderr)
	}
	for _, wv := range o.Waves {
		for _, it := range wv.Tenants {
			if it.Outcome != tenant.OutcomeUpgraded {
				t.Errorf("%s: %s %s", it.Name, it.Outcome, it.Reason)
			}
		}
	}
	for _, n := range []string{"up-a1", "up-a2"} {
		if got := w.revision(n); got != rev[n]+1 {
			t.Errorf("%s revision %d, want %d", n, got, rev[n]+1)
		}
		out, err := w.kubectl("get", "pods", "-n", tenant.NamespaceFor(n), "-l", "app=vcluster", "-o", "jsonpath={.items[*].metadata.annotations.e2e-chart-version}")
		if err != nil || strings.TrimSpace(out) != "0.34.1-test" {
			t.Errorf("%s pod not restarted from the new chart: %q %v", n, out, err)
		}
	}
	if got := w.revision("up-b"); got != rev["up-b"] {
		t.Errorf("up-b (team=b) touched: revision %d -> %d", rev["up-b"], got)
	}
	if l := w.list(); l["up-a1"].Status != tenant.StatusReady || l["up-a2"].Status != tenant.StatusReady {
		t.Errorf("after upgrade: %+v", l)
	}

	// Re-run: unchanged.
	o, r = up("-l", "team=a", "--canary", "1")
	if r.code != 0 || len(o.Waves) != 0 || len(o.Unchanged) != 2 {
		t.Errorf("re-run: exit %d %+v\n%s", r.code, o, r.stderr)
	}

	// up-b unavailable (scaled to zero, like a sleeping tenant): skipped and
	// reported, the others (values change) upgraded.
	if out, err := w.kubectl("scale", "deployment", "-n", tenant.NamespaceFor("up-b"), "-l", "app=vcluster", "--replicas=0"); err != nil {
		t.Fatalf("scale: %v %s", err, out)
	}
	vals := filepath.Join(t.TempDir(), "v.yaml")
	os.WriteFile(vals, []byte("controlPlane:\n  statefulSet:\n    annotations:\n      e2e: \"2\"\n"), 0o644)
	o, r = up("--all", "--canary", "1", "-f", vals, "--probe-timeout", "10s")
	if r.code != 0 || len(o.Skipped) != 1 || o.Skipped[0].Name != "up-b" {
		t.Fatalf("with up-b down: exit %d %+v\n%s", r.code, o, r.stderr)
	}
	if got := w.revision("up-b"); got != rev["up-b"] {
		t.Errorf("unavailable up-b touched: revision %d -> %d", rev["up-b"], got)
	}
	for _, n := range []string{"up-a1", "up-a2"} {
		if got := w.revision(n); got != rev[n]+2 {
			t.Errorf("%s revision %d, want %d", n, got, rev[n]+2)
		}
		out, _ := w.kubectl("get", "deployment", "-n", tenant.NamespaceFor(n), "-l", "app=vcluster", "-o", "jsonpath={.items[0].metadata.annotations.e2e}")
		if out != "2" {
			t.Errorf("%s: values not applied: %q", n, out)
		}
	}
}

// TestUpgradeResumesAcrossAPIServerRestart restarts the apiserver while an
// upgrade runs: whatever that run reports, running the same upgrade again
// finishes the job (a release left pending is rolled back and redone), and a
// third run finds the tenant unchanged at the target.
func TestUpgradeResumesAcrossAPIServerRestart(t *testing.T) {
	w := newWorld(t)
	const name = "up-restart"
	w.deleteAtEnd(name)
	w.mustRun("create", name, "--pool", "project-x", "--connect=false", "--wait", "8m")
	chart := bumpedChart(t, w.env.VClusterChart)
	rev := w.revision(name)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	args := []string{"upgrade", name, "--chart", chart, "--chart-version", "0.34.1-test", "--wait", "8m", "-o", "json"}
	done := make(chan result, 1)
	go func() { done <- w.run(ctx, args...) }()

	// Restart once Helm has written the new revision (the upgrade is under way).
	for w.revision(name) == rev {
		select {
		case r := <-done:
			t.Fatalf("upgrade ended before writing a revision: exit %d\n%s", r.code, r.stderr)
		case <-time.After(50 * time.Millisecond):
		}
	}
	if err := w.env.RestartAPIServer(ctx, 2*time.Second); err != nil {
		t.Fatalf("restart apiserver: %v", err)
	}
	r := <-done
	t.Logf("upgrade across the restart: exit %d\n%s", r.code, r.stderr)

	r = w.run(ctx, args...)
	if r.code != 0 {
		t.Fatalf("re-run: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	stdoutJSON[upgradeOut](t, r)
	r = w.run(ctx, args...)
	if r.code != 0 {
		t.Fatalf("third run: exit %d\nstderr: %s", r.code, r.stderr)
	}
	if o := stdoutJSON[upgradeOut](t, r); len(o.Unchanged) != 1 || o.Unchanged[0].To != "0.34.1-test" {
		t.Fatalf("third run: %+v\nstderr: %s", o, r.stderr)
	}
	out, err := w.kubectl("get", "pods", "-n", tenant.NamespaceFor(name), "-l", "app=vcluster", "-o", "jsonpath={.items[*].metadata.annotations.e2e-chart-version}")
	if err != nil || strings.TrimSpace(out) != "0.34.1-test" {
		t.Errorf("pod not from the new chart: %q %v", out, err)
	}
	if l := w.list(); l[name].Status != tenant.StatusReady {
		t.Errorf("after the resumed upgrade: %+v", l[name])
	}
}
