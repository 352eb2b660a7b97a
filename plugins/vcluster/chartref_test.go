package vcluster

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
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

// ociRegistry is an OCI registry over HTTP holding the chart vcluster in
// repository charts/vcluster: the tags list, manifests by tag or digest,
// blobs by digest; enough for Helm's registry client to list and pull.
type ociRegistry struct {
	t     *testing.T
	mu    sync.Mutex
	tags  []string
	blobs map[string][]byte // by digest: manifests, configs, chart archives
	srv   *httptest.Server
	lists atomic.Int32
}

func newOCIRegistry(t *testing.T) *ociRegistry {
	r := &ociRegistry{t: t, blobs: map[string][]byte{}}
	const prefix = "/v2/charts/vcluster/"
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		defer r.mu.Unlock()
		rest, ok := strings.CutPrefix(req.URL.Path, prefix)
		switch {
		case ok && rest == "tags/list":
			r.lists.Add(1)
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(map[string]any{"name": "charts/vcluster", "tags": r.tags})
			return
		case ok && strings.HasPrefix(rest, "manifests/"), ok && strings.HasPrefix(rest, "blobs/"):
			ref := rest[strings.Index(rest, "/")+1:]
			b, found := r.blobs[ref]
			if !found {
				break
			}
			d := digestOf(b)
			if strings.HasPrefix(rest, "manifests/") {
				w.Header().Set("Content-Type", ociManifest)
			} else {
				w.Header().Set("Content-Type", "application/octet-stream")
			}
			w.Header().Set("Docker-Content-Digest", d)
			w.Header().Set("Content-Length", strconv.Itoa(len(b)))
			if req.Method != http.MethodHead {
				_, _ = w.Write(b)
			}
			return
		}
		http.NotFound(w, req)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

// ociManifest is the OCI image manifest's media type.
const ociManifest = "application/vnd.oci.image.manifest.v1+json"

func digestOf(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// ref is the oci:// reference of the repository, without a tag.
func (r *ociRegistry) ref() string {
	return "oci://" + strings.TrimPrefix(r.srv.URL, "http://") + "/charts/vcluster"
}

// push publishes version of the chart as a tag.
func (r *ociRegistry) push(version string) {
	r.t.Helper()
	ch, err := loader.Load(testChart(r.t, r.t.TempDir(), "vcluster", version))
	if err != nil {
		r.t.Fatal(err)
	}
	path, err := chartutil.Save(ch, r.t.TempDir())
	if err != nil {
		r.t.Fatal(err)
	}
	archive, err := os.ReadFile(path)
	if err != nil {
		r.t.Fatal(err)
	}
	config, _ := json.Marshal(ch.Metadata)
	desc := func(mt string, b []byte) map[string]any {
		return map[string]any{"mediaType": mt, "digest": digestOf(b), "size": len(b)}
	}
	manifest, _ := json.Marshal(map[string]any{
		"schemaVersion": 2, "mediaType": ociManifest,
		"config": desc(registry.ConfigMediaType, config),
		"layers": []any{desc(registry.ChartLayerMediaType, archive)},
	})
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, b := range [][]byte{config, archive, manifest} {
		r.blobs[digestOf(b)] = b
	}
	r.blobs[version] = manifest
	r.tags = append(r.tags, version)
}

// TestOCIInstallTakesTheHashedVersion: an oci:// chart with neither tag
// nor version is hashed as the registry's newest tag and installed at that
// tag, even when a newer one is pushed in between; a tagged reference is
// hashed without listing tags; a registry that cannot be reached fails
// the hash with one line.
func TestOCIInstallTakesTheHashedVersion(t *testing.T) {
	helmHome(t)
	reg := newOCIRegistry(t)
	reg.push("0.30.0")
	plain := []registry.ClientOption{registry.ClientOptPlainHTTP()}
	fresh := func() *Backend { return &Backend{registryOpts: plain} }
	s := tenant.Spec{Pool: "demo", Chart: reg.ref()}
	before := specHash(t, s, fresh())
	reg.push("0.31.0")
	b := memBackend(t)
	b.registryOpts = plain
	h := specHash(t, s, b)
	if h == before {
		t.Error("the registry's newest tag went from 0.30.0 to 0.31.0 and the spare hash did not change")
	}
	reg.push("0.32.0") // between the claim's hash and the install
	if err := b.Install(context.Background(), tenant.InstallRequest{Name: "demo", Namespace: "vcluster-demo", Spec: s}); err != nil {
		t.Fatal(err)
	}
	if got := lastConfig(t, b).Chart.Metadata.Version; got != "0.31.0" {
		t.Errorf("hashed at newest tag 0.31.0, installed %s", got)
	}
	n := reg.lists.Load()
	specHash(t, tenant.Spec{Pool: "p", Chart: reg.ref() + ":0.30.0"}, fresh())
	if reg.lists.Load() != n {
		t.Error("a tagged reference listed the registry's tags to be hashed")
	}
	reg.srv.Close()
	if _, err := tenant.SpecHash(s, fresh()); err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), reg.ref()) {
		t.Errorf("hash of a chart whose registry is down: %v; want one line naming the reference", err)
	}
}
