package warmpool

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
)

// Result says what TopUp did.
type Result struct {
	Pool string `json:"pool"`
	// Started are the spares whose install it started, Removed those of
	// another spec (or over the size, or stuck installing) it removed,
	// Slept those it put to sleep.
	Started []string `json:"started,omitempty"`
	Removed []string `json:"removed,omitempty"`
	Slept   []string `json:"slept,omitempty"`
	// GivenBack are spares a create reserved and never bound (it was
	// killed in between), made spares again.
	GivenBack []string `json:"givenBack,omitempty"`
}

// Done says what TopUp did in one line ("installing a, b; removed c"),
// empty when it did nothing.
func (r Result) Done() string {
	var parts []string
	for _, p := range []struct {
		verb  string
		names []string
	}{{"gave back", r.GivenBack}, {"installing", r.Started}, {"removed", r.Removed}, {"put to sleep", r.Slept}} {
		if len(p.names) > 0 {
			parts = append(parts, p.verb+" "+strings.Join(p.names, ", "))
		}
	}
	return strings.Join(parts, "; ")
}

// InstallLimit bounds how long a spare may stay Installing (no release, or
// one pending install) after it was made: past it, its installer was
// stopped half-way (a kill, a second Ctrl-C), and it neither counts toward
// the pool (Replace, TopUp) nor is kept (TopUp removes it).
const InstallLimit = 15 * time.Minute

func now(h *tenant.Host) time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

// stuck says a listed spare stayed Installing past InstallLimit.
func stuck(h *tenant.Host, s tenant.Spare) bool {
	made := s.CreatedAt
	if v, err := time.Parse(time.RFC3339, s.NS.Annotations[tenant.AnnotationCreatedAt]); err == nil {
		made = v
	}
	return s.Status == tenant.StatusInstalling && now(h).Sub(made) > InstallLimit
}

// counts says a listed spare of hash counts toward its pool: not going
// away, not failed, not stuck installing.
func counts(h *tenant.Host, s tenant.Spare, hash string) bool {
	return s.Spec == hash && s.Status != tenant.StatusTerminating && s.Status != tenant.StatusFailed &&
		s.NS.Annotations[tenant.AnnotationRemoving] == "" && !stuck(h, s)
}

// template is tmpl as a spare of c is installed from.
func template(c Config, tmpl tenant.CreateOptions) tenant.CreateOptions {
	tmpl.Pool, tmpl.GitOps = c.Pool, false
	tmpl.Name, tmpl.Labels, tmpl.TTL, tmpl.Connect, tmpl.Register, tmpl.Claimer = "", nil, 0, nil, nil, nil
	return tmpl
}

// TopUp brings the pool to c: it removes spares whose spec is not tmpl's
// (a changed chart or values), failed ones, ones stuck installing and those
// over the size, starts the installs of the missing ones without waiting
// for them, and, for a sleeping pool, puts the spares that are ready to
// sleep. tmpl is a create of the pool as the host's defaults make it (its
// Name, Labels and TTL are not used).
func TopUp(ctx context.Context, e *tenant.Engine, c Config, tmpl tenant.CreateOptions) (*Result, error) {
	if err := c.Validate(); err != nil {
		return nil, tenant.NewUsageError(err.Error())
	}
	tmpl = template(c, tmpl)
	hash, err := tenant.SpecHash(tmpl.Spec, e.Backend)
	if err != nil {
		return nil, err // a values file (usage error), or the chart's repository
	}
	res := &Result{Pool: c.Pool}
	if res.GivenBack, err = giveBackStale(ctx, &e.Host, c.Pool); err != nil {
		return res, err
	}
	spares, err := e.Spares(ctx, c.Pool)
	if err != nil {
		return res, err
	}
	keep := 0
	var drop []*corev1.Namespace
	for _, s := range spares {
		switch {
		case s.Status == tenant.StatusTerminating || s.NS.Annotations[tenant.AnnotationRemoving] != "":
		case !counts(&e.Host, s, hash) || keep >= c.Size:
			drop = append(drop, s.NS)
		default:
			keep++
			if c.Sleeping() && s.Status == tenant.StatusReady {
				slept, err := sleepSpare(ctx, e, s.NS)
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
		removed, err := e.RemoveSpare(ctx, ns)
		if err != nil {
			return res, err
		}
		if removed {
			res.Removed = append(res.Removed, ns.Labels[tenant.LabelName])
		}
	}
	// Installs run concurrently: each is a Helm install that returns once
	// the objects exist (a few hundred ms); the vClusters boot on their own.
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	for range c.Size - keep {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name, err := e.InstallSpare(ctx, tmpl, hash)
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

// ReserveLimit bounds how long a create may hold a spare reserved and not
// bound: the create settles and binds within a few API calls, so a
// reservation older than this is one whose create was killed in between.
const ReserveLimit = 2 * time.Minute

// giveBackStale gives back the pool's spares reserved longer than
// ReserveLimit ago, and names them.
func giveBackStale(ctx context.Context, h *tenant.Host, pool string) ([]string, error) {
	l, err := h.Kube.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: tenant.LabelPool + "=" + pool + ",!" + tenant.LabelSpare})
	if err != nil {
		return nil, tenant.APIError(err)
	}
	var out []string
	for i := range l.Items {
		ns := &l.Items[i]
		at, err := time.Parse(time.RFC3339, ns.Annotations[tenant.AnnotationReservedAt])
		if !tenant.Reserved(ns) || err == nil && now(h).Sub(at) < ReserveLimit {
			continue
		}
		back, err := h.GiveBack(ctx, ns)
		if err != nil {
			return out, err
		}
		if back {
			out = append(out, ns.Annotations[tenant.AnnotationClaiming])
		}
	}
	return out, nil
}

// sleepSpare records that a ready spare was ready (a claim wakes only such
// a one) and puts it to sleep. The record is an update at the
// resourceVersion the spare was listed at, so a create that claimed it
// since wins: the spare is skipped (false), the top-up goes on (N10).
func sleepSpare(ctx context.Context, e *tenant.Engine, ns *corev1.Namespace) (bool, error) {
	c := ns.DeepCopy()
	c.Annotations[tenant.AnnotationReadyAt] = now(&e.Host).UTC().Format(time.RFC3339)
	_, err := e.Kube.CoreV1().Namespaces().Update(ctx, c, metav1.UpdateOptions{})
	if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, tenant.APIError(err)
	}
	name := ns.Labels[tenant.LabelName]
	_, err = e.With(nil).Sleep(ctx, tenant.SleepOptions{Name: name, Spare: true})
	if errors.Is(err, tenant.ErrForeign) || errors.Is(err, tenant.ErrNotFound) {
		return false, nil // claimed (renamed) or removed since
	}
	if err != nil {
		return false, fmt.Errorf("sleep spare %s: %w", name, err)
	}
	return true, nil
}

// Replace starts the install of one spare in place of one just claimed,
// unless the pool already holds c.Size spares of tmpl's spec that count
// (not stuck installing: N6). One per claim: concurrent claims each replace
// their own, where each filling the pool up would overshoot; gc fills what
// is missing.
func Replace(ctx context.Context, h *tenant.Host, c Config, tmpl tenant.CreateOptions) (string, error) {
	tmpl = template(c, tmpl)
	hash, err := tenant.SpecHash(tmpl.Spec, h.Backend)
	if err != nil {
		return "", err
	}
	spares, err := h.SparesWhere(ctx, c.Pool, func(ns *corev1.Namespace) bool {
		return ns.Annotations[tenant.AnnotationSpec] == hash
	})
	if err != nil {
		return "", err
	}
	n := 0
	for _, s := range spares {
		if counts(h, s, hash) {
			n++
		}
	}
	if n >= c.Size {
		return "", nil
	}
	return h.InstallSpare(ctx, tmpl, hash)
}
