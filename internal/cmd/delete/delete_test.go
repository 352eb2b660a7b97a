package delete

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/kubectl-tenant/kubectl-tenant/internal/cmdutil"
	"github.com/kubectl-tenant/kubectl-tenant/internal/cmdutil/cmdutiltest"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant/tenanttest"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/warmpool"
)

// run runs `delete ARGS...` (stdin not a terminal) through its flags and the
// real Run on e.
func run(t *testing.T, e *tenant.Engine, args ...string) (string, string, error) {
	t.Helper()
	return cmdutiltest.Run(NewCmdDelete, func(o *Options) {
		o.Engine = tenanttest.ArgoCDEngineFunc(e)
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

// TestDeleteAsksInRun: the question is asked by Run, before any API call;
// no deletes nothing (exit 3), yes deletes.
func TestDeleteAsksInRun(t *testing.T) {
	e, _, b := tenanttest.NewEngine(t)
	tenanttest.Create(t, e, tenant.CreateOptions{Name: "demo"})
	var asked []string
	answer := false
	del := func(args ...string) error {
		_, _, err := cmdutiltest.Run(NewCmdDelete, func(o *Options) {
			o.Engine = tenanttest.ArgoCDEngineFunc(e)
			o.Confirm = func(q string, def bool) (bool, bool) {
				if def {
					t.Errorf("%q defaults to yes", q)
				}
				asked = append(asked, q)
				return answer, true
			}
		}, args...)
		return err
	}
	if err := del("demo", "--wait", "0"); cmdutil.ExitCode(err) != cmdutil.ExitCancelled || err.Error() != "not deleted" || len(b.Uninstalled) != 0 {
		t.Fatalf("answered no: %v (exit %d), uninstalled %v", err, cmdutil.ExitCode(err), b.Uninstalled)
	}
	answer = true
	if err := del("demo", "--wait", "0"); err != nil || len(b.Uninstalled) != 1 {
		t.Fatalf("answered yes: %v, uninstalled %v", err, b.Uninstalled)
	}
	if len(asked) != 2 || asked[0] != "Delete tenant demo and everything in namespace vcluster-demo? [y/N]" {
		t.Errorf("asked %q", asked)
	}
	// --yes asks nothing; a bad name is refused before any question.
	asked = nil
	if err := del("demo", "--yes", "--ignore-not-found"); err != nil || len(asked) != 0 {
		t.Errorf("--yes: %v, asked %q", err, asked)
	}
	if err := del("Bad_Name"); cmdutil.ExitCode(err) != cmdutil.ExitUsage || len(asked) != 0 {
		t.Errorf("bad name: %v, asked %q", err, asked)
	}
}

// Several names: one question, each deleted in turn; a missing one does not
// stop the others and the error names it (exit 1); repeats count once.
func TestDeleteSeveral(t *testing.T) {
	e, _, b := tenanttest.NewEngine(t)
	tenanttest.Create(t, e, tenant.CreateOptions{Name: "a"})
	tenanttest.Create(t, e, tenant.CreateOptions{Name: "b"})
	var asked []string
	out, errOut, err := cmdutiltest.Run(NewCmdDelete, func(o *Options) {
		o.Engine = tenanttest.ArgoCDEngineFunc(e)
		o.Confirm = func(q string, _ bool) (bool, bool) { asked = append(asked, q); return true, true }
	}, "a", "gone", "b", "a", "--wait", "0")
	if cmdutil.ExitCode(err) != cmdutil.ExitError || err.Error() != `1 of 3 tenants not deleted: tenant "gone": tenant not found` {
		t.Errorf("error %v (exit %d)", err, cmdutil.ExitCode(err))
	}
	if !errors.Is(err, tenant.ErrNotFound) {
		t.Errorf("the error does not wrap the not-found: %v", err)
	}
	if out != "tenant a deleted\ntenant b deleted\n" || !slices.Equal(b.Uninstalled, []string{"vcluster-a", "vcluster-b"}) {
		t.Errorf("stdout %q, uninstalled %v", out, b.Uninstalled)
	}
	if !strings.Contains(errOut, "Deleting tenant a\n") || !strings.Contains(errOut, "Deleting tenant b\n") {
		t.Errorf("the plain step lines do not say which tenant they are for:\n%s", errOut)
	}
	want := "Delete tenant a and everything in namespace vcluster-a, tenant gone and everything in namespace vcluster-gone, tenant b and everything in namespace vcluster-b? [y/N]"
	if len(asked) != 1 || asked[0] != want {
		t.Errorf("asked %q, want once %q", asked, want)
	}
	// A bad name among good ones: nothing is deleted.
	tenanttest.Create(t, e, tenant.CreateOptions{Name: "c"})
	if _, _, err := run(t, e, "c", "Bad_Name", "--yes"); cmdutil.ExitCode(err) != cmdutil.ExitUsage {
		t.Errorf("bad name: %v", err)
	}
	if _, err := e.Get(context.Background(), "c"); err != nil {
		t.Errorf("a bad name among the others deleted c: %v", err)
	}
}

// cpFailing is a backend whose control-plane reads fail: Get (status,
// workloads) fails where the engine's resolution of the name works.
type cpFailing struct{ tenanttest.ListingBackend }

func (cpFailing) ControlPlanes(context.Context, tenant.Scope) (map[string]tenant.ControlPlane, error) {
	return nil, errors.New("statefulsets: the server is busy")
}

// TestDeleteClaimedSpare: a tenant that claimed a warm spare lives in the
// spare's namespace, not vcluster-NAME; delete asks about and removes that
// namespace as the engine resolves it, even when reading the tenant's
// workloads fails.
func TestDeleteClaimedSpare(t *testing.T) {
	ctx := context.Background()
	e, _, b := tenanttest.NewListingEngine(t)
	spec := warmpool.Config{Pool: "pool-a", Size: 1}
	tmpl := tenant.CreateOptions{Spec: tenant.Spec{Chart: "vcluster", ChartVersion: "0.34.0"}}
	if _, err := warmpool.TopUp(ctx, e, spec, tmpl); err != nil {
		t.Fatal(err)
	}
	o := tmpl
	o.Name, o.Pool, o.Claimer = "dev", "pool-a", warmpool.Pool{Config: spec}
	got := tenanttest.Create(t, e, o)
	if !strings.HasPrefix(got.Namespace, "vcluster-spare-") {
		t.Fatalf("create did not claim the spare: %+v", got)
	}
	e.Backend = cpFailing{tenanttest.ListingBackend{Backend: b}}
	var asked []string
	_, _, err := cmdutiltest.Run(NewCmdDelete, func(o *Options) {
		o.Engine = tenanttest.ArgoCDEngineFunc(e)
		o.Confirm = func(q string, _ bool) (bool, bool) { asked = append(asked, q); return true, true }
	}, "dev", "--wait", "0")
	if err != nil {
		t.Fatal(err)
	}
	want := "Delete tenant dev and everything in namespace " + got.Namespace + "? [y/N]"
	if len(asked) != 1 || asked[0] != want {
		t.Errorf("asked %q, want %q", asked, want)
	}
	if !slices.Equal(b.Uninstalled, []string{got.Namespace}) {
		t.Errorf("uninstalled %v, want the claimed spare's %s", b.Uninstalled, got.Namespace)
	}
}
