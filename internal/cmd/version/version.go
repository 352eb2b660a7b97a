// Package version implements `kubectl tenant version`.
package version

import (
	"fmt"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/kubectl-tenant/kubectl-tenant/internal/cmdutil"
)

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

// NewCmdVersion builds the command.
func NewCmdVersion(f *cmdutil.Factory) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version of kubectl-tenant and what it supports",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := cmdutil.ValidateOutput(output, "", "json", "yaml"); err != nil {
				return err
			}
			i := Get()
			if output != "" {
				return cmdutil.PrintObject(f.IOStreams.Out, output, i)
			}
			_, err := fmt.Fprintf(f.IOStreams.Out, "kubectl-tenant %s (commit %s, built %s, %s, %s)\nsupports Kubernetes %s, vCluster %s, Argo CD %s\n",
				i.Version, i.Commit, i.Date, i.GoVersion, i.Platform, i.Supports.Kubernetes, i.Supports.VCluster, i.Supports.ArgoCD)
			return err
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "output format: json|yaml")
	return cmd
}
