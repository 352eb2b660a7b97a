package tenant

import (
	"context"
	"reflect"
	"slices"
	"sync"
	"testing"
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
