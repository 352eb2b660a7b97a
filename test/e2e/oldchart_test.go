package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
	"github.com/kubectl-tenant/kubectl-tenant/test/testenv"
)

// TestOlderChartLifecycle: a tenant created with the oldest supported
// vcluster chart (testenv.VClusterOldChartVersion, run by that version's own
// `vcluster`) is listed, connected, registered, slept and woken, then
// upgraded in waves to the current chart with its data kept, and deleted.
// A chart older than that is refused with one line before anything is made.
func TestOlderChartLifecycle(t *testing.T) {
	w := newWorld(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()

	const bad = "e2e-old-bad"
	r := w.run(ctx, "create", bad, "--chart-version", "0.23.0", "--connect=false")
	if r.code != 2 || !strings.Contains(r.stderr, "vcluster chart 0.23.0 is not supported") ||
		strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
		t.Errorf("create with chart 0.23.0: exit %d, stderr %q; want exit 2 and one line saying it is not supported", r.code, r.stderr)
	}
	if w.namespaceExists(bad) {
		t.Errorf("the refused create left namespace %s", tenant.NamespaceFor(bad))
	}

	const name = "e2e-old"
	old := testenv.VClusterOldChartVersion
	w.deleteAtEnd(name)
	w.mustRun("create", name, "--pool", "project-x", "--chart-version", old, "--label", "gen=old",
		"-f", persistentValues(t), "--connect=false", "--wait", "8m")
	got := w.list()[name]
	if got.Status != tenant.StatusReady {
		t.Fatalf("after create with chart %s, list says %+v", old, got)
	}
	image, err := w.kubectl("get", "pods", "-n", tenant.NamespaceFor(name), "-l", "app=vcluster",
		"-o", "jsonpath={.items[*].spec.containers[?(@.name=='syncer')].image}")
	if err != nil || !strings.HasSuffix(strings.TrimSpace(image), ":"+old) {
		t.Fatalf("control plane image %q (%v), want the %s chart's", image, err, old)
	}
	if r := w.mustRun("connect", name, "--", "kubectl", "get", "ns", "default", "-o", "name"); strings.TrimSpace(r.stdout) != "namespace/default" {
		t.Errorf("connect -- kubectl get ns default: %q", r.stdout)
	}
	w.mustRun("connect", name, "--", "kubectl", "create", "configmap", "kept", "--from-literal=k=v")

	r = w.mustRun("register", name, "--yes")
	if !strings.Contains(r.stdout+r.stderr, "Successful") {
		t.Errorf("register: %s %s", r.stdout, r.stderr)
	}
	if e := w.argo().entriesOf(name); len(e) != 1 {
		t.Errorf("Argo CD has %d cluster entries named %s, want 1", len(e), name)
	}

	w.mustRun("sleep", name)
	if s := w.list()[name].Status; s != tenant.StatusSleeping {
		t.Errorf("after sleep list says %s", s)
	}
	w.mustRun("wake", name, "--wait", "5m")
	if s := w.list()[name].Status; s != tenant.StatusReady {
		t.Errorf("after wake list says %s", s)
	}

	// Upgrade in waves (canary, then the rest) to the current chart.
	r = w.run(ctx, "upgrade", "-l", "gen=old", "--chart-version", testenv.VClusterChartVersion, "--canary", "1", "--wait", "8m", "-o", "json")
	if r.code != 0 {
		t.Fatalf("upgrade: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	o := stdoutJSON[upgradeOut](t, r)
	if len(o.Waves) == 0 || len(o.Waves[0].Tenants) != 1 || o.Waves[0].Tenants[0].Name != name ||
		o.Waves[0].Tenants[0].From != old || o.Waves[0].Tenants[0].To != testenv.VClusterChartVersion ||
		o.Waves[0].Tenants[0].Outcome != tenant.OutcomeUpgraded {
		t.Fatalf("upgrade plan/outcome: %+v", o)
	}
	got = w.list()[name]
	if got.Status != tenant.StatusReady {
		t.Fatalf("after upgrade list says %+v", got)
	}
	image, _ = w.kubectl("get", "pods", "-n", tenant.NamespaceFor(name), "-l", "app=vcluster",
		"-o", "jsonpath={.items[*].spec.containers[?(@.name=='syncer')].image}")
	if !strings.HasSuffix(strings.TrimSpace(image), ":"+testenv.VClusterChartVersion) {
		t.Errorf("after upgrade the control plane runs %q", image)
	}
	if r := w.mustRun("connect", name, "--", "kubectl", "get", "configmap", "kept", "-o", "jsonpath={.data.k}"); r.stdout != "v" {
		t.Errorf("ConfigMap made on chart %s, after sleep/wake and the upgrade: %q, want \"v\"", old, r.stdout)
	}

	w.mustRun("delete", name, "--yes")
	w.assertGone(name, nil)
	if e := w.argo().entriesOf(name); len(e) != 0 {
		t.Errorf("Argo CD still has %d entries named %s after delete", len(e), name)
	}
}
