package vcluster

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/registry"
	"helm.sh/helm/v3/pkg/repo"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
)

// chartRepo is a Helm chart repository over HTTP (index.yaml and chart
// archives, as `helm repo index` writes them) to which a test publishes
// versions of the chart vcluster.
type chartRepo struct {
	t      *testing.T
	dir    string
	srv    *httptest.Server
	reads  atomic.Int32 // index.yaml downloads
	closed bool
}

func newChartRepo(t *testing.T) *chartRepo {
	t.Helper()
	helmHome(t)
	r := &chartRepo{t: t, dir: t.TempDir()}
	files := http.FileServer(http.Dir(r.dir))
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if strings.HasSuffix(req.URL.Path, "/index.yaml") {
			r.reads.Add(1)
		}
		files.ServeHTTP(w, req)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

// helmHome keeps Helm's cache and configuration in the test's directory.
func helmHome(t *testing.T) {
	home := t.TempDir()
	for _, v := range []string{"HELM_CACHE_HOME", "HELM_CONFIG_HOME", "HELM_DATA_HOME"} {
		t.Setenv(v, filepath.Join(home, v))
	}
}

// publish adds version of the chart and rewrites the index.
func (r *chartRepo) publish(version string) {
	r.t.Helper()
	ch, err := loader.Load(testChart(r.t, r.t.TempDir(), "vcluster", version))
	if err != nil {
		r.t.Fatal(err)
	}
	if _, err := chartutil.Save(ch, r.dir); err != nil {
		r.t.Fatal(err)
	}
	idx, err := repo.IndexDirectory(r.dir, r.srv.URL)
	if err != nil {
		r.t.Fatal(err)
	}
	idx.SortEntries()
	if err := idx.WriteFile(filepath.Join(r.dir, "index.yaml"), 0o644); err != nil {
		r.t.Fatal(err)
	}
}

func specHash(t *testing.T, s tenant.Spec, b *Backend) string {
	t.Helper()
	h, err := tenant.SpecHash(s, b)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestSpecHashFollowsRepositoryLatest (N8): a repository chart with no
// version is hashed as the version Helm would install now, so a spare of
// an older "latest" is not claimed as fresh; a pinned version is hashed
// as itself without reading the repository; a repository that cannot be
// read fails the hash with one line rather than hash "latest".
func TestSpecHashFollowsRepositoryLatest(t *testing.T) {
	r := newChartRepo(t)
	r.publish("0.30.0")
	floating := tenant.Spec{Pool: "p", Chart: "vcluster", ChartRepo: r.srv.URL}
	before := specHash(t, floating, &Backend{})
	if again := specHash(t, floating, &Backend{}); again != before {
		t.Fatalf("the same repository gives two hashes: %s, %s", before, again)
	}
	pinned := floating
	pinned.ChartVersion = "0.30.0"

	r.publish("0.31.0")
	if after := specHash(t, floating, &Backend{}); after == before {
		t.Error("the repository's latest version went from 0.30.0 to 0.31.0 and the spare hash did not change")
	}
	ranged := floating
	ranged.ChartVersion = "~0.30"
	if h := specHash(t, ranged, &Backend{}); h == specHash(t, floating, &Backend{}) {
		t.Error("a range that resolves to 0.30.0 hashes like latest (0.31.0)")
	}

	reads := r.reads.Load()
	r.srv.Close()
	if h := specHash(t, pinned, &Backend{}); h == "" || r.reads.Load() != reads {
		t.Error("a pinned version read the repository to be hashed")
	}
	_, err := tenant.SpecHash(floating, &Backend{})
	if err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), r.srv.URL) {
		t.Errorf("hash of a chart whose repository is down: %v; want one line naming the repository", err)
	}
}

// TestInstallTakesTheHashedVersion: the install of a spec whose hash was
// just taken installs the version that hash named, even when the
// repository published another in between, and reads the index once for
// both; past pinFresh, the hash reads the repository again.
func TestInstallTakesTheHashedVersion(t *testing.T) {
	r := newChartRepo(t)
	r.publish("0.30.0")
	b := memBackend(t)
	s := tenant.Spec{Pool: "demo", Chart: "vcluster", ChartRepo: r.srv.URL}
	h := specHash(t, s, b)
	r.publish("0.31.0") // between the claim's hash and the install
	if err := b.Install(context.Background(), tenant.InstallRequest{Name: "demo", Namespace: "vcluster-demo", Spec: s}); err != nil {
		t.Fatal(err)
	}
	if got := lastConfig(t, b).Chart.Metadata.Version; got != "0.30.0" {
		t.Errorf("hashed at latest 0.30.0, installed %s", got)
	}
	if n := r.reads.Load(); n != 1 {
		t.Errorf("the hash and the install read the index %d times, want once", n)
	}
	if specHash(t, s, b) != h {
		t.Error("a second hash within pinFresh read the repository again")
	}
	b.pinMu.Lock()
	for k, p := range b.pins {
		p.at = p.at.Add(-pinFresh - time.Second)
		b.pins[k] = p
	}
	b.pinMu.Unlock()
	if specHash(t, s, b) == h {
		t.Error("past pinFresh the hash still names 0.30.0, the repository's latest is 0.31.0")
	}
}

// TestSpecHashFollowsOCILatest: an oci:// chart with neither tag nor
// version is hashed as the registry's newest tag; one with a tag is not
// looked up.
func TestSpecHashFollowsOCILatest(t *testing.T) {
	helmHome(t)
	var tags atomic.Value
	tags.Store([]string{"0.30.0"})
	var lists atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Path != "/v2/charts/vcluster/tags/list" {
			http.NotFound(w, req)
			return
		}
		lists.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"name": "charts/vcluster", "tags": tags.Load()})
	}))
	defer srv.Close()
	backend := func() *Backend { return &Backend{registryOpts: []registry.ClientOption{registry.ClientOptPlainHTTP()}} }
	ref := "oci://" + strings.TrimPrefix(srv.URL, "http://") + "/charts/vcluster"
	s := tenant.Spec{Pool: "p", Chart: ref}
	before := specHash(t, s, backend())
	tags.Store([]string{"0.30.0", "0.31.0", "latest"})
	if specHash(t, s, backend()) == before {
		t.Error("the registry's newest tag went from 0.30.0 to 0.31.0 and the spare hash did not change")
	}
	n := lists.Load()
	tagged := tenant.Spec{Pool: "p", Chart: ref + ":0.30.0"}
	specHash(t, tagged, backend())
	if lists.Load() != n {
		t.Error("a tagged reference listed the registry's tags to be hashed")
	}
	srv.Close()
	if _, err := tenant.SpecHash(s, backend()); err == nil || strings.Contains(err.Error(), "\n") {
		t.Errorf("hash of a chart whose registry is down: %v; want one line", err)
	}
}
