package warmpool

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
)

// StepFill is the step of Fill's wait.
const StepFill = "fill pool"

// Fill is TopUp, then, with wait > 0, waits until the pool holds c.Size
// spares ready to claim: running and ready, or (a sleeping pool) asleep
// after being ready once, which takes a TopUp after they are ready.
func Fill(ctx context.Context, e *tenant.Engine, c Config, tmpl tenant.CreateOptions, wait time.Duration) (*Result, error) {
	res, err := TopUp(ctx, e, c, tmpl)
	if err != nil || wait <= 0 {
		return res, err
	}
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	err = e.Report.Step(StepFill, func() error {
		return e.Poll(ctx, StepFill, func() (bool, string, error) {
			more, err := TopUp(ctx, e.With(nil), c, tmpl)
			if err != nil {
				return false, "", err
			}
			res.Started = append(res.Started, more.Started...)
			res.Removed = append(res.Removed, more.Removed...)
			res.Slept = append(res.Slept, more.Slept...)
			spares, err := e.Spares(ctx, c.Pool)
			if err != nil {
				return false, "", err
			}
			want := tenant.StatusReady
			if c.Sleeping() {
				want = tenant.StatusSleeping
			}
			n := 0
			for _, s := range spares {
				if s.Status == want {
					n++
				}
			}
			return n >= c.Size, fmt.Sprintf("%d of %d spares %s", n, c.Size, want), nil
		})
	})
	return res, err
}

// Status is one pool as `pool status` shows it.
type Status struct {
	Config
	// Spares by status; Stale are spares of another spec (gc removes them).
	Ready   int `json:"ready"`
	Asleep  int `json:"asleep"`
	Pending int `json:"pending"`
	Stale   int `json:"stale"`
	// Claimed and Fresh count the pool's tenants made from a spare and
	// installed by their create; HitRate is Claimed / (Claimed + Fresh).
	Claimed int     `json:"claimed"`
	Fresh   int     `json:"fresh"`
	HitRate float64 `json:"hitRate"`
}

// Statuses reports every pool in cfgs and every pool that has spares, by
// pool name; tmpl gives each pool's current spec hash.
func Statuses(ctx context.Context, h *tenant.Host, cfgs []Config, tmpl func(pool string) (tenant.CreateOptions, error)) ([]Status, error) {
	spares, err := h.Spares(ctx, "")
	if err != nil {
		return nil, err
	}
	ts, err := h.Tenants(ctx)
	if err != nil {
		return nil, err
	}
	by := map[string]*Status{}
	for _, c := range cfgs {
		by[c.Pool] = &Status{Config: c}
	}
	get := func(pool string) *Status {
		if by[pool] == nil {
			by[pool] = &Status{Config: Config{Pool: pool}}
		}
		return by[pool]
	}
	hashes := map[string]string{}
	for _, s := range spares {
		p := get(s.Pool)
		hash, ok := hashes[s.Pool]
		if !ok {
			if o, err := tmpl(s.Pool); err == nil {
				// Not "every spare stale": say why there is no hash (a
				// chart repository that cannot be read).
				if hash, err = tenant.SpecHash(template(p.Config, o).Spec, h.Backend); err != nil {
					return nil, err
				}
			}
			hashes[s.Pool] = hash
		}
		switch {
		case s.Status == tenant.StatusTerminating:
		case s.Spec != hash || p.Size == 0:
			p.Stale++
		case s.Status == tenant.StatusReady:
			p.Ready++
		case s.Status == tenant.StatusSleeping:
			p.Asleep++
		default:
			p.Pending++
		}
	}
	for _, t := range ts {
		p, ok := by[t.Pool]
		if !ok {
			continue
		}
		if t.ClaimedAt != nil {
			p.Claimed++
		} else {
			p.Fresh++
		}
	}
	out := make([]Status, 0, len(by))
	for _, p := range by {
		if n := p.Claimed + p.Fresh; n > 0 {
			p.HitRate = float64(p.Claimed) / float64(n)
		}
		out = append(out, *p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Pool < out[j].Pool })
	return out, nil
}

// Source is where the configured pools and their spares' template come
// from: the host defaults alone (hostconfig.Resolver), never the caller's
// environment or directory.
type Source interface {
	// WarmPools are the configured pools; an error when they are unknown
	// (the host defaults unreadable), which is not "no pools".
	WarmPools() ([]Config, error)
	// PoolTemplate is what pool's spares are installed from.
	PoolTemplate(pool string) (tenant.CreateOptions, error)
}

// TopUpAll tops every configured pool up (TopUp), and empties the pools
// that have spares but are no longer configured. When src cannot say
// which pools are configured it changes nothing and returns its error.
// It goes on after a pool's error and returns the first.
func TopUpAll(ctx context.Context, e *tenant.Engine, src Source) ([]Result, error) {
	cfgs, err := src.WarmPools()
	if err != nil {
		return nil, err
	}
	spares, err := e.Spares(ctx, "")
	if err != nil {
		return nil, err
	}
	known := map[string]bool{}
	for _, c := range cfgs {
		known[c.Pool] = true
	}
	for _, s := range spares {
		if !known[s.Pool] {
			known[s.Pool] = true
			cfgs = append(cfgs, Config{Pool: s.Pool})
		}
	}
	var (
		out   []Result
		first error
	)
	for _, c := range cfgs {
		tmpl, err := src.PoolTemplate(c.Pool)
		if err == nil {
			var res *Result
			res, err = TopUp(ctx, e, c, tmpl)
			if res != nil {
				out = append(out, *res)
			}
		}
		if err != nil && first == nil {
			first = err
		}
	}
	return out, first
}
