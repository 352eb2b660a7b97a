package warmpool_test

import (
	"context"
	"strings"
	"testing"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant/tenanttest"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/warmpool"
)

// fingerprinted is a backend whose own rendering (values, build) is fp.
type fingerprinted struct {
	tenanttest.ListingBackend
	fp string
}

func (f *fingerprinted) SpecFingerprint(tenant.Spec) (string, error) { return f.fp, nil }

// TestSpareOfAnotherBuildIsNotClaimed (N8): a spare installed by a backend
// that rendered other values (an older binary) is not claimed, and the
// next top-up replaces it.
func TestSpareOfAnotherBuildIsNotClaimed(t *testing.T) {
	ctx := context.Background()
	e, _, _ := tenanttest.NewListingEngine(t)
	fb := &fingerprinted{ListingBackend: e.Backend.(tenanttest.ListingBackend), fp: "old"}
	e.Backend = fb
	spec := warmpool.Config{Pool: "pool-a", Size: 1}
	if _, err := warmpool.TopUp(ctx, e.With(nil), spec, poolTemplate()); err != nil {
		t.Fatal(err)
	}
	fb.fp = "new"
	o := poolTemplate()
	o.Name, o.Pool, o.Claimer = "dev", "pool-a", warmpool.Pool{Config: spec}
	if got := tenanttest.Create(t, e, o); strings.HasPrefix(got.Namespace, "vcluster-spare-") {
		t.Errorf("claimed %s, a spare another build installed", got.Namespace)
	}
	res, err := warmpool.TopUp(ctx, e.With(nil), spec, poolTemplate())
	if err != nil || len(res.Removed) != 1 || len(res.Started) != 1 {
		t.Errorf("top-up after the change: %+v, %v; want the old spare replaced", res, err)
	}
}
