package warmpool_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/hostconfig"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant/tenanttest"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/warmpool"
)

// N3: a pool is what the host defaults say, whoever tops it up. A caller
// with their own $KUBECTL_TENANT_VALUES/CHART/ISOLATION, flags and a
// ./vcluster folder in the working directory changes no spare; one who may
// not read the host defaults (Forbidden) changes none either, and is told.
func TestTopUpAllFromHostDefaultsOnly(t *testing.T) {
	ctx := context.Background()
	e, _, b := tenanttest.NewEngine(t)
	host, err := hostconfig.Parse(map[string]string{hostconfig.KeyWarmPools: "p: {size: 2}", hostconfig.KeyChartVersion: "0.34.0"})
	if err != nil {
		t.Fatal(err)
	}
	spareNames := func() []string {
		t.Helper()
		ss, err := e.Spares(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, s := range ss {
			out = append(out, s.Name)
		}
		return out
	}
	if _, err := warmpool.TopUpAll(ctx, e, hostconfig.Resolver{Host: host}); err != nil {
		t.Fatal(err)
	}
	before, installs := spareNames(), len(b.Installs)
	if len(before) != 2 {
		t.Fatalf("the admin's top-up made spares %v, want 2", before)
	}
	unchanged := func(what string, res []warmpool.Result) {
		t.Helper()
		for _, r := range res {
			if len(r.Started)+len(r.Removed) > 0 {
				t.Errorf("%s: %+v", what, r)
			}
		}
		if got := spareNames(); !slices.Equal(got, before) || len(b.Installs) != installs {
			t.Errorf("%s: spares %v (were %v), %d installs (were %d)", what, got, before, len(b.Installs), installs)
		}
	}

	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "vcluster"), 0o755); err != nil {
		t.Fatal(err)
	}
	mine := filepath.Join(dir, "mine.yaml")
	if err := os.WriteFile(mine, []byte("controlPlane: {statefulSet: {annotations: {me: \"1\"}}}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	env := map[string]string{hostconfig.EnvValues: mine, hostconfig.EnvChart: "./vcluster", hostconfig.EnvIsolation: "true", hostconfig.EnvChartVersion: "9.9.9"}
	caller := hostconfig.Resolver{Host: host, Getenv: func(k string) string { return env[k] },
		Flags: hostconfig.Flags{hostconfig.KeyChartRepo: "http://mine.example"}}
	res, err := warmpool.TopUpAll(ctx, e, caller)
	if err != nil {
		t.Fatal(err)
	}
	unchanged("a caller with their own environment", res)

	forbidden := &hostconfig.Defaults{Unreadable: apierrors.NewForbidden(schema.GroupResource{Resource: "configmaps"}, hostconfig.Name, nil)}
	caller.Host = forbidden
	res, err = warmpool.TopUpAll(ctx, e, caller)
	var ue *hostconfig.UnreadableError
	if !errors.As(err, &ue) {
		t.Errorf("unreadable host defaults: %v, want an UnreadableError", err)
	}
	unchanged("a caller who may not read the host defaults", res)
	res, err = warmpool.TopUpAll(ctx, e, hostconfig.Resolver{})
	if !errors.As(err, &ue) {
		t.Errorf("no host defaults read: %v, want an UnreadableError", err)
	}
	unchanged("a resolver without host defaults", res)

	// Readable defaults without the pool still empty it.
	if _, err := warmpool.TopUpAll(ctx, e, hostconfig.Resolver{Host: &hostconfig.Defaults{Found: true}}); err != nil {
		t.Fatal(err)
	}
	if got := spareNames(); len(got) != 0 {
		t.Errorf("a pool removed from the host defaults kept spares %v", got)
	}
}
