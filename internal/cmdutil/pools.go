package cmdutil

import (
	"context"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/hostconfig"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
)

// TopUpPools tops every warm pool of the host defaults up (see
// Engine.TopUp), and empties the pools that have spares but are no longer
// configured. Pools and templates come from the host defaults alone
// (Resolver.WarmPools, Resolver.PoolTemplate), never from the caller's
// environment or directory. When the host defaults could not be read it
// changes nothing and returns a *hostconfig.UnreadableError: an unknown
// configuration is not "no pools". It goes on after a pool's error and
// returns the first.
func TopUpPools(ctx context.Context, e *tenant.Engine, r hostconfig.Resolver) ([]tenant.PoolResult, error) {
	specs, err := r.WarmPools()
	if err != nil {
		return nil, err
	}
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
		tmpl, err := r.PoolTemplate(s.Pool)
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
