package tenant

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	k8stesting "k8s.io/client-go/testing"
	clocktesting "k8s.io/utils/clock/testing"
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

// renewAsOther moves the other holder's renew time to at, as its own
// renewal would; an error when the lease is no longer its.
func renewAsOther(cs kubernetes.Interface, at time.Time) error {
	leases := cs.CoordinationV1().Leases("vcluster-demo")
	l, err := leases.Get(context.Background(), LeaseName, metav1.GetOptions{})
	if err != nil {
		return err
	}
	if h := utilptr.Deref(l.Spec.HolderIdentity, ""); h != otherHolder {
		return fmt.Errorf("the lease is %q's", h)
	}
	l.Spec.RenewTime = utilptr.To(metav1.NewMicroTime(at))
	_, err = leases.Update(context.Background(), l, metav1.UpdateOptions{})
	return err
}

// TestLiveHolderWithSlowClockIsNotTakenOver: a holder that keeps renewing
// keeps the lease although its clock is 40 s behind ours, so its renew
// time looks older than the lease's duration (N5: the newcomer took it over
// and removed the holder's in-flight release).
func TestLiveHolderWithSlowClockIsNotTakenOver(t *testing.T) {
	defer func(d time.Duration) { LeaseDuration = d }(LeaseDuration)
	LeaseDuration = time.Second
	e, cs, _ := newEngine(t, existingNS("demo"), heldLease("demo", time.Now().Add(-40*time.Second)))
	stop := make(chan struct{})
	renewing := make(chan error, 1)
	go func() {
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				renewing <- nil
				return
			case <-tick.C:
			}
			if err := renewAsOther(cs, time.Now().Add(-40*time.Second)); err != nil {
				renewing <- err
				return
			}
		}
	}()
	for _, wait := range []time.Duration{0, 3 * LeaseDuration} {
		_, unlock, err := e.lock(context.Background(), &Target{Name: "demo"}, "upgrade", StepUpgrade, wait)
		var held *HeldError
		if !errors.As(err, &held) || held.Holder != otherHolder {
			if err == nil {
				_ = unlock()
			}
			t.Fatalf("lock (wait %s) of a live holder's lease = %v, want a HeldError naming it", wait, err)
		}
	}
	close(stop)
	if err := <-renewing; err != nil {
		t.Fatalf("the holder lost its lease while renewing: %v", err)
	}
}

func fakeLeaseClock(t *testing.T) *clocktesting.FakeClock {
	clk := clocktesting.NewFakeClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	old, oldD := leaseClock, LeaseDuration
	leaseClock, LeaseDuration = clk, 30*time.Second
	t.Cleanup(func() { leaseClock, LeaseDuration = old, oldD })
	return clk
}

// parked waits until a goroutine waits on clk (or done has a value, which
// it leaves there).
func parked(t *testing.T, clk *clocktesting.FakeClock, done chan error) {
	t.Helper()
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(time.Millisecond) {
		if clk.HasWaiters() || len(done) > 0 {
			return
		}
	}
	t.Fatal("lock neither waits nor returns")
}

// TestSlowClockHolderExpiresByObserversClock: a waiting run judges the
// other holder's liveness by its own clock: it never takes over while the
// holder (40 s behind) renews every 10 s, and takes over once the holder's
// lease went unchanged for the lease's duration after its last renewal.
func TestSlowClockHolderExpiresByObserversClock(t *testing.T) {
	clk := fakeLeaseClock(t)
	e, cs, _ := newEngine(t, existingNS("demo"), heldLease("demo", clk.Now().Add(-40*time.Second)))
	got := make(chan error, 1)
	var unlock func() error
	go func() {
		var err error
		_, unlock, err = e.lock(context.Background(), &Target{Name: "demo"}, "upgrade", StepUpgrade, 10*time.Minute)
		got <- err
	}()
	// Two minutes of the holder renewing.
	for i := range 120 {
		parked(t, clk, got)
		if len(got) > 0 {
			t.Fatalf("took over a live holder's lease after %d s: %v", i, <-got)
		}
		if i%10 == 0 {
			if err := renewAsOther(cs, clk.Now().Add(-40*time.Second)); err != nil {
				t.Fatalf("after %d s: %v", i, err)
			}
		}
		clk.Step(time.Second)
	}
	// The holder stopped renewing at second 110: the waiting run saw that
	// renewal at 111 (its next look) and takes over at 141.
	for i := 120; i < 200; i++ {
		parked(t, clk, got)
		if l, _ := cs.CoordinationV1().Leases("vcluster-demo").Get(context.Background(), LeaseName, metav1.GetOptions{}); utilptr.Deref(l.Spec.HolderIdentity, "") != otherHolder {
			if err := <-got; err != nil {
				t.Fatal(err)
			}
			if i != 141 {
				t.Fatalf("took over at second %d, want 141 (the duration after it last saw a renewal)", i)
			}
			if err := unlock(); err != nil {
				t.Fatal(err)
			}
			return
		}
		clk.Step(time.Second)
	}
	t.Fatal("never took over the lease of a holder that stopped renewing")
}

// TestTakenOverHolderIsFenced: a holder whose lease another run took over
// is cancelled, and Fence refuses its writes, within one renew period.
func TestTakenOverHolderIsFenced(t *testing.T) {
	clk := fakeLeaseClock(t)
	e, cs, _ := newEngine(t, existingNS("demo"))
	ctx := context.Background()
	lctx, unlock, err := e.lock(ctx, &Target{Name: "demo"}, "create", StepNamespace, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := Fence(lctx); err != nil {
		t.Fatalf("Fence while holding = %v", err)
	}
	leases := cs.CoordinationV1().Leases("vcluster-demo")
	l, _ := leases.Get(ctx, LeaseName, metav1.GetOptions{})
	l.Spec.HolderIdentity = utilptr.To(otherHolder)
	if _, err := leases.Update(ctx, l, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	parked(t, clk, nil)
	clk.Step(renewPeriod())
	select {
	case <-lctx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the holder went on a renew period after another run took its lease")
	}
	if err := Fence(lctx); !errors.Is(err, errLeaseLost) {
		t.Fatalf("Fence after a takeover = %v, want errLeaseLost", err)
	}
	if err := unlock(); !errors.Is(err, errLeaseLost) {
		t.Fatalf("unlock = %v, want errLeaseLost", err)
	}
	if l, _ := leases.Get(ctx, LeaseName, metav1.GetOptions{}); *l.Spec.HolderIdentity != otherHolder {
		t.Fatal("the loser released the new holder's lease")
	}
}

// TestUnrenewedHolderFencesItself: a holder that could not renew for the
// renew deadline (API unreachable, or the process was suspended) stops
// before any other run may take over: Fence refuses at once, before the
// renew loop has run, and the context is cancelled.
func TestUnrenewedHolderFencesItself(t *testing.T) {
	clk := fakeLeaseClock(t)
	e, cs, _ := newEngine(t, existingNS("demo"))
	lctx, unlock, err := e.lock(context.Background(), &Target{Name: "demo"}, "create", StepNamespace, 0)
	if err != nil {
		t.Fatal(err)
	}
	cs.PrependReactor("get", "leases", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewServiceUnavailable("unreachable")
	})
	parked(t, clk, nil)
	clk.Step(renewDeadline() - time.Second)
	if err := Fence(lctx); err != nil {
		t.Fatalf("Fence before the renew deadline = %v", err)
	}
	clk.Step(time.Second)
	if err := Fence(lctx); !errors.Is(err, errLeaseLost) {
		t.Fatalf("Fence at the renew deadline = %v, want errLeaseLost", err)
	}
	if renewDeadline() >= LeaseDuration {
		t.Fatalf("renew deadline %s is not before the lease expires (%s)", renewDeadline(), LeaseDuration)
	}
	select {
	case <-lctx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the context of an unrenewed lease was not cancelled")
	}
	if err := unlock(); !errors.Is(err, errLeaseLost) {
		t.Fatalf("unlock = %v, want errLeaseLost", err)
	}
}

// TestLeaseEndingWithItsNamespaceIsNotLost: a GitOps delete waits while
// Argo CD prunes the tenant namespace, which takes the lease with it. The
// holder stops renewing but is not fenced (nobody can take a lease in a
// terminating namespace); a lease deleted from a live namespace is lost.
func TestLeaseEndingWithItsNamespaceIsNotLost(t *testing.T) {
	for _, tc := range []struct {
		name        string
		terminating bool
		wantLost    bool
	}{
		{"namespace terminating", true, false},
		{"namespace alive", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := fakeLeaseClock(t)
			e, cs, _ := newEngine(t, existingNS("demo"))
			ctx := context.Background()
			lctx, unlock, err := e.lock(ctx, &Target{Name: "demo"}, "delete", StepNamespace, 0)
			if err != nil {
				t.Fatal(err)
			}
			if err := cs.CoordinationV1().Leases("vcluster-demo").Delete(ctx, LeaseName, metav1.DeleteOptions{}); err != nil {
				t.Fatal(err)
			}
			if tc.terminating {
				ns, _ := cs.CoreV1().Namespaces().Get(ctx, "vcluster-demo", metav1.GetOptions{})
				ns.DeletionTimestamp = &metav1.Time{Time: time.Now()}
				if _, err := cs.CoreV1().Namespaces().Update(ctx, ns, metav1.UpdateOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			for range 3 {
				parked(t, clk, nil)
				clk.Step(renewPeriod())
			}
			if tc.wantLost {
				select {
				case <-lctx.Done():
				case <-time.After(5 * time.Second):
					t.Fatal("the holder went on after its lease was deleted from a live namespace")
				}
				if err := unlock(); !errors.Is(err, errLeaseLost) {
					t.Fatalf("unlock = %v, want errLeaseLost", err)
				}
				return
			}
			l := lctx.Value(leaseKey{}).(*lease)
			for end := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
				l.mu.Lock()
				ended := l.ended
				l.mu.Unlock()
				if ended {
					break
				}
				if time.Now().After(end) {
					t.Fatal("the holder did not notice its lease went with the namespace")
				}
			}
			clk.Step(LeaseDuration)
			if err := Fence(lctx); err != nil {
				t.Fatalf("Fence after the lease went with its namespace = %v", err)
			}
			if err := unlock(); err != nil {
				t.Fatalf("unlock = %v", err)
			}
		})
	}
}
