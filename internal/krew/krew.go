// Package krew renders and checks the project's krew plugin manifest.
//
// The name "tenant" is taken in krew's central index, so kubectl-tenant is
// its own krew index: this repository, whose plugins/tenant.yaml krew reads
// after `kubectl krew index add kubectl-tenant <repo URL>`. The manifest is
// rendered from the krew-release-bot template krew/.krew.yaml (the same
// text/template functions, addURIAndSha and indent) with the release tag
// and the SHA-256 sums of goreleaser's archives.
//
// Validate applies the rules krew itself applies to a manifest before it
// installs from it (krew's internal/index/validation, which is not
// importable, and its validate-krew-manifest tool), re-stated here.
package krew

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path"
	"regexp"
	"strings"
	"text/template"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	k8sversion "k8s.io/apimachinery/pkg/util/version"
	"sigs.k8s.io/yaml"
)

// Manifest constants of krew's index format.
const (
	APIVersion = "krew.googlecontainertools.github.com/v1alpha2"
	Kind       = "Plugin"
)

// Plugin is a krew plugin manifest (krew's index.Plugin).
type Plugin struct {
	APIVersion string            `json:"apiVersion"`
	Kind       string            `json:"kind"`
	Metadata   metav1.ObjectMeta `json:"metadata"`
	Spec       PluginSpec        `json:"spec"`
}

// PluginSpec is the manifest's spec.
type PluginSpec struct {
	Version          string     `json:"version,omitempty"`
	ShortDescription string     `json:"shortDescription,omitempty"`
	Description      string     `json:"description,omitempty"`
	Caveats          string     `json:"caveats,omitempty"`
	Homepage         string     `json:"homepage,omitempty"`
	Platforms        []Platform `json:"platforms,omitempty"`
}

// Platform is one downloadable build.
type Platform struct {
	Selector *metav1.LabelSelector `json:"selector,omitempty"`
	URI      string                `json:"uri,omitempty"`
	Sha256   string                `json:"sha256,omitempty"`
	Files    []FileOperation       `json:"files"`
	Bin      string                `json:"bin,omitempty"`
}

// FileOperation copies From (a glob in the archive) to To.
type FileOperation struct {
	From string `json:"from,omitempty"`
	To   string `json:"to,omitempty"`
}

// Parse decodes a manifest strictly: an unknown or misspelt field is an
// error (krew would silently drop it).
func Parse(b []byte) (Plugin, error) {
	var p Plugin
	if err := yaml.UnmarshalStrict(b, &p); err != nil {
		return p, fmt.Errorf("decode plugin manifest: %w", err)
	}
	return p, nil
}

// SupportedPlatforms are the os/arch pairs krew's validate-krew-manifest
// checks every selector against.
var SupportedPlatforms = []OSArch{
	{"darwin", "386"}, {"darwin", "amd64"}, {"darwin", "arm64"},
	{"linux", "386"}, {"linux", "amd64"}, {"linux", "arm"}, {"linux", "arm64"}, {"linux", "ppc64le"},
	{"windows", "386"}, {"windows", "amd64"}, {"windows", "arm64"},
}

// OSArch is a platform.
type OSArch struct{ OS, Arch string }

func (o OSArch) String() string { return o.OS + "/" + o.Arch }

var (
	safeName  = regexp.MustCompile(`^[\w-]+$`)
	sha256Hex = regexp.MustCompile(`^[a-f0-9]{64}$`)
	// Windows device names krew refuses as plugin names.
	windowsReserved = []string{"CON", "PRN", "AUX", "NUL",
		"COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8", "COM9",
		"LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9"}
)

// Validate checks the manifest of plugin name (its file name without .yaml)
// as krew does: apiVersion and kind, a safe name equal to metadata.name, a
// one-line short description, a v-prefixed semantic version, and platforms
// each with uri, a lowercase hex sha256, bin, well-formed files and an
// os/arch-only selector that selects a supported platform, no two
// platforms selecting the same one.
func Validate(name string, p Plugin) error {
	if p.APIVersion != APIVersion {
		return fmt.Errorf("apiVersion %q: want %q", p.APIVersion, APIVersion)
	}
	if p.Kind != Kind {
		return fmt.Errorf("kind %q: want %q", p.Kind, Kind)
	}
	if !safeName.MatchString(name) {
		return fmt.Errorf("plugin name %q does not match %s", name, safeName)
	}
	for _, r := range windowsReserved {
		if strings.EqualFold(r, name) {
			return fmt.Errorf("plugin name %q is a reserved Windows device name", name)
		}
	}
	if p.Metadata.Name != name {
		return fmt.Errorf("metadata.name %q: the manifest file says %q", p.Metadata.Name, name)
	}
	if p.Spec.ShortDescription == "" {
		return errors.New("spec.shortDescription is empty")
	}
	if strings.ContainsAny(p.Spec.ShortDescription, "\r\n") {
		return errors.New("spec.shortDescription has a line break")
	}
	if !strings.HasPrefix(p.Spec.Version, "v") {
		return fmt.Errorf("spec.version %q does not start with v", p.Spec.Version)
	}
	if _, err := k8sversion.ParseSemantic(p.Spec.Version); err != nil {
		return fmt.Errorf("spec.version: %w", err)
	}
	if len(p.Spec.Platforms) == 0 {
		return errors.New("spec.platforms is empty")
	}
	for i, pl := range p.Spec.Platforms {
		if err := validatePlatform(pl); err != nil {
			return fmt.Errorf("spec.platforms[%d]: %w", i, err)
		}
	}
	for _, env := range SupportedPlatforms {
		var idx []int
		for i, pl := range p.Spec.Platforms {
			if Selects(pl.Selector, env) {
				idx = append(idx, i)
			}
		}
		if len(idx) > 1 {
			return fmt.Errorf("spec.platforms %v all select %s", idx, env)
		}
	}
	return nil
}

func validatePlatform(p Platform) error {
	switch {
	case p.URI == "":
		return errors.New("uri is empty")
	case p.Sha256 == "":
		return errors.New("sha256 is empty")
	case !sha256Hex.MatchString(p.Sha256):
		return fmt.Errorf("sha256 %q is not 64 lowercase hex digits", p.Sha256)
	case p.Bin == "":
		return errors.New("bin is empty")
	}
	if p.Files != nil && len(p.Files) == 0 {
		return errors.New("files is given but empty")
	}
	for _, f := range p.Files {
		if f.From == "" || f.To == "" {
			return fmt.Errorf("files entry %+v needs from and to", f)
		}
	}
	sel := p.Selector
	if sel == nil || (sel.MatchLabels == nil && len(sel.MatchExpressions) == 0) {
		return errors.New("selector is missing or empty")
	}
	if sel.MatchLabels != nil && len(sel.MatchLabels) == 0 {
		return errors.New("selector.matchLabels is given but empty")
	}
	if sel.MatchExpressions != nil && len(sel.MatchExpressions) == 0 {
		return errors.New("selector.matchExpressions is given but empty")
	}
	for k := range sel.MatchLabels {
		if k != "os" && k != "arch" {
			return fmt.Errorf("selector key %q: only os and arch are supported", k)
		}
	}
	for _, e := range sel.MatchExpressions {
		if e.Key != "os" && e.Key != "arch" {
			return fmt.Errorf("selector key %q: only os and arch are supported", e.Key)
		}
	}
	for _, env := range SupportedPlatforms {
		if Selects(sel, env) {
			return nil
		}
	}
	return fmt.Errorf("selector %v selects no supported platform", sel)
}

// Selects reports whether sel picks the platform env.
func Selects(sel *metav1.LabelSelector, env OSArch) bool {
	if sel == nil {
		return false
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return false
	}
	return s.Matches(labels.Set{"os": env.OS, "arch": env.Arch})
}

// SHA256Func returns the SHA-256 sum of the asset at url.
type SHA256Func func(url string) (string, error)

// Render executes the krew-release-bot template tmpl for tag, as the bot
// does: addURIAndSha renders its URL argument as a template with
// .TagName and yields "uri: URL\n    sha256: SUM"; indent is the bot's.
func Render(tmpl []byte, tag string, sum SHA256Func) ([]byte, error) {
	var failed error
	funcs := template.FuncMap{
		"indent": indent,
		"addURIAndSha": func(url, tag string) string {
			var b bytes.Buffer
			t, err := template.New("url").Parse(url)
			if err == nil {
				err = t.Execute(&b, struct{ TagName string }{tag})
			}
			var s string
			if err == nil {
				s, err = sum(b.String())
			}
			if err != nil {
				failed = errors.Join(failed, fmt.Errorf("addURIAndSha %s: %w", b.String(), err))
			}
			return fmt.Sprintf("uri: %s\n    sha256: %s", b.String(), s)
		},
	}
	t, err := template.New(".krew.yaml").Funcs(funcs).Parse(string(tmpl))
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := t.Execute(&out, struct{ TagName string }{tag}); err != nil {
		return nil, err
	}
	if failed != nil {
		return nil, failed
	}
	return out.Bytes(), nil
}

// indent is krew-release-bot's template function of the same name.
func indent(spaces int, v string) string {
	v = strings.ReplaceAll(v, "    sha256:", "sha256:")
	pad := strings.Repeat(" ", spaces)
	return strings.TrimSpace(pad + strings.ReplaceAll(v, "\n", "\n"+pad))
}

// ChecksumsFile reads goreleaser's checksums.txt ("SUM  NAME" lines) and
// returns a SHA256Func answering for URLs whose last element is a NAME in
// it.
func ChecksumsFile(file string) (SHA256Func, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sums := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 2 {
			sums[strings.TrimPrefix(fields[1], "*")] = fields[0]
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return func(url string) (string, error) {
		if s, ok := sums[path.Base(url)]; ok {
			return s, nil
		}
		return "", fmt.Errorf("%s is not in %s", path.Base(url), file)
	}, nil
}
