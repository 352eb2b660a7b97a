package tenant

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// cpBackend adds the control-plane capability to fakeBackend: workloads by
// kind, and every Scope it was asked for.
type cpBackend struct {
	*fakeBackend
	mu     sync.Mutex
	byKind map[string]map[string]ControlPlane
	scopes []Scope
}

func (b *cpBackend) ControlPlaneKinds() []string { return []string{"StatefulSet", "Deployment"} }

func (b *cpBackend) ControlPlanes(_ context.Context, s Scope) (map[string]ControlPlane, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.scopes = append(b.scopes, s)
	kinds := s.Kinds
	if len(kinds) == 0 {
		kinds = b.ControlPlaneKinds()
	}
	out := map[string]ControlPlane{}
	for _, k := range kinds {
		for ns, cp := range b.byKind[k] {
			out[ns] = cp
		}
	}
	return out, nil
}

// list reads only the workload kind the namespaces record (one call), reads
// every kind when none records one, and reads the other kinds once more
// only for a deployed tenant whose workload is not of its recorded kind.
func TestListReadsRecordedKindsOnly(t *testing.T) {
	kind := func(k string) map[string]string { return map[string]string{AnnotationControlPlaneKind: k} }
	for _, c := range []struct {
		name       string
		anns       map[string]map[string]string // tenant -> annotations
		workloads  map[string]map[string]ControlPlane
		wantScopes [][]string
		wantStatus map[string]Status
	}{{
		name: "all record Deployment",
		anns: map[string]map[string]string{"a": kind("Deployment"), "b": kind("Deployment")},
		workloads: map[string]map[string]ControlPlane{"Deployment": {
			"vcluster-a": {Kind: "Deployment", Replicas: 1, Ready: 1},
			"vcluster-b": {Kind: "Deployment", Paused: true},
		}},
		wantScopes: [][]string{{"Deployment"}},
		wantStatus: map[string]Status{"a": StatusReady, "b": StatusSleeping},
	}, {
		name: "none records a kind",
		anns: map[string]map[string]string{"a": nil, "b": {AnnotationControlPlaneKind: "Bogus"}},
		workloads: map[string]map[string]ControlPlane{"StatefulSet": {
			"vcluster-a": {Kind: "StatefulSet", Replicas: 1, Ready: 1},
			"vcluster-b": {Kind: "StatefulSet", Replicas: 1, Ready: 1},
		}},
		wantScopes: [][]string{nil},
		wantStatus: map[string]Status{"a": StatusReady, "b": StatusReady},
	}, {
		name: "recorded kind out of date",
		anns: map[string]map[string]string{"a": kind("StatefulSet"), "b": kind("StatefulSet")},
		workloads: map[string]map[string]ControlPlane{
			"StatefulSet": {"vcluster-a": {Kind: "StatefulSet", Replicas: 1, Ready: 1}},
			"Deployment":  {"vcluster-b": {Kind: "Deployment", Replicas: 1, Ready: 0}},
		},
		wantScopes: [][]string{{"StatefulSet"}, {"Deployment"}},
		wantStatus: map[string]Status{"a": StatusReady, "b": StatusPending},
	}} {
		t.Run(c.name, func(t *testing.T) {
			e, _, fb := newEngine(t, tenantNS("a", c.anns["a"]), tenantNS("b", c.anns["b"]))
			fb.releases = map[string]Release{"vcluster-a": {Status: "deployed", Version: 1}, "vcluster-b": {Status: "deployed", Version: 1}}
			b := &cpBackend{fakeBackend: fb, byKind: c.workloads}
			e.Backend = b
			ts, err := e.List(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			var got [][]string
			for _, s := range b.scopes {
				if !s.Cached || s.Namespace != "" {
					t.Errorf("list read %+v, want a cached read of every namespace", s)
				}
				got = append(got, s.Kinds)
			}
			if !reflect.DeepEqual(got, c.wantScopes) {
				t.Errorf("kinds read: %v, want %v", got, c.wantScopes)
			}
			for _, tn := range ts {
				if tn.Status != c.wantStatus[tn.Name] {
					t.Errorf("%s: status %s (%s), want %s", tn.Name, tn.Status, tn.Reason, c.wantStatus[tn.Name])
				}
			}
			if !slices.Equal([]string{ts[0].Name, ts[1].Name}, []string{"a", "b"}) {
				t.Errorf("order %s, %s", ts[0].Name, ts[1].Name)
			}
		})
	}
}

// credsBackend is cpBackend with credentials written, as a tenant that was
// ready once.
type credsBackend struct{ *cpBackend }

func (credsBackend) Credentials(context.Context, string) (*Credentials, error) {
	return &Credentials{Token: "t"}, nil
}

// connect to a tenant paused with `vcluster pause` (the workload's pause
// annotation, no sleeping mark on the namespace) says it is asleep, so the
// CLI offers --wake, instead of "not running".
func TestConnectToPausedTenantIsSleeping(t *testing.T) {
	e, _, fb := newEngine(t, tenantNS("a", map[string]string{AnnotationReadyAt: "2026-01-01T00:00:00Z"}))
	b := &cpBackend{fakeBackend: fb, byKind: map[string]map[string]ControlPlane{
		"StatefulSet": {"vcluster-a": {Kind: "StatefulSet", Paused: true}}}}
	e.Backend = credsBackend{b}
	_, err := e.Connect(context.Background(), ConnectOptions{Name: "a"})
	var se *SleepingError
	if !errors.As(err, &se) || se.Name != "a" {
		t.Fatalf("connect to a paused tenant: %v, want a SleepingError", err)
	}
	// Not paused, just no pod: the plain reason.
	b.byKind["StatefulSet"]["vcluster-a"] = ControlPlane{Kind: "StatefulSet", Replicas: 1}
	if _, err := e.Connect(context.Background(), ConnectOptions{Name: "a"}); err == nil || errors.As(err, &se) || !strings.Contains(err.Error(), "not running") {
		t.Fatalf("connect with no pod: %v, want not running", err)
	}
}

// WaitReady's last check is what list calls Ready: the control-plane
// workload's ready replicas (on a real node the kubelet's probes pass some
// seconds after the virtual API first answers a port-forward).
func TestControlPlaneReadyIsListsReady(t *testing.T) {
	for _, c := range []struct {
		name  string
		cps   map[string]map[string]ControlPlane
		ready bool
	}{
		{"probes not passed", map[string]map[string]ControlPlane{"StatefulSet": {"vcluster-a": {Kind: "StatefulSet", Replicas: 1, Ready: 0}}}, false},
		{"ready", map[string]map[string]ControlPlane{"StatefulSet": {"vcluster-a": {Kind: "StatefulSet", Replicas: 1, Ready: 1}}}, true},
		{"no workload found", map[string]map[string]ControlPlane{}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			e, _, fb := newEngine(t, tenantNS("a", nil))
			fb.releases = map[string]Release{"vcluster-a": {Status: "deployed", Version: 1}}
			e.Backend = &cpBackend{fakeBackend: fb, byKind: c.cps}
			ok, msg, err := e.controlPlaneReady(context.Background(), "vcluster-a")
			if err != nil || ok != c.ready {
				t.Fatalf("controlPlaneReady = %v, %q, %v; want %v", ok, msg, err, c.ready)
			}
			got, err := e.Get(context.Background(), "a")
			if err != nil {
				t.Fatal(err)
			}
			if len(c.cps) > 0 && (got.Status == StatusReady) != c.ready {
				t.Errorf("Get says %s while WaitReady's check says ready=%v", got.Status, c.ready)
			}
		})
	}
}

// chartBackend refuses chart versions starting with "0.1".
type chartBackend struct{ *fakeBackend }

func (chartBackend) CheckChartVersion(v string) error {
	if strings.HasPrefix(v, "0.1") {
		return usageErrorf("vcluster chart %s is not supported", v)
	}
	return nil
}

// An unsupported chart version is refused before anything is made: no
// namespace, no install; upgrade refuses it before planning.
func TestUnsupportedChartRefusedFirst(t *testing.T) {
	e, cs, fb := newEngine(t)
	e.Backend = chartBackend{fb}
	_, err := e.Create(context.Background(), CreateOptions{Name: "old", Spec: Spec{ChartVersion: "0.19.0"}})
	if err == nil || !strings.Contains(err.Error(), "not supported") {
		t.Fatalf("create with 0.19.0: %v", err)
	}
	if nss, _ := cs.CoreV1().Namespaces().List(context.Background(), metav1.ListOptions{}); len(nss.Items) != 0 {
		t.Errorf("a refused create made namespaces: %v", nss.Items)
	}
	if n := fb.installs.Load(); n != 0 {
		t.Errorf("a refused create installed %d times", n)
	}
	if _, err := e.PlanUpgrade(context.Background(), UpgradeOptions{All: true, Wait: time.Minute, Spec: Spec{ChartVersion: "0.19.0"}}); err == nil || !strings.Contains(err.Error(), "not supported") {
		t.Errorf("upgrade to 0.19.0: %v", err)
	}
}
