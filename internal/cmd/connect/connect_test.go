package connect

import (
	"context"
	"strings"
	"testing"

	"github.com/kubectl-tenant/kubectl-tenant/internal/cmdutil"
	"github.com/kubectl-tenant/kubectl-tenant/internal/cmdutil/cmdutiltest"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant/tenanttest"
)

// forwarders records background starts; it answers like the real one for a
// sleeping tenant.
type forwarders struct {
	e       *tenant.Engine
	started []string
}

func (f *forwarders) start(ctx context.Context, name, contextName string) error {
	tn, err := f.e.Get(ctx, name)
	if err != nil {
		return err
	}
	if tn.Status == tenant.StatusSleeping {
		return &tenant.SleepingError{Name: name}
	}
	f.started = append(f.started, name+"="+contextName)
	return nil
}

// run runs `connect ARGS...` (stdin not a terminal) through its flags and
// the real Run on e.
func run(t *testing.T, e *tenant.Engine, fw *forwarders, args ...string) (string, string, error) {
	t.Helper()
	return cmdutiltest.Run(NewCmdConnect, func(o *Options) {
		o.Engine = tenanttest.EngineFunc(e)
		o.StartBackground = fw.start
	}, args...)
}

func TestConnectBackground(t *testing.T) {
	e, _, _ := tenanttest.NewEngine(t)
	tenanttest.Create(t, e, tenant.CreateOptions{Name: "demo"})
	fw := &forwarders{e: e}
	out, _, err := run(t, e, fw, "demo", "--background")
	if err != nil {
		t.Fatal(err)
	}
	if out != "context \"demo\" is current; `kubectl tenant disconnect demo` switches back\n" {
		t.Errorf("stdout %q", out)
	}
	if _, _, err := run(t, e, fw, "demo", "--background", "--context-name", "dev"); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(fw.started, ","); got != "demo=demo,demo=dev" {
		t.Errorf("forwarders %s", got)
	}
}

// TestConnectWakesOnlyWhenAsked: a sleeping tenant is an error naming the
// fix without --wake (stdin is no terminal to ask on); --wake wakes it with
// wake's steps, then connects.
func TestConnectWakesOnlyWhenAsked(t *testing.T) {
	e, _, _ := tenanttest.NewEngine(t)
	tenanttest.Create(t, e, tenant.CreateOptions{Name: "demo"})
	if _, err := e.Sleep(context.Background(), tenant.SleepOptions{Name: "demo"}); err != nil {
		t.Fatal(err)
	}
	fw := &forwarders{e: e}
	_, _, err := run(t, e, fw, "demo", "--background")
	if err == nil || err.Error() != "tenant demo is sleeping: run `kubectl tenant wake demo` or pass --wake" || len(fw.started) != 0 {
		t.Fatalf("without --wake: %v, started %v", err, fw.started)
	}
	_, errOut, err := run(t, e, fw, "demo", "--background", "--wake")
	if err != nil {
		t.Fatal(err)
	}
	if len(fw.started) != 1 || !strings.Contains(errOut, tenant.StepScaleUp) {
		t.Errorf("started %v; stderr:\n%s", fw.started, errOut)
	}
	if tn, _ := e.Get(context.Background(), "demo"); tn.Status != tenant.StatusReady {
		t.Errorf("after --wake: %s", tn.Status)
	}
}

func TestConnectUsageErrors(t *testing.T) {
	e, _, _ := tenanttest.NewEngine(t)
	fw := &forwarders{e: e}
	for _, args := range [][]string{
		{"demo", "--background", "--", "kubectl", "get", "ns"},
		{"demo", "--local-port", "70000"},
		{"demo", "other"},
		{"demo", "other", "--", "kubectl"},
		{"Demo"},
		{"demo", "--context-name", "bad\x1bname"},
		{"demo", "--context-name", "  "},
	} {
		if _, _, err := run(t, e, fw, args...); cmdutil.ExitCode(err) != cmdutil.ExitUsage {
			t.Errorf("%v: %v, want a usage error", args, err)
		}
	}
	if len(fw.started) != 0 {
		t.Errorf("started %v", fw.started)
	}
}
