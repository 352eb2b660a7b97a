// Package disconnect implements `kubectl tenant disconnect [NAME]`.
package disconnect

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-tenant/kubectl-tenant/internal/cmdutil"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
)

// Options of disconnect.
type Options struct {
	IO genericiooptions.IOStreams
	// Engine is the Factory's, for local state only: a tenant context whose
	// host cluster is unknown can still be cleaned.
	Engine  func() (*tenant.Engine, error)
	Context string
}

// NewCmdDisconnect builds the command; runF replaces Run in tests.
func NewCmdDisconnect(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	o := &Options{IO: f.IOStreams, Engine: f.LocalEngine}
	return &cobra.Command{
		Use:   "disconnect [NAME]",
		Short: "Stop a tenant's forwarder, remove its context and restore the previous one",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				o.Context = args[0]
			}
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return o.Run(cmd.Context())
		},
		ValidArgsFunction: cmdutil.CompleteTenantNames(f),
	}
}

// Run disconnects the named (or current) tenant context.
func (o *Options) Run(ctx context.Context) error {
	e, err := o.Engine()
	if err != nil {
		return err
	}
	if o.Context == "" {
		if o.Context, err = e.CurrentSession(); err != nil {
			return err
		}
	}
	s, err := e.Disconnect(ctx, o.Context)
	if err != nil {
		return err
	}
	restored := s.PreviousContext
	if restored == "" {
		restored = "(none)"
	}
	_, err = fmt.Fprintf(o.IO.Out, "disconnected %s; current context: %s\n", o.Context, restored)
	return err
}
