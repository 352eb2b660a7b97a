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
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Warm spares are tenants installed before anyone asked for them, in
// namespaces vcluster-spare-* labelled with their pool (LabelSpare): what
// package warmpool keeps, claims and replaces. This file holds what the
// engine itself knows of them: what a spare is installed from (SpecHash),
// listing them with their status, installing and removing one; claim.go
// how a create takes one (the Claimer hook) and how same-name creates
// settle on one namespace.

// Spare is one warm spare, as `pool status` and `list --spares` show it.
type Spare struct {
	Name      string    `json:"name"`
	Namespace string    `json:"namespace"`
	Pool      string    `json:"pool"`
	Status    Status    `json:"status"`
	Reason    string    `json:"reason,omitempty"`
	Spec      string    `json:"spec"`
	CreatedAt time.Time `json:"createdAt"`

	// NS is the spare's namespace as listed: conditional updates (a
	// claim, a removal) are made at its resourceVersion.
	NS *corev1.Namespace `json:"-"`

	tenant Tenant // as list --spares shows it
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

// SparesWhere lists the spares of pool whose namespace keep accepts
// (before their status is read: a claim keeps those of its spec hash).
func (h *Host) SparesWhere(ctx context.Context, pool string, keep func(*corev1.Namespace) bool) ([]Spare, error) {
	_, out, err := h.spares(ctx, pool, keep)
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
			Reason: t.Reason, Spec: ns.Annotations[AnnotationSpec], CreatedAt: ns.CreationTimestamp.Time, NS: ns, tenant: t})
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

// InstallSpare creates one spare's namespace for pool tmpl.Pool, stamped
// with hash (SpecHash of tmpl.Spec), and starts its install without
// waiting for the vCluster to boot. It returns the spare's name.
func (h *Host) InstallSpare(ctx context.Context, tmpl CreateOptions, hash string) (string, error) {
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

// RemoveSpare removes a spare as it was listed, unless a create
// claimed it since: first an update at the listed resourceVersion marks it
// removing (a claim, also conditional, then fails on it, or this update
// fails on the claim), then removeSpare.
func (h *Host) RemoveSpare(ctx context.Context, ns *corev1.Namespace) (bool, error) {
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
