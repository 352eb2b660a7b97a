package e2e

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
	"github.com/kubectl-tenant/kubectl-tenant/test/testenv"
)

// TestCreateAsTypedWithHostDefaults: the playground wrote its host
// defaults, so `create NAME` works with no flag, no environment variable and
// no values file; config view names the ConfigMap. A Deployment made inside
// the tenant is scheduled on the pool's node with its toleration, the tenant
// sees only the pool's nodes, and list shows the tenant's Kubernetes version.
func TestCreateAsTypedWithHostDefaults(t *testing.T) {
	w := newWorld(t)
	r := w.mustRun("config", "view", "-o", "json")
	view := stdoutJSON[struct {
		HostFound bool `json:"hostFound"`
		Settings  []struct{ Key, Value, Source, From string }
	}](t, r)
	sources := map[string]string{}
	for _, s := range view.Settings {
		sources[s.Key] = s.Source + " " + s.From
	}
	const cm = "host ConfigMap " + testenv.HostDefaultsNamespace + "/" + testenv.HostDefaultsName
	for _, k := range []string{"chartRepo", "chartVersion", "values", "pool"} {
		if sources[k] != cm {
			t.Errorf("config view: %s comes from %q, want %q\n%s", k, sources[k], cm, r.stdout)
		}
	}
	if !view.HostFound {
		t.Errorf("config view: hostFound false")
	}

	const name = "e2e-typed"
	w.deleteAtEnd(name)
	w.mustRun("create", name)
	got := w.list()[name]
	pool := testenv.TenantPools[0]
	if got.Status != tenant.StatusReady || got.Pool != pool || !strings.HasPrefix(got.K8sVersion, "v1.") {
		t.Fatalf("after a plain create, list says %+v", got)
	}
	if out, err := w.kubectl("--context", name, "create", "deployment", "web", "--image=registry.invalid/web:1", "--replicas=2"); err != nil {
		t.Fatalf("kubectl create deployment in the tenant: %v\n%s", err, out)
	}
	pods := w.assertPinned(name, pool, 3) // CoreDNS and the Deployment's two pods
	web := 0
	for _, p := range pods {
		if strings.HasPrefix(p.Annotations["vcluster.loft.sh/object-name"], "web-") {
			web++
		}
	}
	if web != 2 {
		t.Errorf("%d synced pods of Deployment web, want 2", web)
	}
}

// TestCreateGitOpsPinned: the same placement for a tenant Argo CD installs.
func TestCreateGitOpsPinned(t *testing.T) {
	w := newWorld(t)
	const name = "e2e-gitops-pin"
	w.deleteAtEnd(name)
	w.mustRun("create", name, "--gitops", "--pool", "project-z")
	w.assertPinned(name, "project-z", 1) // the tenant's CoreDNS
}

// TestVClusterCLIInterop: `vcluster pause` -> Sleeping here within seconds;
// `kubectl tenant wake` brings it back; `kubectl tenant sleep` -> Paused in
// `vcluster list`.
func TestVClusterCLIInterop(t *testing.T) {
	w := newWorld(t)
	vclusterCLI(t) // build first: its time is not the status's
	const name = "e2e-vccli"
	w.createTenant(name, "project-x")
	ns := tenant.NamespaceFor(name)
	if out, err := w.vcluster("pause", tenant.ReleaseName, "-n", ns); err != nil {
		t.Fatalf("vcluster pause: %v\n%s", err, out)
	}
	w.waitStatus(name, tenant.StatusSleeping, 10*time.Second)
	w.mustRun("wake", name)
	if got := w.statusOf(name); got.Status != tenant.StatusReady {
		t.Fatalf("after wake: %+v", got)
	}
	w.mustRun("sleep", name)
	out, err := w.vcluster("list", "--output", "json", "-n", ns)
	if err != nil {
		t.Fatalf("vcluster list: %v\n%s", err, out)
	}
	var vcs []struct{ Name, Namespace, Status string }
	if err := json.Unmarshal([]byte(out[strings.Index(out, "["):]), &vcs); err != nil {
		t.Fatalf("vcluster list --output json: %v\n%s", err, out)
	}
	found := false
	for _, v := range vcs {
		if v.Namespace == ns {
			found = true
			if v.Status != "Paused" {
				t.Errorf("vcluster list says %s is %s, want Paused", ns, v.Status)
			}
		}
	}
	if !found {
		t.Errorf("vcluster list does not show %s:\n%s", ns, out)
	}
}

// TestBrokenValuesFailed: a values file the chart rejects fails create, and
// status says Failed with the chart's error (not Installing for ever).
func TestBrokenValuesFailed(t *testing.T) {
	w := newWorld(t)
	const name = "e2e-broken"
	w.deleteAtEnd(name)
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("controlPlane:\n  statefulSet:\n    notAValue: true\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	r := w.run(ctx, "create", name, "-f", bad, "--connect=false")
	if r.code == 0 {
		t.Fatalf("create with a values file the chart rejects succeeded:\n%s", r.stderr)
	}
	line := oneLineError(t, r)
	got := w.statusOf(name)
	if got.Status != tenant.StatusFailed || !strings.Contains(got.Reason, "notAValue") {
		t.Fatalf("status after a failed install: %s (%q); create said %s", got.Status, got.Reason, line)
	}
	if l := w.list()[name]; l.Status != tenant.StatusFailed {
		t.Errorf("list says %s, want Failed", l.Status)
	}
}
