package tenant

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// NeverExpires is the expires-at value extend --never writes when the
// namespace carries a TTL it does not own (GitOps: Argo CD would restore a
// removed ttl annotation).
const NeverExpires = "never"

// ExpiryOf is when a tenant namespace expires, nil for never: the expires-at
// annotation (create --ttl, extend) when present, else the namespace's
// creation time plus the ttl annotation (GitOps-rendered namespaces). list,
// gc and stats all use it.
func ExpiryOf(ns *corev1.Namespace) *time.Time {
	if v, ok := ns.Annotations[AnnotationExpiresAt]; ok {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return nil // "never", or unreadable: never delete on a guess
		}
		return &t
	}
	d, err := time.ParseDuration(ns.Annotations[AnnotationTTL])
	if err != nil || d <= 0 || ns.CreationTimestamp.IsZero() {
		return nil
	}
	t := ns.CreationTimestamp.Add(d)
	return &t
}

// ExtendOptions are the inputs of Extend.
type ExtendOptions struct {
	Name string
	// TTL sets expires-at to now + TTL; it must be > 0 unless Never.
	TTL time.Duration
	// Never removes the expiry.
	Never bool
}

// Extend moves a tenant's expiry to now + TTL, or removes it (Never), and
// returns the tenant as it is now.
func (e *Engine) Extend(ctx context.Context, o ExtendOptions) (*Tenant, error) {
	if err := ValidateName(o.Name); err != nil {
		return nil, err
	}
	switch {
	case o.Never && o.TTL != 0:
		return nil, usageErrorf("--ttl and --never exclude each other")
	case !o.Never && o.TTL <= 0:
		return nil, usageErrorf("--ttl must be positive (use --never to remove the expiry)")
	}
	t, err := e.liveTarget(ctx, o.Name)
	if err != nil {
		return nil, err
	}
	ns := t.NS
	var value any = e.now().Add(o.TTL).UTC().Format(time.RFC3339)
	if o.Never {
		value = nil // a merge patch's null removes the annotation
		if _, ok := ns.Annotations[AnnotationTTL]; ok {
			value = NeverExpires
		}
	}
	if _, err := e.Kube.CoreV1().Namespaces().Patch(ctx, ns.Name, types.MergePatchType, annotationPatch(AnnotationExpiresAt, value), metav1.PatchOptions{}); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("tenant %q: %w", o.Name, ErrNotFound)
		}
		return nil, apiError(err)
	}
	return e.current(ctx, t)
}

// annotationPatch is a JSON merge patch setting one annotation (nil removes it).
func annotationPatch(key string, value any) []byte {
	b, _ := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]any{key: value}}})
	return b
}

// GC actions, one per expired tenant.
const (
	GCDeleted     = "deleted"
	GCWouldDelete = "would-delete"
	GCFailed      = "failed"
)

// GCOptions are the inputs of GC.
type GCOptions struct {
	// DryRun reports what would be deleted and changes nothing.
	DryRun bool
	// Wait bounds how long each delete waits for the namespace to be gone.
	Wait time.Duration
	// RetryFor bounds how long a failing delete is tried again (default 3
	// minutes): another gc deleting the same tenant or an apiserver restart
	// fails a step; every step is idempotent, so trying again finishes the
	// job. Negative: no retry.
	RetryFor time.Duration
	// Backoff is the first pause between attempts, doubled up to 15s
	// (default 1s).
	Backoff time.Duration
	// IdleSleepAfter is the host default of how long a tenant may stay
	// idle before gc puts it to sleep (0: never); a tenant's sleep-after
	// annotation wins.
	IdleSleepAfter time.Duration
}

// GCResult is what GC did to one tenant.
type GCResult struct {
	Name string `json:"name"`
	// ExpiresAt is nil for an idle tenant put to sleep and for a tenant
	// already gone from the cluster whose local entries (forwarder,
	// kubeconfig context) were left behind.
	ExpiresAt *time.Time `json:"expiresAt,omitempty"`
	// IdleSince is when an idle tenant gc put to sleep was last used.
	IdleSince *time.Time `json:"idleSince,omitempty"`
	Action    string     `json:"action"`
	Error     string     `json:"error,omitempty"`
}

// GC puts every idle tenant to sleep, keeping its connections (see
// idleToSleep), and deletes every expired tenant with Delete (registration,
// release, namespace, local kubeconfig entries and forwarders). A tenant another run
// is deleting, or already gone, counts as deleted. It then cleans the local
// entries of this host's tenants that are gone from the cluster: left by a
// gc interrupted after the namespace went, or deleted elsewhere (the
// in-cluster gc). A failure is recorded in its result and the other tenants
// are still processed; the error is only for failing to list tenants.
func (e *Engine) GC(ctx context.Context, o GCOptions) ([]GCResult, error) {
	if o.RetryFor == 0 {
		o.RetryFor = 3 * time.Minute
	}
	if o.Backoff <= 0 {
		o.Backoff = time.Second
	}
	nss, err := e.Kube.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: selector()})
	if err != nil {
		return nil, apiError(err)
	}
	nss.Items = e.ownTenants("gc", nss.Items, nil)
	now := e.now()
	var out []GCResult
	present := map[string]bool{}
	for i := range nss.Items {
		ns := &nss.Items[i]
		present[ns.Labels[LabelName]] = true
		exp := ExpiryOf(ns)
		if exp == nil || exp.After(now) {
			if idle, ok := idleToSleep(ns, o.IdleSleepAfter, now); ok {
				out = append(out, gcSleep(ctx, e, ns, idle, o.DryRun))
			}
			continue
		}
		r := GCResult{Name: ns.Labels[LabelName], ExpiresAt: exp, Action: GCWouldDelete}
		if !o.DryRun {
			r.Action = GCDeleted
			if err := e.gcDelete(ctx, r.Name, o); err != nil {
				if ctx.Err() != nil {
					return out, ctx.Err()
				}
				r.Action, r.Error = GCFailed, FirstLine(err.Error())
			}
		}
		out = append(out, r)
	}
	return append(out, e.gcLocal(ctx, present, o.DryRun)...), nil
}

// gcLocal cleans the sessions (forwarder, kubeconfig entries) of this host's
// tenants that no longer have a namespace.
func (h *Host) gcLocal(ctx context.Context, present map[string]bool, dryRun bool) []GCResult {
	ss, err := h.Sessions.List()
	if err != nil {
		return []GCResult{{Name: "(local sessions)", Action: GCFailed, Error: FirstLine(err.Error())}}
	}
	var out []GCResult
	for _, s := range ss {
		if present[s.Tenant] || s.HostContext != h.HostContext {
			continue
		}
		present[s.Tenant] = true // one result per tenant
		// Created since the list? Then it is not gone.
		if _, err := h.Resolve(ctx, s.Tenant); !errors.Is(err, ErrNotFound) {
			continue
		}
		r := GCResult{Name: s.Tenant, Action: GCWouldDelete}
		if !dryRun {
			r.Action = GCDeleted
			if err := h.Report.Step(s.Tenant+": "+StepLocal, func() error { _, err := h.cleanLocal(s.Tenant); return err }); err != nil {
				r.Action, r.Error = GCFailed, FirstLine(err.Error())
			}
		}
		out = append(out, r)
	}
	return out
}

// gcDelete deletes one tenant, its progress steps prefixed with its name.
func (e *Engine) gcDelete(ctx context.Context, name string, o GCOptions) error {
	sub := e.With(e.Report.prefixed(name + ": "))
	backoff, giveUp := o.Backoff, time.Now().Add(o.RetryFor)
	for attempt := 1; ; attempt++ {
		err := sub.Delete(ctx, DeleteOptions{Name: name, Wait: o.Wait, IgnoreNotFound: true})
		var fe *ForbiddenError
		if err == nil || errors.As(err, &fe) || ctx.Err() != nil || time.Now().Add(backoff).After(giveUp) {
			return err
		}
		e.Report.Emit(name+": retry", PhaseWarning, fmt.Sprintf("attempt %d failed (%s); trying again in %s", attempt, FirstLine(err.Error()), backoff), nil)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 15*time.Second)
	}
}
