package gc

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-tenant/kubectl-tenant/internal/cmdutil"
	"github.com/kubectl-tenant/kubectl-tenant/internal/cmdutil/cmdutiltest"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/hostconfig"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant/tenanttest"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/warmpool"
)

// run runs `gc ARGS...` through its flags and the real Run on e.
func run(t *testing.T, e *tenant.Engine, args ...string) (string, string, error) {
	t.Helper()
	return cmdutiltest.Run(NewCmdGC, func(o *Options) {
		o.Engine = tenanttest.ArgoCDEngineFunc(e)
		o.Defaults = func(context.Context) (hostconfig.Resolver, error) { return hostconfig.Resolver{}, nil }
		o.TopUp = func(ctx context.Context, e *tenant.Engine) ([]warmpool.Result, error) {
			host := &hostconfig.Defaults{Found: true, WarmPools: map[string]warmpool.Config{"pool-a": {Pool: "pool-a", Size: 2}}}
			return warmpool.TopUpAll(ctx, e, hostconfig.Resolver{Host: host})
		}
	}, args...)
}

func TestGC(t *testing.T) {
	e, _, b := tenanttest.NewEngine(t)
	tenanttest.Create(t, e, tenant.CreateOptions{Name: "old", TTL: time.Hour})
	tenanttest.Create(t, e, tenant.CreateOptions{Name: "kept"})
	later := tenanttest.Later(e, 2*time.Hour) // old has expired

	out, _, err := run(t, later, "--dry-run")
	if err != nil || !strings.HasPrefix(out, "tenant/old deleted (dry run), expired ") || !strings.HasSuffix(out, "gc (dry run): 1 would be deleted\n") || len(b.Uninstalled) != 0 {
		t.Fatalf("gc --dry-run: %q, %v, uninstalled %v", out, err, b.Uninstalled)
	}
	out, _, err = run(t, later, "--wait", "0", "-o", "yaml")
	if err != nil || !strings.Contains(out, "name: old") || !strings.Contains(out, "action: "+tenant.GCDeleted) ||
		!strings.Contains(out, "pool: pool-a") || strings.Count(out, "- spare-") != 2 {
		t.Fatalf("gc -o yaml: %v\n%s", err, out)
	}
	// The pool is full: the next gc starts nothing.
	installs := len(b.Installs)
	out, _, err = run(t, later, "--wait", "0")
	if err != nil || strings.Contains(out, "pool/") || len(b.Installs) != installs {
		t.Fatalf("gc of a full pool: %v\n%s", err, out)
	}
	if _, err := e.Get(context.Background(), "old"); !errors.Is(err, tenant.ErrNotFound) {
		t.Errorf("old after gc: %v, want not found", err)
	}
	if _, err := e.Get(context.Background(), "kept"); err != nil {
		t.Errorf("kept after gc: %v", err)
	}
	for _, args := range [][]string{{"--wait", "-1s"}, {"-o", "name"}} {
		if _, _, err := run(t, e, args...); cmdutil.ExitCode(err) != cmdutil.ExitUsage {
			t.Errorf("%v: %v, want a usage error", args, err)
		}
	}
}

// N3: a caller who may not read the host defaults leaves every pool as it
// is: gc warns in one line and succeeds, and no spare is removed.
func TestGCLeavesPoolsOfUnreadableHostDefaults(t *testing.T) {
	e, _, b := tenanttest.NewEngine(t)
	host := &hostconfig.Defaults{Found: true, WarmPools: map[string]warmpool.Config{"pool-a": {Pool: "pool-a", Size: 2}}}
	if _, err := warmpool.TopUpAll(context.Background(), e, hostconfig.Resolver{Host: host}); err != nil {
		t.Fatal(err)
	}
	installs := len(b.Installs)
	out, errOut, err := cmdutiltest.Run(NewCmdGC, func(o *Options) {
		o.Engine = tenanttest.ArgoCDEngineFunc(e)
		o.Defaults = nil
		o.TopUp = func(ctx context.Context, e *tenant.Engine) ([]warmpool.Result, error) {
			forbidden := &hostconfig.Defaults{Unreadable: errors.New(`configmaps "kubectl-tenant" is forbidden`)}
			return warmpool.TopUpAll(ctx, e, hostconfig.Resolver{Host: forbidden})
		}
	}, "--wait", "0")
	if err != nil {
		t.Fatalf("gc: %v\n%s", err, errOut)
	}
	if strings.Count(errOut, "\n") != 1 || !strings.HasPrefix(errOut, "Warning: warm pools left unchanged: cannot read the host defaults") {
		t.Errorf("stderr: %q, want one warning line", errOut)
	}
	if strings.Contains(out, "pool/") {
		t.Errorf("gc reported pool changes:\n%s", out)
	}
	spares, err := e.Spares(context.Background(), "")
	if err != nil || len(spares) != 2 || len(b.Installs) != installs {
		t.Errorf("spares %v (%v), %d installs (were %d)", spares, err, len(b.Installs), installs)
	}
}

// Issue #27: gc puts tenants idle for their sleep-after (their own, else
// the host default) to sleep, and keeps their connections.
func TestGCSleepsIdleTenants(t *testing.T) {
	e, _, _ := tenanttest.NewEngine(t)
	ctx := context.Background()
	tenanttest.Create(t, e, tenant.CreateOptions{Name: "idle"})
	tenanttest.Create(t, e, tenant.CreateOptions{Name: "host"})
	tenanttest.Create(t, e, tenant.CreateOptions{Name: "never"})
	if _, err := e.SetSleepAfter(ctx, "idle", time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, err := e.SetSleepAfter(ctx, "never", 0); err != nil {
		t.Fatal(err)
	}
	later := tenanttest.Later(e, 2*time.Hour)
	host := func(context.Context) (hostconfig.Resolver, error) {
		return hostconfig.Resolver{Host: &hostconfig.Defaults{Found: true, Data: map[string]string{hostconfig.KeyIdleSleepAfter: "90m"}}}, nil
	}
	out, _, err := cmdutiltest.Run(NewCmdGC, func(o *Options) {
		o.Engine, o.Defaults, o.TopUp = tenanttest.ArgoCDEngineFunc(later), host, nil
	}, "--dry-run")
	if err != nil || !strings.Contains(out, "tenant/idle slept (dry run), idle for ") || !strings.Contains(out, "tenant/host slept (dry run)") ||
		strings.Contains(out, "never") || !strings.HasSuffix(out, "gc (dry run): 0 would be deleted, 2 would be put to sleep\n") {
		t.Fatalf("gc --dry-run: %v\n%s", err, out)
	}
	out, _, err = run(t, later, "--wait", "0", "--pools=false")
	if err != nil || !strings.Contains(out, "tenant/idle slept, idle for ") || strings.Contains(out, "tenant/host") ||
		!strings.HasSuffix(out, "gc: 0 deleted, 0 failed; 1 put to sleep, 0 failed\n") {
		t.Fatalf("gc: %v\n%s", err, out)
	}
	for name, want := range map[string]tenant.Status{"idle": tenant.StatusSleeping, "host": tenant.StatusReady, "never": tenant.StatusReady} {
		if tn, err := e.Get(ctx, name); err != nil || tn.Status != want {
			t.Errorf("%s after gc: %+v, %v; want %s", name, tn, err, want)
		}
	}
}
