package warmpool

import (
	"context"
	"errors"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
)

// Pool is a configured warm pool as create's tenant.Claimer: a create in
// its node pool claims one of its spares, and starts the replacement.
type Pool struct{ Config }

var _ tenant.Claimer = Pool{}

// Claim takes a ready spare matching o for tenant o.Name: running spares
// first, then sleeping ones (asleep after being ready), oldest first. It
// reserves the spare (an update at the resourceVersion it was listed at:
// of two creates racing for a spare, one gets a conflict and tries the
// next), settles with other creates of the name (tenant.Host.Settle), and
// binds it (an update at the reservation's resourceVersion, which fails
// when another create gave the reservation back). A caller not allowed to
// read or update spares gets none.
func (p Pool) Claim(ctx context.Context, h *tenant.Host, o tenant.CreateOptions, owner string, at time.Time) (*corev1.Namespace, bool, error) {
	hash, err := tenant.SpecHash(o.Spec, h.Backend)
	if err != nil {
		return nil, false, nil // the install reports an unreadable values file
	}
	spares, err := h.SparesWhere(ctx, o.Pool, func(ns *corev1.Namespace) bool {
		return ns.Annotations[tenant.AnnotationSpec] == hash && ns.Annotations[tenant.AnnotationRemoving] == "" && ns.DeletionTimestamp == nil
	})
	var fe *tenant.ForbiddenError
	if errors.As(err, &fe) {
		h.Report.Emit(tenant.StepNamespace, tenant.PhaseWarning, "not allowed to look for a warm spare: installing a new tenant", nil)
		return nil, false, nil
	}
	if err != nil || len(spares) == 0 {
		return nil, false, err
	}
	var running, sleeping []*corev1.Namespace
	for _, s := range spares {
		switch {
		case s.Status == tenant.StatusReady:
			running = append(running, s.NS)
		case s.Status == tenant.StatusSleeping && s.NS.Annotations[tenant.AnnotationReadyAt] != "":
			sleeping = append(sleeping, s.NS)
		}
	}
	nsc := h.Kube.CoreV1().Namespaces()
	for _, ns := range append(running, sleeping...) {
		r := ns.DeepCopy()
		r.Annotations[tenant.AnnotationClaiming] = r.Labels[tenant.LabelName]
		r.Annotations[tenant.AnnotationReservedAt] = now(h).UTC().Format(time.RFC3339)
		r.Labels[tenant.LabelName] = o.Name
		delete(r.Labels, tenant.LabelSpare)
		reserved, err := nsc.Update(ctx, r, metav1.UpdateOptions{})
		if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
			continue // another create took it, or gc removed it
		}
		if apierrors.IsForbidden(err) {
			h.Report.Emit(tenant.StepNamespace, tenant.PhaseWarning, "not allowed to claim a warm spare (update namespaces): installing a new tenant", nil)
			return nil, false, nil
		}
		if err != nil {
			return nil, false, tenant.APIError(err)
		}
		won, err := h.Settle(ctx, o.Name, reserved.Name)
		if err == nil && won != nil {
			// Another create of the name bound a spare or made
			// vcluster-NAME: converge on it.
			_, err = h.GiveBack(ctx, reserved)
			return won, false, err
		}
		if err != nil {
			_, _ = h.GiveBack(ctx, reserved)
			return nil, false, err
		}
		got, err := nsc.Update(ctx, bound(reserved, o, owner, at), metav1.UpdateOptions{})
		if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
			// Given back by a create of the name that made vcluster-NAME
			// (or removed): this create lost the spare, and installs as
			// usual, meeting the other's vcluster-NAME.
			if cur, err := nsc.Get(ctx, reserved.Name, metav1.GetOptions{}); err == nil && cur.Labels[tenant.LabelName] == o.Name {
				_, _ = h.GiveBack(ctx, cur) // still this create's reservation
			}
			return nil, false, nil
		}
		if err != nil {
			_, _ = h.GiveBack(ctx, reserved)
			return nil, false, tenant.APIError(err)
		}
		return got, true, nil
	}
	return nil, false, nil
}

// bound is a reserved spare as the tenant o claimed: its spare
// annotations dropped, the tenant's labels, created-at, claimed-at, owner
// and expiry set.
func bound(reserved *corev1.Namespace, o tenant.CreateOptions, owner string, at time.Time) *corev1.Namespace {
	c := reserved.DeepCopy()
	for k, v := range o.Labels {
		c.Labels[k] = v
	}
	c.Labels[tenant.LabelName] = o.Name
	for _, k := range []string{tenant.AnnotationClaiming, tenant.AnnotationReservedAt, tenant.AnnotationSpec, tenant.AnnotationReadyAt, tenant.AnnotationTimeToReady} {
		delete(c.Annotations, k)
	}
	stamp := at.UTC().Format(time.RFC3339)
	c.Annotations[tenant.AnnotationCreatedAt] = stamp
	c.Annotations[tenant.AnnotationClaimedAt] = stamp
	if owner != "" {
		c.Annotations[tenant.AnnotationOwner] = owner
	}
	if o.TTL > 0 {
		c.Annotations[tenant.AnnotationExpiresAt] = at.Add(o.TTL).UTC().Format(time.RFC3339)
	}
	return c
}

// Replace starts the install of a spare in place of the one o claimed.
func (p Pool) Replace(ctx context.Context, h *tenant.Host, o tenant.CreateOptions) error {
	_, err := Replace(ctx, h, p.Config, o)
	return err
}
