package vcluster

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/vclustervalues"
)

var _ tenant.SpecFingerprinter = (*Backend)(nil)

// specName stands in for the tenant's name in SpecFingerprint: a spare is
// installed before its tenant's name is known.
const specName = "spare-00000000"

// SpecFingerprint implements tenant.SpecFingerprinter: the tool's own
// values as this binary renders them, this binary's build, and the chart s
// resolves to (the built-in chart's pinned version for an empty one, a
// local chart's contents rather than its path). A chart of a repository
// without a version stays "latest": resolving it would download the index.
func (b *Backend) SpecFingerprint(s tenant.Spec) (string, error) {
	tool, err := vclustervalues.For(specName, s.Pool, s.K8sVersion, s.Isolation)
	if err != nil {
		return "", err
	}
	chart := s.ChartVersion
	if s.Chart == "" {
		chart = cmp.Or(s.ChartVersion, vclustervalues.DefaultChartVersion)
	}
	if path, ok := localChart(tenant.InstallRequest{Spec: s}); ok {
		if chart, err = digest(path); err != nil {
			return "", err
		}
	}
	build := ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		build = bi.Main.Version
	}
	data, err := json.Marshal(struct {
		Tool         map[string]any
		Chart, Build string
	}{tool, chart, build})
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:]), nil
}

// digest hashes a local chart, a directory or an archive, by its contents.
func digest(path string) (string, error) {
	h := sha256.New()
	err := filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(path, p)
		h.Write([]byte(rel + "\x00"))
		sum := sha256.Sum256(b)
		h.Write(sum[:])
		return nil
	})
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
