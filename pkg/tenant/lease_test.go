package tenant

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"
	utilptr "k8s.io/utils/ptr"
)

const otherHolder = "alice@laptop pid 4242 create #abcdef"

func heldLease(name string, renewed time.Time) *coordinationv1.Lease {
	t := metav1.NewMicroTime(renewed)
	return &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: LeaseName, Namespace: NamespaceFor(name), ResourceVersion: "7"},
		Spec: coordinationv1.LeaseSpec{
			HolderIdentity: utilptr.To(otherHolder), LeaseDurationSeconds: utilptr.To(int32(30)),
			AcquireTime: &t, RenewTime: &t,
		},
	}
}

func existingNS(name string) *corev1.Namespace {
	ns := tenantNS(name, nil)
	ns.ResourceVersion = "1"
	return ns
}

// TestCreateWaitsForAnotherRunsLease: while another run holds the tenant's
// lease, create neither installs (which would take that run's pending
// release for abandoned and remove it) nor touches the namespace; with no
// wait it says at once who holds it, with a wait it gives up after it.
func TestCreateWaitsForAnotherRunsLease(t *testing.T) {
	e, cs, b := newEngine(t, existingNS("demo"), heldLease("demo", time.Now()))
	allowAll(cs)
	for _, wait := range []time.Duration{0, 1500 * time.Millisecond} {
		start := time.Now()
		_, err := e.Create(context.Background(), CreateOptions{Name: "demo", Wait: wait})
		var held *HeldError
		if !errors.As(err, &held) || !strings.Contains(err.Error(), "alice@laptop pid 4242") {
			t.Fatalf("Create (wait %s) while held = %v, want a HeldError naming the holder", wait, err)
		}
		if d := time.Since(start); d < wait {
			t.Errorf("Create gave up after %s, before its wait of %s", d, wait)
		}
	}
	if n := b.installs.Load(); n != 0 {
		t.Fatalf("Create installed %d times while another run held the lease", n)
	}
	l, err := cs.CoordinationV1().Leases("vcluster-demo").Get(context.Background(), LeaseName, metav1.GetOptions{})
	if err != nil || *l.Spec.HolderIdentity != otherHolder {
		t.Fatalf("the other run's lease was changed: %+v %v", l, err)
	}
}

// TestExpiredLeaseIsTakenOver: a holder that stopped renewing (crashed) does
// not block; the lease is released after the run.
func TestExpiredLeaseIsTakenOver(t *testing.T) {
	e, cs, b := newEngine(t, existingNS("demo"), heldLease("demo", time.Now().Add(-time.Hour)))
	allowAll(cs)
	if _, err := e.Create(context.Background(), CreateOptions{Name: "demo"}); err != nil {
		t.Fatal(err)
	}
	if n := b.installs.Load(); n != 1 {
		t.Fatalf("installs = %d, want 1", n)
	}
	if _, err := cs.CoordinationV1().Leases("vcluster-demo").Get(context.Background(), LeaseName, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("lease not released after create: %v", err)
	}
}

// TestDeleteSleepWakeUpgradeRespectTheLease: every mutating operation waits
// for the lease; none changes anything while another run holds it.
func TestDeleteSleepWakeUpgradeRespectTheLease(t *testing.T) {
	ns := tenantNS("demo", map[string]string{AnnotationReadyAt: "2026-01-01T00:00:00Z"})
	ns.ResourceVersion = "1"
	e, _, b := newEngine(t, ns, heldLease("demo", time.Now()))
	b.releases["vcluster-demo"] = Release{Status: "deployed", Version: 1}
	ctx := context.Background()
	var held *HeldError
	if err := e.Delete(ctx, DeleteOptions{Name: "demo"}); !errors.As(err, &held) {
		t.Errorf("Delete = %v, want HeldError", err)
	}
	if _, err := e.Sleep(ctx, SleepOptions{Name: "demo"}); !errors.As(err, &held) {
		t.Errorf("Sleep = %v, want HeldError", err)
	}
	if _, err := e.Wake(ctx, WakeOptions{Name: "demo"}); !errors.As(err, &held) {
		t.Errorf("Wake = %v, want HeldError", err)
	}
	if err := e.upgradeOne(ctx, UpgradeOptions{Name: "demo", Wait: time.Millisecond}, &Target{Name: "demo", NS: ns}); !errors.As(err, &held) {
		t.Errorf("upgrade = %v, want HeldError", err)
	}
	if len(b.uninstalled) > 0 || len(b.asleep) > 0 || b.installs.Load() > 0 {
		t.Errorf("changed while held: uninstalled %v asleep %v installs %d", b.uninstalled, b.asleep, b.installs.Load())
	}
	if _, err := e.Kube.CoreV1().Namespaces().Get(ctx, "vcluster-demo", metav1.GetOptions{}); err != nil {
		t.Errorf("namespace deleted while held: %v", err)
	}
}

// TestLeaseTurnsAndRenewal: a second run waits while the first holds and
// renews the lease past its duration, then gets it once the first releases.
func TestLeaseTurnsAndRenewal(t *testing.T) {
	defer func(d time.Duration) { LeaseDuration = d }(LeaseDuration)
	LeaseDuration = time.Second
	e, _, _ := newEngine(t, existingNS("demo"))
	ctx := context.Background()
	_, unlockA, err := e.lock(ctx, &Target{Name: "demo"}, "create", "install", 0)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan error, 1)
	go func() {
		_, unlockB, err := e.lock(ctx, &Target{Name: "demo"}, "upgrade", "upgrade", 10*time.Second)
		if err == nil {
			err = unlockB()
		}
		got <- err
	}()
	// Three lease durations: A's renewals keep B out.
	select {
	case err := <-got:
		t.Fatalf("second run got the lease while the first held it (err %v)", err)
	case <-time.After(3 * LeaseDuration):
	}
	if err := unlockA(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-got:
		if err != nil {
			t.Fatalf("second run after release: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("second run did not get the released lease")
	}
}

// TestLostLeaseCancels: a run whose lease another holder took over stops.
func TestLostLeaseCancels(t *testing.T) {
	defer func(d time.Duration) { LeaseDuration = d }(LeaseDuration)
	LeaseDuration = time.Second
	e, cs, _ := newEngine(t, existingNS("demo"))
	ctx := context.Background()
	lctx, unlock, err := e.lock(ctx, &Target{Name: "demo"}, "create", "install", 0)
	if err != nil {
		t.Fatal(err)
	}
	l, _ := cs.CoordinationV1().Leases("vcluster-demo").Get(ctx, LeaseName, metav1.GetOptions{})
	l.Spec.HolderIdentity = utilptr.To(otherHolder)
	if _, err := cs.CoordinationV1().Leases("vcluster-demo").Update(ctx, l, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-lctx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the run went on after losing its lease")
	}
	if err := unlock(); !errors.Is(err, errLeaseLost) {
		t.Fatalf("unlock = %v, want errLeaseLost", err)
	}
	if l, _ := cs.CoordinationV1().Leases("vcluster-demo").Get(ctx, LeaseName, metav1.GetOptions{}); *l.Spec.HolderIdentity != otherHolder {
		t.Fatal("the loser released the new holder's lease")
	}
}

// TestDeleteAfterAnotherDelete: a delete that waited for the lease while
// another delete removed the tenant finishes as a success (concurrent gc
// runs), instead of failing to create a lease in the terminating namespace.
func TestDeleteAfterAnotherDelete(t *testing.T) {
	e, cs, _ := newEngine(t, existingNS("demo"))
	cs.PrependReactor("create", "leases", func(k8stesting.Action) (bool, runtime.Object, error) {
		err := apierrors.NewForbidden(coordinationv1.Resource("leases"), LeaseName, errors.New("namespace is being terminated"))
		err.ErrStatus.Details.Causes = []metav1.StatusCause{{Type: corev1.NamespaceTerminatingCause}}
		return true, nil, err
	})
	if err := e.Delete(context.Background(), DeleteOptions{Name: "demo"}); err != nil {
		t.Fatalf("Delete of a tenant whose namespace terminates meanwhile = %v", err)
	}
}
