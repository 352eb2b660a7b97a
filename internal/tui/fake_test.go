package tui

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
)

// t0 is the pinned clock of every test.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func now() time.Time { return t0 }

// fakeEngine is the engine's surface with scripted behaviour: the TUI's own
// logic is pure UI, so fakes are enough here (test/e2e drives the real thing).
type fakeEngine struct {
	mu       sync.Mutex
	tenants  []tenant.Tenant
	pools    []string
	poolsErr error
	report   tenant.Reporter
	lists    int
	created  []tenant.CreateOptions
	deleted  []string
	// createScript runs inside Create; nil: a quick success.
	createScript func(ctx context.Context, ev func(step string, p tenant.Phase, at time.Duration, msg string)) error
}

func (f *fakeEngine) List(context.Context) ([]tenant.Tenant, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lists++
	return append([]tenant.Tenant(nil), f.tenants...), nil
}

func (f *fakeEngine) Pools(context.Context) ([]string, error) { return f.pools, f.poolsErr }

// ev reports an event at t0+at.
func (f *fakeEngine) ev(step string, p tenant.Phase, at time.Duration, msg string) {
	var err error
	if p == tenant.PhaseFailed {
		err = errors.New(msg)
	}
	f.report(tenant.Event{Time: t0.Add(at), Step: step, Phase: p, Message: msg, Err: err})
}

func (f *fakeEngine) Create(ctx context.Context, o tenant.CreateOptions) (*tenant.Tenant, error) {
	f.mu.Lock()
	f.created = append(f.created, o)
	script := f.createScript
	f.mu.Unlock()
	if script == nil {
		script = quickCreate
	}
	if err := script(ctx, f.ev); err != nil {
		return nil, err
	}
	t := tenant.Tenant{Name: o.Name, Namespace: tenant.NamespaceFor(o.Name), Status: tenant.StatusReady, Pool: o.Pool,
		CreatedAt: t0.Add(-42 * time.Second), TimeToReady: 41800 * time.Millisecond}
	f.mu.Lock()
	f.tenants = append(f.tenants, t)
	f.mu.Unlock()
	if o.Register != nil { // as the engine's last steps
		if err := o.Register.Register(ctx, o.Name, f.report); err != nil {
			return &t, &tenant.NotRegisteredError{Tenant: &t, Err: err}
		}
		registered := true
		t.Registered = &registered
	}
	return &t, nil
}

func (f *fakeEngine) Delete(_ context.Context, o tenant.DeleteOptions) error {
	f.ev(tenant.StepUninstall, tenant.PhaseStarted, -3*time.Second, "")
	f.ev(tenant.StepUninstall, tenant.PhaseDone, -2*time.Second, "")
	f.mu.Lock()
	defer f.mu.Unlock()
	f.deleted = append(f.deleted, o.Name)
	kept := f.tenants[:0]
	for _, t := range f.tenants {
		if t.Name != o.Name {
			kept = append(kept, t)
		}
	}
	f.tenants = kept
	return nil
}

// setStatus sets a tenant's status, as sleep and wake do.
func (f *fakeEngine) setStatus(name string, st tenant.Status) (*tenant.Tenant, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.tenants {
		if f.tenants[i].Name == name {
			f.tenants[i].Status = st
			t := f.tenants[i]
			return &t, nil
		}
	}
	return nil, tenant.ErrNotFound
}

func (f *fakeEngine) Sleep(_ context.Context, o tenant.SleepOptions) (*tenant.Tenant, error) {
	f.ev(tenant.StepScaleDown, tenant.PhaseStarted, -2*time.Second, "")
	f.ev(tenant.StepScaleDown, tenant.PhaseDone, -time.Second, "")
	return f.setStatus(o.Name, tenant.StatusSleeping)
}

func (f *fakeEngine) Wake(_ context.Context, o tenant.WakeOptions) (*tenant.Tenant, error) {
	f.ev(tenant.StepScaleUp, tenant.PhaseStarted, -2*time.Second, "")
	f.ev(tenant.StepScaleUp, tenant.PhaseDone, -time.Second, "")
	return f.setStatus(o.Name, tenant.StatusReady)
}

// quickCreate reports every step done.
func quickCreate(_ context.Context, ev func(string, tenant.Phase, time.Duration, string)) error {
	at := -42 * time.Second
	for _, s := range tenant.CreatePlan(tenant.CreateOptions{Wait: time.Minute}) {
		ev(s, tenant.PhaseStarted, at, "")
		at += 7 * time.Second
		ev(s, tenant.PhaseDone, at, "")
	}
	return nil
}

// stuckCreate waits at schedule, with the scheduler's reason, until ctx ends.
func stuckCreate(ctx context.Context, ev func(string, tenant.Phase, time.Duration, string)) error {
	ev(tenant.StepPreflight, tenant.PhaseStarted, -20*time.Second, "")
	ev(tenant.StepPreflight, tenant.PhaseWarning, -19800*time.Millisecond, "no nodes labelled project=empty: the vCluster pod will stay Pending until the pool has nodes")
	ev(tenant.StepPreflight, tenant.PhaseDone, -19600*time.Millisecond, "")
	ev(tenant.StepNamespace, tenant.PhaseStarted, -19600*time.Millisecond, "")
	ev(tenant.StepNamespace, tenant.PhaseDone, -19500*time.Millisecond, "")
	ev(tenant.StepInstall, tenant.PhaseStarted, -19500*time.Millisecond, "")
	ev(tenant.StepInstall, tenant.PhaseDone, -16200*time.Millisecond, "")
	ev(tenant.StepSchedule, tenant.PhaseStarted, -16200*time.Millisecond, "")
	ev(tenant.StepSchedule, tenant.PhaseWaiting, -16*time.Second, "waiting for the control-plane pod to be created")
	ev(tenant.StepSchedule, tenant.PhaseWaiting, -15*time.Second, "pod vcluster-0 Pending: 0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector.")
	<-ctx.Done()
	err := ctx.Err()
	ev(tenant.StepSchedule, tenant.PhaseFailed, 0, err.Error())
	return err
}

// failingCreate times out at schedule.
func failingCreate(ctx context.Context, ev func(string, tenant.Phase, time.Duration, string)) error {
	ev(tenant.StepPreflight, tenant.PhaseStarted, -5*time.Minute-4*time.Second, "")
	ev(tenant.StepPreflight, tenant.PhaseDone, -5*time.Minute-3*time.Second, "")
	ev(tenant.StepNamespace, tenant.PhaseStarted, -5*time.Minute-3*time.Second, "")
	ev(tenant.StepNamespace, tenant.PhaseDone, -5*time.Minute-3*time.Second, "")
	ev(tenant.StepInstall, tenant.PhaseStarted, -5*time.Minute-3*time.Second, "")
	ev(tenant.StepInstall, tenant.PhaseDone, -5*time.Minute, "")
	ev(tenant.StepSchedule, tenant.PhaseStarted, -5*time.Minute, "")
	msg := "timed out: pod vcluster-0 Pending: 0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector."
	ev(tenant.StepSchedule, tenant.PhaseWaiting, -5*time.Minute, msg[len("timed out: "):])
	ev(tenant.StepSchedule, tenant.PhaseFailed, 0, msg)
	return errors.New(msg)
}

func sampleTenants() []tenant.Tenant {
	exp := t0.Add(6 * time.Hour)
	yes := true
	return []tenant.Tenant{
		{Name: "demo", Namespace: "vcluster-demo", Status: tenant.StatusReady, Pool: "project-x", CreatedAt: t0.Add(-2 * time.Hour), ExpiresAt: &exp, Connected: true, Registered: &yes},
		{Name: "dev-2", Namespace: "vcluster-dev-2", Status: tenant.StatusPending, Pool: "project-y", CreatedAt: t0.Add(-5 * time.Minute)},
		{Name: "broken", Namespace: "vcluster-broken", Status: tenant.StatusFailed, Pool: "project-x", CreatedAt: t0.Add(-26 * time.Hour)},
	}
}

// newFake returns a fake engine wired to a bus, and the app's config.
func newFake() (*fakeEngine, Config) {
	bus := NewBus()
	f := &fakeEngine{tenants: sampleTenants(), pools: []string{"project-x", "project-y"}, report: bus.Reporter()}
	return f, Config{Engine: f, Bus: bus, Now: now, Refresh: time.Hour,
		Connect:    func(context.Context, string) error { return nil },
		Disconnect: func(context.Context, string) error { return nil },
	}
}

type safeBuffer struct {
	mu sync.Mutex
	b  []byte
}

func (s *safeBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b = append(s.b, p...)
	return len(p), nil
}

func (s *safeBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return string(s.b)
}

// fakeRegistration scripts a registration's two steps.
type fakeRegistration struct {
	f   *fakeEngine
	got []string
}

func (r *fakeRegistration) Plan() []string { return []string{"argocd login", "register"} }

func (r *fakeRegistration) Register(_ context.Context, name string, _ tenant.Reporter) error {
	r.got = append(r.got, name)
	r.f.ev("argocd login", tenant.PhaseStarted, -2*time.Second, "")
	r.f.ev("argocd login", tenant.PhaseDone, -time.Second, "")
	r.f.ev("register", tenant.PhaseStarted, -time.Second, "")
	r.f.ev("register", tenant.PhaseDone, 0, "")
	return nil
}
