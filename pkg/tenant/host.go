package tenant

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/kubeconfig"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/session"
)

// Host is the ground floor every operation stands on: the host cluster's
// clients, the Backend, the local stores and the clock, with the few
// primitives all operations share (Resolve, Annotate, WaitReady, poll).
// Operations resolve their tenant once (Resolve) and pass the *Target on.
type Host struct {
	Kube    kubernetes.Interface
	REST    *rest.Config
	Backend Backend
	// Kubeconfig is the file tenant contexts are written to.
	Kubeconfig kubeconfig.Store
	Sessions   session.Store
	// HostContext names the host cluster's kubeconfig context, recorded in
	// sessions so later commands find the host while a tenant is current.
	HostContext string
	// Report receives the progress of calls on this Host. It is set when
	// the Host is built; a caller wanting its own progress (a live view,
	// the TUI's bus) calls Engine.With(report) for a copy, never sets it
	// later.
	Report Reporter
	// Now is the clock (tests may pin it).
	Now func() time.Time
}

// Target is one tenant as an operation found it: its name and namespace
// object. NS is nil for a tenant that does not exist yet (what create makes
// lives in NamespaceFor(Name)).
type Target struct {
	Name string
	NS   *corev1.Namespace
}

// Namespace is the target's host namespace: its own (a claimed spare's may
// be another name), or the one a new tenant gets.
func (t *Target) Namespace() string {
	if t.NS != nil {
		return t.NS.Name
	}
	return NamespaceFor(t.Name)
}

// StepResolve is the step of Resolve's warnings.
const StepResolve = "resolve"

// Resolve finds tenant name, once per operation. A namespace is the tenant
// only if it is vcluster-NAME labelled with the name, or a warm spare the
// tool made and a create claimed for the name (see claimedSpare); a
// namespace merely carrying the name label is ignored, with one warning,
// so no operation deletes, installs into or reads credentials from it. An
// error wraps ErrNotFound when there is no tenant, ErrForeign when
// vcluster-NAME exists but is not the tenant's.
func (h *Host) Resolve(ctx context.Context, name string) (*Target, error) {
	ns, err := h.Kube.CoreV1().Namespaces().Get(ctx, NamespaceFor(name), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		ns, err = h.claimedNamespace(ctx, name)
		if err == nil && ns == nil {
			return nil, fmt.Errorf("tenant %q: %w", name, ErrNotFound)
		}
	}
	if err != nil {
		return nil, apiError(err)
	}
	if ns.Labels[LabelName] != name {
		return nil, fmt.Errorf("namespace %s exists but is not managed by kubectl-tenant (no %s=%s label): %w", ns.Name, LabelName, name, ErrForeign)
	}
	return &Target{Name: name, NS: ns}, nil
}

// ErrForeign ends the error of a namespace named like a tenant's that is not
// one.
var ErrForeign = errors.New("refusing to touch it")

// spareNSPrefix starts every warm spare's namespace.
const spareNSPrefix = NamespacePrefix + spareNamePrefix

// madeSpare says the tool made ns as a warm spare: its name pattern and the
// managed-by label (anyone may put a label on their namespace, but only
// spares are named vcluster-spare-*).
func madeSpare(ns *corev1.Namespace) bool {
	return strings.HasPrefix(ns.Name, spareNSPrefix) && ns.Labels[LabelManagedBy] == ManagedByValue
}

// claimedSpare says ns is a spare the tool made and a create claimed for
// tenant name: made by the tool, no longer a spare, with a claim record.
// (Resolve also wants the tool's release in it.)
func claimedSpare(ns *corev1.Namespace, name string) bool {
	if !madeSpare(ns) || ns.Labels[LabelName] != name || ns.Labels[LabelSpare] != "" {
		return false
	}
	_, err := time.Parse(time.RFC3339, ns.Annotations[AnnotationClaimedAt])
	return err == nil
}

// ownNamespace says a listed tenant namespace is what Resolve accepts for
// its name label, as far as the namespace itself tells (the release is
// checked where releases are at hand).
func ownNamespace(ns *corev1.Namespace) bool {
	name := ns.Labels[LabelName]
	return ns.Name == NamespaceFor(name) || claimedSpare(ns, name)
}

// claimedNamespace is the namespace of a spare claimed (bound) as name,
// nil if none; a spare only reserved is not yet a tenant. Settle keeps two
// claims of one name from both binding; should two bound claims exist
// anyway, the first in name order is the tenant. A caller
// not allowed to list namespaces finds none: a plain tenant's lookup then
// costs it nothing more than before warm pools existed.
func (h *Host) claimedNamespace(ctx context.Context, name string) (*corev1.Namespace, error) {
	l, err := h.Kube.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: LabelName + "=" + name + ",!" + LabelSpare})
	if apierrors.IsForbidden(err) {
		return nil, nil
	}
	if err != nil || len(l.Items) == 0 {
		return nil, err
	}
	sort.Slice(l.Items, func(i, j int) bool { return l.Items[i].Name < l.Items[j].Name })
	var found *corev1.Namespace
	var ignored []string
	for i := range l.Items {
		ns := &l.Items[i]
		switch {
		case Reserved(ns): // a claim in flight (see Settle)
		case !claimedSpare(ns, name):
			ignored = append(ignored, ns.Name)
		case found != nil: // a second bound claim of the name (see Settle)
		case h.hasRelease(ctx, ns.Name):
			found = ns
		default:
			ignored = append(ignored, ns.Name)
		}
	}
	h.warnIgnored(StepResolve, ignored)
	return found, nil
}

// hasRelease says the tool's release is in namespace ns (a read that
// fails says no).
func (h *Host) hasRelease(ctx context.Context, ns string) bool {
	rels, err := h.Backend.Releases(ctx, Scope{Namespace: ns})
	_, ok := rels[ns]
	return err == nil && ok
}

// warnIgnored is the one warning for namespaces that carry a tenant's name
// label without being the tenant's.
func (h *Host) warnIgnored(step string, names []string) {
	if len(names) == 0 {
		return
	}
	h.Report.Emit(step, PhaseWarning, fmt.Sprintf("ignoring %s: labelled %s but not made by kubectl-tenant for that tenant", strings.Join(names, ", "), LabelName), nil)
}

// ownTenants keeps the listed namespaces that are tenants (ownNamespace;
// a claimed spare also needs its release, when rels is given) and warns
// once about the others.
func (h *Host) ownTenants(step string, nss []corev1.Namespace, rels map[string]Release) []corev1.Namespace {
	var ignored []string
	out := nss[:0:0]
	for i := range nss {
		ns := &nss[i]
		_, hasRel := rels[ns.Name]
		if Reserved(ns) {
			continue // a claim in flight (see Settle): not a tenant yet
		}
		if !ownNamespace(ns) || rels != nil && ns.Name != NamespaceFor(ns.Labels[LabelName]) && !hasRel {
			ignored = append(ignored, ns.Name)
			continue
		}
		out = append(out, *ns)
	}
	h.warnIgnored(step, ignored)
	return out
}

// refresh reads the target's namespace again (after a change of ours).
func (h *Host) refresh(ctx context.Context, t *Target) error {
	ns, err := h.Kube.CoreV1().Namespaces().Get(ctx, t.Namespace(), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("tenant %q: %w", t.Name, ErrNotFound)
	}
	if err != nil {
		return apiError(err)
	}
	t.NS = ns
	return nil
}

func (h *Host) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

// annotate sets (value "": removes) one namespace annotation with a merge
// patch.
func (h *Host) annotate(ctx context.Context, ns, key, value string) error {
	return h.annotateAll(ctx, ns, map[string]string{key: value})
}

// annotateAll sets the annotations in one patch; an empty value removes one.
func (h *Host) annotateAll(ctx context.Context, ns string, kv map[string]string) error {
	anns := map[string]any{}
	for k, v := range kv {
		anns[k] = nil // null removes the annotation
		if v != "" {
			anns[k] = v
		}
	}
	patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": anns}})
	_, err := h.Kube.CoreV1().Namespaces().Patch(ctx, ns, types.MergePatchType, patch, metav1.PatchOptions{})
	return apiError(err)
}

// ping asks the API server for its version under ctx (Discovery's
// ServerVersion takes no context, so Ctrl-C could not stop it).
func (h *Host) ping(ctx context.Context) error {
	rc := h.Kube.Discovery().RESTClient()
	if rc == nil { // client-go's fake has no REST client
		_, err := h.Kube.Discovery().ServerVersion()
		return err
	}
	return rc.Get().AbsPath("/version").Do(ctx).Error()
}

// controlPlanes reads the control-plane workloads when the backend can (nil
// otherwise: status then falls back to the namespace's records).
func (h *Host) controlPlanes(ctx context.Context, s Scope) (map[string]ControlPlane, error) {
	l, ok := h.Backend.(ControlPlaneLister)
	if !ok {
		return nil, nil
	}
	cps, err := l.ControlPlanes(ctx, s)
	return cps, apiError(err)
}

// connectedSet names tenants with a live connection in this kubeconfig.
func (h *Host) connectedSet() map[string]bool {
	out := map[string]bool{}
	ss, _ := h.Sessions.List()
	for _, s := range ss {
		if s.HostContext == h.HostContext && s.Same(h.Kubeconfig.Path, s.Context) && s.Alive() {
			out[s.Tenant] = true
		}
	}
	return out
}

// apiError turns authorization failures into ForbiddenError (exit code 4) and
// keeps the API's one-line message.
func apiError(err error) error {
	var fe *ForbiddenError
	if err == nil || errors.As(err, &fe) {
		return err
	}
	if apierrors.IsForbidden(err) || apierrors.IsUnauthorized(err) {
		return &ForbiddenError{msg: err.Error()}
	}
	var ue *url.Error
	if errors.As(err, &ue) && !errors.Is(err, context.Canceled) {
		host := ue.URL
		if u, perr := url.Parse(ue.URL); perr == nil {
			host = u.Scheme + "://" + u.Host
		}
		return &UnreachableError{Host: host, Err: ue.Err}
	}
	return err
}
