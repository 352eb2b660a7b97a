package warmpool_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant/tenanttest"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/warmpool"
)

var nsResource = corev1.SchemeGroupVersion.WithResource("namespaces")

// conditionalUpdates makes namespace updates fail with a Conflict when the
// stored resourceVersion differs from the update's, as the API server does
// (client-go's fake tracker keeps none; claimBehind sets one).
func conditionalUpdates(cs *fake.Clientset) {
	cs.PrependReactor("update", "namespaces", func(a k8stesting.Action) (bool, runtime.Object, error) {
		ns := a.(k8stesting.UpdateAction).GetObject().(*corev1.Namespace)
		cur, err := cs.Tracker().Get(nsResource, "", ns.Name)
		if err == nil && cur.(*corev1.Namespace).ResourceVersion != ns.ResourceVersion {
			return true, nil, apierrors.NewConflict(nsResource.GroupResource(), ns.Name, nil)
		}
		return false, nil, nil
	})
}

// claimBehind makes the next list of pool's spares return what it read,
// while another create claims the first of them as name right after.
func claimBehind(t *testing.T, cs *fake.Clientset, pool, name string) *string {
	var (
		once    sync.Once
		claimed string
	)
	cs.PrependReactor("list", "namespaces", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if !strings.Contains(a.(k8stesting.ListAction).GetListRestrictions().Labels.String(), tenant.LabelSpare+"="+pool) {
			return false, nil, nil
		}
		handled := false
		var snapshot runtime.Object
		once.Do(func() {
			obj, err := cs.Tracker().List(nsResource, corev1.SchemeGroupVersion.WithKind("Namespace"), "")
			if err != nil {
				t.Error(err)
				return
			}
			l := obj.(*corev1.NamespaceList)
			var spares []corev1.Namespace
			for _, ns := range l.Items {
				if ns.Labels[tenant.LabelSpare] == pool {
					spares = append(spares, ns)
				}
			}
			slices.SortFunc(spares, func(a, b corev1.Namespace) int { return strings.Compare(a.Name, b.Name) })
			c := spares[0].DeepCopy()
			delete(c.Labels, tenant.LabelSpare)
			c.Labels[tenant.LabelName] = name
			c.Annotations[tenant.AnnotationClaimedAt] = time.Now().UTC().Format(time.RFC3339)
			c.ResourceVersion = "claimed"
			if err := cs.Tracker().Update(nsResource, c, ""); err != nil {
				t.Error(err)
			}
			claimed = c.Name
			l.Items = spares
			snapshot, handled = l, true
		})
		return handled, snapshot, nil
	})
	return &claimed
}

// TestSameNameCreatesConvergeOnOneClaim (N2): a create whose spare list ran
// just before another create of the same name claimed a spare claims
// another spare, sees the first claim, gives its spare back and converges
// on the first claim's namespace: no vcluster-NAME, no orphaned spare.
func TestSameNameCreatesConvergeOnOneClaim(t *testing.T) {
	ctx := context.Background()
	e, cs, _ := tenanttest.NewListingEngine(t)
	conditionalUpdates(cs)
	spec := warmpool.Config{Pool: "pool-a", Size: 2}
	if _, err := warmpool.TopUp(ctx, e.With(nil), spec, poolTemplate()); err != nil {
		t.Fatal(err)
	}
	first := claimBehind(t, cs, "pool-a", "demo")
	o := poolTemplate()
	o.Name, o.Pool, o.Claimer = "demo", "pool-a", warmpool.Pool{Config: spec}
	got := tenanttest.Create(t, e, o)
	if got.Namespace != *first {
		t.Errorf("create went into %s, want the other create's claim %s", got.Namespace, *first)
	}
	if _, err := cs.CoreV1().Namespaces().Get(ctx, "vcluster-demo", metav1.GetOptions{}); err == nil {
		t.Error("create made vcluster-demo beside a claimed spare of the name")
	}
	ts, _ := e.List(ctx)
	if len(ts) != 1 || ts[0].Namespace != *first {
		t.Errorf("list: %+v, want demo once, in %s", ts, *first)
	}
	if s, _ := e.Spares(ctx, "pool-a"); len(s) != 1 {
		t.Errorf("spares after the race: %+v, want the given-back one", s)
	}
}

// TestTopUpSkipsAJustClaimedSpare (N10): a spare claimed between a
// sleeping pool's top-up listing it and putting it to sleep is skipped:
// the claimed tenant gets no ready-at of the top-up's, is not put to
// sleep, and the top-up does not fail.
func TestTopUpSkipsAJustClaimedSpare(t *testing.T) {
	ctx := context.Background()
	e, cs, b := tenanttest.NewListingEngine(t)
	conditionalUpdates(cs)
	spec := warmpool.Config{Pool: "pool-a", Size: 1, State: warmpool.StateSleeping}
	if _, err := warmpool.TopUp(ctx, e.With(nil), warmpool.Config{Pool: "pool-a", Size: 1}, poolTemplate()); err != nil {
		t.Fatal(err)
	}
	claimed := claimBehind(t, cs, "pool-a", "demo")
	res, err := warmpool.TopUp(ctx, e.With(nil), spec, poolTemplate())
	if err != nil {
		t.Fatalf("top-up failed on a just-claimed spare: %v", err)
	}
	if len(res.Slept) != 0 {
		t.Errorf("top-up put %v to sleep, the claimed tenant", res.Slept)
	}
	ns, err := cs.CoreV1().Namespaces().Get(ctx, *claimed, metav1.GetOptions{})
	if err != nil || ns.Annotations[tenant.AnnotationReadyAt] != "" || ns.Annotations[tenant.AnnotationSleepingSince] != "" {
		t.Errorf("claimed namespace after the top-up: %+v, %v", ns, err)
	}
	if slices.Contains(b.Uninstalled, *claimed) {
		t.Error("top-up removed the claimed tenant")
	}
}

// TestHalfMadeSpareIsReplaced (N6): a spare still Installing long after
// it was made (its installer was killed) is removed by the next top-up
// and a new one started, instead of counting toward the pool forever.
func TestHalfMadeSpareIsReplaced(t *testing.T) {
	ctx := context.Background()
	e, cs, _ := tenanttest.NewListingEngine(t)
	tmpl := poolTemplate()
	tmpl.Pool = "pool-a"
	hash, err := tenant.SpecHash(tmpl.Spec, e.Backend)
	if err != nil {
		t.Fatal(err)
	}
	labels := tenant.Labels("spare-0badc0de", "pool-a")
	labels[tenant.LabelSpare], labels[tenant.LabelPool] = "pool-a", "pool-a"
	stuck := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "vcluster-spare-0badc0de", Labels: labels,
		Annotations: map[string]string{tenant.AnnotationSpec: hash,
			tenant.AnnotationCreatedAt: time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)}}}
	if _, err := cs.CoreV1().Namespaces().Create(ctx, stuck, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	res, err := warmpool.TopUp(ctx, e.With(nil), warmpool.Config{Pool: "pool-a", Size: 1}, poolTemplate())
	if err != nil || !slices.Equal(res.Removed, []string{"spare-0badc0de"}) || len(res.Started) != 1 {
		t.Errorf("top-up: %+v, %v; want the stuck spare removed and another started", res, err)
	}
}

// claimAllBefore makes the next list of pool's spares first let another
// create claim (reserve, settle and bind) the first of them as name: the
// list then finds none left.
func claimAllBefore(t *testing.T, cs *fake.Clientset, pool, name string) *string {
	var (
		once    sync.Once
		claimed string
	)
	cs.PrependReactor("list", "namespaces", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if !strings.Contains(a.(k8stesting.ListAction).GetListRestrictions().Labels.String(), tenant.LabelSpare+"="+pool) {
			return false, nil, nil
		}
		once.Do(func() {
			obj, err := cs.Tracker().List(nsResource, corev1.SchemeGroupVersion.WithKind("Namespace"), "")
			if err != nil {
				t.Error(err)
				return
			}
			for _, ns := range obj.(*corev1.NamespaceList).Items {
				if ns.Labels[tenant.LabelSpare] != pool {
					continue
				}
				c := ns.DeepCopy()
				delete(c.Labels, tenant.LabelSpare)
				c.Labels[tenant.LabelName] = name
				c.Annotations[tenant.AnnotationClaimedAt] = time.Now().UTC().Format(time.RFC3339)
				c.ResourceVersion = "claimed"
				if err := cs.Tracker().Update(nsResource, c, ""); err != nil {
					t.Error(err)
				}
				claimed = c.Name
				return
			}
		})
		return false, nil, nil // the list as it is now
	})
	return &claimed
}

// TestFreshCreateYieldsToAClaimMadeMeanwhile (N2): a create whose lookup
// found no tenant and whose spare list ran just after another create of
// the same name claimed the only spare (and found no vcluster-NAME yet)
// makes vcluster-NAME, sees the claim, deletes the namespace it just made
// and converges on the claim: no second namespace of the name, no
// orphaned control plane.
func TestFreshCreateYieldsToAClaimMadeMeanwhile(t *testing.T) {
	ctx := context.Background()
	e, cs, _ := tenanttest.NewListingEngine(t)
	conditionalUpdates(cs)
	spec := warmpool.Config{Pool: "pool-a", Size: 1}
	if _, err := warmpool.TopUp(ctx, e.With(nil), spec, poolTemplate()); err != nil {
		t.Fatal(err)
	}
	first := claimAllBefore(t, cs, "pool-a", "demo")
	o := poolTemplate()
	o.Name, o.Pool, o.Claimer = "demo", "pool-a", warmpool.Pool{Config: spec}
	got := tenanttest.Create(t, e, o)
	if *first == "" || got.Namespace != *first {
		t.Errorf("create went into %s, want the other create's claim %q", got.Namespace, *first)
	}
	if _, err := cs.CoreV1().Namespaces().Get(ctx, "vcluster-demo", metav1.GetOptions{}); err == nil {
		t.Error("vcluster-demo remains beside a claimed spare of the name")
	}
	nss, _ := cs.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: tenant.LabelName + "=demo"})
	if len(nss.Items) != 1 {
		t.Errorf("namespaces of demo: %d, want 1", len(nss.Items))
	}
	if ts, _ := e.List(ctx); len(ts) != 1 || ts[0].Namespace != *first {
		t.Errorf("list: %+v, want demo once, in %s", ts, *first)
	}
}

// TestClaimLosesItsReservationToAFreshCreate (N2): between a claim's
// reservation and its binding, a create of the same name makes
// vcluster-NAME and gives the reservation back. The binding then fails on
// the changed spare; the claiming create converges on vcluster-NAME and
// the spare is a spare again.
func TestClaimLosesItsReservationToAFreshCreate(t *testing.T) {
	ctx := context.Background()
	e, cs, _ := tenanttest.NewListingEngine(t)
	conditionalUpdates(cs)
	spec := warmpool.Config{Pool: "pool-a", Size: 1}
	if _, err := warmpool.TopUp(ctx, e.With(nil), spec, poolTemplate()); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	cs.PrependReactor("update", "namespaces", func(a k8stesting.Action) (bool, runtime.Object, error) {
		ns := a.(k8stesting.UpdateAction).GetObject().(*corev1.Namespace)
		if ns.Annotations[tenant.AnnotationClaimedAt] == "" || ns.Labels[tenant.LabelName] != "demo" {
			return false, nil, nil
		}
		once.Do(func() {
			// The other create: vcluster-demo, then the reservation given back.
			fresh := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "vcluster-demo", Labels: tenant.Labels("demo", "pool-a")}}
			if err := cs.Tracker().Create(nsResource, fresh, ""); err != nil {
				t.Error(err)
			}
			cur, err := cs.Tracker().Get(nsResource, "", ns.Name)
			if err != nil {
				t.Error(err)
				return
			}
			back := cur.(*corev1.Namespace).DeepCopy()
			back.Labels[tenant.LabelName] = back.Annotations[tenant.AnnotationClaiming]
			back.Labels[tenant.LabelSpare] = "pool-a"
			delete(back.Annotations, tenant.AnnotationClaiming)
			back.ResourceVersion = "given-back"
			if err := cs.Tracker().Update(nsResource, back, ""); err != nil {
				t.Error(err)
			}
		})
		return false, nil, nil
	})
	o := poolTemplate()
	o.Name, o.Pool, o.Claimer = "demo", "pool-a", warmpool.Pool{Config: spec}
	got := tenanttest.Create(t, e, o)
	if got.Namespace != "vcluster-demo" || got.ClaimedAt != nil {
		t.Errorf("create: %+v, want the other create's vcluster-demo", got)
	}
	if s, _ := e.Spares(ctx, "pool-a"); len(s) != 1 {
		t.Errorf("spares: %+v, want the given-back one", s)
	}
	nss, _ := cs.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: tenant.LabelName + "=demo"})
	if len(nss.Items) != 1 {
		t.Errorf("namespaces of demo: %d, want 1", len(nss.Items))
	}
}

// TestReplaceSkipsAStuckSpare (N6): a spare still Installing long after
// it was made does not count toward the pool: a claim's Replace installs
// one in its place.
func TestReplaceSkipsAStuckSpare(t *testing.T) {
	ctx := context.Background()
	e, cs, _ := tenanttest.NewListingEngine(t)
	tmpl := poolTemplate()
	tmpl.Pool = "pool-a"
	hash, err := tenant.SpecHash(tmpl.Spec, e.Backend)
	if err != nil {
		t.Fatal(err)
	}
	labels := tenant.Labels("spare-0badc0de", "pool-a")
	labels[tenant.LabelSpare], labels[tenant.LabelPool] = "pool-a", "pool-a"
	stuck := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "vcluster-spare-0badc0de", Labels: labels,
		Annotations: map[string]string{tenant.AnnotationSpec: hash,
			tenant.AnnotationCreatedAt: time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)}}}
	if _, err := cs.CoreV1().Namespaces().Create(ctx, stuck, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	name, err := warmpool.Replace(ctx, &e.Host, warmpool.Config{Pool: "pool-a", Size: 1}, poolTemplate())
	if err != nil || name == "" {
		t.Errorf("Replace: %q, %v; want a new spare beside the stuck one", name, err)
	}
	// A spare of the same age that is ready counts.
	name, err = warmpool.Replace(ctx, &e.Host, warmpool.Config{Pool: "pool-a", Size: 1}, poolTemplate())
	if err != nil || name != "" {
		t.Errorf("second Replace: %q, %v; want none, the pool holds a good spare", name, err)
	}
}

// TestClaimGivesBackAnotherReservationOfTheName (N2): a create that finds
// another create's reservation of the same name (not bound yet) gives it
// back and binds its own spare; the other's bind then fails on the given
// back spare (see TestClaimLosesItsReservationToAFreshCreate).
func TestClaimGivesBackAnotherReservationOfTheName(t *testing.T) {
	ctx := context.Background()
	e, cs, _ := tenanttest.NewListingEngine(t)
	conditionalUpdates(cs)
	spec := warmpool.Config{Pool: "pool-a", Size: 2}
	if _, err := warmpool.TopUp(ctx, e.With(nil), spec, poolTemplate()); err != nil {
		t.Fatal(err)
	}
	var (
		once     sync.Once
		reserved string
	)
	cs.PrependReactor("list", "namespaces", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if !strings.Contains(a.(k8stesting.ListAction).GetListRestrictions().Labels.String(), tenant.LabelSpare+"=pool-a") {
			return false, nil, nil
		}
		once.Do(func() {
			obj, err := cs.Tracker().List(nsResource, corev1.SchemeGroupVersion.WithKind("Namespace"), "")
			if err != nil {
				t.Error(err)
				return
			}
			var spares []corev1.Namespace
			for _, ns := range obj.(*corev1.NamespaceList).Items {
				if ns.Labels[tenant.LabelSpare] == "pool-a" {
					spares = append(spares, ns)
				}
			}
			slices.SortFunc(spares, func(a, b corev1.Namespace) int { return strings.Compare(a.Name, b.Name) })
			c := spares[0].DeepCopy()
			c.Annotations[tenant.AnnotationClaiming] = c.Labels[tenant.LabelName]
			c.Labels[tenant.LabelName] = "demo"
			delete(c.Labels, tenant.LabelSpare)
			c.ResourceVersion = "reserved"
			if err := cs.Tracker().Update(nsResource, c, ""); err != nil {
				t.Error(err)
			}
			reserved = c.Name
		})
		return false, nil, nil
	})
	o := poolTemplate()
	o.Name, o.Pool, o.Claimer = "demo", "pool-a", warmpool.Pool{Config: spec}
	got := tenanttest.Create(t, e, o)
	if got.ClaimedAt == nil || got.Namespace == reserved || got.Namespace == "vcluster-demo" {
		t.Errorf("create: %+v; want the other spare than %s, claimed", got, reserved)
	}
	ns, err := cs.CoreV1().Namespaces().Get(ctx, reserved, metav1.GetOptions{})
	if err != nil || ns.Labels[tenant.LabelSpare] != "pool-a" || tenant.Reserved(ns) {
		t.Errorf("the other reservation after the create: %+v, %v; want a spare again", ns, err)
	}
}

// TestTopUpGivesBackAStaleReservation (N2): a spare a create reserved and
// never bound (it was killed in between) is a spare again after the next
// top-up, instead of an orphan no lookup finds; a fresh reservation is
// left to its create.
func TestTopUpGivesBackAStaleReservation(t *testing.T) {
	ctx := context.Background()
	e, cs, _ := tenanttest.NewListingEngine(t)
	spec := warmpool.Config{Pool: "pool-a", Size: 2}
	if _, err := warmpool.TopUp(ctx, e.With(nil), spec, poolTemplate()); err != nil {
		t.Fatal(err)
	}
	spares, err := e.Spares(ctx, "pool-a")
	if err != nil || len(spares) != 2 {
		t.Fatalf("spares: %+v, %v", spares, err)
	}
	reserve := func(ns *corev1.Namespace, at time.Time) {
		c := ns.DeepCopy()
		c.Annotations[tenant.AnnotationClaiming] = c.Labels[tenant.LabelName]
		c.Annotations[tenant.AnnotationReservedAt] = at.UTC().Format(time.RFC3339)
		c.Labels[tenant.LabelName] = "killed"
		delete(c.Labels, tenant.LabelSpare)
		if _, err := cs.CoreV1().Namespaces().Update(ctx, c, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	reserve(spares[0].NS, time.Now().Add(-time.Hour))
	reserve(spares[1].NS, time.Now())
	res, err := warmpool.TopUp(ctx, e.With(nil), spec, poolTemplate())
	if err != nil || !slices.Equal(res.GivenBack, []string{spares[0].Name}) {
		t.Fatalf("top-up: %+v, %v; want %s given back", res, err, spares[0].Name)
	}
	ns, err := cs.CoreV1().Namespaces().Get(ctx, spares[0].Namespace, metav1.GetOptions{})
	if err != nil || ns.Labels[tenant.LabelSpare] != "pool-a" || ns.Labels[tenant.LabelName] != spares[0].Name || tenant.Reserved(ns) {
		t.Errorf("stale reservation after the top-up: %+v, %v", ns, err)
	}
	if ns, _ := cs.CoreV1().Namespaces().Get(ctx, spares[1].Namespace, metav1.GetOptions{}); !tenant.Reserved(ns) {
		t.Errorf("top-up gave back a fresh reservation: %+v", ns)
	}
}
