package tenant

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/user"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/clock"
	utilptr "k8s.io/utils/ptr"
)

// LeaseName is the coordination.k8s.io Lease in a tenant's namespace that
// create, upgrade, delete, sleep and wake hold while they change the tenant,
// so two runs never change one tenant at once (one would take the other's
// in-flight Helm release for abandoned). A crashed holder stops renewing and
// its lease expires after LeaseDuration.
const LeaseName = "kubectl-tenant-lock"

// LeaseDuration is how long a lease lives without renewal. Another run
// judges that by its own clock, from when it last saw the lease change, so
// clocks that disagree cannot make a live holder look dead.
var LeaseDuration = 30 * time.Second

// A holder renews every tenth of LeaseDuration and stops (cancels its
// operation) when it has not renewed for two thirds of it: before any other
// run, which waits the whole duration after the last renewal it saw, may
// take over.
func renewPeriod() time.Duration   { return LeaseDuration / 10 }
func renewDeadline() time.Duration { return LeaseDuration * 2 / 3 }

// staleFactor: a lease whose renew time is this many durations in the past
// by the local clock is taken over at once, so a crashed run does not cost
// a fresh one a whole LeaseDuration; only a holder whose clock is that far
// behind (minutes) is mistaken for dead.
const staleFactor = 10

// leaseClock measures lease durations (tests replace it). It is never
// Engine.Now, which tests pin.
var leaseClock clock.WithTicker = clock.RealClock{}

// HeldError says another run holds the tenant's lease.
type HeldError struct {
	Name   string
	Holder string
	Since  time.Time
}

func (e *HeldError) Error() string {
	since := ""
	if !e.Since.IsZero() {
		since = " since " + e.Since.UTC().Format(time.RFC3339)
	}
	return fmt.Sprintf("tenant %s is being changed by %s%s: try again when it has finished (or wait for it with a longer --wait)", e.Name, e.Holder, since)
}

// holderIdentity names this run in the lease: user@host pid N, the
// operation, and a random tag that tells apart two runs of one process.
func holderIdentity(op string) string {
	name := ""
	if u, err := user.Current(); err == nil { // (falls back to $USER itself)
		name = u.Username
	}
	if name == "" {
		name = fmt.Sprintf("uid %d", os.Getuid())
	}
	host, _ := os.Hostname()
	if host == "" {
		host = "unknown-host"
	}
	tag := make([]byte, 3)
	_, _ = rand.Read(tag)
	return fmt.Sprintf("%s@%s pid %d %s #%s", name, host, os.Getpid(), op, hex.EncodeToString(tag))
}

// lock takes the tenant's lease for op, waiting up to wait while another
// live run holds it (reporting whom it waits for under step); with no wait
// it fails at once with a HeldError. It returns a context that is cancelled
// if the lease is lost (renewal failed for longer than it lives), and
// unlock, which stops renewing and releases the lease; call it exactly once.
// Writes under the lease check Fence on that context first. The tenant
// namespace must exist.
func (e *Engine) lock(ctx context.Context, t *Target, op, step string, wait time.Duration) (context.Context, func() error, error) {
	ns, name := t.Namespace(), t.Name
	clk := leaseClock
	l := &lease{e: e, ns: ns, name: name, id: holderIdentity(op), clock: clk}
	deadline := clk.Now().Add(wait)
	reported := ""
	for {
		err := l.acquire(ctx)
		if err == nil {
			break
		}
		var held *HeldError
		if !errors.As(err, &held) {
			return nil, nil, err
		}
		if !clk.Now().Before(deadline) {
			return nil, nil, err
		}
		if held.Holder != reported {
			e.Report.Emit(step, PhaseWaiting, "waiting for "+held.Holder+" to finish with tenant "+name, nil)
			reported = held.Holder
		}
		select {
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		case <-clk.After(min(time.Second, max(deadline.Sub(clk.Now()), 10*time.Millisecond))):
		}
	}
	hctx, cancel := context.WithCancelCause(ctx)
	l.cancel = cancel
	hctx = context.WithValue(hctx, leaseKey{}, l)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		l.renewLoop(hctx, stop)
	}()
	var once sync.Once
	unlock := func() error {
		var err error
		once.Do(func() {
			close(stop)
			wg.Wait()
			lost := context.Cause(hctx)
			cancel(nil)
			if errors.Is(lost, errLeaseLost) {
				err = lost
				return
			}
			l.release()
		})
		return err
	}
	return hctx, unlock, nil
}

// withLock runs fn holding the tenant's lease (see lock). When the lease
// was lost while fn ran, that is the error.
func (e *Engine) withLock(ctx context.Context, t *Target, op, step string, wait time.Duration, fn func(ctx context.Context) error) error {
	lctx, unlock, err := e.lock(ctx, t, op, step, wait)
	if err != nil {
		return err
	}
	err = fn(lctx)
	uerr := unlock()
	if errors.Is(uerr, errLeaseLost) {
		return uerr
	}
	return err
}

// errBeingDeleted is a lease that cannot be taken because the tenant
// namespace is gone or terminating: another run deleted the tenant.
var errBeingDeleted = errors.New("the tenant is being deleted")

var errLeaseLost = errors.New("lost the tenant's lease (could not renew it in time): another run may have taken over; re-run to converge")

// Fence says whether writes under ctx may go on: an error when ctx is done
// or, for a context from lock, when its lease was not renewed in time (this
// process may have been suspended while another run took over). Helm phases
// and other writes under the lease call it before they start.
func Fence(ctx context.Context) error {
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	if l, ok := ctx.Value(leaseKey{}).(*lease); ok && l.overdue() {
		l.cancel(errLeaseLost)
		return errLeaseLost
	}
	return nil
}

type leaseKey struct{}

type lease struct {
	e        *Engine
	ns, name string
	id       string
	clock    clock.WithTicker
	cancel   context.CancelCauseFunc
	cur      *coordinationv1.Lease
	// observed is the other holder's lease record as last seen, and
	// observedAt when this process first saw it (the client-go leader
	// election rule): the holder is dead only when its record has not
	// changed for the lease's duration by this process's own clock.
	observed   string
	observedAt time.Time

	mu sync.Mutex
	// renewedAt is when the last successful renewal (or the acquisition)
	// started: the lease was this run's until at least renewedAt plus its
	// duration by any other run's clock.
	renewedAt time.Time
	// ended: the lease went with its namespace (errLeaseEnded); nothing
	// is left to renew or to lose.
	ended bool
}

// errRace is a create or update of the lease that lost to another run's.
var errRace = errors.New("lease race")

// acquire creates the lease, takes it over when its holder stopped renewing
// it, or returns a HeldError. Losing a race to another run looks again.
func (l *lease) acquire(ctx context.Context) error {
	for {
		if err := l.try(ctx); !errors.Is(err, errRace) {
			return err
		}
	}
}

func (l *lease) try(ctx context.Context) error {
	lc := l.e.Kube.CoordinationV1().Leases(l.ns)
	start := l.clock.Now()
	now := metav1.NewMicroTime(start)
	cur, err := lc.Get(ctx, LeaseName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		obj := &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Name: LeaseName, Namespace: l.ns, Labels: map[string]string{LabelName: l.name, LabelManagedBy: ManagedByValue}},
			Spec:       l.spec(now, &now),
		}
		created, err := lc.Create(ctx, obj, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			return errRace
		}
		if apierrors.IsNotFound(err) || apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
			return fmt.Errorf("tenant %s: %w", l.name, errBeingDeleted)
		}
		if err != nil {
			return leaseError(err, l.ns)
		}
		l.took(created, start)
		return nil
	}
	if err != nil {
		return leaseError(err, l.ns)
	}
	if h := utilptr.Deref(cur.Spec.HolderIdentity, ""); h != "" && h != l.id && l.live(cur) {
		held := &HeldError{Name: l.name, Holder: h}
		if cur.Spec.AcquireTime != nil {
			held.Since = cur.Spec.AcquireTime.Time
		}
		return held
	}
	cur = cur.DeepCopy()
	cur.Spec = l.spec(now, &now)
	if cur.Labels == nil {
		cur.Labels = map[string]string{}
	}
	cur.Labels[LabelName] = l.name
	updated, err := lc.Update(ctx, cur, metav1.UpdateOptions{})
	if apierrors.IsConflict(err) {
		return errRace
	}
	if err != nil {
		return leaseError(err, l.ns)
	}
	l.took(updated, start)
	return nil
}

func (l *lease) took(cur *coordinationv1.Lease, start time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.cur, l.renewedAt = cur, start
}

func (l *lease) spec(renew metav1.MicroTime, acquire *metav1.MicroTime) coordinationv1.LeaseSpec {
	return coordinationv1.LeaseSpec{
		HolderIdentity:       utilptr.To(l.id),
		LeaseDurationSeconds: utilptr.To(int32(max(LeaseDuration/time.Second, 1))),
		AcquireTime:          acquire,
		RenewTime:            &renew,
	}
}

// live says whether another run's lease is still its: its record (holder,
// renew time, version) changed within the lease's duration as this process
// saw it. The holder's renew time is its clock, so it only decides when it
// is staleFactor durations old (a run that crashed long ago).
func (l *lease) live(cur *coordinationv1.Lease) bool {
	now := l.clock.Now()
	seen := cur.ResourceVersion + "/" + utilptr.Deref(cur.Spec.HolderIdentity, "")
	if cur.Spec.RenewTime != nil {
		seen += "/" + cur.Spec.RenewTime.UTC().Format(time.RFC3339Nano)
	}
	if seen != l.observed {
		l.observed, l.observedAt = seen, now
	}
	d := time.Duration(utilptr.Deref(cur.Spec.LeaseDurationSeconds, int32(LeaseDuration/time.Second))) * time.Second
	if now.Sub(l.observedAt) >= d {
		return false
	}
	return cur.Spec.RenewTime == nil || now.Before(cur.Spec.RenewTime.Add(staleFactor*d))
}

// overdue says whether the lease went unrenewed past renewDeadline. The
// wall clock counts too: the monotonic one stands still while the machine
// is suspended, other runs' clocks do not.
func (l *lease) overdue() bool {
	l.mu.Lock()
	at, ended := l.renewedAt, l.ended
	l.mu.Unlock()
	if ended {
		return false
	}
	now := l.clock.Now()
	return max(now.Sub(at), now.Round(0).Sub(at.Round(0))) >= renewDeadline()
}

// renewLoop renews the lease every renewPeriod until stop; when it cannot
// renew by renewDeadline, or finds another holder, it cancels the
// operation with errLeaseLost.
func (l *lease) renewLoop(ctx context.Context, stop <-chan struct{}) {
	t := l.clock.NewTicker(renewPeriod())
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-ctx.Done():
			return
		case <-t.C():
		}
		if l.overdue() {
			l.cancel(errLeaseLost)
			return
		}
		err := l.renew(ctx)
		if errors.Is(err, errLeaseEnded) {
			l.mu.Lock()
			l.ended = true
			l.mu.Unlock()
			return
		}
		if errors.Is(err, errLeaseLost) || err != nil && l.overdue() {
			l.cancel(errLeaseLost)
			return
		}
	}
}

// renew reads the lease and, while it is still this run's, moves its renew
// time; errLeaseLost when it is gone or another run's. It gives up at the
// renew deadline, so a hung request cannot delay the cancel.
func (l *lease) renew(ctx context.Context) error {
	lc := l.e.Kube.CoordinationV1().Leases(l.ns)
	l.mu.Lock()
	left := renewDeadline() - l.clock.Since(l.renewedAt)
	l.mu.Unlock()
	rctx, done := context.WithTimeout(ctx, left)
	defer done()
	for {
		start := l.clock.Now()
		cur, err := lc.Get(rctx, LeaseName, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return l.gone(rctx)
		}
		if err != nil {
			return err
		}
		if utilptr.Deref(cur.Spec.HolderIdentity, "") != l.id {
			return errLeaseLost
		}
		cur.Spec.RenewTime = utilptr.To(metav1.NewMicroTime(start))
		updated, err := lc.Update(rctx, cur, metav1.UpdateOptions{})
		if apierrors.IsConflict(err) {
			continue
		}
		if err != nil {
			return err
		}
		l.took(updated, start)
		return nil
	}
}

// errLeaseEnded: the lease went with its namespace, which is gone or
// terminating (this run's delete, or Argo CD pruning a GitOps tenant's
// namespace). No run can create a lease in a terminating namespace, so
// nobody took over: the holder stops renewing and goes on.
var errLeaseEnded = errors.New("the tenant's lease went with its namespace")

// gone explains a lease that is not there any more: errLeaseEnded when its
// namespace is gone or terminating, else errLeaseLost (deleted by hand, or
// by another run that then could take it).
func (l *lease) gone(ctx context.Context) error {
	ns, err := l.e.Kube.CoreV1().Namespaces().Get(ctx, l.ns, metav1.GetOptions{})
	if apierrors.IsNotFound(err) || err == nil && ns.DeletionTimestamp != nil {
		return errLeaseEnded
	}
	return errLeaseLost
}

// release deletes the lease if it is still this run's (the preconditions
// fail otherwise). It is best effort: a lease already gone (the namespace
// was deleted) is fine, and one left behind expires by itself. It runs after
// the operation, also when that was cancelled, so it has its own timeout.
func (l *lease) release() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = l.e.Kube.CoordinationV1().Leases(l.ns).Delete(ctx, LeaseName, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{
		UID: &l.cur.UID, ResourceVersion: &l.cur.ResourceVersion,
	}})
}

// leaseError explains a lease the caller may not take.
func leaseError(err error, ns string) error {
	if apierrors.IsForbidden(err) {
		return &ForbiddenError{msg: fmt.Sprintf("not allowed to take the tenant lease (leases.coordination.k8s.io %s in namespace %s: get, create, update, delete) that guards against concurrent changes (ask for a role that grants it)", LeaseName, ns)}
	}
	return apiError(err)
}
