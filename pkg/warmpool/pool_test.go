package warmpool_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant/tenanttest"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/warmpool"
)

func poolTemplate() tenant.CreateOptions {
	return tenant.CreateOptions{Spec: tenant.Spec{Chart: "vcluster", ChartVersion: "0.34.0", Values: map[string]any{"a": "b"}}}
}

func TestWarmPoolClaim(t *testing.T) {
	ctx := context.Background()
	e, cs, b := tenanttest.NewListingEngine(t)
	spec := warmpool.Config{Pool: "pool-a", Size: 2}
	res, err := warmpool.TopUp(ctx, e, spec, poolTemplate())
	if err != nil || len(res.Started) != 2 {
		t.Fatalf("TopUp: %+v, %v", res, err)
	}
	if ts, _ := e.List(ctx); len(ts) != 0 {
		t.Errorf("list shows spares: %+v", ts)
	}
	spares, _ := e.ListSpares(ctx)
	if len(spares) != 2 || !spares[0].Spare || spares[0].Status != tenant.StatusReady {
		t.Fatalf("ListSpares: %+v", spares)
	}

	// A create as the pool's spares were installed claims one.
	o := poolTemplate()
	o.Name, o.Pool, o.Claimer, o.Labels, o.TTL = "dev", "pool-a", warmpool.Pool{Config: spec}, map[string]string{"team": "a"}, time.Hour
	installs := len(b.Installs)
	rec := &tenanttest.Recorder{}
	got, err := e.With(rec.Report).Create(ctx, withWait(o))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(got.Namespace, "vcluster-spare-") || got.Name != "dev" || got.ClaimedAt == nil || got.Status != tenant.StatusReady || got.ExpiresAt == nil {
		t.Fatalf("claimed tenant: %+v", got)
	}
	if !slices.ContainsFunc(rec.Events, func(ev tenant.Event) bool {
		return ev.Step == tenant.StepNamespace && ev.Phase == tenant.PhaseDone && strings.Contains(ev.Message, "claimed warm spare "+got.Namespace)
	}) {
		t.Errorf("create did not report the claim: %+v", rec.Events)
	}
	// The replacement's install started; the claimed one was not installed again.
	if n := len(b.Installs) - installs; n != 1 || b.Installs[len(b.Installs)-1].Namespace == got.Namespace {
		t.Errorf("installs after the claim: %d (%+v), want the replacement's only", n, b.Installs[installs:])
	}
	if s, _ := e.Spares(ctx, "pool-a"); len(s) != 2 {
		t.Errorf("pool after a claim and its top-up: %d spares, want 2", len(s))
	}
	ns, err := cs.CoreV1().Namespaces().Get(ctx, got.Namespace, metav1.GetOptions{})
	if err != nil || ns.Labels["team"] != "a" || ns.Labels[tenant.LabelSpare] != "" || ns.Labels[tenant.LabelName] != "dev" {
		t.Errorf("claimed namespace: %+v, %v", ns, err)
	}
	// Every later command finds it by name.
	if ts, _ := e.List(ctx); len(ts) != 1 || ts[0].Name != "dev" || ts[0].Namespace != got.Namespace {
		t.Errorf("list after the claim: %+v", ts)
	}
	if _, err := e.With(nil).Sleep(ctx, tenant.SleepOptions{Name: "dev"}); err != nil {
		t.Errorf("sleep the claimed tenant: %v", err)
	}
	if _, err := e.With(nil).Wake(ctx, tenant.WakeOptions{Name: "dev", Wait: time.Minute}); err != nil {
		t.Errorf("wake the claimed tenant: %v", err)
	}
	// A second create of the same name converges the claimed tenant.
	again, err := e.With(nil).Create(ctx, withWait(o))
	if err != nil || again.Namespace != got.Namespace {
		t.Errorf("create dev again: %+v, %v; want the claimed namespace", again, err)
	}
	if err := e.With(nil).Delete(ctx, tenant.DeleteOptions{Name: "dev"}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().Namespaces().Get(ctx, got.Namespace, metav1.GetOptions{}); err == nil {
		t.Errorf("delete dev left namespace %s", got.Namespace)
	}
	if !slices.Contains(b.Uninstalled, got.Namespace) {
		t.Errorf("delete dev did not uninstall %s: %v", got.Namespace, b.Uninstalled)
	}
	if _, err := e.Get(ctx, "dev"); !errors.Is(err, tenant.ErrNotFound) {
		t.Errorf("dev after delete: %v", err)
	}
}

func TestWarmPoolMismatchInstalls(t *testing.T) {
	ctx := context.Background()
	e, _, _ := tenanttest.NewListingEngine(t)
	spec := warmpool.Config{Pool: "pool-a", Size: 1}
	if _, err := warmpool.TopUp(ctx, e, spec, poolTemplate()); err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "v.yaml")
	if err := os.WriteFile(f, []byte("x: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	o := poolTemplate()
	o.Name, o.Pool, o.Claimer, o.ValuesFiles = "own", "pool-a", warmpool.Pool{Config: spec}, []string{f}
	got, err := e.With(nil).Create(ctx, withWait(o))
	if err != nil || got.Namespace != tenant.NamespaceFor("own") || got.ClaimedAt != nil {
		t.Fatalf("create with its own values file: %+v, %v; want a fresh install", got, err)
	}
	if s, _ := e.Spares(ctx, "pool-a"); len(s) != 1 {
		t.Errorf("the unmatched spare is gone: %+v", s)
	}
	// Stats split time to ready by how the tenant was made.
	o2 := poolTemplate()
	o2.Name, o2.Pool, o2.Claimer = "claimer", "pool-a", warmpool.Pool{Config: spec}
	if _, err := e.With(nil).Create(ctx, withWait(o2)); err != nil {
		t.Fatal(err)
	}
	st, err := e.Stats(ctx, tenant.StatsOptions{})
	if err != nil || st.Recent.Claimed == nil || st.Recent.Claimed.Creates != 1 || st.Recent.Fresh == nil || st.Recent.Fresh.Creates != 1 || st.Recent.HitRate != 0.5 {
		t.Errorf("stats: %+v %+v %+v, %v", st.Recent, st.Recent.Claimed, st.Recent.Fresh, err)
	}
}

func TestTopUpReplacesStaleAndSleeps(t *testing.T) {
	ctx := context.Background()
	e, _, _ := tenanttest.NewListingEngine(t)
	if _, err := warmpool.TopUp(ctx, e, warmpool.Config{Pool: "p", Size: 2}, poolTemplate()); err != nil {
		t.Fatal(err)
	}
	changed := poolTemplate()
	changed.ChartVersion = "0.35.0"
	res, err := warmpool.TopUp(ctx, e, warmpool.Config{Pool: "p", Size: 1, State: warmpool.StateSleeping}, changed)
	if err != nil || len(res.Removed) != 2 || len(res.Started) != 1 {
		t.Fatalf("TopUp after a chart change: %+v, %v; want both spares replaced by one", res, err)
	}
	res, err = warmpool.TopUp(ctx, e, warmpool.Config{Pool: "p", Size: 1, State: warmpool.StateSleeping}, changed)
	if err != nil || len(res.Slept) != 1 || len(res.Started)+len(res.Removed) != 0 {
		t.Fatalf("TopUp of a sleeping pool: %+v, %v; want its ready spare asleep", res, err)
	}
	// A claim wakes the sleeping spare.
	o := changed
	o.Name, o.Pool, o.Claimer = "late", "p", warmpool.Pool{Config: warmpool.Config{Pool: "p", Size: 1, State: warmpool.StateSleeping}}
	got, err := e.With(nil).Create(ctx, withWait(o))
	if err != nil || got.ClaimedAt == nil || got.Status != tenant.StatusReady {
		t.Fatalf("claim of a sleeping spare: %+v, %v", got, err)
	}
	var usage *tenant.UsageError
	if _, err := warmpool.TopUp(ctx, e, warmpool.Config{Pool: "p", Size: -1}, changed); !errors.As(err, &usage) {
		t.Errorf("negative size: %v, want a usage error", err)
	}
}

func withWait(o tenant.CreateOptions) tenant.CreateOptions {
	o.Wait = time.Minute
	return o
}
