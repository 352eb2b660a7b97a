package tenant_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
)

func poolTemplate() tenant.CreateOptions {
	return tenant.CreateOptions{Spec: tenant.Spec{Chart: "vcluster", ChartVersion: "0.34.0", Values: map[string]any{"a": "b"}}}
}

func TestSpecHash(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "v.yaml")
	if err := os.WriteFile(f, []byte("x: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	base := poolTemplate()
	base.Pool = "p"
	h := func(o tenant.CreateOptions) string {
		s, err := tenant.SpecHash(o.Spec, nil)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	named := base
	named.Name, named.Labels, named.TTL = "any", map[string]string{"team": "a"}, time.Hour
	if h(named) != h(base) {
		t.Error("the tenant's name, labels and ttl changed the spec hash; a spare is installed before they are known")
	}
	withFile := base
	withFile.ValuesFiles = []string{f}
	for what, o := range map[string]tenant.CreateOptions{
		"values file": withFile,
		"pool":        func() tenant.CreateOptions { o := base; o.Pool = "q"; return o }(),
		"version":     func() tenant.CreateOptions { o := base; o.ChartVersion = "0.25.0"; return o }(),
		"values":      func() tenant.CreateOptions { o := base; o.Values = map[string]any{"a": "c"}; return o }(),
		"isolation":   func() tenant.CreateOptions { o := base; o.Isolation = true; return o }(),
	} {
		if h(o) == h(base) {
			t.Errorf("a different %s gives the same spec hash", what)
		}
	}
	before := h(withFile)
	if err := os.WriteFile(f, []byte("x: 2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if h(withFile) == before {
		t.Error("a values file's contents are not in the spec hash, only its name")
	}
}
