package cmdutil

import (
	"context"
	"sort"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/hostconfig"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
)

// PoolTemplate is a plain `create --pool pool` under r's host defaults and
// this environment, with no flags: what a warm pool's spares are installed
// from, so that such a create's SpecHash matches them.
func PoolTemplate(r hostconfig.Resolver, pool string) (tenant.CreateOptions, error) {
	r.Flags = nil
	o := tenant.CreateOptions{Spec: tenant.Spec{Pool: pool}}
	o.Chart, o.ChartRepo, o.ChartVersion = ChartRef(r, false)
	iso, _, err := r.Bool(hostconfig.KeyIsolation)
	if err != nil {
		return o, UsageError{Err: err}
	}
	o.Isolation = iso
	if r.Host != nil {
		o.Values = r.Host.Values
	}
	o.ValuesFiles = ValuesFromEnv(r)
	return o, nil
}

// PoolSpecs are the warm pools of the host defaults, by name.
func PoolSpecs(r hostconfig.Resolver) []tenant.PoolSpec {
	var out []tenant.PoolSpec
	if r.Host != nil {
		for p, w := range r.Host.WarmPools {
			out = append(out, tenant.PoolSpec{Pool: p, Size: w.Size, Sleeping: w.Sleeping()})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Pool < out[j].Pool })
	return out
}

// TopUpPools tops every warm pool of the host defaults up (see
// Engine.TopUp), and empties the pools that have spares but are no longer
// configured. It goes on after a pool's error and returns the first.
func TopUpPools(ctx context.Context, e *tenant.Engine, r hostconfig.Resolver) ([]tenant.PoolResult, error) {
	specs := PoolSpecs(r)
	spares, err := e.Spares(ctx, "")
	if err != nil {
		return nil, err
	}
	known := map[string]bool{}
	for _, s := range specs {
		known[s.Pool] = true
	}
	for _, s := range spares {
		if !known[s.Pool] {
			known[s.Pool] = true
			specs = append(specs, tenant.PoolSpec{Pool: s.Pool})
		}
	}
	var (
		out   []tenant.PoolResult
		first error
	)
	for _, s := range specs {
		tmpl, err := PoolTemplate(r, s.Pool)
		if err == nil {
			var res *tenant.PoolResult
			res, err = e.TopUp(ctx, s, tmpl)
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
