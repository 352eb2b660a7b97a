package extend

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/kubectl-tenant/kubectl-tenant/internal/cmdutil"
	"github.com/kubectl-tenant/kubectl-tenant/internal/cmdutil/cmdutiltest"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/hostconfig"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant/tenanttest"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// run runs `extend ARGS...` through its flags and the real Run on e, with
// the host defaults host (nil: none) and the clock at t0.
func run(t *testing.T, e *tenant.Engine, host *hostconfig.Defaults, args ...string) (string, error) {
	t.Helper()
	out, _, err := cmdutiltest.Run(NewCmdExtend, func(o *Options) {
		o.Engine = tenanttest.EngineFunc(e)
		o.Defaults = func(context.Context, *pflag.FlagSet) (hostconfig.Resolver, error) {
			return hostconfig.Resolver{Host: host}, nil
		}
		o.Now = func() time.Time { return t0 }
	}, args...)
	return out, err
}

func TestExtend(t *testing.T) {
	e, _, _ := tenanttest.NewEngine(t)
	e.Now = func() time.Time { return t0 }
	tenanttest.Create(t, e, tenant.CreateOptions{Name: "demo", TTL: time.Hour})
	out, err := run(t, e, nil, "demo", "--ttl", "4h")
	if err != nil {
		t.Fatal(err)
	}
	if want := "tenant demo expires at 2026-03-01T16:00:00Z (in 4h)\n"; out != want {
		t.Errorf("stdout %q, want %q", out, want)
	}
	if tn, _ := e.Get(context.Background(), "demo"); tn.ExpiresAt == nil || !tn.ExpiresAt.Equal(t0.Add(4*time.Hour)) {
		t.Errorf("expires at %v", tn.ExpiresAt)
	}
	out, err = run(t, e, nil, "demo", "--never")
	if err != nil || out != "tenant demo never expires\n" {
		t.Errorf("--never: %q, %v", out, err)
	}
	if tn, _ := e.Get(context.Background(), "demo"); tn.ExpiresAt != nil {
		t.Errorf("--never left expires at %v", tn.ExpiresAt)
	}
}

// TestExtendErrors: flag mistakes and a --ttl over the host's maxTTL are
// usage errors, and change nothing.
func TestExtendErrors(t *testing.T) {
	e, _, _ := tenanttest.NewEngine(t)
	tenanttest.Create(t, e, tenant.CreateOptions{Name: "demo"})
	for _, args := range [][]string{{"demo"}, {"demo", "--ttl", "4h", "--never"}, {"demo", "--ttl", "-1h"}, {"demo", "--never", "-o", "wide"}} {
		if _, err := run(t, e, nil, args...); cmdutil.ExitCode(err) != cmdutil.ExitUsage {
			t.Errorf("%v: %v, want a usage error", args, err)
		}
	}
	host := &hostconfig.Defaults{Data: map[string]string{hostconfig.KeyMaxTTL: "8h"}}
	_, err := run(t, e, host, "demo", "--ttl", "24h")
	if cmdutil.ExitCode(err) != cmdutil.ExitUsage || !strings.Contains(err.Error(), "8h") {
		t.Errorf("over maxTTL: %v", err)
	}
	if tn, _ := e.Get(context.Background(), "demo"); tn.ExpiresAt != nil {
		t.Errorf("a refused extend set expires at %v", tn.ExpiresAt)
	}
	if _, err := run(t, e, host, "demo", "--ttl", "2h"); err != nil {
		t.Errorf("under maxTTL: %v", err)
	}
}
