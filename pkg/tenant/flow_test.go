package tenant_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant/tenanttest"
)

type connector struct {
	names []string
	err   error
}

func (c *connector) Connect(_ context.Context, name string) error {
	c.names = append(c.names, name)
	return c.err
}

type registration struct {
	names []string
	err   error
}

func (r *registration) Plan() []string { return []string{"argocd login", "register"} }

func (r *registration) Register(_ context.Context, name string, report tenant.Reporter) error {
	r.names = append(r.names, name)
	for _, s := range r.Plan() {
		if err := report.Step(s, func() error { return r.err }); err != nil {
			return err
		}
	}
	return nil
}

// TestCreateRunsTheWholeFlow: one Create call installs, waits, connects and
// registers, reporting exactly CreatePlan's steps in order to the reporter
// of that call.
func TestCreateRunsTheWholeFlow(t *testing.T) {
	e, _, b := tenanttest.NewEngine(t)
	c, r := &connector{}, &registration{}
	o := tenant.CreateOptions{Name: "demo", Wait: time.Minute, Connect: c, Register: r}
	var rec tenanttest.Recorder
	tn, err := e.With(rec.Report).Create(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := rec.Steps(), tenant.CreatePlan(o); !slices.Equal(got, want) {
		t.Errorf("steps %v, want the plan %v", got, want)
	}
	if tn.Status != tenant.StatusReady || !tn.Connected || tn.Registered == nil || !*tn.Registered || tn.K8sVersion != tenanttest.ServerVersion {
		t.Errorf("tenant %+v", tn)
	}
	if !slices.Equal(c.names, []string{"demo"}) || !slices.Equal(r.names, []string{"demo"}) || len(b.Installs) != 1 {
		t.Errorf("connected %v, registered %v, installs %d", c.names, r.names, len(b.Installs))
	}
	if e.Report != nil {
		t.Error("With changed the shared engine's reporter")
	}
}

// TestCreateFlowFailures: a failed connection stops before registering; a
// failed registration returns the created tenant in a NotRegisteredError.
func TestCreateFlowFailures(t *testing.T) {
	e, _, _ := tenanttest.NewEngine(t)
	boom := errors.New("boom")
	c, r := &connector{err: boom}, &registration{}
	_, err := e.Create(context.Background(), tenant.CreateOptions{Name: "demo", Wait: time.Minute, Connect: c, Register: r})
	if !errors.Is(err, boom) || len(r.names) != 0 {
		t.Fatalf("connect failure: %v, registered %v", err, r.names)
	}
	r.err = boom
	e, _, _ = tenanttest.NewEngine(t) // a fresh host: the fake clientset keeps no resourceVersion for a re-run
	tn, err := e.Create(context.Background(), tenant.CreateOptions{Name: "demo", Wait: time.Minute, Register: r})
	var nr *tenant.NotRegisteredError
	if !errors.As(err, &nr) || !errors.Is(err, boom) || nr.Tenant.Name != "demo" || tn == nil || tn.Status != tenant.StatusReady {
		t.Fatalf("register failure: %v, %+v", err, tn)
	}
	if got := err.Error(); got != "tenant demo is created, but not registered: boom" {
		t.Errorf("message %q", got)
	}
}

func TestCreatePlan(t *testing.T) {
	for _, c := range []struct {
		o    tenant.CreateOptions
		want []string
	}{
		{tenant.CreateOptions{}, []string{"preflight", "namespace", "install"}},
		{tenant.CreateOptions{Wait: time.Second}, []string{"preflight", "namespace", "install", "schedule", "kubeconfig secret", "api ready"}},
		{tenant.CreateOptions{Wait: time.Second, GitOps: true, Connect: &connector{}},
			[]string{"preflight", "namespace", "install", "argocd sync", "schedule", "kubeconfig secret", "api ready", "connect"}},
		{tenant.CreateOptions{Wait: time.Second, Register: &registration{}},
			[]string{"preflight", "namespace", "install", "schedule", "kubeconfig secret", "api ready", "argocd login", "register"}},
	} {
		if got := tenant.CreatePlan(c.o); !slices.Equal(got, c.want) {
			t.Errorf("CreatePlan(%+v) = %v, want %v", c.o, got, c.want)
		}
	}
}
