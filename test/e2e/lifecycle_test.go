package e2e

import (
	"context"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/kubeconfig"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
)

// TestLifecycle: create -> connected -> kubectl --context NAME get ns ->
// disconnect/connect -> delete -> nothing left.
func TestLifecycle(t *testing.T) {
	w := newWorld(t)
	before, _ := os.ReadFile(w.kubeconfig)
	r := w.mustRun("create", "e2e-life", "--pool", "project-x", "--ttl", "2h")
	if strings.Contains(r.stdout, "\x1b[") {
		t.Errorf("stdout has ANSI codes: %q", r.stdout)
	}
	for _, step := range []string{tenant.StepPreflight, tenant.StepInstall, tenant.StepKubeconfig, tenant.StepReady} {
		if !strings.Contains(r.stderr, step) {
			t.Errorf("progress on stderr lacks step %q:\n%s", step, r.stderr)
		}
	}
	got := w.list()["e2e-life"]
	if got.Status != tenant.StatusReady || !got.Connected || got.Pool != "project-x" || got.ExpiresAt == nil || got.TimeToReady <= 0 {
		t.Fatalf("after create, list says %+v\ncreate stderr:\n%s\nlist:\n%s", got, r.stderr, w.mustRun("list", "-o", "json").stdout)
	}
	t.Logf("time to ready: %s", got.TimeToReady)
	out, err := w.kubectl("--context", "e2e-life", "get", "ns", "-o", "name")
	if err != nil || !strings.Contains(out, "namespace/kube-system") {
		t.Fatalf("kubectl --context e2e-life get ns: %v\n%s", err, out)
	}
	cfg, _ := clientcmd.LoadFromFile(w.kubeconfig)
	if cfg.CurrentContext != "e2e-life" {
		t.Errorf("current context %q after create, want e2e-life", cfg.CurrentContext)
	}
	if cl := cfg.Clusters[kubeconfig.OwnedName("e2e-life")]; cl == nil || cl.InsecureSkipTLSVerify || len(cl.CertificateAuthorityData) == 0 {
		t.Errorf("tenant cluster entry must verify TLS with the tenant CA: %+v", cl)
	}
	sess := w.session("e2e-life")

	// Re-running create converges instead of failing.
	w.mustRun("create", "e2e-life", "--pool", "project-x", "--connect=false")

	// disconnect restores the previous context and stops the forwarder.
	w.mustRun("disconnect", "e2e-life")
	cfg, _ = clientcmd.LoadFromFile(w.kubeconfig)
	if cfg.CurrentContext != w.env.Context {
		t.Errorf("after disconnect current context %q, want %q", cfg.CurrentContext, w.env.Context)
	}
	if !gone(sess.PID) {
		t.Errorf("forwarder %d still alive after disconnect", sess.PID)
	}
	if w.list()["e2e-life"].Connected {
		t.Error("list still says connected after disconnect")
	}

	// connect -- CMD runs with a throw-away kubeconfig.
	r = w.mustRun("connect", "e2e-life", "--", "kubectl", "get", "ns", "default", "-o", "name")
	if !strings.Contains(r.stdout, "namespace/default") {
		t.Errorf("connect -- kubectl: %q", r.stdout)
	}
	// ... and exits with CMD's code, as kubectl exec does.
	if r := w.run(context.Background(), "connect", "e2e-life", "--", "sh", "-c", "exit 7"); r.code != 7 {
		t.Errorf("connect -- sh -c 'exit 7': exit %d, want 7\n%s", r.code, r.stderr)
	}

	w.mustRun("connect", "e2e-life", "--background")
	sess = w.session("e2e-life")
	w.mustRun("delete", "e2e-life", "--yes")
	w.assertGone("e2e-life", sess)
	after, _ := os.ReadFile(w.kubeconfig)
	if string(after) != string(before) {
		t.Errorf("kubeconfig after the whole lifecycle differs from before:\n--- before\n%s\n--- after\n%s", before, after)
	}
	// Delete is idempotent.
	if r := w.run(context.Background(), "delete", "e2e-life", "--yes"); r.code == 0 || !strings.Contains(r.stderr, "not found") {
		t.Errorf("second delete: exit %d, %s", r.code, r.stderr)
	}
	w.mustRun("delete", "e2e-life", "--yes", "--ignore-not-found")
}

// TestTwoTenantsAtOnce: two tenants on two pools, created concurrently, each
// reachable through its own context.
func TestTwoTenantsAtOnce(t *testing.T) {
	w := newWorld(t)
	names := map[string]string{"e2e-two-a": "project-x", "e2e-two-b": "project-z"}
	errs := make(chan error, len(names))
	for name, pool := range names {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			r := w.run(ctx, "create", name, "--pool", pool, "--connect=false", "--isolation")
			if r.code != 0 {
				errs <- fmt.Errorf("create %s: exit %d: %s", name, r.code, r.stderr)
				return
			}
			errs <- nil
		}()
	}
	for range names {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"e2e-two-a", "e2e-two-b"} {
		w.mustRun("connect", name, "--background")
	}
	for name := range names {
		out, err := w.kubectl("--context", name, "get", "ns", "default", "-o", "name")
		if err != nil || !strings.Contains(out, "namespace/default") {
			t.Errorf("kubectl --context %s: %v %s", name, err, out)
		}
	}
	ls := w.list()
	for name, pool := range names {
		if ls[name].Pool != pool || !ls[name].Connected {
			t.Errorf("list: %s = %+v", name, ls[name])
		}
	}
	for name, pool := range names {
		w.assertIsolated(name, pool)
	}
	// Delete the first-connected tenant while the second is current: the
	// second must then restore the host context, not the vanished first.
	// Deleting one tenant touches nothing of the other's.
	before := w.tenantObjects("e2e-two-b")
	s := w.session("e2e-two-a")
	w.mustRun("delete", "e2e-two-a", "--yes")
	w.assertGone("e2e-two-a", s)
	if after := w.tenantObjects("e2e-two-b"); !reflect.DeepEqual(before, after) {
		t.Errorf("deleting e2e-two-a changed e2e-two-b's objects:\nbefore %v\nafter  %v", before, after)
	}
	if out, err := w.kubectl("--context", "e2e-two-b", "get", "ns", "default", "-o", "name"); err != nil {
		t.Errorf("e2e-two-b unreachable after deleting e2e-two-a: %v %s", err, out)
	}
	s = w.session("e2e-two-b")
	w.mustRun("delete", "e2e-two-b", "--yes")
	w.assertGone("e2e-two-b", s)
	if cfg, _ := clientcmd.LoadFromFile(w.kubeconfig); cfg.CurrentContext != w.env.Context {
		t.Errorf("after deleting both, current context %q, want %q", cfg.CurrentContext, w.env.Context)
	}
}
