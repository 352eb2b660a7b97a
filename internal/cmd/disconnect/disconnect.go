// Package disconnect implements `kubectl tenant disconnect [NAME]`.
package disconnect

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/kubectl-tenant/kubectl-tenant/internal/cmdutil"
)

// Options of disconnect.
type Options struct {
	f       *cmdutil.Factory
	Context string
}

// NewCmdDisconnect builds the command; runF replaces Run in tests.
func NewCmdDisconnect(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	o := &Options{f: f}
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
	o.f.LocalOnly = true // a tenant context without a session can still be cleaned
	e, err := o.f.Engine()
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
	_, err = fmt.Fprintf(o.f.IOStreams.Out, "disconnected %s; current context: %s\n", o.Context, restored)
	return err
}
