package tenant

import (
	"context"
	"fmt"
	"sort"
	"time"
)

// StepFill is the step of FillPool's wait.
const StepFill = "fill pool"

// FillPool is TopUp, then, with wait > 0, waits until the pool holds
// spec.Size spares ready to claim: running and ready, or (a sleeping pool)
// asleep after being ready once, which takes a TopUp after they are ready.
func (e *Engine) FillPool(ctx context.Context, spec PoolSpec, tmpl CreateOptions, wait time.Duration) (*PoolResult, error) {
	res, err := e.TopUp(ctx, spec, tmpl)
	if err != nil || wait <= 0 {
		return res, err
	}
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	err = e.Report.Step(StepFill, func() error {
		return e.poll(ctx, StepFill, func() (bool, string, error) {
			more, err := e.With(nil).TopUp(ctx, spec, tmpl)
			if err != nil {
				return false, "", err
			}
			res.Started = append(res.Started, more.Started...)
			res.Removed = append(res.Removed, more.Removed...)
			res.Slept = append(res.Slept, more.Slept...)
			spares, err := e.Spares(ctx, spec.Pool)
			if err != nil {
				return false, "", err
			}
			want := StatusReady
			if spec.Sleeping {
				want = StatusSleeping
			}
			n := 0
			for _, s := range spares {
				if s.Status == want {
					n++
				}
			}
			return n >= spec.Size, fmt.Sprintf("%d of %d spares %s", n, spec.Size, want), nil
		})
	})
	return res, err
}

// PoolStatus is one pool as `pool status` shows it.
type PoolStatus struct {
	PoolSpec
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

// PoolStatuses reports every pool in specs and every pool that has
// spares, by pool name; tmpl gives each pool's current spec hash.
func (e *Engine) PoolStatuses(ctx context.Context, specs []PoolSpec, tmpl func(pool string) (CreateOptions, error)) ([]PoolStatus, error) {
	spares, err := e.Spares(ctx, "")
	if err != nil {
		return nil, err
	}
	ts, err := e.tenants(ctx)
	if err != nil {
		return nil, err
	}
	by := map[string]*PoolStatus{}
	for _, s := range specs {
		by[s.Pool] = &PoolStatus{PoolSpec: s}
	}
	get := func(pool string) *PoolStatus {
		if by[pool] == nil {
			by[pool] = &PoolStatus{PoolSpec: PoolSpec{Pool: pool}}
		}
		return by[pool]
	}
	hashes := map[string]string{}
	for _, s := range spares {
		p := get(s.Pool)
		h, ok := hashes[s.Pool]
		if !ok {
			if o, err := tmpl(s.Pool); err == nil {
				o.Pool = s.Pool
				// Not "every spare stale": say why there is no hash (a
				// chart repository that cannot be read).
				if h, err = SpecHash(o.Spec, e.Backend); err != nil {
					return nil, err
				}
			}
			hashes[s.Pool] = h
		}
		switch {
		case s.Status == StatusTerminating:
		case s.Spec != h || p.Size == 0:
			p.Stale++
		case s.Status == StatusReady:
			p.Ready++
		case s.Status == StatusSleeping:
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
	out := make([]PoolStatus, 0, len(by))
	for _, p := range by {
		if n := p.Claimed + p.Fresh; n > 0 {
			p.HitRate = float64(p.Claimed) / float64(n)
		}
		out = append(out, *p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Pool < out[j].Pool })
	return out, nil
}
