package vcluster

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/vclustervalues"
)

// TestSpecHashCoversWhatIsInstalled (N8): the spare hash changes with what
// this backend would install beyond the spec's fields (a local chart's
// contents, the tool's values) and not with what resolves to the same
// chart.
func TestSpecHashCoversWhatIsInstalled(t *testing.T) {
	b := &Backend{}
	hash := func(s tenant.Spec) string {
		t.Helper()
		h, err := tenant.SpecHash(s, b)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	dir := filepath.Join(t.TempDir(), "chart")
	if err := os.MkdirAll(filepath.Join(dir, "templates"), 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("Chart.yaml", "apiVersion: v2\nname: vcluster\nversion: 0.0.1\n")
	write("templates/cm.yaml", "kind: ConfigMap\n")
	local := tenant.Spec{Pool: "p", Chart: dir}
	before := hash(local)
	write("templates/cm.yaml", "kind: Secret\n")
	if hash(local) == before {
		t.Error("a local chart is hashed by its path: its changed templates give the same hash")
	}

	builtin := tenant.Spec{Pool: "p"}
	fp, err := b.SpecFingerprint(builtin)
	pinned, err2 := b.SpecFingerprint(tenant.Spec{Pool: "p", ChartVersion: vclustervalues.DefaultChartVersion})
	if err != nil || err2 != nil || fp != pinned {
		t.Errorf("the built-in chart without a version is not fingerprinted as its pinned version (%v, %v)", err, err2)
	}
	h0, _ := tenant.SpecHash(builtin, nil)
	if h0 == hash(builtin) {
		t.Error("the backend's fingerprint (its rendered values) is not in the hash")
	}
}
