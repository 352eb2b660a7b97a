package tenant

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/kubeconfig"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/session"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func createdAt(ns *corev1.Namespace, t time.Time) *corev1.Namespace {
	ns.CreationTimestamp = metav1.NewTime(t)
	return ns
}

func TestExpiryOf(t *testing.T) {
	for _, tc := range []struct {
		name string
		ann  map[string]string
		want *time.Time
	}{
		{"none", nil, nil},
		{"expires-at", map[string]string{AnnotationExpiresAt: "2026-03-01T14:00:00Z"}, ptr(t0.Add(2 * time.Hour))},
		{"gitops ttl from creation", map[string]string{AnnotationTTL: "8h"}, ptr(t0.Add(8 * time.Hour))},
		{"expires-at wins over ttl (extend)", map[string]string{AnnotationTTL: "8h", AnnotationExpiresAt: "2026-03-02T12:00:00Z"}, ptr(t0.Add(24 * time.Hour))},
		{"never wins over ttl", map[string]string{AnnotationTTL: "8h", AnnotationExpiresAt: NeverExpires}, nil},
		{"bad ttl never expires", map[string]string{AnnotationTTL: "soon"}, nil},
		{"zero ttl never expires", map[string]string{AnnotationTTL: "0s"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := ExpiryOf(createdAt(tenantNS("a", tc.ann), t0))
			if (got == nil) != (tc.want == nil) || got != nil && !got.Equal(*tc.want) {
				t.Fatalf("ExpiryOf = %v, want %v", got, tc.want)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestExtend(t *testing.T) {
	gitops := createdAt(tenantNS("g", map[string]string{AnnotationTTL: "1h"}), t0.Add(-2*time.Hour))
	e, cs, _ := newEngine(t, tenantNS("a", map[string]string{AnnotationExpiresAt: "2026-03-01T12:30:00Z"}), gitops)
	e.Now = func() time.Time { return t0 }
	ctx := context.Background()
	tn, err := e.Extend(ctx, ExtendOptions{Name: "a", TTL: 3 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if tn.ExpiresAt == nil || !tn.ExpiresAt.Equal(t0.Add(3*time.Hour)) {
		t.Fatalf("expires at %v, want %v", tn.ExpiresAt, t0.Add(3*time.Hour))
	}
	if tn, err = e.Extend(ctx, ExtendOptions{Name: "a", Never: true}); err != nil || tn.ExpiresAt != nil {
		t.Fatalf("--never: %v, %v", tn, err)
	}
	ns, _ := cs.CoreV1().Namespaces().Get(ctx, "vcluster-a", metav1.GetOptions{})
	if _, ok := ns.Annotations[AnnotationExpiresAt]; ok {
		t.Errorf("--never left expires-at: %v", ns.Annotations)
	}
	// A GitOps tenant (expired by its ttl) is extended, then made permanent
	// without touching the ttl Argo CD owns.
	if tn, err = e.Extend(ctx, ExtendOptions{Name: "g", TTL: time.Hour}); err != nil || !tn.ExpiresAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("extend gitops: %v, %v", tn, err)
	}
	if tn, err = e.Extend(ctx, ExtendOptions{Name: "g", Never: true}); err != nil || tn.ExpiresAt != nil {
		t.Fatalf("--never gitops: %v, %v", tn, err)
	}
	if _, err := e.Extend(ctx, ExtendOptions{Name: "ghost", TTL: time.Hour}); !errors.Is(err, ErrNotFound) {
		t.Errorf("extend ghost = %v, want ErrNotFound", err)
	}
	for _, o := range []ExtendOptions{{Name: "a"}, {Name: "a", TTL: -time.Hour}, {Name: "a", TTL: time.Hour, Never: true}} {
		var ue *UsageError
		if _, err := e.Extend(ctx, o); !errors.As(err, &ue) {
			t.Errorf("Extend(%+v) = %v, want a usage error", o, err)
		}
	}
}

func TestGCDeletesOnlyExpired(t *testing.T) {
	expired := tenantNS("old", map[string]string{AnnotationExpiresAt: "2026-03-01T11:00:00Z"})
	gitopsExpired := createdAt(tenantNS("git", map[string]string{AnnotationTTL: "1h"}), t0.Add(-2*time.Hour))
	fresh := tenantNS("new", map[string]string{AnnotationExpiresAt: "2026-03-01T13:00:00Z"})
	forever := tenantNS("keep", nil)
	e, cs, b := newEngine(t, expired, gitopsExpired, fresh, forever)
	e.Now = func() time.Time { return t0 }
	ctx := context.Background()

	res, err := e.GC(ctx, GCOptions{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := actions(res); len(got) != 2 || got["old"] != GCWouldDelete || got["git"] != GCWouldDelete {
		t.Fatalf("dry run: %v", res)
	}
	if len(b.uninstalled) != 0 {
		t.Fatalf("dry run uninstalled %v", b.uninstalled)
	}
	for _, a := range cs.Actions() {
		if a.GetVerb() != "list" {
			t.Fatalf("dry run made a %s call", a.GetVerb())
		}
	}

	res, err = e.GC(ctx, GCOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := actions(res); len(got) != 2 || got["old"] != GCDeleted || got["git"] != GCDeleted {
		t.Fatalf("gc: %v", res)
	}
	nss, _ := cs.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
	left := map[string]bool{}
	for _, ns := range nss.Items {
		left[ns.Name] = true
	}
	if len(left) != 2 || !left["vcluster-new"] || !left["vcluster-keep"] {
		t.Fatalf("namespaces left: %v", left)
	}
	// A second run finds nothing to do.
	if res, err = e.GC(ctx, GCOptions{}); err != nil || len(res) != 0 {
		t.Fatalf("second gc: %v, %v", res, err)
	}
}

// Another gc deleting the same tenant: its namespace is already
// terminating (the apiserver answers Conflict) and then gone.
func TestGCTenantAlreadyBeingDeleted(t *testing.T) {
	ns := tenantNS("old", map[string]string{AnnotationExpiresAt: "2026-03-01T11:00:00Z"})
	e, cs, _ := newEngine(t, ns)
	e.Now = func() time.Time { return t0 }
	cs.PrependReactor("delete", "namespaces", func(a k8stesting.Action) (bool, runtime.Object, error) {
		_ = cs.Tracker().Delete(schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}, "", "vcluster-old")
		return true, nil, apierrors.NewConflict(schema.GroupResource{Resource: "namespaces"}, "vcluster-old", errors.New("the system is ensuring all content is removed"))
	})
	res, err := e.GC(context.Background(), GCOptions{Wait: time.Minute})
	if err != nil || len(res) != 1 || res[0].Action != GCDeleted {
		t.Fatalf("gc: %+v, %v", res, err)
	}
}

// A failing tenant is reported, retried, and does not stop the others.
func TestGCFailureIsPerTenant(t *testing.T) {
	e, cs, _ := newEngine(t,
		tenantNS("a", map[string]string{AnnotationExpiresAt: "2026-03-01T11:00:00Z"}),
		tenantNS("b", map[string]string{AnnotationExpiresAt: "2026-03-01T11:00:00Z"}))
	e.Now = func() time.Time { return t0 }
	calls := 0
	cs.PrependReactor("delete", "namespaces", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.(k8stesting.DeleteAction).GetName() == "vcluster-a" {
			calls++
			return true, nil, apierrors.NewInternalError(errors.New("etcd unavailable"))
		}
		return false, nil, nil
	})
	res, err := e.GC(context.Background(), GCOptions{RetryFor: 50 * time.Millisecond, Backoff: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	got := actions(res)
	if got["a"] != GCFailed || got["b"] != GCDeleted || res[0].Error == "" {
		t.Fatalf("gc: %+v", res)
	}
	if calls < 2 {
		t.Errorf("delete of a tried %d times, want a retry", calls)
	}
}

// A tenant gone from the cluster (deleted elsewhere, or by a gc interrupted
// after its namespace went) leaves a session and kubeconfig entries: gc
// removes them, but not those of another host's tenants.
func TestGCCleansLocalLeftovers(t *testing.T) {
	e, _, _ := newEngine(t, tenantNS("live", nil))
	e.HostContext = "host"
	for _, s := range []session.Session{
		{Tenant: "gone", Context: "gone", HostContext: "host", Kubeconfig: e.Kubeconfig.Path},
		{Tenant: "live", Context: "live", HostContext: "host", Kubeconfig: e.Kubeconfig.Path},
		{Tenant: "elsewhere", Context: "elsewhere", HostContext: "other", Kubeconfig: e.Kubeconfig.Path},
	} {
		if err := e.Sessions.Save(s); err != nil {
			t.Fatal(err)
		}
		if _, err := e.Kubeconfig.Upsert(kubeconfig.Entry{Name: s.Context, Tenant: s.Tenant, Host: s.HostContext, Server: "https://127.0.0.1:1"}, false); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	res, err := e.GC(ctx, GCOptions{DryRun: true})
	if err != nil || len(res) != 1 || res[0].Name != "gone" || res[0].Action != GCWouldDelete || res[0].ExpiresAt != nil {
		t.Fatalf("dry run: %+v, %v", res, err)
	}
	if res, err = e.GC(ctx, GCOptions{}); err != nil || len(res) != 1 || res[0].Action != GCDeleted {
		t.Fatalf("gc: %+v, %v", res, err)
	}
	ss, _ := e.Sessions.List()
	var left []string
	for _, s := range ss {
		left = append(left, s.Tenant)
	}
	slices.Sort(left)
	if !slices.Equal(left, []string{"elsewhere", "live"}) {
		t.Errorf("sessions left: %v", left)
	}
	cfg, _ := e.Kubeconfig.Load()
	if _, ok := cfg.Contexts["gone"]; ok || cfg.Contexts["live"] == nil {
		t.Errorf("contexts left: %v", cfg.Contexts)
	}
}

func actions(rs []GCResult) map[string]string {
	out := map[string]string{}
	for _, r := range rs {
		out[r.Name] = r.Action
	}
	return out
}

func TestStats(t *testing.T) {
	last := t0.Add(-time.Hour)
	ts := []Tenant{
		{Name: "a", Status: StatusReady, CreatedAt: t0.Add(-time.Hour), TimeToReady: 30 * time.Second, LastConnectedAt: &last},
		{Name: "b", Status: StatusReady, CreatedAt: t0.Add(-48 * time.Hour), TimeToReady: 50 * time.Second},
		{Name: "c", Status: StatusReady, CreatedAt: t0.Add(-2 * time.Hour), TimeToReady: 40 * time.Second, ExpiresAt: ptr(t0.Add(-time.Minute))},
		{Name: "d", Status: StatusPending, CreatedAt: t0.Add(-time.Minute)},
		{Name: "e", Status: StatusReady, CreatedAt: t0.Add(-30 * 24 * time.Hour), TimeToReady: 10 * time.Minute, ExpiresAt: ptr(t0.Add(time.Hour))},
	}
	s := ComputeStats(ts, t0, StatsOptions{})
	if s.Total != 5 || s.ByStatus[StatusReady] != 4 || s.ByStatus[StatusPending] != 1 {
		t.Errorf("counts: %+v", s)
	}
	// e is older than 7 days: not recent. Recent ready times: 30s 40s 50s.
	if s.Recent.Creates != 4 || s.Recent.Ready != 3 || s.Recent.P50 != 40*time.Second || s.Recent.P95 != 50*time.Second {
		t.Errorf("recent: %+v", s.Recent)
	}
	if len(s.Expired) != 1 || s.Expired[0] != "c" {
		t.Errorf("expired: %v", s.Expired)
	}
	// b: ready 48h ago, never connected; e: ready 30 days ago. a connected
	// an hour ago, c became ready 2h ago, d is not ready.
	if len(s.Idle) != 2 || s.Idle[0] != "b" || s.Idle[1] != "e" {
		t.Errorf("idle: %v", s.Idle)
	}
	if s = ComputeStats(ts, t0, StatsOptions{Since: 90 * time.Minute, IdleAfter: 30 * time.Minute}); s.Recent.Creates != 2 || s.Recent.P95 != 30*time.Second || len(s.Idle) != 4 {
		t.Errorf("since 90m, idle 30m: %+v", s)
	}
}

func TestPercentile(t *testing.T) {
	var ds []time.Duration
	for i := 1; i <= 20; i++ {
		ds = append(ds, time.Duration(i)*time.Second)
	}
	for _, tc := range []struct {
		in   []time.Duration
		p    float64
		want time.Duration
	}{
		{nil, 50, 0},
		{ds[:1], 95, time.Second},
		{ds, 50, 10 * time.Second},
		{ds, 95, 19 * time.Second},
		{ds, 100, 20 * time.Second},
		{ds[:3], 50, 2 * time.Second},
	} {
		if got := Percentile(tc.in, tc.p); got != tc.want {
			t.Errorf("Percentile(%d values, %v) = %v, want %v", len(tc.in), tc.p, got, tc.want)
		}
	}
}

func TestConnectRecordsLastConnectedThrottled(t *testing.T) {
	e, cs, _ := newEngine(t, tenantNS("a", nil))
	e.Now = func() time.Time { return t0 }
	ctx := context.Background()
	ns, _ := cs.CoreV1().Namespaces().Get(ctx, "vcluster-a", metav1.GetOptions{})
	<-e.recordConnect(ctx, ns)
	ns, _ = cs.CoreV1().Namespaces().Get(ctx, "vcluster-a", metav1.GetOptions{})
	if ns.Annotations[AnnotationLastConnectedAt] != "2026-03-01T12:00:00Z" {
		t.Fatalf("annotations: %v", ns.Annotations)
	}
	cs.ClearActions()
	e.Now = func() time.Time { return t0.Add(30 * time.Second) }
	<-e.recordConnect(ctx, ns)
	if n := len(cs.Actions()); n != 0 {
		t.Errorf("a connect within a minute patched again (%d calls)", n)
	}
}
