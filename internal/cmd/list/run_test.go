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

// -l selects on the namespace labels create --label set, as upgrade -l does.
func TestListSelector(t *testing.T) {
	e, _, _ := tenanttest.NewEngine(t)
	tenanttest.Create(t, e, tenant.CreateOptions{Name: "a1", Labels: map[string]string{"team": "a"}})
	tenanttest.Create(t, e, tenant.CreateOptions{Name: "a2", Labels: map[string]string{"team": "a", "tier": "ci"}})
	tenanttest.Create(t, e, tenant.CreateOptions{Name: "b1", Labels: map[string]string{"team": "b"}})
	for sel, want := range map[string]string{
		"team=a":          "tenant/a1\ntenant/a2\n",
		"team=a,tier!=ci": "tenant/a1\n",
		"team in (b)":     "tenant/b1\n",
		"!tier":           "tenant/a1\ntenant/b1\n",
		"team=c":          "",
	} {
		out, _, err := run(t, e, "-o", "name", "-l", sel)
		if err != nil || out != want {
			t.Errorf("list -l %q: %q, %v; want %q", sel, out, err, want)
		}
	}
	if _, _, err := run(t, e, "-l", "team==="); cmdutil.ExitCode(err) != cmdutil.ExitUsage {
		t.Errorf("a malformed selector: %v, want a usage error", err)
	}
	out, _, err := run(t, e, "-o", "json", "-l", "tier=ci")
	if err != nil || !strings.Contains(out, `"team": "a"`) {
		t.Errorf("-o json does not carry the labels: %s %v", out, err)
	}
}
