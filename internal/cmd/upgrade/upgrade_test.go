package upgrade

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/kubectl-tenant/kubectl-tenant/internal/cmdutil"
	"github.com/kubectl-tenant/kubectl-tenant/internal/cmdutil/cmdutiltest"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/hostconfig"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant/tenanttest"
)

// run runs `upgrade ARGS...` through its flags and the real Run on e.
func run(t *testing.T, e *tenant.Engine, args ...string) (string, string, error) {
	t.Helper()
	return cmdutiltest.Run(NewCmdUpgrade, func(o *Options) {
		o.Engine = tenanttest.EngineFunc(e)
		o.Defaults = func(context.Context, *pflag.FlagSet) (hostconfig.Resolver, error) { return hostconfig.Resolver{}, nil }
	}, args...)
}

func outcomes(t *testing.T, out string) map[string]tenant.Outcome {
	t.Helper()
	var r Result
	if err := json.Unmarshal([]byte(out), &r); err != nil || r.UpgradePlan == nil {
		t.Fatalf("stdout is not an upgrade result: %v\n%s", err, out)
	}
	got := map[string]tenant.Outcome{}
	for _, it := range r.Items() {
		got[it.Name] = it.Outcome
	}
	return got
}

// TestUpgradeSelectsPlansAndResumes: -l picks only the labelled tenants;
// --dry-run installs nothing; the upgrade installs the selected ones, and a
// re-run finds them unchanged.
func TestUpgradeSelectsPlansAndResumes(t *testing.T) {
	e, _, b := tenanttest.NewEngine(t)
	for _, n := range []string{"a1", "a2", "b1"} {
		team := map[string]string{"team": n[:1]}
		tenanttest.Create(t, e, tenant.CreateOptions{Name: n, Labels: team, Spec: tenant.Spec{ChartVersion: "0.1.0"}})
	}
	created := len(b.Installs)
	out, _, err := run(t, e, "-l", "team=a", "--chart-version", "0.2.0", "--dry-run", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	if got := outcomes(t, out); len(got) != 2 || got["a1"] != tenant.OutcomePlanned || got["a2"] != tenant.OutcomePlanned {
		t.Errorf("dry run: %v", got)
	}
	if len(b.Installs) != created {
		t.Fatalf("--dry-run installed %d", len(b.Installs)-created)
	}
	out, errOut, err := run(t, e, "-l", "team=a", "--chart-version", "0.2.0", "-o", "json")
	if err != nil {
		t.Fatalf("%v\n%s", err, errOut)
	}
	if got := outcomes(t, out); len(got) != 2 || got["a1"] != tenant.OutcomeUpgraded || got["a2"] != tenant.OutcomeUpgraded {
		t.Errorf("upgrade: %v", got)
	}
	var upgraded []string
	for _, req := range b.Installs[created:] {
		upgraded = append(upgraded, req.Name+"@"+req.ChartVersion)
	}
	slices.Sort(upgraded)
	if strings.Join(upgraded, ",") != "a1@0.2.0,a2@0.2.0" {
		t.Errorf("installs %v", upgraded)
	}
	if !strings.Contains(errOut, "a1: "+tenant.StepUpgrade) {
		t.Errorf("stderr lacks the per-tenant steps:\n%s", errOut)
	}
	out, _, err = run(t, e, "-l", "team=a", "--chart-version", "0.2.0", "-o", "json")
	if got := outcomes(t, out); err != nil || got["a1"] != tenant.OutcomeUnchanged || got["a2"] != tenant.OutcomeUnchanged {
		t.Errorf("re-run: %v, %v", got, err)
	}
}

func TestUpgradeUsageErrors(t *testing.T) {
	e, _, _ := tenanttest.NewEngine(t)
	for _, args := range [][]string{
		{"--chart-version", "0.2.0"},                    // no selection
		{"demo", "--all", "--chart-version", "0.2.0"},   // two selections
		{"-l", "team in (", "--chart-version", "0.2.0"}, // bad selector
		{"demo"}, // nothing to change
		{"demo", "--chart-version", "0.2.0", "-o", "name"},
	} {
		if _, _, err := run(t, e, args...); cmdutil.ExitCode(err) != cmdutil.ExitUsage {
			t.Errorf("%v: %v, want a usage error", args, err)
		}
	}
}
