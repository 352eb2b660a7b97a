package vcluster

import (
	"cmp"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"
	"helm.sh/helm/v3/pkg/cli"
	"helm.sh/helm/v3/pkg/getter"
	"helm.sh/helm/v3/pkg/registry"
	"helm.sh/helm/v3/pkg/repo"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/vclustervalues"
)

// chartSource is where a spec's chart comes from: a reference (a chart
// name in repoURL, or an oci:// reference) at version, which may be a
// range or empty ("latest"), or a local chart (path).
type chartSource struct {
	ref, repoURL, version string
	path                  string // a local chart; the rest is then unused
}

// sourceOf says where s's chart comes from: empty Chart is the built-in
// chart at its pinned version, a bare name with no repository is in the
// default repository (never a folder of that name in the working
// directory).
func sourceOf(s tenant.Spec) chartSource {
	if path, ok := localChart(tenant.InstallRequest{Spec: s}); ok {
		return chartSource{path: path}
	}
	src := chartSource{ref: s.Chart, repoURL: s.ChartRepo, version: s.ChartVersion}
	if src.ref == "" {
		src.ref, src.version = vclustervalues.DefaultChart, cmp.Or(src.version, vclustervalues.DefaultChartVersion)
		src.repoURL = cmp.Or(src.repoURL, vclustervalues.DefaultChartRepo)
	}
	if !registry.IsOCI(src.ref) && src.repoURL == "" {
		src.repoURL = vclustervalues.DefaultChartRepo
	}
	return src
}

// floating says the source names no one chart: a repository chart, or an
// oci:// reference with neither tag nor digest, whose version is empty or
// a range. What it installs changes when the repository publishes a
// version.
func (c chartSource) floating() bool {
	if c.path != "" {
		return false
	}
	if registry.IsOCI(c.ref) {
		last := c.ref[strings.LastIndex(c.ref, "/")+1:]
		if strings.ContainsAny(last, ":@") {
			return false // the reference's tag or digest (Helm checks a version against it)
		}
	}
	_, err := semver.StrictNewVersion(strings.TrimPrefix(c.version, "v"))
	return err != nil
}

// pinned is a chart source resolved as Helm resolves it at install: the
// newest version in the repository's index (or the OCI repository's tags)
// that satisfies the source's version.
type pinned struct {
	version string
	url     string // the chart archive's absolute URL (a repository chart)
	at      time.Time
}

// How long a resolved version is reused. The spare hash (SpecFingerprint)
// resolves again past pinFresh, so one operation reads the index once but
// a long-lived process (the TUI) sees a new release within a minute; an
// install reuses a resolution up to pinKeep old, so it installs the version
// the hash before it named, however long the operation took in between.
const (
	pinFresh = time.Minute
	pinKeep  = 15 * time.Minute
)

// pin resolves src (a repository chart or an oci:// reference) to one
// version, reusing a resolution at most maxAge old. Failing to read the
// repository is one line naming the chart and the repository.
func (b *Backend) pin(src chartSource, maxAge time.Duration) (pinned, error) {
	b.pinMu.Lock()
	defer b.pinMu.Unlock()
	if p, ok := b.pins[src]; ok && time.Since(p.at) <= maxAge {
		return p, nil
	}
	var (
		p   pinned
		err error
	)
	if registry.IsOCI(src.ref) {
		p, err = b.pinOCI(src)
	} else {
		p, err = pinRepo(src)
	}
	if err != nil {
		what := "version " + src.version
		if src.version == "" {
			what = "latest version"
		}
		where := src.repoURL
		if where == "" {
			where = src.ref
		}
		return pinned{}, fmt.Errorf("chart %s: cannot resolve its %s from %s: %s", src.ref, what, where, tenant.FirstLine(err.Error()))
	}
	p.at = time.Now()
	if b.pins == nil {
		b.pins = map[chartSource]pinned{}
	}
	b.pins[src] = p
	return p, nil
}

// pinRepo reads the repository's index.yaml, as Helm's
// repo.FindChartInRepoURL does for an install (same getters, the index in
// a temporary cache), and takes the chart's version there.
func pinRepo(src chartSource) (pinned, error) {
	settings := cli.New()
	dir, err := os.MkdirTemp("", "kubectl-tenant-index-")
	if err != nil {
		return pinned{}, err
	}
	defer os.RemoveAll(dir)
	r, err := repo.NewChartRepository(&repo.Entry{Name: "pin", URL: src.repoURL}, getter.All(settings))
	if err != nil {
		return pinned{}, err
	}
	r.CachePath = dir
	idxFile, err := r.DownloadIndexFile()
	if err != nil {
		return pinned{}, err
	}
	idx, err := repo.LoadIndexFile(idxFile)
	if err != nil {
		return pinned{}, err
	}
	cv, err := idx.Get(src.ref, src.version)
	if err != nil {
		return pinned{}, fmt.Errorf("no version of chart %q matches %q in the index", src.ref, src.version)
	}
	if len(cv.URLs) == 0 {
		return pinned{}, fmt.Errorf("chart %q version %s has no download URL", src.ref, cv.Version)
	}
	u, err := repo.ResolveReferenceURL(src.repoURL, cv.URLs[0])
	if err != nil {
		return pinned{}, err
	}
	return pinned{version: cv.Version, url: u}, nil
}

// pinOCI lists the OCI repository's tags and takes the newest that
// satisfies the version, as Helm's registry client does at install.
func (b *Backend) pinOCI(src chartSource) (pinned, error) {
	rc, err := b.registryClient()
	if err != nil {
		return pinned{}, err
	}
	tags, err := rc.Tags(strings.TrimPrefix(src.ref, registry.OCIScheme+"://"))
	if err != nil {
		return pinned{}, err
	}
	if len(tags) == 0 {
		return pinned{}, fmt.Errorf("no tags in %s", src.ref)
	}
	tag, err := registry.GetTagMatchingVersionOrConstraint(tags, src.version)
	if err != nil {
		return pinned{}, err
	}
	return pinned{version: tag}, nil
}

func (b *Backend) registryClient() (*registry.Client, error) {
	return registry.NewClient(b.registryOpts...)
}
