package tenant

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/kubeconfig"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/session"
)

// fakeBackend records calls; the real backend is tested end to end against
// the playground (test/e2e).
type fakeBackend struct {
	mu          sync.Mutex // PlanUpgrade calls Inspect concurrently
	releases    map[string]Release
	uninstalled []string
	asleep      map[string]bool
	inspected   []string
	requests    []InstallRequest
	installs    atomic.Int32
}

func (b *fakeBackend) Inspect(_ context.Context, req InstallRequest) (Change, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.inspected = append(b.inspected, req.Name)
	b.requests = append(b.requests, req)
	return Change{Revision: 2, Status: "deployed", From: "1", To: "1"}, nil
}

func (b *fakeBackend) Install(context.Context, InstallRequest) error {
	b.installs.Add(1)
	return nil
}
func (b *fakeBackend) RolloutDone(context.Context, string) (bool, string, error) {
	return true, "", nil
}
func (b *fakeBackend) Uninstall(_ context.Context, ns string) error {
	b.uninstalled = append(b.uninstalled, ns)
	return nil
}
func (b *fakeBackend) Releases(context.Context, Scope) (map[string]Release, error) {
	return b.releases, nil
}
func (b *fakeBackend) Credentials(context.Context, string) (*Credentials, error) {
	return nil, ErrNotFound
}
func (b *fakeBackend) PodSelector() string      { return "app=vcluster" }
func (b *fakeBackend) APIPort() int             { return 8443 }
func (b *fakeBackend) WorkloadSelector() string { return "synced=yes" }
func (b *fakeBackend) Sleep(_ context.Context, ns string) (SleepResult, error) {
	was := b.asleep[ns]
	b.asleep[ns] = true
	return SleepResult{Changed: !was}, nil
}
func (b *fakeBackend) Wake(_ context.Context, ns string) (bool, error) {
	was := b.asleep[ns]
	delete(b.asleep, ns)
	return was, nil
}

func tenantNS(name string, ann map[string]string) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		Name: NamespaceFor(name), Labels: map[string]string{LabelName: name, LabelPool: "p"}, Annotations: ann,
	}}
}

func newEngine(t *testing.T, objs ...runtime.Object) (*Engine, *fake.Clientset, *fakeBackend) {
	cs := fake.NewSimpleClientset(objs...)
	b := &fakeBackend{releases: map[string]Release{}, asleep: map[string]bool{}}
	dir := t.TempDir()
	return &Engine{Host: Host{Kube: cs, Backend: b, Kubeconfig: kubeconfig.Store{Path: filepath.Join(dir, "config")},
		Sessions: session.Store{Dir: filepath.Join(dir, "sessions")}}}, cs, b
}

func TestListStatusAndOneCallEach(t *testing.T) {
	ready := tenantNS("a", map[string]string{AnnotationReadyAt: "2026-01-01T00:00:00Z", AnnotationTimeToReady: "41s", AnnotationExpiresAt: "2026-01-02T00:00:00Z"})
	pending := tenantNS("b", nil)
	failed := tenantNS("c", nil)
	installing := tenantNS("d", nil)
	sleeping := tenantNS("e", map[string]string{AnnotationReadyAt: "2026-01-01T00:00:00Z", AnnotationSleepingSince: "2026-01-01T01:00:00Z"})
	other := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "vcluster-foreign"}}
	e, cs, b := newEngine(t, ready, pending, failed, installing, sleeping, other)
	b.releases = map[string]Release{
		"vcluster-a": {Status: "deployed", Version: 1},
		"vcluster-b": {Status: "deployed", Version: 2},
		"vcluster-c": {Status: "failed", Version: 1},
		"vcluster-d": {Status: "pending-install", Version: 1},
		"vcluster-e": {Status: "deployed", Version: 1},
	}
	ts, err := e.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Status{}
	for _, tn := range ts {
		got[tn.Name] = tn.Status
	}
	want := map[string]Status{"a": StatusReady, "b": StatusPending, "c": StatusFailed, "d": StatusInstalling, "e": StatusSleeping}
	if len(got) != len(want) {
		t.Fatalf("List returned %v, want %v (the unlabelled namespace must not appear)", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("tenant %s status %s, want %s", k, got[k], v)
		}
	}
	if ts[0].TimeToReady != 41*time.Second || ts[0].ExpiresAt == nil {
		t.Errorf("annotations not read: %+v", ts[0])
	}
	lists := 0
	for _, a := range cs.Actions() {
		if a.GetVerb() == "list" {
			lists++
		}
		if a.GetVerb() == "get" {
			t.Errorf("List made a per-tenant get: %v", a)
		}
	}
	if lists != 1 {
		t.Errorf("List made %d list calls to the clientset, want 1", lists)
	}
}

func TestDeleteRefusesForeignNamespace(t *testing.T) {
	foreign := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "vcluster-prod"}}
	e, cs, b := newEngine(t, foreign)
	err := e.Delete(context.Background(), DeleteOptions{Name: "prod"})
	if err == nil {
		t.Fatal("Delete of a namespace without the tenant label succeeded")
	}
	for _, a := range cs.Actions() {
		if a.GetVerb() == "delete" {
			t.Fatalf("Delete touched a foreign namespace: %v", a)
		}
	}
	if len(b.uninstalled) != 0 {
		t.Fatalf("Delete uninstalled in a foreign namespace: %v", b.uninstalled)
	}
}

func TestDeleteNotFoundAndIgnore(t *testing.T) {
	e, _, _ := newEngine(t)
	if err := e.Delete(context.Background(), DeleteOptions{Name: "ghost"}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Delete(ghost) = %v, want ErrNotFound", err)
	}
	if err := e.Delete(context.Background(), DeleteOptions{Name: "ghost", IgnoreNotFound: true}); err != nil {
		t.Fatalf("Delete(ghost, IgnoreNotFound) = %v", err)
	}
}

func TestDeleteRemovesNamespaceAndRelease(t *testing.T) {
	e, cs, b := newEngine(t, tenantNS("gone", nil))
	var events []Event
	e.Report = func(ev Event) { events = append(events, ev) }
	if err := e.Delete(context.Background(), DeleteOptions{Name: "gone"}); err != nil {
		t.Fatal(err)
	}
	if len(b.uninstalled) != 1 || b.uninstalled[0] != "vcluster-gone" {
		t.Fatalf("uninstalled %v", b.uninstalled)
	}
	if _, err := cs.CoreV1().Namespaces().Get(context.Background(), "vcluster-gone", metav1.GetOptions{}); err == nil {
		t.Fatal("namespace still there")
	}
	steps := map[string]bool{}
	for _, ev := range events {
		if ev.Phase == PhaseDone {
			steps[ev.Step] = true
		}
	}
	for _, s := range []string{StepUninstall, StepDeleteNS, StepLocal} {
		if !steps[s] {
			t.Errorf("step %q not reported done; events: %v", s, events)
		}
	}
}

func TestPreflightForbidden(t *testing.T) {
	e, cs, _ := newEngine(t)
	cs.PrependReactor("create", "selfsubjectaccessreviews", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, &authzReview, nil
	})
	_, err := e.Create(context.Background(), CreateOptions{Name: "demo"})
	var fe *ForbiddenError
	if !errors.As(err, &fe) {
		t.Fatalf("Create without rights = %v, want ForbiddenError", err)
	}
	if _, err := cs.CoreV1().Namespaces().Get(context.Background(), "vcluster-demo", metav1.GetOptions{}); err == nil {
		t.Fatal("Create without rights created the namespace")
	}
}

// A negative limit is a usage error, not a panic (audit L1: slice bounds
// out of range with 0 and with 3 events).
func TestEventsLimit(t *testing.T) {
	var evs []runtime.Object
	for i := range 3 {
		evs = append(evs, &corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("e%d", i), Namespace: NamespaceFor("demo")},
			Message: fmt.Sprint(i), LastTimestamp: metav1.NewTime(time.Unix(int64(1000+i), 0))})
	}
	e, _, _ := newEngine(t, evs...)
	for _, limit := range []int{-1, -5} {
		_, err := e.Events(context.Background(), "demo", limit)
		var ue *UsageError
		if !errors.As(err, &ue) {
			t.Errorf("Events(limit %d): %v, want a usage error", limit, err)
		}
	}
	got, err := e.Events(context.Background(), "demo", 2)
	if err != nil || len(got) != 2 || got[0].Message != "1" || got[1].Message != "2" {
		t.Errorf("Events(limit 2) = %v, %v; want the newest two, oldest first", got, err)
	}
	if got, err := e.Events(context.Background(), "demo", 0); err != nil || len(got) != 0 {
		t.Errorf("Events(limit 0) = %v, %v", got, err)
	}
}

// What the schedule step says while the control-plane pod is on its way: no
// "on node " with an empty name before the scheduler has looked at it.
func TestControlPlanePodWaitingMessages(t *testing.T) {
	cases := []struct {
		name string
		pod  corev1.Pod
		want string
	}{
		{"just created", corev1.Pod{Status: corev1.PodStatus{Phase: corev1.PodPending}},
			"pod vcluster-0 is Pending, waiting for the scheduler"},
		{"unschedulable", corev1.Pod{Status: corev1.PodStatus{Phase: corev1.PodPending, Conditions: []corev1.PodCondition{
			{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: "Unschedulable", Message: "0/3 nodes are available"}}}},
			"pod vcluster-0 Pending: 0/3 nodes are available"},
		{"bound", corev1.Pod{Spec: corev1.PodSpec{NodeName: "pool-a-0"}, Status: corev1.PodStatus{Phase: corev1.PodPending}},
			"pod vcluster-0 is Pending on node pool-a-0"},
		{"running", corev1.Pod{Spec: corev1.PodSpec{NodeName: "pool-a-0"}, Status: corev1.PodStatus{Phase: corev1.PodRunning}}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.pod.ObjectMeta = metav1.ObjectMeta{Name: "vcluster-0", Namespace: "vcluster-a", Labels: map[string]string{"app": "vcluster"}}
			e := &Engine{Host: Host{Kube: fake.NewClientset(&c.pod), Backend: &fakeBackend{}}}
			p, msg, err := e.controlPlanePod(context.Background(), "vcluster-a")
			if err != nil || p == nil || msg != c.want {
				t.Errorf("got %q, %v; want %q", msg, err, c.want)
			}
		})
	}
}

// A values file that is missing or not YAML is bad input: a usage error
// before anything is created (it failed at the install step, leaving the
// namespace behind).
func TestCreateChecksValuesFilesFirst(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("controlPlane: [\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{filepath.Join(t.TempDir(), "missing.yaml"), bad} {
		e, cs, b := newEngine(t)
		_, err := e.Create(context.Background(), CreateOptions{Name: "demo", Spec: Spec{ValuesFiles: []string{f}}})
		var ue *UsageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), "values file") {
			t.Errorf("%s: %v, want a usage error naming the values file", filepath.Base(f), err)
		}
		if _, err := cs.CoreV1().Namespaces().Get(context.Background(), "vcluster-demo", metav1.GetOptions{}); err == nil || b.installs.Load() != 0 {
			t.Errorf("%s: the namespace was created or an install ran", filepath.Base(f))
		}
	}
}
