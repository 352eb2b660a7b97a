package tenant

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// UpgradeOptions are the inputs of PlanUpgrade and Upgrade. Exactly one of
// Name, Selector and All selects the tenants; the others are never touched.
type UpgradeOptions struct {
	Name     string
	Selector string // label selector over the tenant namespaces' labels
	All      bool

	// Spec's Chart, ChartRepo, ChartVersion (empty keeps each release's),
	// Values (the host defaults, under the values each tenant's user
	// keeps, as create passes them) and ValuesFiles apply to every tenant;
	// its pool, Kubernetes version and isolation are each tenant's own.
	Spec

	// Canary tenants are upgraded and checked first; the waves start only
	// when every canary is Ready again.
	Canary int
	// WaveSize is the number of tenants per wave after the canaries; 0 is a
	// quarter of them (at least 1).
	WaveSize int
	// Wait bounds each tenant's health check after its upgrade.
	Wait time.Duration
	// ProbeTimeout bounds the health check before the upgrade that decides
	// whether a tenant is available; 0 is 20s.
	ProbeTimeout time.Duration
}

// Outcome of one tenant in an upgrade.
type Outcome string

const (
	OutcomePlanned   Outcome = "planned"   // in a wave, not started (dry run, or an earlier wave failed)
	OutcomeUpgraded  Outcome = "upgraded"  // upgraded and Ready again
	OutcomeUnchanged Outcome = "unchanged" // already at the target chart and values
	OutcomeSkipped   Outcome = "skipped"   // not available before the upgrade; not touched
	OutcomeFailed    Outcome = "failed"    // the upgrade or the health check after it failed
)

// UpgradeItem is one tenant of an upgrade plan.
type UpgradeItem struct {
	Name     string  `json:"name"`
	From     string  `json:"from,omitempty"`
	To       string  `json:"to,omitempty"`
	Revision int     `json:"revision,omitempty"` // Helm revision before the upgrade
	Outcome  Outcome `json:"outcome"`
	Reason   string  `json:"reason,omitempty"`
	// ValuesDiff is how the upgrade changes the tenant's values, one line
	// per value path (credentials and structured values not printed).
	ValuesDiff []string `json:"valuesDiff,omitempty"`
}

// UpgradeWave is a group upgraded together, then checked together.
type UpgradeWave struct {
	Name    string        `json:"name"` // "canary", "wave 1", ...
	Tenants []UpgradeItem `json:"tenants"`
}

// UpgradePlan is the ordered plan and, after Upgrade, its outcome.
type UpgradePlan struct {
	Waves     []UpgradeWave `json:"waves"`
	Unchanged []UpgradeItem `json:"unchanged,omitempty"`
	Skipped   []UpgradeItem `json:"skipped,omitempty"`
}

// Items lists every tenant of the plan: waves in order, then unchanged and
// skipped ones.
func (p *UpgradePlan) Items() []UpgradeItem {
	var out []UpgradeItem
	for _, w := range p.Waves {
		out = append(out, w.Tenants...)
	}
	out = append(out, p.Unchanged...)
	return append(out, p.Skipped...)
}

// ValidateUpgrade checks the options before any API call.
func ValidateUpgrade(o UpgradeOptions) error {
	n := 0
	for _, set := range []bool{o.Name != "", o.Selector != "", o.All} {
		if set {
			n++
		}
	}
	if n != 1 {
		return usageErrorf("select the tenants with exactly one of NAME, --selector/-l or --all")
	}
	if o.Name != "" {
		if err := ValidateName(o.Name); err != nil {
			return err
		}
	}
	if o.Selector != "" {
		if _, err := labels.Parse(o.Selector); err != nil {
			return usageErrorf("invalid --selector %q: %v", o.Selector, err)
		}
	}
	if o.ChartVersion == "" && len(o.ValuesFiles) == 0 {
		return usageErrorf("nothing to upgrade to: give --chart-version and/or --values")
	}
	if o.Canary < 0 || o.WaveSize < 0 {
		return usageErrorf("--canary and --wave-size must not be negative")
	}
	if o.Wait <= 0 {
		return usageErrorf("--wait must be positive: every wave is checked before the next one starts")
	}
	return nil
}

// selectTenants returns the selected tenant namespaces, sorted by name.
func (h *Host) selectTenants(ctx context.Context, o UpgradeOptions) ([]corev1.Namespace, error) {
	if o.Name != "" {
		t, err := h.Resolve(ctx, o.Name)
		if err != nil {
			return nil, err
		}
		return []corev1.Namespace{*t.NS}, nil
	}
	sel := selector()
	if o.Selector != "" {
		sel += "," + o.Selector
	}
	nss, err := h.Kube.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		return nil, apiError(err)
	}
	nss.Items = h.ownTenants(StepUpgrade, nss.Items, nil)
	if len(nss.Items) == 0 {
		if o.All {
			return nil, errors.New("there are no tenants to upgrade")
		}
		return nil, fmt.Errorf("no tenant matches --selector %q", o.Selector)
	}
	items := nss.Items
	sort.Slice(items, func(i, j int) bool { return items[i].Labels[LabelName] < items[j].Labels[LabelName] })
	return items, nil
}

func (o UpgradeOptions) request(ns *corev1.Namespace) InstallRequest {
	s := o.Spec
	s.Pool, s.K8sVersion = ns.Labels[LabelPool], ns.Annotations[AnnotationK8sVersion]
	s.Isolation = ns.Annotations[AnnotationIsolation] == "true"
	return InstallRequest{Name: InstallName(ns.Name), Namespace: ns.Name, Spec: s, ReuseValues: true}
}

// PlanParallelism bounds how many tenants PlanUpgrade inspects and probes at
// once. Backend.Inspect must be safe for concurrent use.
const PlanParallelism = 4

// PlanUpgrade selects the tenants, sorts out the unchanged and unavailable
// ones and orders the rest into the canary and the waves. It changes
// nothing; the availability probe only reads.
func (e *Engine) PlanUpgrade(ctx context.Context, o UpgradeOptions) (*UpgradePlan, error) {
	if err := ValidateUpgrade(o); err != nil {
		return nil, err
	}
	if err := e.checkChartVersion(o.ChartVersion); err != nil {
		return nil, err
	}
	nss, err := e.selectTenants(ctx, o)
	if err != nil {
		return nil, err
	}
	rels, err := e.Backend.Releases(ctx, Scope{})
	if err != nil {
		return nil, apiError(err)
	}
	items := make([]UpgradeItem, len(nss))
	// Each classification may load a chart and hold a port-forward for its
	// health probe: at most PlanParallelism at once, however many tenants
	// --all selects.
	var wg sync.WaitGroup
	slots := make(chan struct{}, PlanParallelism)
	for i := range nss {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				items[i] = UpgradeItem{Name: nss[i].Labels[LabelName], Outcome: OutcomeSkipped, Reason: FirstLine(ctx.Err().Error())}
				return
			}
			defer func() { <-slots }()
			items[i] = e.classify(ctx, o, &nss[i], rels)
		}(i)
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p := &UpgradePlan{}
	var todo []UpgradeItem
	for _, it := range items {
		switch it.Outcome {
		case OutcomeUnchanged:
			p.Unchanged = append(p.Unchanged, it)
		case OutcomeSkipped:
			p.Skipped = append(p.Skipped, it)
		default:
			todo = append(todo, it)
		}
	}
	p.Waves = Waves(todo, o.Canary, o.WaveSize)
	return p, nil
}

// Waves orders items into a canary wave of canary items, then waves of
// size (0: a quarter of the rest, at least 1).
func Waves(items []UpgradeItem, canary, size int) []UpgradeWave {
	var out []UpgradeWave
	if canary > len(items) {
		canary = len(items)
	}
	if canary > 0 {
		out = append(out, UpgradeWave{Name: "canary", Tenants: items[:canary]})
		items = items[canary:]
	}
	if size <= 0 {
		size = max(1, (len(items)+3)/4)
	}
	for n := 1; len(items) > 0; n++ {
		k := min(size, len(items))
		out = append(out, UpgradeWave{Name: fmt.Sprintf("wave %d", n), Tenants: items[:k]})
		items = items[k:]
	}
	return out
}

// classify decides one tenant's place: unchanged, skipped (with the reason)
// or planned.
func (e *Engine) classify(ctx context.Context, o UpgradeOptions, ns *corev1.Namespace, rels map[string]Release) UpgradeItem {
	t := fromNamespace(ns, rels, nil)
	it := UpgradeItem{Name: t.Name, Outcome: OutcomeSkipped}
	_, hasRel := rels[ns.Name]
	switch {
	case t.Status == StatusTerminating:
		it.Reason = "being deleted"
		return it
	case ns.Annotations[AnnotationApplication] != "":
		it.Reason = "installed by Argo CD Application " + ns.Annotations[AnnotationApplication] + " (upgrade it in Git)"
		return it
	case !hasRel:
		it.Reason = "no release"
		return it
	case isSleeping(ns):
		it.Reason = "asleep (wake it first)"
		return it
	case ns.Annotations[AnnotationReadyAt] == "":
		// Never Ready: its create has not finished (re-run create instead).
		it.Reason = fmt.Sprintf("never became Ready (%s)", t.Status)
		return it
	}
	ch, err := e.Backend.Inspect(ctx, o.request(ns))
	if err != nil {
		it.Reason = "release unreadable: " + FirstLine(err.Error())
		return it
	}
	it.From, it.To, it.Revision, it.ValuesDiff = ch.From, ch.To, ch.Revision, ch.ValuesDiff
	if ch.Unchanged() {
		it.Outcome = OutcomeUnchanged
		return it
	}
	// A tenant that does not answer now (asleep, crashed, node gone) is left
	// alone: upgrading it would also wake or restart it.
	timeout := o.ProbeTimeout
	if timeout <= 0 {
		timeout = 20 * time.Second
	}
	if err := e.With(nil).WaitReady(ctx, &Target{Name: t.Name, NS: ns}, timeout); err != nil {
		it.Reason = "not available: " + FirstLine(err.Error())
		return it
	}
	it.Outcome = OutcomePlanned
	return it
}

// Upgrade runs the plan wave by wave: every tenant of a wave is upgraded
// (Helm upgrade keeping its pool, Kubernetes version and earlier values) and
// must be Ready again within Wait before the next wave starts. A failure stops
// the waves after it; the returned plan says what happened to every tenant.
// Re-running resumes: upgraded tenants are then unchanged.
func (e *Engine) Upgrade(ctx context.Context, o UpgradeOptions, p *UpgradePlan) error {
	for wi := range p.Waves {
		w := &p.Waves[wi]
		var wg sync.WaitGroup
		var mu sync.Mutex
		report := e.Report.locked(&mu)
		for i := range w.Tenants {
			it := &w.Tenants[i]
			t, err := e.Resolve(ctx, it.Name)
			if err != nil {
				it.Outcome, it.Reason = OutcomeFailed, FirstLine(err.Error())
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				sub := e.With(report.prefixed(it.Name + ": "))
				if err := sub.upgradeOne(ctx, o, t); err != nil {
					it.Outcome, it.Reason = OutcomeFailed, FirstLine(err.Error())
					return
				}
				it.Outcome = OutcomeUpgraded
			}()
		}
		wg.Wait()
		if err := ctx.Err(); err != nil {
			return err
		}
		if failed := failedNames(w.Tenants); len(failed) > 0 {
			return fmt.Errorf("%s failed (%s): stopped before the remaining waves; fix it and re-run the same command to resume",
				w.Name, strings.Join(failed, ", "))
		}
	}
	return nil
}

// upgradeOne upgrades one tenant under its lease and waits for it to be
// Ready again.
func (e *Engine) upgradeOne(ctx context.Context, o UpgradeOptions, t *Target) error {
	return e.withLock(ctx, t, "upgrade", StepUpgrade, o.Wait, func(ctx context.Context) error {
		return e.upgradeLocked(ctx, o, t)
	})
}

func (h *Host) upgradeLocked(ctx context.Context, o UpgradeOptions, t *Target) error {
	ns := t.NS
	err := h.Report.Step(StepUpgrade, func() error { return h.Backend.Install(ctx, o.request(ns)) })
	if err != nil {
		return err
	}
	// Right after the upgrade the old pod still answers: wait for the
	// rollout first, or the health check would pass on the old version.
	ctx, cancel := context.WithTimeout(ctx, o.Wait)
	defer cancel()
	err = h.Report.Step(StepRollout, func() error {
		return h.poll(ctx, StepRollout, func() (bool, string, error) {
			done, msg, err := h.Backend.RolloutDone(ctx, ns.Name)
			return done, msg, apiError(err)
		})
	})
	if err != nil {
		return err
	}
	return h.WaitReady(ctx, t, o.Wait)
}

func failedNames(items []UpgradeItem) []string {
	var out []string
	for _, it := range items {
		if it.Outcome == OutcomeFailed {
			out = append(out, it.Name+": "+it.Reason)
		}
	}
	return out
}

// Steps of one tenant's upgrade (then WaitReady's).
const (
	StepUpgrade = "upgrade"
	StepRollout = "rollout"
)

// locked serialises a reporter shared by concurrent upgrades.
func (r Reporter) locked(mu *sync.Mutex) Reporter {
	if r == nil {
		return nil
	}
	return func(ev Event) {
		mu.Lock()
		defer mu.Unlock()
		r(ev)
	}
}

// prefixed names each step after its tenant, so concurrent tenants' steps
// stay apart in the progress view.
func (r Reporter) prefixed(prefix string) Reporter {
	if r == nil {
		return nil
	}
	return func(ev Event) {
		ev.Step = prefix + ev.Step
		r(ev)
	}
}

// UpgradeSteps are the progress steps of one tenant's upgrade, prefixed like
// Upgrade reports them.
func UpgradeSteps(name string) []string {
	var out []string
	for _, s := range []string{StepUpgrade, StepRollout, StepSchedule, StepKubeconfig, StepReady} {
		out = append(out, name+": "+s)
	}
	return out
}
