package vcluster

import (
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
// resolves to: the built-in chart's pinned version for an empty one, a
// local chart's contents rather than its path, and for a floating version
// (a repository or OCI chart with no version, or a range) the version
// Helm would install now, read from the repository's index or tags (once
// a minute at most, see pin; the install then takes that same version).
// A repository that cannot be read is an error, not a hash of "latest".
func (b *Backend) SpecFingerprint(s tenant.Spec) (string, error) {
	tool, err := vclustervalues.For(specName, s.Pool, s.K8sVersion, s.Isolation)
	if err != nil {
		return "", err
	}
	src := sourceOf(s)
	chart := src.version
	switch {
	case src.path != "":
		if chart, err = digest(src.path); err != nil {
			return "", err
		}
	case src.floating():
		p, err := b.pin(src, pinFresh)
		if err != nil {
			return "", err
		}
		chart = p.version
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
