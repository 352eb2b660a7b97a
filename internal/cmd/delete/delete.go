// Package delete implements `kubectl tenant delete NAME`.
package delete

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-tenant/kubectl-tenant/internal/cmdutil"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
)

// Options of delete.
type Options struct {
	IO     genericiooptions.IOStreams
	Engine func() (*tenant.Engine, error)
	// HostDefaults loads the host defaults, which name the Argo CD to
	// deregister from.
	HostDefaults func(context.Context) error
	Tenant       tenant.DeleteOptions
	Yes          bool
}

// NewCmdDelete builds the command; runF replaces Run in tests.
func NewCmdDelete(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	o := &Options{IO: f.IOStreams, Engine: f.Engine, HostDefaults: func(ctx context.Context) error {
		_, err := f.Defaults(ctx, nil)
		return err
	}}
	cmd := &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a tenant completely: registration, release, namespace, kubeconfig entries, forwarders",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Tenant.Name = args[0]
			if err := o.Validate(); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return o.Run(cmd.Context())
		},
		ValidArgsFunction: cmdutil.CompleteTenantNames(f),
	}
	cmd.Flags().BoolVarP(&o.Yes, "yes", "y", false, "do not ask for confirmation (required when stdin is not a terminal)")
	cmd.Flags().DurationVar(&o.Tenant.Wait, "wait", 5*time.Minute, "how long to wait for the namespace to be gone; 0 does not wait")
	cmd.Flags().BoolVar(&o.Tenant.IgnoreNotFound, "ignore-not-found", false, "succeed when the tenant does not exist")
	return cmd
}

// Validate checks input and confirmation.
func (o *Options) Validate() error {
	if err := tenant.ValidateName(o.Tenant.Name); err != nil {
		return err
	}
	if o.Yes {
		return nil
	}
	yes, asked := cmdutil.Confirm(o.IO, fmt.Sprintf("Delete tenant %s and everything in namespace %s? [y/N]", o.Tenant.Name, tenant.NamespaceFor(o.Tenant.Name)), false)
	switch {
	case !asked:
		return cmdutil.UsageError{Err: errors.New("refusing to delete without confirmation: pass --yes")}
	case !yes:
		return fmt.Errorf("not deleted: %w", context.Canceled)
	}
	return nil
}

// Run deletes the tenant, showing the live step view on a terminal.
func (o *Options) Run(ctx context.Context) error {
	e, err := o.Engine()
	if err != nil {
		return err
	}
	if o.HostDefaults != nil {
		if err := o.HostDefaults(ctx); err != nil {
			return err
		}
	}
	name := o.Tenant.Name
	done := fmt.Sprintf("tenant %s deleted", name)
	err = cmdutil.RunSteps(o.IO.ErrOut, e, true, "Deleting tenant "+name, "delete", name, tenant.DeletePlan(), func(e *tenant.Engine) (string, error) {
		return done, e.Delete(ctx, o.Tenant)
	})
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(o.IO.Out, done)
	return err
}
