package tenant

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Engine runs tenant lifecycles against one host cluster: a thin front
// over Host whose methods are the operations the faces call.
type Engine struct {
	Host
	// Registrar is optional; nil means no GitOps registration.
	Registrar Registrar
	// GitOps is optional: it installs tenants created with
	// CreateOptions.GitOps, and delete removes their Applications.
	GitOps GitOps
}

// With returns a copy of e that reports to report: one operation's own
// progress, while e (shared, e.g. by the Factory) stays as built.
func (e *Engine) With(report Reporter) *Engine {
	c := *e
	c.Report = report
	return &c
}

// WithGitOps returns a copy of e that installs (and removes) GitOps tenants
// through g: create --gitops's installer for its platform config, while e
// stays as built.
func (e *Engine) WithGitOps(g GitOps) *Engine {
	c := *e
	c.GitOps = g
	return &c
}

// selector selects every tenant namespace (warm spares are not tenants
// until claimed).
func selector() string { return LabelName + ",!" + LabelSpare }

// List returns every tenant (see tenants) and, when a Registrar is set,
// whether each is registered, from one Argo CD query made concurrently.
func (e *Engine) List(ctx context.Context) ([]Tenant, error) {
	var (
		registered map[string]bool
		regErr     error
		wg         sync.WaitGroup
	)
	if e.Registrar != nil {
		wg.Add(1)
		go func() { defer wg.Done(); registered, regErr = e.Registrar.Registered(ctx) }()
	}
	out, err := e.tenants(ctx)
	wg.Wait()
	if err != nil {
		return nil, err
	}
	if regErr != nil {
		e.Report.Emit("list", PhaseWarning, "registration state unknown: "+regErr.Error(), nil)
		registered = nil
	}
	connected := e.connectedSet()
	for i := range out {
		t := &out[i]
		t.Connected = connected[t.Name]
		if registered != nil {
			r := registered[t.Name]
			t.Registered = &r
		}
	}
	return out, nil
}

// Tenants reads every tenant, as List without the local and Argo CD state
// (see tenants).
func (h *Host) Tenants(ctx context.Context) ([]Tenant, error) { return h.tenants(ctx) }

// tenants reads every tenant, sorted by name (no local or Argo CD state), in
// three calls whatever the count: the release list, concurrently with the
// namespace list and then the control planes of the one workload kind the
// namespaces record (every kind for a tenant that records none; the other
// kinds once more for a tenant whose recorded kind is gone, e.g. after an
// upgrade changed it). All from the apiserver's watch cache: a listing may be
// milliseconds stale, and saves a quorum wait per call.
func (h *Host) tenants(ctx context.Context) ([]Tenant, error) {
	var (
		wg     sync.WaitGroup
		rels   map[string]Release
		relErr error
	)
	wg.Add(1)
	go func() { defer wg.Done(); rels, relErr = h.Backend.Releases(ctx, Scope{Cached: true}) }()
	nss, err := h.Kube.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: selector(), ResourceVersion: "0"})
	var cps map[string]ControlPlane
	var kinds []string
	if err == nil {
		kinds = h.recordedKinds(nss.Items)
		cps, err = h.controlPlanes(ctx, Scope{Kinds: kinds, Cached: true})
	}
	wg.Wait()
	for _, err := range []error{err, relErr} {
		if err != nil {
			return nil, apiError(err)
		}
	}
	nss.Items = h.ownTenants("list", nss.Items, rels)
	if more := h.missingKinds(nss.Items, rels, cps, kinds); len(more) > 0 {
		extra, err := h.controlPlanes(ctx, Scope{Kinds: more, Cached: true})
		if err != nil {
			return nil, err
		}
		for ns, cp := range extra {
			cps[ns] = cp
		}
	}
	out := make([]Tenant, 0, len(nss.Items))
	for i := range nss.Items {
		out = append(out, fromNamespace(&nss.Items[i], rels, cps))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// recordedKinds are the known control-plane kinds the namespaces record; nil
// (every kind) when none records one. A tenant that records none (not ready
// yet, or from an older version) is found by missingKinds if it has a
// workload.
func (h *Host) recordedKinds(nss []corev1.Namespace) []string {
	l, ok := h.Backend.(ControlPlaneLister)
	if !ok {
		return nil
	}
	known := l.ControlPlaneKinds()
	seen := map[string]bool{}
	var out []string
	for i := range nss {
		k := nss[i].Annotations[AnnotationControlPlaneKind]
		if slices.Contains(known, k) && !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// missingKinds are the kinds not read yet when a tenant with a deployed
// release has no control plane among the kinds read (it records no kind, or
// an out-of-date one).
func (h *Host) missingKinds(nss []corev1.Namespace, rels map[string]Release, cps map[string]ControlPlane, read []string) []string {
	l, ok := h.Backend.(ControlPlaneLister)
	if !ok || read == nil {
		return nil
	}
	stale := false
	for i := range nss {
		if _, has := cps[nss[i].Name]; !has && rels[nss[i].Name].Status == "deployed" {
			stale = true
			break
		}
	}
	if !stale {
		return nil
	}
	var out []string
	for _, k := range l.ControlPlaneKinds() {
		if !slices.Contains(read, k) {
			out = append(out, k)
		}
	}
	return out
}

func fromNamespace(ns *corev1.Namespace, rels map[string]Release, cps map[string]ControlPlane) Tenant {
	t := Tenant{
		Name:       ns.Labels[LabelName],
		Namespace:  ns.Name,
		Pool:       ns.Labels[LabelPool],
		Workspace:  ns.Labels[LabelWorkspace],
		Isolation:  ns.Annotations[AnnotationIsolation] == "true",
		K8sVersion: cmp.Or(ns.Annotations[AnnotationServerVersion], ns.Annotations[AnnotationK8sVersion]),
		Owner:      ns.Annotations[AnnotationOwner],
		CreatedAt:  ns.CreationTimestamp.Time,
		Labels:     maps.Clone(ns.Labels),
	}
	if v, err := time.Parse(time.RFC3339, ns.Annotations[AnnotationCreatedAt]); err == nil {
		t.CreatedAt = v
	}
	t.ExpiresAt = ExpiryOf(ns)
	if v, err := time.Parse(time.RFC3339, ns.Annotations[AnnotationLastConnectedAt]); err == nil {
		t.LastConnectedAt = &v
	}
	if d, err := time.ParseDuration(ns.Annotations[AnnotationTimeToReady]); err == nil {
		t.TimeToReady = d
	}
	if v, err := time.Parse(time.RFC3339, ns.Annotations[AnnotationSleepingSince]); err == nil {
		t.SleepingSince = &v
	}
	if v, err := time.Parse(time.RFC3339, ns.Annotations[AnnotationClaimedAt]); err == nil {
		t.ClaimedAt = &v
	}
	idleFields(&t, ns)
	rel, hasRel := rels[ns.Name]
	if !hasRel && ns.Annotations[AnnotationApplication] != "" {
		// Argo CD renders the chart itself: there is no Helm release.
		rel, hasRel = Release{Status: "deployed"}, true
	}
	t.Status, t.Reason = status(ns, rel, hasRel, cps)
	return t
}

// status derives a tenant's status from the release and, when the backend
// reads them, the control plane's workload (replicas, readiness, pause
// annotations): what runs, not what this tool last wrote, so a tenant
// paused or resumed with the vcluster CLI shows as such.
func status(ns *corev1.Namespace, rel Release, hasRel bool, cps map[string]ControlPlane) (Status, string) {
	failed := ns.Annotations[AnnotationInstallFailed]
	cp, hasCP := cps[ns.Name]
	switch {
	case ns.Status.Phase == corev1.NamespaceTerminating || ns.DeletionTimestamp != nil:
		return StatusTerminating, ""
	case rel.Status == "failed":
		return StatusFailed, cmp.Or(failed, "the Helm release failed")
	case failed != "" && (!hasRel || rel.Status != "deployed"):
		return StatusFailed, failed
	case !hasRel || strings.HasPrefix(rel.Status, "pending"):
		return StatusInstalling, ""
	case hasCP && cp.Paused:
		return StatusSleeping, ""
	case hasCP && cp.Replicas == 0:
		return StatusStopped, "control plane scaled to 0 without a pause"
	case hasCP && cp.Ready >= cp.Replicas:
		return StatusReady, ""
	case hasCP:
		return StatusPending, fmt.Sprintf("control plane %d/%d ready", cp.Ready, cp.Replicas)
	case cps == nil && isSleeping(ns):
		return StatusSleeping, ""
	case cps == nil && ns.Annotations[AnnotationReadyAt] != "":
		return StatusReady, ""
	}
	return StatusPending, "no control-plane workload yet"
}

// Get returns one tenant (namespace, releases, control-plane workloads).
func (e *Engine) Get(ctx context.Context, name string) (*Tenant, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	t, err := e.Resolve(ctx, name)
	if err != nil {
		return nil, err
	}
	return e.tenantOf(ctx, t)
}

// current is the target as Get shows it after an operation changed it:
// its namespace read again, not its name resolved again.
func (h *Host) current(ctx context.Context, t *Target) (*Tenant, error) {
	if err := h.refresh(ctx, t); err != nil {
		return nil, err
	}
	return h.tenantOf(ctx, t)
}

// tenantOf is the target as Get shows it (its namespace as read, its
// release and workloads).
func (h *Host) tenantOf(ctx context.Context, t *Target) (*Tenant, error) {
	ns := t.NS
	rels, err := h.Backend.Releases(ctx, Scope{Namespace: ns.Name})
	if err != nil {
		return nil, apiError(err)
	}
	cps, err := h.controlPlanes(ctx, Scope{Namespace: ns.Name})
	if err != nil {
		return nil, err
	}
	out := fromNamespace(ns, rels, cps)
	out.Connected = h.connectedSet()[t.Name]
	return &out, nil
}

// Events returns the namespace's (at most limit) recent events, newest last.
func (h *Host) Events(ctx context.Context, name string, limit int) ([]corev1.Event, error) {
	if limit < 0 {
		return nil, usageErrorf("--events must not be negative")
	}
	ns := NamespaceFor(name)
	t, err := h.Resolve(ctx, name)
	switch {
	case err == nil:
		ns = t.Namespace()
	case !errors.Is(err, ErrNotFound):
		return nil, err
	}
	evs, err := h.Kube.CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, apiError(err)
	}
	items := evs.Items
	// Stable: events of one second keep the API's order, which for one
	// object's events (named NAME.<hex nanoseconds>) is the order they happened.
	sort.SliceStable(items, func(i, j int) bool { return EventTime(items[i]).Before(EventTime(items[j])) })
	if len(items) > limit {
		items = items[len(items)-limit:]
	}
	return items, nil
}

// EventTime is when an event last happened, as `kubectl get events` sorts them.
func EventTime(ev corev1.Event) time.Time {
	if !ev.LastTimestamp.IsZero() {
		return ev.LastTimestamp.Time
	}
	if !ev.EventTime.IsZero() {
		return ev.EventTime.Time
	}
	return ev.CreationTimestamp.Time
}
