// Package root assembles the kubectl-tenant command tree.
package root

import (
	"github.com/spf13/cobra"

	"github.com/kubectl-tenant/kubectl-tenant/internal/cmd/completion"
	"github.com/kubectl-tenant/kubectl-tenant/internal/cmd/connect"
	"github.com/kubectl-tenant/kubectl-tenant/internal/cmd/create"
	deletecmd "github.com/kubectl-tenant/kubectl-tenant/internal/cmd/delete"
	"github.com/kubectl-tenant/kubectl-tenant/internal/cmd/disconnect"
	"github.com/kubectl-tenant/kubectl-tenant/internal/cmd/list"
	"github.com/kubectl-tenant/kubectl-tenant/internal/cmd/status"
	"github.com/kubectl-tenant/kubectl-tenant/internal/cmd/version"
	"github.com/kubectl-tenant/kubectl-tenant/internal/cmdutil"
)

// NewCmdRoot returns `kubectl tenant` with every subcommand.
func NewCmdRoot(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "kubectl-tenant",
		Short: "Private, throw-away Kubernetes clusters (vClusters) registered with your GitOps platform",
		Long: `kubectl tenant gives you a private virtual cluster on the shared host cluster in minutes:
created on your project's node pool, connected as a kubeconfig context, and torn down completely.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Annotations:   map[string]string{cobra.CommandDisplayNameAnnotation: "kubectl tenant"},
		PersistentPreRun: func(*cobra.Command, []string) {
			f.TakeTokenFromEnv()
		},
	}
	cmd.SetIn(f.IOStreams.In)
	cmd.SetOut(f.IOStreams.Out)
	cmd.SetErr(f.IOStreams.ErrOut)
	f.ConfigFlags.AddFlags(cmd.PersistentFlags())
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return cmdutil.UsageError{Err: err} })
	cmd.AddCommand(
		create.NewCmdCreate(f, nil),
		connect.NewCmdConnect(f, nil),
		disconnect.NewCmdDisconnect(f, nil),
		deletecmd.NewCmdDelete(f, nil),
		list.NewCmdList(f, nil),
		status.NewCmdStatus(f, nil),
		version.NewCmdVersion(f),
		completion.NewCmdCompletion(f),
	)
	for _, c := range cmd.Commands() {
		wrapArgs(c)
	}
	return cmd
}

// wrapArgs makes argument-count errors usage errors (exit code 2).
func wrapArgs(c *cobra.Command) {
	if c.Args == nil {
		return
	}
	args := c.Args
	c.Args = func(cmd *cobra.Command, a []string) error {
		if err := args(cmd, a); err != nil {
			return cmdutil.UsageError{Err: err}
		}
		return nil
	}
}
