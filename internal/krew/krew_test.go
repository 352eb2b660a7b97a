package krew

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

const (
	templateFile = "../../krew/.krew.yaml"
	// The repository is the krew index: krew reads <repo>/plugins/*.yaml.
	manifestFile = "../../plugins/tenant.yaml"
	releaseFile  = "../../.goreleaser.yaml"
	releases     = "https://github.com/kubectl-tenant/kubectl-tenant/releases/download/"
)

// fakeSum stands in for downloading the asset: a fixed function of its URL.
func fakeSum(url string) (string, error) {
	s := sha256.Sum256([]byte(url))
	return hex.EncodeToString(s[:]), nil
}

func read(t *testing.T, f string) []byte {
	t.Helper()
	b, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// wantPlatforms are the builds .goreleaser.yaml makes and krew must offer.
var wantPlatforms = []OSArch{
	{"darwin", "amd64"}, {"darwin", "arm64"},
	{"linux", "amd64"}, {"linux", "arm64"},
	{"windows", "amd64"}, {"windows", "arm64"},
}

func TestTemplateRendersValidManifest(t *testing.T) {
	const tag = "v1.2.3"
	b, err := Render(read(t, templateFile), tag, fakeSum)
	if err != nil {
		t.Fatal(err)
	}
	p, err := Parse(b)
	if err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	if err := Validate("tenant", p); err != nil {
		t.Fatalf("rendered manifest: %v\n%s", err, b)
	}
	if p.Spec.Version != tag {
		t.Errorf("version %q, want %q", p.Spec.Version, tag)
	}
	for _, s := range []string{"kubectl_complete-tenant", "__complete", "completion"} {
		if !strings.Contains(p.Spec.Caveats, s) {
			t.Errorf("caveats do not mention %q", s)
		}
	}
	if p.Spec.Homepage == "" || p.Spec.Description == "" {
		t.Error("homepage and description must be set")
	}
	for _, env := range wantPlatforms {
		var got *Platform
		for i := range p.Spec.Platforms {
			if Selects(p.Spec.Platforms[i].Selector, env) {
				got = &p.Spec.Platforms[i]
			}
		}
		if got == nil {
			t.Errorf("no platform for %s", env)
			continue
		}
		ext, bin := ".tar.gz", "kubectl-tenant"
		if env.OS == "windows" {
			ext, bin = ".zip", "kubectl-tenant.exe"
		}
		wantURI := releases + tag + "/kubectl-tenant_" + tag + "_" + env.OS + "_" + env.Arch + ext
		if got.URI != wantURI {
			t.Errorf("%s: uri %s, want %s", env, got.URI, wantURI)
		}
		if sum, _ := fakeSum(wantURI); got.Sha256 != sum {
			t.Errorf("%s: sha256 %s is not the sum of its uri's asset", env, got.Sha256)
		}
		if got.Bin != bin {
			t.Errorf("%s: bin %q, want %q", env, got.Bin, bin)
		}
		var from []string
		for _, f := range got.Files {
			from = append(from, f.From)
		}
		if !slices.Contains(from, bin) || !slices.Contains(from, "LICENSE") {
			t.Errorf("%s: files %v must install %s and LICENSE", env, from, bin)
		}
		if env.OS != "windows" && !slices.Contains(from, "kubectl_complete-tenant") {
			t.Errorf("%s: files %v must install kubectl_complete-tenant", env, from)
		}
	}
	if len(p.Spec.Platforms) != len(wantPlatforms) {
		t.Errorf("%d platforms, want %d", len(p.Spec.Platforms), len(wantPlatforms))
	}
}

// TestIndexManifest checks the manifest krew installs from, and that it is
// the template rendered for its own version (so the two never drift apart:
// re-render with go run ./internal/krew/render after editing the template).
func TestIndexManifest(t *testing.T) {
	static := read(t, manifestFile)
	p, err := Parse(static)
	if err != nil {
		t.Fatal(err)
	}
	name := strings.TrimSuffix(filepath.Base(manifestFile), ".yaml")
	if err := Validate(name, p); err != nil {
		t.Fatalf("%s: %v", manifestFile, err)
	}
	sums := map[string]string{}
	for _, pl := range p.Spec.Platforms {
		sums[pl.URI] = pl.Sha256
	}
	rendered, err := Render(read(t, templateFile), p.Spec.Version, func(url string) (string, error) {
		if s, ok := sums[url]; ok {
			return s, nil
		}
		t.Errorf("template asks for %s, which %s does not list", url, manifestFile)
		return strings.Repeat("0", 64), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(rendered, static) {
		t.Errorf("%s is not %s rendered for %s: run go run ./internal/krew/render -tag %s (with that release's dist/checksums.txt)",
			manifestFile, templateFile, p.Spec.Version, p.Spec.Version)
	}
}

// TestArchiveNamesMatchRelease ties the template's URLs to .goreleaser.yaml.
func TestArchiveNamesMatchRelease(t *testing.T) {
	var cfg struct {
		ProjectName string `json:"project_name"`
		Archives    []struct {
			NameTemplate string `json:"name_template"`
		} `json:"archives"`
	}
	if err := yaml.Unmarshal(read(t, releaseFile), &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.ProjectName != "kubectl-tenant" || len(cfg.Archives) != 1 ||
		cfg.Archives[0].NameTemplate != "{{ .ProjectName }}_{{ .Tag }}_{{ .Os }}_{{ .Arch }}" {
		t.Fatalf("the krew template expects archives named kubectl-tenant_<tag>_<os>_<arch>; .goreleaser.yaml has %+v", cfg)
	}
}

func TestChecksumsFile(t *testing.T) {
	f := filepath.Join(t.TempDir(), "checksums.txt")
	a := strings.Repeat("a", 64)
	if err := os.WriteFile(f, []byte(a+"  kubectl-tenant_v1.0.0_linux_amd64.tar.gz\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	sum, err := ChecksumsFile(f)
	if err != nil {
		t.Fatal(err)
	}
	if s, err := sum(releases + "v1.0.0/kubectl-tenant_v1.0.0_linux_amd64.tar.gz"); err != nil || s != a {
		t.Errorf("got %q, %v", s, err)
	}
	if _, err := sum(releases + "v1.0.0/kubectl-tenant_v1.0.0_linux_arm64.tar.gz"); err == nil {
		t.Error("an asset missing from checksums.txt must fail the render")
	}
	if _, err := Render([]byte(`{{addURIAndSha "https://x/{{ .TagName }}/missing.tar.gz" .TagName}}`), "v1.0.0", sum); err == nil {
		t.Error("Render must fail when a sum is missing")
	}
}

func TestIndent(t *testing.T) {
	got := indent(4, "uri: https://x\n    sha256: abc")
	if want := "uri: https://x\n    sha256: abc"; got != want {
		t.Errorf("indent = %q, want %q", got, want)
	}
}

func TestValidateRejects(t *testing.T) {
	good := func() Plugin {
		return Plugin{
			APIVersion: APIVersion, Kind: Kind,
			Metadata: metav1.ObjectMeta{Name: "tenant"},
			Spec: PluginSpec{Version: "v1.0.0", ShortDescription: "short", Platforms: []Platform{{
				Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"os": "linux", "arch": "amd64"}},
				URI:      "https://x/a.tar.gz", Sha256: strings.Repeat("a", 64), Bin: "kubectl-tenant",
			}}},
		}
	}
	if err := Validate("tenant", good()); err != nil {
		t.Fatalf("good manifest: %v", err)
	}
	for name, mut := range map[string]func(*Plugin){
		"apiVersion":          func(p *Plugin) { p.APIVersion = "krew.googlecontainertools.github.com/v1alpha1" },
		"kind":                func(p *Plugin) { p.Kind = "Plugins" },
		"name mismatch":       func(p *Plugin) { p.Metadata.Name = "tenants" },
		"multi-line short":    func(p *Plugin) { p.Spec.ShortDescription = "a\nb" },
		"no short":            func(p *Plugin) { p.Spec.ShortDescription = "" },
		"version without v":   func(p *Plugin) { p.Spec.Version = "1.0.0" },
		"version not semver":  func(p *Plugin) { p.Spec.Version = "v1.0" },
		"no platforms":        func(p *Plugin) { p.Spec.Platforms = nil },
		"uppercase sha":       func(p *Plugin) { p.Spec.Platforms[0].Sha256 = strings.Repeat("A", 64) },
		"short sha":           func(p *Plugin) { p.Spec.Platforms[0].Sha256 = "abc" },
		"no uri":              func(p *Plugin) { p.Spec.Platforms[0].URI = "" },
		"no bin":              func(p *Plugin) { p.Spec.Platforms[0].Bin = "" },
		"empty files":         func(p *Plugin) { p.Spec.Platforms[0].Files = []FileOperation{} },
		"file without to":     func(p *Plugin) { p.Spec.Platforms[0].Files = []FileOperation{{From: "LICENSE"}} },
		"no selector":         func(p *Plugin) { p.Spec.Platforms[0].Selector = nil },
		"selector key":        func(p *Plugin) { p.Spec.Platforms[0].Selector.MatchLabels["distro"] = "debian" },
		"unsupported os":      func(p *Plugin) { p.Spec.Platforms[0].Selector.MatchLabels["os"] = "plan9" },
		"overlapping":         func(p *Plugin) { p.Spec.Platforms = append(p.Spec.Platforms, p.Spec.Platforms[0]) },
		"empty matchLabels":   func(p *Plugin) { p.Spec.Platforms[0].Selector.MatchLabels = map[string]string{} },
		"reserved name (CON)": func(p *Plugin) { p.Metadata.Name = "con" },
	} {
		p := good()
		mut(&p)
		n := "tenant"
		if p.Metadata.Name == "con" {
			n = "con"
		}
		if err := Validate(n, p); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := Parse([]byte("apiVersion: x\nkind: Plugin\nspec:\n  shortDescripton: typo\n")); err == nil {
		t.Error("Parse accepted an unknown field")
	}
}
