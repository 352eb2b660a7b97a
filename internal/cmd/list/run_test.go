package list

import (
	"context"
	"fmt"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kubectl-tenant/kubectl-tenant/internal/cmdutil"
	"github.com/kubectl-tenant/kubectl-tenant/internal/cmdutil/cmdutiltest"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant/tenanttest"
)

// run runs `list ARGS...` through its flags and the real Run on e.
func run(t *testing.T, e *tenant.Engine, args ...string) (string, string, error) {
	t.Helper()
	return cmdutiltest.Run(NewCmdList, func(o *Options) {
		o.Engine = tenanttest.ArgoCDEngineFunc(e)
	}, args...)
}

func TestList(t *testing.T) {
	e, cs, _ := tenanttest.NewEngine(t)
	tenanttest.Create(t, e, tenant.CreateOptions{Name: "alpha"})
	tenanttest.Create(t, e, tenant.CreateOptions{Name: "beta"})
	// The owner is who the host says created it (SelfSubjectReview); the
	// fake host says nobody, so record one by hand.
	patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:"bob"}}}`, tenant.AnnotationOwner)
	if _, err := cs.CoreV1().Namespaces().Patch(context.Background(), tenant.NamespaceFor("beta"), types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	out, _, err := run(t, e, "-o", "name")
	if err != nil || out != "tenant/alpha\ntenant/beta\n" {
		t.Fatalf("list -o name: %q, %v", out, err)
	}
	out, _, err = run(t, e, "--owner", "bob")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "NAME") || !strings.HasPrefix(lines[1], "beta ") || !strings.Contains(lines[1], "Ready") {
		t.Errorf("list --owner bob:\n%s", out)
	}
	if _, _, err := run(t, e, "-o", "xml"); cmdutil.ExitCode(err) != cmdutil.ExitUsage {
		t.Errorf("-o xml: %v, want a usage error", err)
	}
}
