// Package buildinfo is the build's version, set at link time: `version`
// prints it and `render` tags the gc image with it. A leaf, so no command
// package imports another for it.
package buildinfo

import (
	"runtime"
	"runtime/debug"

	"github.com/kubectl-tenant/kubectl-tenant/internal/support"
)

// Set at link time by goreleaser (-X). Left at these defaults (make build,
// go install, go build), Get fills them from Go's build information.
var (
	Version = "dev"
	Commit  = "none"
	Date    = "unknown"
)

// Info is what version prints.
type Info struct {
	Version   string    `json:"version"`
	Commit    string    `json:"commit"`
	Date      string    `json:"date"`
	GoVersion string    `json:"goVersion"`
	Platform  string    `json:"platform"`
	Supports  Supported `json:"supports"`
}

// Supported lists the versions kubectl-tenant is tested with: exactly
// support.Matrix, what the e2e suite runs against.
type Supported struct {
	Kubernetes string `json:"kubernetes"`
	VCluster   string `json:"vcluster"`
	ArgoCD     string `json:"argocd"`
}

// Get returns the build's version info.
func Get() Info {
	bi, _ := debug.ReadBuildInfo()
	v, c, d := stamp(Version, Commit, Date, bi)
	return Info{Version: v, Commit: c, Date: d, GoVersion: runtime.Version(),
		Platform: runtime.GOOS + "/" + runtime.GOARCH,
		Supports: Supported{Kubernetes: support.Versions(support.Kubernetes),
			VCluster: support.Versions(support.VCluster), ArgoCD: support.Versions(support.ArgoCD)}}
}

// stamp returns the link-time values, each one left at its default replaced
// from bi: the main module's version (`go install ...@vX.Y.Z`, or the
// pseudo-version Go derives from the checkout), the commit (vcs.revision,
// "-dirty" when vcs.modified says the tree had uncommitted changes) and the
// commit's time (vcs.time). A source build then still says what it was
// built from; a release's -X stamp always wins. bi may be nil.
func stamp(version, commit, date string, bi *debug.BuildInfo) (string, string, string) {
	if bi == nil {
		return version, commit, date
	}
	if version == "dev" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		version = bi.Main.Version
	}
	var rev, at string
	var modified bool
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			at = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if commit == "none" && rev != "" {
		commit = rev
		if modified {
			commit += "-dirty"
		}
	}
	if date == "unknown" && at != "" {
		date = at
	}
	return version, commit, date
}
