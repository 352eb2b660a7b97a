package wake

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/kubectl-tenant/kubectl-tenant/internal/cmdutil"
	"github.com/kubectl-tenant/kubectl-tenant/internal/cmdutil/cmdutiltest"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant/tenanttest"
)

// run runs `wake ARGS...` through its flags and the real Run on e.
func run(t *testing.T, e *tenant.Engine, args ...string) (string, string, error) {
	t.Helper()
	return cmdutiltest.Run(NewCmdWake, func(o *Options) {
		o.Engine = tenanttest.EngineFunc(e)
	}, args...)
}

// TestWakeASleepingTenant: wake scales up and waits for the API (the same
// waits as create), then prints the tenant.
func TestWakeASleepingTenant(t *testing.T) {
	e, _, _ := tenanttest.NewEngine(t)
	tenanttest.Create(t, e, tenant.CreateOptions{Name: "demo"})
	if _, err := e.Sleep(context.Background(), tenant.SleepOptions{Name: "demo"}); err != nil {
		t.Fatal(err)
	}
	out, errOut, err := run(t, e, "demo", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var got tenant.Tenant
	if err := json.Unmarshal([]byte(out), &got); err != nil || got.Name != "demo" || got.Status != tenant.StatusReady || got.SleepingSince != nil {
		t.Errorf("stdout %q: %+v, %v", out, got, err)
	}
	for _, step := range tenant.WakePlan(true) {
		if !strings.Contains(errOut, step) {
			t.Errorf("stderr lacks step %q:\n%s", step, errOut)
		}
	}
	if e.Report != nil {
		t.Error("wake changed the shared engine's reporter")
	}
}

func TestWakeErrors(t *testing.T) {
	e, _, _ := tenanttest.NewEngine(t)
	for _, args := range [][]string{{"demo", "--wait", "-1s"}, {"demo", "-o", "wide"}, {"Bad_Name"}} {
		if _, _, err := run(t, e, args...); cmdutil.ExitCode(err) != cmdutil.ExitUsage {
			t.Errorf("%v: %v, want a usage error", args, err)
		}
	}
	if _, _, err := run(t, e, "ghost"); err == nil || !strings.Contains(err.Error(), `tenant "ghost"`) {
		t.Errorf("a missing tenant: %v", err)
	}
}
