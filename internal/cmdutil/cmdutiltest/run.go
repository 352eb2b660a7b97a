package cmdutiltest

import (
	"context"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-tenant/kubectl-tenant/internal/cmdutil"
	"github.com/kubectl-tenant/kubectl-tenant/internal/factory"
)

// Run builds a command with newCmd on a Factory over test streams (stdin
// empty: no terminal to ask on) and runs it with args through its flags,
// Complete and Validate, then the real Run of its Options after seam has
// replaced what it takes from the Factory (a fake engine). It returns what
// the command wrote to stdout and stderr, and its error.
func Run[O any, P interface {
	*O
	Run(context.Context) error
}](newCmd func(*cmdutil.Factory, func(context.Context, P) error) *cobra.Command, seam func(P), args ...string) (stdout, stderr string, err error) {
	streams, _, out, errb := genericiooptions.NewTestIOStreams()
	cmd := newCmd(factory.New(streams), func(ctx context.Context, o P) error {
		seam(o)
		return o.Run(ctx)
	})
	cmd.SetArgs(args)
	// As under the root command: an error is one line, without the usage.
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	cmd.SetOut(out)
	cmd.SetErr(errb)
	err = cmd.Execute()
	return out.String(), errb.String(), err
}
