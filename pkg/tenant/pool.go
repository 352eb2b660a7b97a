package tenant

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// A warm pool keeps Size spare tenants of one node pool installed exactly as
// a plain create would install them (same chart, values, pinning and
// isolation: the same SpecHash), running or asleep. A create whose spec
// matches claims a ready spare instead of installing: one conditional update
// of the spare's namespace renames it, so two creates never get the same
// spare. No controller keeps pools full: the create that claims a spare
// starts its replacement's install (without waiting for it), and `gc` and
// `pool set` top pools up and remove spares of an out-of-date spec.

// PoolSpec is one warm pool's wanted state.
type PoolSpec struct {
	Pool string `json:"pool"`
	Size int    `json:"size"`
	// Sleeping keeps ready spares asleep (a claim wakes one); otherwise
	// they run.
	Sleeping bool `json:"sleeping,omitempty"`
}

// Spare is one warm spare, as `pool status` and `list --spares` show it.
type Spare struct {
	Name      string    `json:"name"`
	Namespace string    `json:"namespace"`
	Pool      string    `json:"pool"`
	Status    Status    `json:"status"`
	Reason    string    `json:"reason,omitempty"`
	Spec      string    `json:"spec"`
	CreatedAt time.Time `json:"createdAt"`

	tenant Tenant // as list --spares shows it
}

// PoolResult says what TopUp did.
type PoolResult struct {
	Pool string `json:"pool"`
	// Started are the spares whose install it started, Removed those of
	// another spec (or over the size) it removed, Slept those it put to
	// sleep.
	Started []string `json:"started,omitempty"`
	Removed []string `json:"removed,omitempty"`
	Slept   []string `json:"slept,omitempty"`
}

// Done says what TopUp did in one line ("installing a, b; removed c"),
// empty when it did nothing.
func (r PoolResult) Done() string {
	var parts []string
	for _, p := range []struct {
		verb  string
		names []string
	}{{"installing", r.Started}, {"removed", r.Removed}, {"put to sleep", r.Slept}} {
		if len(p.names) > 0 {
			parts = append(parts, p.verb+" "+strings.Join(p.names, ", "))
		}
	}
	return strings.Join(parts, "; ")
}

// spareNamePrefix starts every spare's name (namespace vcluster-spare-...).
const spareNamePrefix = "spare-"

// SpecFingerprinter is a Backend that says what it installs for a spec
// beyond the spec itself: its own rendered values, the chart version an
// empty one resolves to, a local chart's contents. SpecHash covers it, so
// a spare another binary or chart installed is not claimed as fresh.
type SpecFingerprinter interface {
	SpecFingerprint(s Spec) (string, error)
}

// SpecHash identifies what installing s with b puts on the host, whatever
// the tenant's name: every field of s (the values files by their
// contents) and b's fingerprint. A spare is claimed only by a create with
// the same hash.
func SpecHash(s Spec, b Backend) (string, error) {
	files := make([]string, 0, len(s.ValuesFiles))
	for _, f := range s.ValuesFiles {
		b, err := os.ReadFile(f)
		if err != nil {
			return "", usageErrorf("values file: %v", err)
		}
		sum := sha256.Sum256(b)
		files = append(files, hex.EncodeToString(sum[:]))
	}
	fp := ""
	if f, ok := b.(SpecFingerprinter); ok {
		var err error
		if fp, err = f.SpecFingerprint(s); err != nil {
			return "", err
		}
	}
	// The files replace their names; the rest of s goes in whole, so a
	// field added to Spec is covered without a change here.
	named := s
	named.ValuesFiles = nil
	data, err := json.Marshal(struct {
		Spec    Spec
		Files   []string
		Backend string
	}{named, files, fp})
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:8]), nil
}

// Spares lists the warm spares of pool (every pool when empty), oldest
// first.
func (h *Host) Spares(ctx context.Context, pool string) ([]Spare, error) {
	_, out, err := h.spares(ctx, pool, nil)
	return out, err
}

// ListSpares returns the warm spares of every pool as tenants (Spare set),
// sorted by name: what `list --spares` adds.
func (h *Host) ListSpares(ctx context.Context) ([]Tenant, error) {
	_, ss, err := h.spares(ctx, "", nil)
	if err != nil {
		return nil, err
	}
	out := make([]Tenant, 0, len(ss))
	for _, s := range ss {
		out = append(out, s.tenant)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// spares returns the spare namespaces of pool that keep accepts (nil: all)
// and what they are, in the same order. With none, that is one namespace
// list: a create on a host without pools pays only that.
func (h *Host) spares(ctx context.Context, pool string, keep func(*corev1.Namespace) bool) ([]corev1.Namespace, []Spare, error) {
	nss, err := h.spareNamespaces(ctx, pool)
	if err != nil {
		return nil, nil, err
	}
	if keep != nil {
		nss = slices.DeleteFunc(nss, func(ns corev1.Namespace) bool { return !keep(&ns) })
	}
	if len(nss) == 0 {
		return nil, nil, nil
	}
	var (
		wg     sync.WaitGroup
		rels   map[string]Release
		cps    map[string]ControlPlane
		relErr error
		cpErr  error
	)
	wg.Add(2)
	go func() { defer wg.Done(); rels, relErr = h.Backend.Releases(ctx, Scope{}) }()
	go func() { defer wg.Done(); cps, cpErr = h.controlPlanes(ctx, Scope{}) }()
	wg.Wait()
	for _, err := range []error{apiError(relErr), cpErr} {
		if err != nil {
			return nil, nil, err
		}
	}
	out := make([]Spare, 0, len(nss))
	for i := range nss {
		ns := &nss[i]
		t := fromNamespace(ns, rels, cps)
		t.Spare = true
		if t.Status == StatusReady {
			// Ready replicas say the pod's probes passed, which is not yet
			// a control plane to hand over (and says nothing where pods'
			// readiness is simulated): a spare is ready once vCluster has
			// written its credentials, what create's next wait reads.
			_, err := h.Backend.Credentials(ctx, ns.Name)
			switch {
			case errors.Is(err, ErrNotFound):
				t.Status, t.Reason = StatusPending, "the vCluster has not written its kubeconfig secret yet"
			case err != nil:
				return nil, nil, apiError(err)
			}
		}
		out = append(out, Spare{Name: t.Name, Namespace: ns.Name, Pool: ns.Labels[LabelSpare], Status: t.Status,
			Reason: t.Reason, Spec: ns.Annotations[AnnotationSpec], CreatedAt: ns.CreationTimestamp.Time, tenant: t})
	}
	return nss, out, nil
}

func (h *Host) spareNamespaces(ctx context.Context, pool string) ([]corev1.Namespace, error) {
	sel := LabelSpare
	if pool != "" {
		sel += "=" + pool
	}
	l, err := h.Kube.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		return nil, apiError(err)
	}
	// Only what the tool made is a spare: gc removes spares, create
	// claims them.
	l.Items = slices.DeleteFunc(l.Items, func(ns corev1.Namespace) bool { return !madeSpare(&ns) })
	sort.Slice(l.Items, func(i, j int) bool {
		a, b := l.Items[i].CreationTimestamp, l.Items[j].CreationTimestamp
		if !a.Equal(&b) {
			return a.Before(&b)
		}
		return l.Items[i].Name < l.Items[j].Name
	})
	return l.Items, nil
}

// TopUp brings the pool to spec: it removes spares whose spec is not
// tmpl's (a changed chart or values) and those over the size, starts the
// installs of the missing ones without waiting for them, and, for a
// sleeping pool, puts the spares that are ready to sleep. tmpl is a create
// of the pool as the host's defaults make it (its Name, Labels and TTL are
// not used).
func (e *Engine) TopUp(ctx context.Context, spec PoolSpec, tmpl CreateOptions) (*PoolResult, error) {
	if errs := validatePool(spec.Pool); errs != nil {
		return nil, errs
	}
	if spec.Size < 0 {
		return nil, usageErrorf("pool size must not be negative")
	}
	tmpl.Pool, tmpl.GitOps = spec.Pool, false
	hash, err := SpecHash(tmpl.Spec, e.Backend)
	if err != nil {
		return nil, err // a values file (usage error), or the chart's repository
	}
	nss, spares, err := e.spares(ctx, spec.Pool, nil)
	if err != nil {
		return nil, err
	}
	res := &PoolResult{Pool: spec.Pool}
	keep := 0
	var drop []*corev1.Namespace
	for i, s := range spares {
		switch {
		case s.Status == StatusTerminating || nss[i].Annotations[AnnotationRemoving] != "":
		case s.Spec != hash || s.Status == StatusFailed || keep >= spec.Size || e.stuck(&nss[i], s):
			drop = append(drop, &nss[i])
		default:
			keep++
			if spec.Sleeping && s.Status == StatusReady {
				slept, err := e.sleepSpare(ctx, &nss[i])
				if err != nil {
					return res, err
				}
				if slept {
					res.Slept = append(res.Slept, s.Name)
				}
			}
		}
	}
	for _, ns := range drop {
		removed, err := e.removeListedSpare(ctx, ns)
		if err != nil {
			return res, err
		}
		if removed {
			res.Removed = append(res.Removed, ns.Labels[LabelName])
		}
	}
	// Installs run concurrently: each is a Helm install that returns once
	// the objects exist (a few hundred ms); the vClusters boot on their own.
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	for range spec.Size - keep {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name, err := e.installSpare(ctx, tmpl, hash)
			mu.Lock()
			defer mu.Unlock()
			if err != nil && first == nil {
				first = err
			}
			if name != "" {
				res.Started = append(res.Started, name)
			}
		}()
	}
	wg.Wait()
	sort.Strings(res.Started)
	return res, first
}

// SpareInstallLimit bounds how long a spare may stay Installing (no
// release, or one pending install) after it was made: past it, its
// installer was stopped half-way (a kill, a second Ctrl-C) and the next
// top-up removes it rather than count it toward the pool forever.
const SpareInstallLimit = 15 * time.Minute

// stuck says a listed spare stayed Installing past SpareInstallLimit.
func (h *Host) stuck(ns *corev1.Namespace, s Spare) bool {
	made := ns.CreationTimestamp.Time
	if v, err := time.Parse(time.RFC3339, ns.Annotations[AnnotationCreatedAt]); err == nil {
		made = v
	}
	return s.Status == StatusInstalling && h.now().Sub(made) > SpareInstallLimit
}

// sleepSpare records that a ready spare was ready (a claim wakes only such
// a one) and puts it to sleep. The record is an update at the
// resourceVersion the spare was listed at, so a create that claimed it
// since wins: the spare is skipped (false), the top-up goes on.
func (e *Engine) sleepSpare(ctx context.Context, ns *corev1.Namespace) (bool, error) {
	c := ns.DeepCopy()
	c.Annotations[AnnotationReadyAt] = e.now().UTC().Format(time.RFC3339)
	_, err := e.Kube.CoreV1().Namespaces().Update(ctx, c, metav1.UpdateOptions{})
	if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, apiError(err)
	}
	name := ns.Labels[LabelName]
	_, err = e.With(nil).Sleep(ctx, SleepOptions{Name: name})
	if errors.Is(err, errForeign) || errors.Is(err, ErrNotFound) {
		return false, nil // claimed (renamed) or removed since
	}
	if err != nil {
		return false, fmt.Errorf("sleep spare %s: %w", name, err)
	}
	return true, nil
}

// Replace starts the install of one spare in place of one just claimed,
// unless the pool already holds spec.Size spares of tmpl's spec (it was
// shrunk). One per claim: concurrent claims each replace their own, where
// each filling the pool up would overshoot; gc fills what is missing.
func (e *Engine) Replace(ctx context.Context, spec PoolSpec, tmpl CreateOptions) (string, error) {
	tmpl.Pool, tmpl.GitOps = spec.Pool, false
	hash, err := SpecHash(tmpl.Spec, e.Backend)
	if err != nil {
		return "", err
	}
	spares, err := e.spareNamespaces(ctx, spec.Pool)
	if err != nil {
		return "", err
	}
	n := 0
	for _, ns := range spares {
		if ns.DeletionTimestamp == nil && ns.Annotations[AnnotationSpec] == hash && ns.Annotations[AnnotationRemoving] == "" {
			n++
		}
	}
	if n >= spec.Size {
		return "", nil
	}
	return e.installSpare(ctx, tmpl, hash)
}

// installSpare creates one spare's namespace and starts its install.
func (h *Host) installSpare(ctx context.Context, tmpl CreateOptions, hash string) (string, error) {
	tag := make([]byte, 4)
	_, _ = rand.Read(tag)
	name := spareNamePrefix + hex.EncodeToString(tag)
	nsName := NamespaceFor(name)
	labels := Labels(name, tmpl.Pool)
	labels[LabelPool] = tmpl.Pool
	labels[LabelSpare] = tmpl.Pool
	anns := map[string]string{AnnotationSpec: hash, AnnotationCreatedAt: h.now().UTC().Format(time.RFC3339)}
	if tmpl.Isolation {
		anns[AnnotationIsolation] = "true"
	}
	if tmpl.K8sVersion != "" {
		anns[AnnotationK8sVersion] = tmpl.K8sVersion
	}
	_, err := h.Kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		Name: nsName, Labels: labels, Annotations: anns}}, metav1.CreateOptions{})
	if err != nil {
		return "", apiError(err)
	}
	err = h.Backend.Install(ctx, InstallRequest{Name: name, Namespace: nsName, Spec: tmpl.Spec})
	if err != nil {
		// A spare that failed to install is not kept half-made: the next
		// top-up starts another.
		_ = h.removeSpare(context.WithoutCancel(ctx), nsName)
		return "", fmt.Errorf("install spare %s: %w", name, err)
	}
	return name, nil
}

// removeListedSpare removes a spare as it was listed, unless a create
// claimed it since: first an update at the listed resourceVersion marks it
// removing (a claim, also conditional, then fails on it, or this update
// fails on the claim), then removeSpare.
func (h *Host) removeListedSpare(ctx context.Context, ns *corev1.Namespace) (bool, error) {
	c := ns.DeepCopy()
	c.Annotations[AnnotationRemoving] = h.now().UTC().Format(time.RFC3339)
	_, err := h.Kube.CoreV1().Namespaces().Update(ctx, c, metav1.UpdateOptions{})
	if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
		return false, nil // claimed, or removed by another run
	}
	if err != nil {
		return false, apiError(err)
	}
	return true, h.removeSpare(ctx, ns.Name)
}

// removeSpare uninstalls a spare and deletes its namespace, without
// waiting for the namespace to go.
func (h *Host) removeSpare(ctx context.Context, ns string) error {
	if err := h.Backend.Uninstall(ctx, ns); err != nil {
		return err
	}
	return h.deleteNamespace(ctx, ns, 0)
}

// claim takes a ready spare matching o for tenant o.Name: running spares
// first, then sleeping ones, oldest first. It returns the spare's namespace,
// renamed to the tenant, and true; or, when another create of the name won,
// that tenant's namespace and false (create converges on it); or nil when
// no spare matches (then create installs as usual). The claim is one update
// of the namespace at the resourceVersion it was read at: of two creates
// racing for a spare, one gets a conflict and tries the next. A caller not
// allowed to read spares (cluster-wide lists) gets none.
func (h *Host) claim(ctx context.Context, o CreateOptions, owner string, now time.Time) (*corev1.Namespace, bool, error) {
	hash, err := SpecHash(o.Spec, h.Backend)
	if err != nil {
		return nil, false, nil // the install reports an unreadable values file
	}
	nss, spares, err := h.spares(ctx, o.Pool, func(ns *corev1.Namespace) bool {
		return ns.Annotations[AnnotationSpec] == hash && ns.Annotations[AnnotationRemoving] == "" && ns.DeletionTimestamp == nil
	})
	var fe *ForbiddenError
	if errors.As(err, &fe) {
		h.Report.Emit(StepNamespace, PhaseWarning, "not allowed to look for a warm spare: installing a new tenant", nil)
		return nil, false, nil
	}
	if err != nil || len(nss) == 0 {
		return nil, false, err
	}
	var running, sleeping []*corev1.Namespace
	for i := range nss {
		ns, s := &nss[i], spares[i]
		switch {
		case s.Spec != hash || ns.Annotations[AnnotationRemoving] != "":
		case s.Status == StatusReady:
			running = append(running, ns)
		case s.Status == StatusSleeping && ns.Annotations[AnnotationReadyAt] != "":
			sleeping = append(sleeping, ns)
		}
	}
	for _, ns := range append(running, sleeping...) {
		c := ns.DeepCopy()
		delete(c.Labels, LabelSpare)
		for k, v := range o.Labels {
			c.Labels[k] = v
		}
		c.Labels[LabelName] = o.Name
		delete(c.Annotations, AnnotationSpec)
		delete(c.Annotations, AnnotationReadyAt)
		delete(c.Annotations, AnnotationTimeToReady)
		stamp := now.UTC().Format(time.RFC3339)
		c.Annotations[AnnotationCreatedAt] = stamp
		c.Annotations[AnnotationClaimedAt] = stamp
		if owner != "" {
			c.Annotations[AnnotationOwner] = owner
		}
		if o.TTL > 0 {
			c.Annotations[AnnotationExpiresAt] = now.Add(o.TTL).UTC().Format(time.RFC3339)
		}
		got, err := h.Kube.CoreV1().Namespaces().Update(ctx, c, metav1.UpdateOptions{})
		if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
			continue // another create took it, or gc removed it
		}
		if apierrors.IsForbidden(err) {
			h.Report.Emit(StepNamespace, PhaseWarning, "not allowed to claim a warm spare (update namespaces): installing a new tenant", nil)
			return nil, false, nil
		}
		if err != nil {
			return nil, false, apiError(err)
		}
		// Two creates of the same name may each have claimed a spare, or
		// the other made vcluster-NAME: the tenant is the namespace Resolve
		// finds; this one gives its spare back and converges on that one
		// (returning "no spare" would make a second vcluster-NAME and
		// orphan the other's claim).
		if won, err := h.Resolve(ctx, o.Name); err == nil && won.NS.Name != c.Name {
			return won.NS, false, h.unclaim(ctx, c.Name, ns)
		}
		return got, true, nil
	}
	return nil, false, nil
}

// unclaim gives a claimed spare back: its spare labels and annotations as
// they were.
func (h *Host) unclaim(ctx context.Context, name string, was *corev1.Namespace) error {
	ctx = context.WithoutCancel(ctx)
	for range 5 {
		cur, err := h.Kube.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return apiError(err)
		}
		cur.Labels, cur.Annotations = was.Labels, was.Annotations
		_, err = h.Kube.CoreV1().Namespaces().Update(ctx, cur, metav1.UpdateOptions{})
		if !apierrors.IsConflict(err) {
			return apiError(err)
		}
	}
	return errors.New("could not give spare " + name + " back: it keeps changing")
}
