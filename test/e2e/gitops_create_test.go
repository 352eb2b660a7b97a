package e2e

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
)

const gitopsCreateConfig = `repoURL: REPO
vclusterChart:
  repoURL: CHARTS
defaults:
  labels:
    e2e: gitops-create
clusters:
  - project: project-x
    nodePools:
      - name: workload
`

// TestCreateGitOps: render a platform repository (local Helm repository +
// file:// git repository), `create project-x --gitops` hands the tenant to
// the playground's real Argo CD (repo-server runs helm, the controller
// syncs), the vCluster is Ready and reachable through its context; `delete`
// removes the Application first and leaves nothing. A tenant that is not a
// project of the config is built from flags the same way.
func TestCreateGitOps(t *testing.T) {
	argoCDMatrix(t, func(t *testing.T, w *world, suffix string) {
		cfg := w.platformRepo(gitopsCreateConfig + "argocdNamespace: " + w.argoNS + "\n")
		ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
		defer cancel()

		const name = "project-x"
		r := w.run(ctx, "create", name, "--gitops", "--config", cfg, "--wait", "5m")
		if r.code != 0 {
			t.Fatalf("create --gitops: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
		}
		for _, step := range []string{"argocd sync", "api ready", "connect"} {
			if !strings.Contains(r.stderr, step) {
				t.Errorf("create --gitops did not report step %q:\n%s", step, r.stderr)
			}
		}
		app := w.waitApplication(name)
		if app.GetLabels()[tenant.LabelName] != name || app.GetLabels()["e2e"] != "gitops-create" {
			t.Errorf("Application labels %v", app.GetLabels())
		}
		if !slices.ContainsFunc(app.GetManagedFields(), func(m metav1.ManagedFieldsEntry) bool {
			return m.Manager == tenant.ManagedByValue && m.Operation == metav1.ManagedFieldsOperationApply
		}) {
			t.Errorf("Application not server-side-applied by %s: %v", tenant.ManagedByValue, app.GetManagedFields())
		}
		srcs, _, _ := unstructured.NestedSlice(app.Object, "spec", "sources")
		if len(srcs) != 3 {
			t.Errorf("want the rendered Application's 3 sources (project folder, values ref, chart), got %v", srcs)
		}
		got := w.list()[name]
		if got.Status != tenant.StatusReady || got.Pool != name || !got.Connected {
			t.Errorf("list after create --gitops: %+v", got)
		}
		out, err := w.kubectl("--context", name, "get", "ns", "-o", "name")
		if err != nil || !strings.Contains(out, "namespace/kube-system") {
			t.Fatalf("kubectl --context %s get ns: %v\n%s", name, err, out)
		}
		cs := w.clientset()
		ns, err := cs.CoreV1().Namespaces().Get(ctx, tenant.NamespaceFor(name), metav1.GetOptions{})
		if err != nil || ns.Annotations[tenant.AnnotationApplication] != w.argoNS+"/vcluster-"+name {
			t.Errorf("namespace annotations %v (err %v)", ns.GetAnnotations(), err)
		}
		// Argo CD rendered the chart: no Helm release exists.
		if secs, _ := cs.CoreV1().Secrets(ns.Name).List(ctx, metav1.ListOptions{LabelSelector: "owner=helm"}); secs != nil && len(secs.Items) > 0 {
			t.Errorf("Helm release secrets in a GitOps tenant: %d", len(secs.Items))
		}

		// Re-running converges; switching to Helm is refused.
		w.mustRun("create", name, "--gitops", "--config", cfg, "--connect=false")
		if r := w.run(ctx, "create", name, "--connect=false"); r.code != 2 || !strings.Contains(oneLineError(t, r), "--gitops") {
			t.Errorf("Helm create over a GitOps tenant: exit %d %s", r.code, r.stderr)
		}

		sess := w.session(name)
		r = w.mustRun("delete", name, "--yes")
		if !strings.Contains(r.stderr, "delete application") {
			t.Errorf("delete did not remove the Application first:\n%s", r.stderr)
		}
		w.assertNoApplication(name)
		w.assertGone(name, sess)

		// Not a project of the config: built from flags, values inline.
		flags := "e2e-gitops-flags" + suffix
		r = w.run(ctx, "create", flags, "--gitops", "--config", cfg, "--pool", "project-z", "--connect=false", "--wait", "5m")
		if r.code != 0 {
			t.Fatalf("create --gitops from flags: exit %d\nstderr: %s", r.code, r.stderr)
		}
		app = w.waitApplication(flags)
		if srcs, _, _ := unstructured.NestedSlice(app.Object, "spec", "sources"); len(srcs) != 1 {
			t.Errorf("a flag-built Application has only the chart source, got %v", srcs)
		}
		if got := w.list()[flags]; got.Status != tenant.StatusReady || got.Pool != "project-z" {
			t.Errorf("list: %+v", got)
		}
		w.mustRun("delete", flags, "--yes")
		w.assertNoApplication(flags)
		w.assertGone(flags, nil)
	})
}

// TestCreateGitOpsFailures: bad flags are usage errors before any API call;
// no Argo CD where the tool looks is one line, exit 1, nothing created.
func TestCreateGitOpsFailures(t *testing.T) {
	w := newWorld(t)
	cfg := w.platformRepo(gitopsCreateConfig)
	ctx := context.Background()
	for _, args := range [][]string{
		{"create", "e2e-gof", "--config", cfg},
		{"create", "e2e-gof", "--gitops", "--chart", "./chart"},
		{"create", "project-x", "--gitops", "--config", cfg, "--pool", "project-z"},
		{"create", "e2e-gof", "--gitops", "--config", filepath.Join(t.TempDir(), "missing.yaml")},
	} {
		r := w.run(ctx, args...)
		if r.code != 2 {
			t.Errorf("%v: exit %d, want 2; stderr %s", args, r.code, r.stderr)
			continue
		}
		oneLineError(t, r)
	}
	r := w.runWith(ctx, []string{"KUBECTL_TENANT_ARGOCD_NAMESPACE=no-argocd"},
		"create", "e2e-gof", "--gitops", "--pool", "project-x", "--chart-repo", w.env.ChartRepoURL)
	if r.code != 1 {
		t.Fatalf("create --gitops without Argo CD: exit %d, want 1; stderr %s", r.code, r.stderr)
	}
	if line := oneLineError(t, r); !strings.Contains(line, `Argo CD namespace "no-argocd" does not exist`) {
		t.Errorf("error: %s", line)
	}
	if w.namespaceExists("e2e-gof") {
		t.Error("a failed create --gitops left the tenant namespace")
	}
	w.assertNoApplication("e2e-gof")
}
