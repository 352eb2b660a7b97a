package tenant

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
)

func names(w UpgradeWave) []string {
	var out []string
	for _, it := range w.Tenants {
		out = append(out, it.Name)
	}
	return out
}

func TestWaves(t *testing.T) {
	items := func(n int) []UpgradeItem {
		var out []UpgradeItem
		for i := range n {
			out = append(out, UpgradeItem{Name: string(rune('a' + i))})
		}
		return out
	}
	for _, tc := range []struct {
		n, canary, size int
		want            [][]string
	}{
		{n: 3, canary: 1, size: 0, want: [][]string{{"a"}, {"b"}, {"c"}}},
		{n: 10, canary: 2, size: 0, want: [][]string{{"a", "b"}, {"c", "d"}, {"e", "f"}, {"g", "h"}, {"i", "j"}}},
		{n: 5, canary: 1, size: 3, want: [][]string{{"a"}, {"b", "c", "d"}, {"e"}}},
		{n: 2, canary: 5, size: 0, want: [][]string{{"a", "b"}}},
		{n: 2, canary: 0, size: 5, want: [][]string{{"a", "b"}}},
		{n: 0, canary: 1, size: 0, want: nil},
	} {
		ws := Waves(items(tc.n), tc.canary, tc.size)
		var got [][]string
		for _, w := range ws {
			got = append(got, names(w))
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Waves(%d, canary %d, size %d) = %v, want %v", tc.n, tc.canary, tc.size, got, tc.want)
		}
		if tc.canary > 0 && len(ws) > 0 && ws[0].Name != "canary" {
			t.Errorf("first wave is %q, want canary", ws[0].Name)
		}
	}
}

func TestValidateUpgrade(t *testing.T) {
	ok := UpgradeOptions{Selector: "team=a", Wait: 1, Spec: Spec{ChartVersion: "1"}}
	if err := ValidateUpgrade(ok); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []UpgradeOptions{
		{Spec: Spec{ChartVersion: "1"}, Wait: 1},                        // nothing selected
		{Name: "a", All: true, Spec: Spec{ChartVersion: "1"}, Wait: 1},  // two selections
		{Selector: "team in (", Spec: Spec{ChartVersion: "1"}, Wait: 1}, // bad selector
		{All: true, Wait: 1}, // nothing to upgrade to
		{All: true, Spec: Spec{ChartVersion: "1"}, Wait: 1, Canary: -1}, // negative
		{All: true, Spec: Spec{ChartVersion: "1"}},                      // no wait
	} {
		var ue *UsageError
		if err := ValidateUpgrade(bad); !errors.As(err, &ue) {
			t.Errorf("ValidateUpgrade(%+v) = %v, want a usage error", bad, err)
		}
	}
}

// Tenants outside the selection are never looked at; unavailable ones are
// skipped with a reason; ones at the target are unchanged (no probe).
func TestPlanUpgradeSelection(t *testing.T) {
	ready := map[string]string{AnnotationReadyAt: "2026-01-01T00:00:00Z"}
	a1, a2, b, pending := tenantNS("a1", ready), tenantNS("a2", ready), tenantNS("b", ready), tenantNS("a3", nil)
	a1.Labels["team"], a2.Labels["team"], pending.Labels["team"] = "a", "a", "a"
	b.Labels["team"] = "b"
	e, _, fb := newEngine(t, a1, a2, b, pending)
	for _, n := range []string{"a1", "a2", "b", "a3"} {
		fb.releases[NamespaceFor(n)] = Release{Status: "deployed", Version: 1}
	}
	p, err := e.PlanUpgrade(context.Background(), UpgradeOptions{Selector: "team=a", Canary: 1, Wait: 1, Spec: Spec{ChartVersion: "1"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Waves) != 0 || len(p.Unchanged) != 2 || len(p.Skipped) != 1 || p.Skipped[0].Name != "a3" || !strings.Contains(p.Skipped[0].Reason, "never became Ready") {
		t.Fatalf("plan %+v", p)
	}
	for _, n := range fb.inspected {
		if n == "b" {
			t.Errorf("tenant b (team=b) was inspected")
		}
	}
	if _, err := e.PlanUpgrade(context.Background(), UpgradeOptions{Selector: "team=c", Wait: 1, Spec: Spec{ChartVersion: "1"}}); err == nil || !strings.Contains(err.Error(), "no tenant matches") {
		t.Errorf("empty selection: %v", err)
	}
}

// Asleep and Argo CD-installed tenants are skipped without a probe, with a
// reason; an isolated tenant's upgrade keeps its isolation policies.
func TestPlanUpgradeSkipsAsleepAndGitOpsKeepsIsolation(t *testing.T) {
	ready := map[string]string{AnnotationReadyAt: "2026-01-01T00:00:00Z"}
	asleep := tenantNS("asleep", map[string]string{AnnotationReadyAt: "2026-01-01T00:00:00Z", AnnotationSleepingSince: "2026-01-02T00:00:00Z"})
	app := tenantNS("app", map[string]string{AnnotationReadyAt: "2026-01-01T00:00:00Z", AnnotationApplication: "argocd/vcluster-app"})
	iso := tenantNS("iso", map[string]string{AnnotationReadyAt: "2026-01-01T00:00:00Z", AnnotationIsolation: "true"})
	plain := tenantNS("plain", ready)
	e, _, fb := newEngine(t, asleep, app, iso, plain)
	for _, n := range []string{"asleep", "iso", "plain"} {
		fb.releases[NamespaceFor(n)] = Release{Status: "deployed", Version: 1}
	}
	p, err := e.PlanUpgrade(context.Background(), UpgradeOptions{All: true, Wait: 1, Spec: Spec{ChartVersion: "1"}})
	if err != nil {
		t.Fatal(err)
	}
	reasons := map[string]string{}
	for _, it := range p.Skipped {
		reasons[it.Name] = it.Reason
	}
	if !strings.Contains(reasons["asleep"], "asleep") || !strings.Contains(reasons["app"], "argocd/vcluster-app") || len(reasons) != 2 {
		t.Errorf("skipped: %v", reasons)
	}
	isolation := map[string]bool{}
	for _, r := range fb.requests {
		isolation[r.Name] = r.Isolation
	}
	if _, ok := isolation["asleep"]; ok {
		t.Error("a sleeping tenant was inspected")
	}
	if !isolation["iso"] || isolation["plain"] {
		t.Errorf("isolation in upgrade requests: %v, want iso only", isolation)
	}
}

func TestValidateLabels(t *testing.T) {
	if err := ValidateLabels(map[string]string{"team": "a", "example.com/x": "y"}); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []map[string]string{{"bad key!": "a"}, {"team": "bad value!"}, {LabelName: "x"}, {LabelPool: "x"}, {LabelManagedBy: "me"}} {
		if err := ValidateLabels(bad); err == nil {
			t.Errorf("ValidateLabels(%v) accepted", bad)
		}
	}
}

// gatedBackend counts how many Inspect calls run at once.
type gatedBackend struct {
	*fakeBackend
	cur, max atomic.Int32
}

func (b *gatedBackend) Inspect(ctx context.Context, req InstallRequest) (Change, error) {
	n := b.cur.Add(1)
	defer b.cur.Add(-1)
	for m := b.max.Load(); n > m && !b.max.CompareAndSwap(m, n); m = b.max.Load() {
	}
	time.Sleep(20 * time.Millisecond) // overlap with the others, if they run
	return b.fakeBackend.Inspect(ctx, req)
}

// Planning an upgrade of many tenants inspects (and probes) at most
// PlanParallelism of them at once (audit L10: it started one goroutine per
// tenant, each with a chart load and a port-forward).
func TestPlanUpgradeBoundsConcurrency(t *testing.T) {
	ready := map[string]string{AnnotationReadyAt: "2026-01-01T00:00:00Z"}
	var nss []runtime.Object
	for i := range 3 * PlanParallelism {
		nss = append(nss, tenantNS(fmt.Sprintf("t%d", i), ready))
	}
	e, _, fb := newEngine(t, nss...)
	for i := range 3 * PlanParallelism {
		fb.releases[NamespaceFor(fmt.Sprintf("t%d", i))] = Release{Status: "deployed", Version: 1}
	}
	gb := &gatedBackend{fakeBackend: fb}
	e.Backend = gb
	p, err := e.PlanUpgrade(context.Background(), UpgradeOptions{All: true, Wait: 1, Spec: Spec{ChartVersion: "1"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Unchanged) != 3*PlanParallelism {
		t.Fatalf("plan %+v", p)
	}
	if m := gb.max.Load(); m > PlanParallelism {
		t.Errorf("%d Inspect calls ran at once, want at most %d", m, PlanParallelism)
	}
}
