package tenant_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant/tenanttest"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/warmpool"
)

func warnings(rec *tenanttest.Recorder) []string {
	rec.Events = slices.Clip(rec.Events)
	var out []string
	for _, ev := range rec.Events {
		if ev.Phase == tenant.PhaseWarning {
			out = append(out, ev.Message)
		}
	}
	return out
}

// TestForeignLabelledNamespaceIsNoTenant (N1): a namespace the tool did not
// make, labelled with a tenant's name, is never that tenant: not found,
// not deleted by delete --ignore-not-found or gc, not installed into by
// create, not listed; each lookup warns once.
func TestForeignLabelledNamespaceIsNoTenant(t *testing.T) {
	ctx := context.Background()
	past := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	foreign := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team-payments-ci",
		Labels:      map[string]string{tenant.LabelName: "payments"},
		Annotations: map[string]string{tenant.AnnotationExpiresAt: past}}}
	e, cs, b := tenanttest.NewEngine(t, foreign)
	still := func(when string) {
		t.Helper()
		ns, err := cs.CoreV1().Namespaces().Get(ctx, foreign.Name, metav1.GetOptions{})
		if err != nil || ns.DeletionTimestamp != nil || ns.Labels[tenant.LabelName] != "payments" || len(ns.Labels) != 1 {
			t.Fatalf("%s: foreign namespace %+v, %v", when, ns, err)
		}
		if slices.Contains(b.Uninstalled, foreign.Name) || slices.ContainsFunc(b.Installs, func(r tenant.InstallRequest) bool { return r.Namespace == foreign.Name }) {
			t.Fatalf("%s: the backend touched %s: installs %+v, uninstalls %v", when, foreign.Name, b.Installs, b.Uninstalled)
		}
	}

	rec := &tenanttest.Recorder{}
	if _, err := e.With(rec.Report).Get(ctx, "payments"); !errors.Is(err, tenant.ErrNotFound) {
		t.Errorf("Get(payments) = %v, want ErrNotFound", err)
	}
	if w := warnings(rec); len(w) != 1 || !strings.Contains(w[0], foreign.Name) {
		t.Errorf("warnings %q, want one naming %s", w, foreign.Name)
	}
	if ts, err := e.List(ctx); err != nil || len(ts) != 0 {
		t.Errorf("List = %+v, %v; want no tenant", ts, err)
	}
	if err := e.With(nil).Delete(ctx, tenant.DeleteOptions{Name: "payments", IgnoreNotFound: true}); err != nil {
		t.Errorf("delete --ignore-not-found: %v", err)
	}
	still("after delete --ignore-not-found")
	res, err := e.With(nil).GC(ctx, tenant.GCOptions{})
	if err != nil || len(res) != 0 {
		t.Errorf("GC = %+v, %v; want nothing done", res, err)
	}
	still("after gc")
	got := tenanttest.Create(t, e, tenant.CreateOptions{Name: "payments"})
	if got.Namespace != tenant.NamespaceFor("payments") {
		t.Errorf("create payments went into %s", got.Namespace)
	}
	still("after create")
}

// TestForgedClaimIsNoTenant (N1): a namespace carrying every label and
// annotation of a claimed spare but neither its name pattern nor the
// tool's release does not take over a claimed tenant, even sorting first.
func TestForgedClaimIsNoTenant(t *testing.T) {
	ctx := context.Background()
	e, cs, _ := tenanttest.NewListingEngine(t)
	spec := warmpool.Config{Pool: "pool-a", Size: 1}
	if _, err := warmpool.TopUp(ctx, e.With(nil), spec, poolTemplate()); err != nil {
		t.Fatal(err)
	}
	o := poolTemplate()
	o.Name, o.Pool, o.Claimer = "demo", "pool-a", warmpool.Pool{Config: spec}
	claimed := tenanttest.Create(t, e, o)
	if !strings.HasPrefix(claimed.Namespace, "vcluster-spare-") {
		t.Fatalf("not claimed: %+v", claimed)
	}
	stamp := time.Now().UTC().Format(time.RFC3339)
	for _, name := range []string{"aaa-x", "vcluster-spare-0000"} {
		forged := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name,
			Labels:      tenant.Labels("demo", "pool-a"),
			Annotations: map[string]string{tenant.AnnotationClaimedAt: stamp}}}
		if _, err := cs.CoreV1().Namespaces().Create(ctx, forged, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := e.Get(ctx, "demo")
	if err != nil || got.Namespace != claimed.Namespace {
		t.Fatalf("Get(demo) = %+v, %v; want namespace %s", got, err, claimed.Namespace)
	}
	ts, _ := e.List(ctx)
	if len(ts) != 1 || ts[0].Namespace != claimed.Namespace {
		t.Errorf("List = %+v, want demo in %s only", ts, claimed.Namespace)
	}
}

// forbidNamespaceLists makes every cluster-wide namespace list Forbidden,
// as for a user with rights in their own namespaces only.
func forbidNamespaceLists(cs *k8stesting.Fake) {
	cs.PrependReactor("list", "namespaces", func(a k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "namespaces"}, "", errors.New("cannot list namespaces"))
	})
}

// TestCreateWithoutListRightsInstalls (N9): without cluster-wide list
// rights a create (with a warm pool configured) installs a new tenant,
// warning that it could not look for a spare, instead of failing.
func TestCreateWithoutListRightsInstalls(t *testing.T) {
	ctx := context.Background()
	e, cs, b := tenanttest.NewEngine(t)
	forbidNamespaceLists(&cs.Fake)
	o := poolTemplate()
	o.Name, o.Pool, o.Claimer, o.Wait = "demo", "pool-a", warmpool.Pool{Config: warmpool.Config{Pool: "pool-a", Size: 1}}, time.Minute
	rec := &tenanttest.Recorder{}
	got, err := e.With(rec.Report).Create(ctx, o)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if got.Namespace != "vcluster-demo" || len(b.Installs) != 1 || b.Installs[0].Namespace != "vcluster-demo" {
		t.Errorf("tenant %+v, installs %+v; want a fresh install in vcluster-demo", got, b.Installs)
	}
	if w := slices.DeleteFunc(warnings(rec), func(w string) bool { return !strings.Contains(w, "spare") }); len(w) != 1 {
		t.Errorf("warnings %q, want one about the spare", warnings(rec))
	}
	// Later commands find the tenant with a GET alone.
	if _, err := e.Get(ctx, "demo"); err != nil {
		t.Errorf("Get(demo): %v", err)
	}
	if err := e.With(nil).Delete(ctx, tenant.DeleteOptions{Name: "gone", IgnoreNotFound: true}); err != nil {
		t.Errorf("delete --ignore-not-found of a missing tenant: %v", err)
	}
}

// TestCreateResolvesOnce: one create of a new tenant looks the tenant up
// once (the GET of vcluster-NAME and the list of claimed spares), lists
// the name's claims once more right after making vcluster-NAME (Settle:
// a claim of the name made meanwhile wins, N2), and otherwise reads only
// its own namespace, not the name again.
func TestCreateResolvesOnce(t *testing.T) {
	e, cs, _ := tenanttest.NewEngine(t)
	var (
		mu           sync.Mutex
		lookups      int // lists by the tenant's name label
		gets, others int
	)
	cs.PrependReactor("*", "namespaces", func(a k8stesting.Action) (bool, runtime.Object, error) {
		mu.Lock()
		defer mu.Unlock()
		switch a := a.(type) {
		case k8stesting.ListAction:
			if strings.Contains(a.GetListRestrictions().Labels.String(), tenant.LabelName+"=demo") {
				lookups++
			} else {
				others++
			}
		case k8stesting.GetAction:
			if a.GetVerb() == "get" && a.GetName() == "vcluster-demo" {
				gets++
			}
		}
		return false, nil, nil
	})
	tenanttest.Create(t, e, tenant.CreateOptions{Name: "demo"})
	// The lookup's GET (NotFound) and list; then reads of its own
	// namespace: ensureNamespace's before creating it, after the install
	// (asleep? failed before?), recordReady's read-modify-write, and what
	// create returns. Without a Claimer no spares are listed.
	if lookups != 2 || gets != 5 || others != 0 {
		t.Errorf("create made %d name lookups (lists), %d GETs of its namespace, %d other namespace lists; want 2, 5, 0", lookups, gets, others)
	}
}
