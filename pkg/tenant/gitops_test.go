package tenant

import (
	"context"
	"errors"
	"testing"
	"time"

	authzv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"
)

// fakeGitOps records calls in order (with the fake backend's).
type fakeGitOps struct {
	calls      *[]string
	preflight  error
	applied    []InstallRequest
	syncedWait int // Synced answers false this many times
}

func (g *fakeGitOps) Preflight(_ context.Context, name string) (string, error) {
	*g.calls = append(*g.calls, "preflight")
	return "argocd/vcluster-" + name, g.preflight
}
func (g *fakeGitOps) Apply(_ context.Context, req InstallRequest) error {
	*g.calls = append(*g.calls, "apply")
	g.applied = append(g.applied, req)
	return nil
}
func (g *fakeGitOps) Synced(context.Context, string) (bool, string, error) {
	if g.syncedWait > 0 {
		g.syncedWait--
		return false, "waiting for Argo CD", nil
	}
	return true, "", nil
}
func (g *fakeGitOps) Remove(_ context.Context, name string, _ time.Duration, _ Reporter) error {
	*g.calls = append(*g.calls, "remove "+name)
	return nil
}

func allowAll(cs interface {
	PrependReactor(string, string, k8stesting.ReactionFunc)
}) {
	cs.PrependReactor("create", "selfsubjectaccessreviews", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, &authzv1.SelfSubjectAccessReview{Status: authzv1.SubjectAccessReviewStatus{Allowed: true}}, nil
	})
}

func TestCreateGitOpsAppliesInsteadOfInstalling(t *testing.T) {
	e, cs, b := newEngine(t)
	allowAll(cs)
	var calls []string
	g := &fakeGitOps{calls: &calls}
	e.GitOps = g
	if _, err := e.Create(context.Background(), CreateOptions{Name: "demo", GitOps: true, Spec: Spec{Pool: "project-x"}}); err != nil {
		t.Fatal(err)
	}
	if len(g.applied) != 1 || g.applied[0].Pool != "project-x" || g.applied[0].Namespace != "vcluster-demo" {
		t.Fatalf("applied %+v", g.applied)
	}
	if len(b.uninstalled) != 0 {
		t.Fatal("backend touched")
	}
	ns, err := cs.CoreV1().Namespaces().Get(context.Background(), "vcluster-demo", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ns.Annotations[AnnotationApplication] != "argocd/vcluster-demo" || ns.Labels[LabelPool] != "project-x" || ns.Annotations[AnnotationCreatedAt] == "" {
		t.Fatalf("namespace labels %v annotations %v", ns.Labels, ns.Annotations)
	}
	// No Helm release: the tenant is installed (Pending until ready), not Installing.
	got, err := e.Get(context.Background(), "demo")
	if err != nil || got.Status != StatusPending {
		t.Fatalf("Get = %+v, %v; want status %s", got, err, StatusPending)
	}

	// Switching modes is refused before anything changes.
	_, err = e.Create(context.Background(), CreateOptions{Name: "demo", Spec: Spec{Pool: "project-x"}})
	var ue *UsageError
	if !errors.As(err, &ue) {
		t.Fatalf("Helm create over a GitOps tenant = %v, want UsageError", err)
	}

	// Delete removes the Application before the namespace.
	calls = nil
	if err := e.Delete(context.Background(), DeleteOptions{Name: "demo"}); err != nil {
		t.Fatal(err)
	}
	if len(calls) != 1 || calls[0] != "remove demo" {
		t.Fatalf("calls %v", calls)
	}
	if _, err := cs.CoreV1().Namespaces().Get(context.Background(), "vcluster-demo", metav1.GetOptions{}); err == nil {
		t.Fatal("namespace still there")
	}
}

func TestCreateGitOpsPreflightFailureCreatesNothing(t *testing.T) {
	e, cs, _ := newEngine(t)
	allowAll(cs)
	var calls []string
	e.GitOps = &fakeGitOps{calls: &calls, preflight: errors.New("no Argo CD")}
	if _, err := e.Create(context.Background(), CreateOptions{Name: "demo", GitOps: true}); err == nil || err.Error() != "no Argo CD" {
		t.Fatalf("Create = %v", err)
	}
	if _, err := cs.CoreV1().Namespaces().Get(context.Background(), "vcluster-demo", metav1.GetOptions{}); err == nil {
		t.Fatal("namespace created although preflight failed")
	}
	if len(calls) != 1 {
		t.Fatalf("calls %v", calls)
	}
}

func TestCreateGitOpsOverHelmTenantRefused(t *testing.T) {
	e, cs, b := newEngine(t, tenantNS("demo", nil))
	allowAll(cs)
	b.releases["vcluster-demo"] = Release{Status: "deployed", Version: 1}
	var calls []string
	e.GitOps = &fakeGitOps{calls: &calls}
	_, err := e.Create(context.Background(), CreateOptions{Name: "demo", GitOps: true})
	var ue *UsageError
	if !errors.As(err, &ue) || len(calls) != 0 {
		t.Fatalf("Create = %v, calls %v", err, calls)
	}
}

func TestDeleteHelmTenantLeavesArgoCDAlone(t *testing.T) {
	e, _, _ := newEngine(t, tenantNS("demo", nil))
	var calls []string
	e.GitOps = &fakeGitOps{calls: &calls}
	if err := e.Delete(context.Background(), DeleteOptions{Name: "demo"}); err != nil {
		t.Fatal(err)
	}
	if len(calls) != 0 {
		t.Fatalf("calls %v", calls)
	}
}
