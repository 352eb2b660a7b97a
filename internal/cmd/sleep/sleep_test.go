package sleep

import (
	"context"
	"strings"
	"testing"

	"github.com/kubectl-tenant/kubectl-tenant/internal/cmdutil"
	"github.com/kubectl-tenant/kubectl-tenant/internal/cmdutil/cmdutiltest"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant/tenanttest"
)

// run runs `sleep ARGS...` through its flags and the real Run on e.
func run(t *testing.T, e *tenant.Engine, args ...string) (string, string, error) {
	t.Helper()
	return cmdutiltest.Run(NewCmdSleep, func(o *Options) {
		o.Engine = tenanttest.EngineFunc(e)
	}, args...)
}

func TestSleep(t *testing.T) {
	e, _, _ := tenanttest.NewEngine(t)
	tenanttest.Create(t, e, tenant.CreateOptions{Name: "demo"})
	out, errOut, err := run(t, e, "demo", "--wait", "0")
	if err != nil {
		t.Fatal(err)
	}
	if out != "tenant demo is sleeping; `kubectl tenant wake demo` brings it back\n" {
		t.Errorf("stdout %q", out)
	}
	for _, step := range tenant.SleepPlan(false) {
		if !strings.Contains(errOut, step) {
			t.Errorf("stderr lacks step %q:\n%s", step, errOut)
		}
	}
	if tn, err := e.Get(context.Background(), "demo"); err != nil || tn.Status != tenant.StatusSleeping {
		t.Errorf("after sleep: %+v, %v", tn, err)
	}
	// Again: already asleep is no error.
	if out, _, err := run(t, e, "demo", "--wait", "0", "-o", "name"); err != nil || strings.TrimSpace(out) != "tenant/demo" {
		t.Errorf("second sleep -o name: %q, %v", out, err)
	}
}

func TestSleepErrors(t *testing.T) {
	e, _, _ := tenanttest.NewEngine(t)
	for _, args := range [][]string{{"demo", "--wait", "-1s"}, {"Demo"}, {"demo", "-o", "wide"}} {
		if _, _, err := run(t, e, args...); cmdutil.ExitCode(err) != cmdutil.ExitUsage {
			t.Errorf("%v: %v, want a usage error", args, err)
		}
	}
	if _, _, err := run(t, e, "ghost", "--wait", "0"); err == nil || !strings.Contains(err.Error(), `tenant "ghost"`) {
		t.Errorf("a missing tenant: %v", err)
	}
}
