package create

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-tenant/kubectl-tenant/internal/cmdutil"
	"github.com/kubectl-tenant/kubectl-tenant/internal/cmdutil/cmdutiltest"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/hostconfig"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant/tenanttest"
	"github.com/kubectl-tenant/kubectl-tenant/plugins/argocd"
)

type connector struct{ names []string }

func (c *connector) Connect(_ context.Context, name string) error {
	c.names = append(c.names, name)
	return nil
}

type registration struct {
	err    error
	labels map[string]string
}

func (r *registration) Plan() []string { return argocd.RegisterPlan(false) }
func (r *registration) Register(_ context.Context, _ string, report tenant.Reporter) error {
	return report.Step(argocd.StepLogin, func() error { return r.err })
}

type fakes struct {
	e     *tenant.Engine
	b     *tenanttest.Backend
	conn  *connector
	reg   *registration
	out   string
	errb  string
	calls int // Registration calls
}

// runCreate runs `create ARGS...` through flags, Complete, Validate and the
// real Run, with the Factory's seams replaced by a fake host.
func runCreate(t *testing.T, args ...string) (*fakes, error) {
	t.Helper()
	e, _, b := tenanttest.NewEngine(t)
	fk := &fakes{e: e, b: b, conn: &connector{}, reg: &registration{}}
	var err error
	fk.out, fk.errb, err = cmdutiltest.Run(NewCmdCreate, func(o *Options) {
		o.Engine = tenanttest.EngineFunc(e)
		o.Defaults = noDefaults
		o.Connector = fk.conn
		o.Registration = func(_ context.Context, _ argocd.Options, ro argocd.RegisterOptions) (tenant.Registration, error) {
			fk.calls++
			fk.reg.labels = ro.Labels
			return fk.reg, nil
		}
	}, args...)
	return fk, err
}

func noDefaults(context.Context, *pflag.FlagSet) (hostconfig.Resolver, error) {
	return hostconfig.Resolver{}, nil
}

// TestCreateConnects: by default create installs, waits, connects (the
// Connector gets the tenant) and says the context is current.
func TestCreateConnects(t *testing.T) {
	fk, err := runCreate(t, "demo", "--pool", "p1", "--label", "team=a", "--ttl", "2h")
	if err != nil {
		t.Fatal(err)
	}
	if len(fk.conn.names) != 1 || fk.conn.names[0] != "demo" || fk.calls != 0 {
		t.Errorf("connected %v, registrations %d", fk.conn.names, fk.calls)
	}
	if len(fk.b.Installs) != 1 || fk.b.Installs[0].Pool != "p1" || fk.b.Installs[0].Namespace != "vcluster-demo" {
		t.Errorf("installs %+v", fk.b.Installs)
	}
	out := fk.out
	// "(ready in …)" follows when the recorded time rounds above zero
	// (created-at has whole seconds; a fake create takes milliseconds).
	if !strings.HasPrefix(out, "tenant demo created") || !strings.Contains(out, `context "demo" is current`) {
		t.Errorf("stdout %q", out)
	}
	for _, step := range []string{"preflight", "install", "api ready", "connect"} {
		if !strings.Contains(fk.errb, step) {
			t.Errorf("stderr lacks step %q:\n%s", step, fk.errb)
		}
	}
	ns, err := fk.e.Get(context.Background(), "demo")
	if err != nil || ns.Pool != "p1" || ns.ExpiresAt == nil {
		t.Errorf("tenant %+v, %v", ns, err)
	}
}

// TestCreateJSONWithoutConnecting: -o json prints the tenant as JSON, and
// no progress line reaches stdout.
func TestCreateJSONWithoutConnecting(t *testing.T) {
	fk, err := runCreate(t, "demo", "--connect=false", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var got tenant.Tenant
	if err := json.Unmarshal([]byte(fk.out), &got); err != nil {
		t.Fatalf("stdout is not one JSON tenant: %v\n%s", err, fk.out)
	}
	if got.Name != "demo" || got.Status != tenant.StatusReady || got.Connected || len(fk.conn.names) != 0 {
		t.Errorf("tenant %+v, connected %v", got, fk.conn.names)
	}
}

// TestCreateRegisters: --register registers with the --label labels after
// the waits; a failed registration says the tenant exists and how to finish.
func TestCreateRegisters(t *testing.T) {
	fk, err := runCreate(t, "demo", "--connect=false", "--register", "--label", "env=dev")
	if err != nil {
		t.Fatal(err)
	}
	if fk.calls != 1 || fk.reg.labels["env"] != "dev" || !strings.Contains(fk.out, "registered with Argo CD") {
		t.Errorf("registrations %d labels %v stdout %q", fk.calls, fk.reg.labels, fk.out)
	}
	fk, err = runCreateFailingRegistration(t)
	if err == nil || !strings.Contains(err.Error(), "tenant demo is created, but not registered with Argo CD (re-run with --register, or run `kubectl tenant register demo`): login refused") {
		t.Fatalf("error %v", err)
	}
	if _, gerr := fk.e.Get(context.Background(), "demo"); gerr != nil {
		t.Errorf("the tenant is gone after a failed registration: %v", gerr)
	}
}

func runCreateFailingRegistration(t *testing.T) (*fakes, error) {
	t.Helper()
	e, _, b := tenanttest.NewEngine(t)
	fk := &fakes{e: e, b: b, reg: &registration{err: errors.New("login refused")}}
	streams, _, _, _ := genericiooptions.NewTestIOStreams()
	o := &Options{IO: streams, Engine: tenanttest.EngineFunc(e), Defaults: noDefaults,
		Registration: func(context.Context, argocd.Options, argocd.RegisterOptions) (tenant.Registration, error) {
			return fk.reg, nil
		},
		Tenant: tenant.CreateOptions{Name: "demo", Wait: time.Minute}, Register: true}
	return fk, o.Run(context.Background())
}

// TestCreateUsageErrors: bad input is a usage error before any API call.
func TestCreateUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"Demo"},
		{"demo", "--ttl", "-1h"},
		{"demo", "--register", "--wait", "0"},
		{"demo", "--label", "novalue"},
		{"demo", "--config", "platform.yaml"}, // only with --gitops
		{"demo", "--gitops", "--chart", "./chart"},
		{"demo", "-o", "table"},
	} {
		fk, err := runCreate(t, args...)
		if cmdutil.ExitCode(err) != cmdutil.ExitUsage {
			t.Errorf("%v: %v, want a usage error", args, err)
		}
		if len(fk.b.Installs) != 0 {
			t.Errorf("%v installed", args)
		}
	}
}

// TestCreateWaitZero: --wait 0 returns after the install, does not connect
// and reports only the first three steps.
func TestCreateWaitZero(t *testing.T) {
	fk, err := runCreate(t, "demo", "--wait", "0")
	if err != nil {
		t.Fatal(err)
	}
	if len(fk.conn.names) != 0 || strings.Contains(fk.errb, "api ready") || !strings.Contains(fk.errb, "install") {
		t.Errorf("connected %v; stderr:\n%s", fk.conn.names, fk.errb)
	}
}
