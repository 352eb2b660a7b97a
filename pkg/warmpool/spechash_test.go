package warmpool_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant/tenanttest"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/warmpool"
)

// fingerprinted is a backend whose own rendering (values, build) is fp.
// err, when set, is its failure (a chart repository it cannot read).
type fingerprinted struct {
	tenanttest.ListingBackend
	fp  string
	err error
}

func (f *fingerprinted) SpecFingerprint(tenant.Spec) (string, error) { return f.fp, f.err }

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

// TestSpecHashFailureIsSaid: a backend that cannot fingerprint the spec
// (its chart repository is down) fails top-up and pool status with its
// own error, not a values-file one nor "every spare stale", and a create
// installs rather than claims.
func TestSpecHashFailureIsSaid(t *testing.T) {
	ctx := context.Background()
	e, _, _ := tenanttest.NewListingEngine(t)
	fb := &fingerprinted{ListingBackend: e.Backend.(tenanttest.ListingBackend), fp: "v1"}
	e.Backend = fb
	spec := warmpool.Config{Pool: "pool-a", Size: 1}
	if _, err := warmpool.TopUp(ctx, e.With(nil), spec, poolTemplate()); err != nil {
		t.Fatal(err)
	}
	fb.err = errors.New("chart vcluster: cannot resolve its latest version from https://charts.example.com: connection refused")
	_, err := warmpool.TopUp(ctx, e.With(nil), spec, poolTemplate())
	if err == nil || err.Error() != fb.err.Error() {
		t.Errorf("top-up: %v; want the backend's error as is", err)
	}
	tmpl := func(string) (tenant.CreateOptions, error) { return poolTemplate(), nil }
	if st, err := warmpool.Statuses(ctx, &e.Host, []warmpool.Config{spec}, tmpl); err == nil {
		t.Errorf("pool status: %+v; want the backend's error", st)
	}
	o := poolTemplate()
	o.Name, o.Pool, o.Claimer = "dev", "pool-a", warmpool.Pool{Config: spec}
	if got := tenanttest.Create(t, e, o); strings.HasPrefix(got.Namespace, "vcluster-spare-") {
		t.Errorf("claimed %s without a spec hash", got.Namespace)
	}
}
