package tenant

import (
	"context"
	"fmt"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Claimer hands a new tenant a warm spare instead of a fresh install
// (create's namespace step), as Connector and Registration are create's
// later steps. CreateOptions.Claimer nil installs every tenant fresh;
// package warmpool's Pool is the Claimer of a configured warm pool.
type Claimer interface {
	// Claim takes a spare for tenant o.Name (o.Pool set), stamped at now
	// with owner. It returns the spare's namespace, bound to the tenant,
	// and true; or, when another create of the name won meanwhile, that
	// create's namespace and false (create converges on it); or nil (no
	// spare, or this create lost it: create installs as usual). A spare it
	// reserved and did not bind is given back (GiveBack).
	Claim(ctx context.Context, h *Host, o CreateOptions, owner string, now time.Time) (*corev1.Namespace, bool, error)
	// Replace starts the install of a spare in place of the one Claim
	// bound (o as Claim got it). Create waits for it before returning.
	Replace(ctx context.Context, h *Host, o CreateOptions) error
}

// How two creates of one name end up with one namespace. A fresh create
// makes vcluster-NAME: of two, the second gets AlreadyExists. A claim is
// two conditional updates of a spare: reserve (the name label set, the
// spare label removed, AnnotationClaiming) and, after a look at the
// name's other namespaces (Settle), bind (the claim's own annotations).
// The claim and vcluster-NAME are two objects, so each writer looks after
// its write, and the writes that decide are on one object, the reserved
// spare: whoever sees a reservation of the name gives it back, at the
// resourceVersion it saw; the reserver binds at the resourceVersion of its
// reservation. Exactly one of the two updates succeeds. A create that
// sees a bound claim yields to it; a reserver that sees vcluster-NAME
// gives its spare back and converges on it. Whatever the interleaving,
// one namespace of the name remains and every other spare is a spare
// again.

// Reserved says ns is a spare the tool made that a create reserved and has
// not bound yet.
func Reserved(ns *corev1.Namespace) bool {
	return madeSpare(ns) && ns.Labels[LabelSpare] == "" && ns.Annotations[AnnotationClaiming] != ""
}

// GiveBack makes a reserved spare a spare of its pool again, by an update
// at the resourceVersion ns was read at. It says whether it did: false when
// ns changed since (bound, given back or removed by another run).
func (h *Host) GiveBack(ctx context.Context, ns *corev1.Namespace) (bool, error) {
	if !Reserved(ns) {
		return false, nil
	}
	c := ns.DeepCopy()
	c.Labels[LabelName] = c.Annotations[AnnotationClaiming]
	c.Labels[LabelSpare] = c.Labels[LabelPool]
	delete(c.Annotations, AnnotationClaiming)
	delete(c.Annotations, AnnotationReservedAt)
	_, err := h.Kube.CoreV1().Namespaces().Update(context.WithoutCancel(ctx), c, metav1.UpdateOptions{})
	if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
		return false, nil
	}
	return err == nil, apiError(err)
}

// Settle is the look after a create's write of tenant name's namespace
// own (the spare it reserved, or vcluster-NAME it created): it gives back
// every other create's reservation of the name and returns the namespace
// own must yield to, or nil. A bound claim wins over everything;
// vcluster-NAME wins over a reservation.
func (h *Host) Settle(ctx context.Context, name, own string) (*corev1.Namespace, error) {
	nsc := h.Kube.CoreV1().Namespaces()
	l, err := nsc.List(ctx, metav1.ListOptions{LabelSelector: LabelName + "=" + name + ",!" + LabelSpare})
	if apierrors.IsForbidden(err) {
		return nil, nil // as Resolve: a caller that cannot list sees no claims
	}
	if err != nil {
		return nil, apiError(err)
	}
	sort.Slice(l.Items, func(i, j int) bool { return l.Items[i].Name < l.Items[j].Name })
	var won *corev1.Namespace
	for i := range l.Items {
		ns := &l.Items[i]
		if ns.Name == own || ns.DeletionTimestamp != nil {
			continue
		}
		for range 5 {
			if claimedSpare(ns, name) {
				if won == nil {
					won = ns
				}
				break
			}
			if !Reserved(ns) {
				break
			}
			back, err := h.GiveBack(ctx, ns)
			if err != nil || back {
				if err != nil {
					return nil, err
				}
				break
			}
			// Changed since the list: bound, given back or gone.
			if ns, err = nsc.Get(ctx, ns.Name, metav1.GetOptions{}); err != nil {
				if apierrors.IsNotFound(err) {
					break
				}
				return nil, apiError(err)
			}
		}
	}
	if won != nil || own == NamespaceFor(name) {
		return won, nil
	}
	ns, err := nsc.Get(ctx, NamespaceFor(name), metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return nil, nil
	case err != nil:
		return nil, apiError(err)
	case ns.Labels[LabelName] == name && ns.DeletionTimestamp == nil:
		return ns, nil
	}
	return nil, nil
}

// settleCreated is a fresh create's look after making vcluster-NAME (t):
// when another create of the name bound a spare meanwhile, the namespace
// just made (empty, not locked yet) is deleted and t becomes the claim.
func (h *Host) settleCreated(ctx context.Context, t *Target) error {
	won, err := h.Settle(ctx, t.Name, t.Namespace())
	if err != nil || won == nil {
		return err
	}
	if err := h.deleteNamespace(context.WithoutCancel(ctx), t.Namespace(), 0); err != nil {
		return err
	}
	t.NS = won
	return nil
}

// claimStopWait bounds the wait for a claimed running spare's control plane
// to stop before its reset.
const claimStopWait = 2 * time.Minute

// rotateClaimed makes a just-claimed spare start as a new control plane
// (Resetter): whoever could read the spare's namespace before the claim
// (its admin key, CA, service-account key; tokens or objects made inside)
// holds nothing that works after it (audit N7). A running spare is stopped
// first, as sleep stops it; create's next step (scale up) starts it and its
// wait for the API is create's own. A backend that cannot reset leaves the
// spare as it is and says so.
func (e *Engine) rotateClaimed(ctx context.Context, t *Target) (string, error) {
	r, ok := e.Backend.(Resetter)
	if !ok {
		return "installed as a warm spare (its credentials were not rotated: the backend cannot reset a control plane)", nil
	}
	if err := e.refresh(ctx, t); err != nil {
		return "", err
	}
	ns := t.NS
	if !isSleeping(ns) {
		e.Report.Emit(StepInstall, PhaseWaiting, "claimed a running spare: stopping its control plane to rotate its credentials", nil)
		if _, err := e.Backend.Sleep(ctx, ns.Name); err != nil {
			return "", apiError(err)
		}
		if err := e.setSleeping(ctx, ns, true); err != nil {
			return "", err
		}
		wctx, cancel := context.WithTimeout(ctx, claimStopWait)
		err := e.poll(wctx, StepInstall, func() (bool, string, error) {
			pods, err := e.Kube.CoreV1().Pods(ns.Name).List(wctx, metav1.ListOptions{LabelSelector: e.Backend.PodSelector()})
			if err != nil {
				return false, "", apiError(err)
			}
			if n := len(pods.Items); n > 0 {
				return false, fmt.Sprintf("waiting for %d control-plane pod(s) to stop", n), nil
			}
			return true, "", nil
		})
		cancel()
		if err != nil {
			return "", err
		}
		if err := e.deleteWorkloads(ctx, ns.Name); err != nil {
			return "", err
		}
	}
	e.Report.Emit(StepInstall, PhaseWaiting, "new CA, admin credentials and service-account key for the claimed spare", nil)
	rctx, cancel := context.WithTimeout(ctx, claimStopWait)
	defer cancel()
	if err := r.Reset(rctx, ns.Name); err != nil {
		return "", fmt.Errorf("rotating the claimed spare's credentials: %w", err)
	}
	return "installed as a warm spare; its credentials rotated on claim", nil
}
