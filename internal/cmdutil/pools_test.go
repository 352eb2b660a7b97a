package cmdutil

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/hostconfig"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
)

// A plain create of a pool must hash like the pool's spares, or no create
// ever claims one: both come from the same host defaults and environment.
func TestPoolTemplateMatchesPlainCreate(t *testing.T) {
	f := filepath.Join(t.TempDir(), "env-values.yaml")
	if err := os.WriteFile(f, []byte("sync: {}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(ValuesEnv, f)
	host, err := hostconfig.Parse(map[string]string{
		hostconfig.KeyValues: "controlPlane: {distro: {k8s: {image: {tag: v1.34.2}}}}", hostconfig.KeyIsolation: "true",
		hostconfig.KeyChartVersion: "0.34.0", hostconfig.KeyWarmPools: "project-x: {size: 2}",
	})
	if err != nil {
		t.Fatal(err)
	}
	r := hostconfig.Resolver{Host: host}
	create := tenant.CreateOptions{Name: "dev", Spec: tenant.Spec{Pool: "project-x"}}
	if err := ApplyCreateDefaults(r, &create); err != nil {
		t.Fatal(err)
	}
	if create.WarmPool == nil || create.WarmPool.Size != 2 || create.WarmPool.Sleeping {
		t.Errorf("create's warm pool: %+v", create.WarmPool)
	}
	tmpl, err := PoolTemplate(r, "project-x")
	if err != nil {
		t.Fatal(err)
	}
	a, _ := tenant.SpecHash(create.Spec, nil)
	b, _ := tenant.SpecHash(tmpl.Spec, nil)
	if a != b {
		t.Errorf("create --pool project-x hashes %s, the pool's spares %s:\ncreate %+v\nspares %+v", a, b, create, tmpl)
	}
	// A flag that changes the install makes the create not match.
	r.Flags = hostconfig.Flags{hostconfig.KeyChartVersion: "0.25.0"}
	flagged := tenant.CreateOptions{Name: "dev", Spec: tenant.Spec{Pool: "project-x"}}
	if err := ApplyCreateDefaults(r, &flagged); err != nil {
		t.Fatal(err)
	}
	if c, _ := tenant.SpecHash(flagged.Spec, nil); c == b {
		t.Error("create --chart-version 0.25.0 hashes like the pool's 0.34.0 spares")
	}
}
