package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	authv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
)

func TestInvalidNamesAreUsageErrors(t *testing.T) {
	w := newWorld(t)
	for _, name := range []string{"Bad_Name", "x-", strings.Repeat("a", 60)} {
		r := w.run(context.Background(), "create", name)
		if r.code != 2 {
			t.Errorf("create %q: exit %d, want 2; stderr %s", name, r.code, r.stderr)
		}
		line := oneLineError(t, r)
		if !strings.Contains(line, "invalid tenant name") {
			t.Errorf("create %q: %s", name, line)
		}
	}
	if r := w.run(context.Background(), "list", "-o", "xml"); r.code != 2 {
		t.Errorf("list -o xml: exit %d, want 2", r.code)
	}
	if r := w.run(context.Background(), "delete", "x"); r.code != 2 || !strings.Contains(r.stderr, "--yes") {
		t.Errorf("delete without --yes on a non-TTY: exit %d %s", r.code, r.stderr)
	}
}

func TestUnreachableAPI(t *testing.T) {
	w := newWorld(t)
	r := w.run(context.Background(), "create", "e2e-unreach", "--server", "https://127.0.0.1:1")
	if r.code != 1 {
		t.Fatalf("exit %d, want 1; %s", r.code, r.stderr)
	}
	if line := oneLineError(t, r); !strings.Contains(line, "cannot reach the Kubernetes API at https://127.0.0.1:1") {
		t.Errorf("error line: %s", line)
	}
	if w.namespaceExists("e2e-unreach") {
		t.Error("namespace created although the API was unreachable")
	}
}

// TestNoRBAC uses a real ServiceAccount token with no rights at all.
func TestNoRBAC(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	cs, err := w.env.Clientset()
	if err != nil {
		t.Fatal(err)
	}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "e2e-nobody", Namespace: "default"}}
	if _, err := cs.CoreV1().ServiceAccounts("default").Create(ctx, sa, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	tr, err := cs.CoreV1().ServiceAccounts("default").CreateToken(ctx, "e2e-nobody", &authv1.TokenRequest{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	token := tr.Status.Token
	r := w.run(ctx, "create", "e2e-norbac", "--token", token)
	if r.code != 4 {
		t.Fatalf("exit %d, want 4; %s", r.code, r.stderr)
	}
	line := oneLineError(t, r)
	if !strings.Contains(line, "not allowed") {
		t.Errorf("error line: %s", line)
	}
	if strings.Contains(r.stderr+r.stdout, token) {
		t.Error("the token was printed")
	}
	if w.namespaceExists("e2e-norbac") {
		t.Error("namespace created without rights")
	}
	if r := w.run(ctx, "list", "--token", token); r.code != 4 {
		t.Errorf("list without rights: exit %d, want 4; %s", r.code, r.stderr)
	}
}

// TestHalfCreatedThenDelete: a tenant whose pod can never schedule (no such
// pool) times out, says why, and delete cleans it completely.
func TestHalfCreatedThenDelete(t *testing.T) {
	w := newWorld(t)
	r := w.run(context.Background(), "create", "e2e-half", "--pool", "no-such-pool", "--wait", "4s")
	if r.code != 1 {
		t.Fatalf("exit %d, want 1; %s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "no nodes labelled project=no-such-pool") {
		t.Errorf("no pool warning in:\n%s", r.stderr)
	}
	if line := oneLineError(t, r); !strings.Contains(line, "timed out") || !strings.Contains(line, "Pending") {
		t.Errorf("error line should say the pod is Pending and why: %s", line)
	}
	if got := w.list()["e2e-half"]; got.Status == tenant.StatusReady || got.Name == "" {
		t.Errorf("list: %+v", got)
	}
	w.mustRun("delete", "e2e-half", "--yes")
	w.assertGone("e2e-half", nil)
}

// TestInterruptedCreateResumes sends SIGINT in the middle of create (after
// the install step started) and checks a re-run finishes the job.
func TestInterruptedCreateResumes(t *testing.T) {
	w := newWorld(t)
	code, out := w.interruptAfter(tenant.StepNamespace, "create", "e2e-sigint", "--pool", "project-z", "--connect=false")
	if code != 3 && code != 0 {
		t.Fatalf("interrupted create: exit %d, want 3 (cancelled) or 0 (finished first)\n%s", code, out)
	}
	t.Logf("interrupted create exited %d", code)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	r := w.run(ctx, "create", "e2e-sigint", "--pool", "project-z", "--connect=false")
	if r.code != 0 {
		t.Fatalf("re-run after SIGINT: exit %d\n%s", r.code, r.stderr)
	}
	if got := w.list()["e2e-sigint"]; got.Status != tenant.StatusReady {
		t.Errorf("after re-run: %+v", got)
	}
	w.mustRun("delete", "e2e-sigint", "--yes")
	w.assertGone("e2e-sigint", nil)
}
