// Package version implements `kubectl tenant version`.
package version

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/kubectl-tenant/kubectl-tenant/internal/buildinfo"
	"github.com/kubectl-tenant/kubectl-tenant/internal/cmdutil"
)

// Info is what version prints.
type Info = buildinfo.Info

// Get returns the build's version info.
func Get() Info { return buildinfo.Get() }

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
