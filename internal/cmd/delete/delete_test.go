package delete

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/kubectl-tenant/kubectl-tenant/internal/cmdutil"
	"github.com/kubectl-tenant/kubectl-tenant/internal/cmdutil/cmdutiltest"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant/tenanttest"
)

// run runs `delete ARGS...` (stdin not a terminal) through its flags and the
// real Run on e.
func run(t *testing.T, e *tenant.Engine, args ...string) (string, string, error) {
	t.Helper()
	return cmdutiltest.Run(NewCmdDelete, func(o *Options) {
		o.Engine = tenanttest.EngineFunc(e)
		o.HostDefaults = nil // no host cluster: the built-in Argo CD namespace
	}, args...)
}

func TestDelete(t *testing.T) {
	e, _, b := tenanttest.NewEngine(t)
	tenanttest.Create(t, e, tenant.CreateOptions{Name: "demo"})
	// Without --yes and without a terminal to ask on: refused, nothing gone.
	if _, _, err := run(t, e, "demo"); cmdutil.ExitCode(err) != cmdutil.ExitUsage || !strings.Contains(err.Error(), "pass --yes") {
		t.Fatalf("delete without --yes: %v", err)
	}
	if _, err := e.Get(context.Background(), "demo"); err != nil {
		t.Fatalf("refused delete removed the tenant: %v", err)
	}
	out, errOut, err := run(t, e, "demo", "--yes", "--wait", "0")
	if err != nil {
		t.Fatal(err)
	}
	if out != "tenant demo deleted\n" || len(b.Uninstalled) != 1 || b.Uninstalled[0] != "vcluster-demo" {
		t.Errorf("stdout %q, uninstalled %v", out, b.Uninstalled)
	}
	for _, step := range []string{tenant.StepUninstall, tenant.StepDeleteNS, tenant.StepLocal} {
		if !strings.Contains(errOut, step) {
			t.Errorf("stderr lacks step %q:\n%s", step, errOut)
		}
	}
	if _, err := e.Get(context.Background(), "demo"); !errors.Is(err, tenant.ErrNotFound) {
		t.Errorf("after delete: %v, want not found", err)
	}
	// Gone: an error, unless --ignore-not-found.
	if _, _, err := run(t, e, "demo", "--yes"); err == nil {
		t.Error("deleting a missing tenant succeeded")
	}
	if _, _, err := run(t, e, "demo", "--yes", "--ignore-not-found"); err != nil {
		t.Errorf("--ignore-not-found: %v", err)
	}
}
