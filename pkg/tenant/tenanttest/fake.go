// Package tenanttest builds a tenant.Engine over client-go's fake clientset
// and a fake Backend, for unit tests of the faces that drive the engine (the
// commands, the interactive app). The engine's own API calls (namespace,
// lease, access reviews, pod and annotation reads) run against the fake
// clientset; the Backend installs no chart: it records the request, marks
// the release deployed, creates a Running control-plane pod and answers the
// readiness probe itself. The real backend is tested end to end (test/e2e).
package tenanttest

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	authzv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/kubeconfig"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/session"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
)

// ServerVersion is what the fake control plane's /version says.
const ServerVersion = "v1.31.0"

// Backend is a tenant.Backend and tenant.ReadyProber that installs nothing.
type Backend struct {
	Kube kubernetes.Interface

	mu          sync.Mutex
	releases    map[string]tenant.Release
	versions    map[string]string // chart version per namespace
	asleep      map[string]bool
	Installs    []tenant.InstallRequest
	Uninstalled []string
}

var (
	_ tenant.Backend     = (*Backend)(nil)
	_ tenant.ReadyProber = (*Backend)(nil)
)

// Install records req, marks the release deployed and starts the control
// plane (a Running pod).
func (b *Backend) Install(ctx context.Context, req tenant.InstallRequest) error {
	b.mu.Lock()
	b.Installs = append(b.Installs, req)
	rel := b.releases[req.Namespace]
	b.releases[req.Namespace] = tenant.Release{Status: "deployed", Version: rel.Version + 1}
	if req.ChartVersion != "" {
		b.versions[req.Namespace] = req.ChartVersion
	}
	b.mu.Unlock()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "vcluster-0", Namespace: req.Namespace, Labels: map[string]string{"app": "vcluster"}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning,
			Conditions: []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionTrue}}},
	}
	_, err := b.Kube.CoreV1().Pods(req.Namespace).Create(ctx, pod, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	return err
}

// Inspect compares the installed chart version with req's (values never
// change here).
func (b *Backend) Inspect(_ context.Context, req tenant.InstallRequest) (tenant.Change, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	rel, ok := b.releases[req.Namespace]
	if !ok {
		return tenant.Change{}, tenant.ErrNotFound
	}
	from := b.versions[req.Namespace]
	to := req.ChartVersion
	if to == "" {
		to = from
	}
	return tenant.Change{Revision: rel.Version, Status: rel.Status, From: from, To: to}, nil
}

// RolloutDone is always done.
func (b *Backend) RolloutDone(context.Context, string) (bool, string, error) { return true, "", nil }

// Uninstall forgets the release.
func (b *Backend) Uninstall(_ context.Context, ns string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.releases, ns)
	b.Uninstalled = append(b.Uninstalled, ns)
	return nil
}

// Releases lists what Install installed.
func (b *Backend) Releases(context.Context, tenant.Scope) (map[string]tenant.Release, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make(map[string]tenant.Release, len(b.releases))
	for k, v := range b.releases {
		out[k] = v
	}
	return out, nil
}

// Credentials exist once the release is installed.
func (b *Backend) Credentials(_ context.Context, ns string) (*tenant.Credentials, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.releases[ns]; !ok {
		return nil, tenant.ErrNotFound
	}
	return &tenant.Credentials{Token: "fake"}, nil
}

// ProbeReady answers for an installed release.
func (b *Backend) ProbeReady(ctx context.Context, ns, _ string, c *tenant.Credentials) (string, error) {
	if _, err := b.Credentials(ctx, ns); err != nil {
		return "", err
	}
	return ServerVersion, nil
}

// PodSelector selects the pod Install creates.
func (b *Backend) PodSelector() string { return "app=vcluster" }

// APIPort is vCluster's.
func (b *Backend) APIPort() int { return 8443 }

// WorkloadSelector selects nothing Install creates.
func (b *Backend) WorkloadSelector() string { return "vcluster.loft.sh/managed-by" }

// Sleep marks the tenant asleep.
func (b *Backend) Sleep(_ context.Context, ns string) (tenant.SleepResult, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	was := b.asleep[ns]
	b.asleep[ns] = true
	return tenant.SleepResult{Changed: !was}, nil
}

// Wake marks the tenant awake.
func (b *Backend) Wake(_ context.Context, ns string) (bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	was := b.asleep[ns]
	delete(b.asleep, ns)
	return was, nil
}

// NewEngine returns an engine over a fake clientset holding objs (every
// access review allowed) and a fake Backend; its kubeconfig and sessions
// live in a temporary directory. Report is nil: give each call its own with
// With.
func NewEngine(t testing.TB, objs ...runtime.Object) (*tenant.Engine, *fake.Clientset, *Backend) {
	t.Helper()
	cs := fake.NewSimpleClientset(objs...)
	cs.PrependReactor("create", "selfsubjectaccessreviews", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, &authzv1.SelfSubjectAccessReview{Status: authzv1.SubjectAccessReviewStatus{Allowed: true}}, nil
	})
	b := &Backend{Kube: cs, releases: map[string]tenant.Release{}, versions: map[string]string{}, asleep: map[string]bool{}}
	dir := t.TempDir()
	e := &tenant.Engine{Host: tenant.Host{Kube: cs, Backend: b,
		Kubeconfig: kubeconfig.Store{Path: filepath.Join(dir, "config")},
		Sessions:   session.Store{Dir: filepath.Join(dir, "sessions")}}}
	return e, cs, b
}

// Recorder collects events; Steps names the steps started, in order.
type Recorder struct {
	mu     sync.Mutex
	Events []tenant.Event
}

// Report is the tenant.Reporter that records.
func (r *Recorder) Report(ev tenant.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.Events = append(r.Events, ev)
}

// Steps names each step that started, in order.
func (r *Recorder) Steps() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, ev := range r.Events {
		if ev.Phase == tenant.PhaseStarted {
			out = append(out, ev.Step)
		}
	}
	return out
}

// Create makes tenant o.Name ready on e, reporting nowhere (Wait defaults
// to a minute).
func Create(t testing.TB, e *tenant.Engine, o tenant.CreateOptions) *tenant.Tenant {
	t.Helper()
	if o.Wait == 0 {
		o.Wait = time.Minute
	}
	tn, err := e.With(nil).Create(context.Background(), o)
	if err != nil {
		t.Fatalf("create %s: %v", o.Name, err)
	}
	return tn
}

// Later returns a copy of e whose clock runs d ahead (expiry, idleness).
func Later(e *tenant.Engine, d time.Duration) *tenant.Engine {
	c := *e
	c.Now = func() time.Time { return time.Now().Add(d) }
	return &c
}

// EngineFunc is a Factory-shaped func returning e.
func EngineFunc(e *tenant.Engine) func() (*tenant.Engine, error) {
	return func() (*tenant.Engine, error) { return e, nil }
}

// ArgoCDEngineFunc is a Factory-shaped func returning e where a command
// takes the engine with its Argo CD plugins (Factory.ArgoCDEngine).
func ArgoCDEngineFunc(e *tenant.Engine) func(context.Context) (*tenant.Engine, error) {
	return func(context.Context) (*tenant.Engine, error) { return e, nil }
}

// ListingBackend is Backend that also lists control planes (one ready
// replica per release, zero and paused while asleep), as plugins/vcluster
// does: for tests of what reads the workloads (warm pools' readiness).
type ListingBackend struct{ *Backend }

var _ tenant.ControlPlaneLister = ListingBackend{}

// ControlPlanes reports every installed release's (or s.Namespace's).
func (b ListingBackend) ControlPlanes(_ context.Context, s tenant.Scope) (map[string]tenant.ControlPlane, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := map[string]tenant.ControlPlane{}
	for ns := range b.releases {
		if s.Namespace != "" && ns != s.Namespace {
			continue
		}
		cp := tenant.ControlPlane{Kind: "StatefulSet", Replicas: 1, Ready: 1}
		if b.asleep[ns] {
			cp = tenant.ControlPlane{Kind: "StatefulSet", Paused: true}
		}
		out[ns] = cp
	}
	return out, nil
}

// ControlPlaneKinds is the one kind ControlPlanes reports.
func (ListingBackend) ControlPlaneKinds() []string { return []string{"StatefulSet"} }

// NewListingEngine is NewEngine with a ListingBackend.
func NewListingEngine(t testing.TB, objs ...runtime.Object) (*tenant.Engine, *fake.Clientset, *Backend) {
	e, cs, b := NewEngine(t, objs...)
	e.Backend = ListingBackend{b}
	return e, cs, b
}
