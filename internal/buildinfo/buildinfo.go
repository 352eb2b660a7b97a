// Package buildinfo is the build's version, set at link time: `version`
// prints it and `render` tags the gc image with it. A leaf, so no command
// package imports another for it.
package buildinfo

import "runtime"

// Set at link time by goreleaser (-X).
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

// Supported lists the versions kubectl-tenant is tested with.
type Supported struct {
	Kubernetes string `json:"kubernetes"`
	VCluster   string `json:"vcluster"`
	ArgoCD     string `json:"argocd"`
}

// Get returns the build's version info.
func Get() Info {
	return Info{Version: Version, Commit: Commit, Date: Date, GoVersion: runtime.Version(),
		Platform: runtime.GOOS + "/" + runtime.GOARCH,
		Supports: Supported{Kubernetes: "1.34", VCluster: "0.34 (chart)", ArgoCD: "v3.2, v2.14"}}
}
