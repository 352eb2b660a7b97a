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
	IO genericiooptions.IOStreams
	// Engine is the engine with the Argo CD plugins delete deregisters
	// from and removes a GitOps tenant's Application with, where the host
	// defaults say (cmdutil.Factory.ArgoCDEngine; tests give a fake).
	Engine func(context.Context) (*tenant.Engine, error)
	// Confirm asks a yes/no question (cmdutil.Confirm on the command's
	// streams); asked is false where nobody can answer.
	Confirm func(question string, def bool) (yes, asked bool)
	Tenant  tenant.DeleteOptions
	Yes     bool
}

// NewCmdDelete builds the command; runF replaces Run in tests.
func NewCmdDelete(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	o := &Options{IO: f.IOStreams, Confirm: cmdutil.Prompter(f.IOStreams),
		Engine: func(ctx context.Context) (*tenant.Engine, error) { return f.ArgoCDEngine(ctx, nil) }}
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

// Validate checks the input.
func (o *Options) Validate() error {
	return tenant.ValidateName(o.Tenant.Name)
}

// confirm asks before anything is deleted, unless --yes, naming the
// tenant's namespace (a claimed warm spare keeps its own).
func (o *Options) confirm(ctx context.Context, e *tenant.Engine) error {
	if o.Yes {
		return nil
	}
	ns := tenant.NamespaceFor(o.Tenant.Name)
	if e != nil {
		if t, err := e.Get(ctx, o.Tenant.Name); err == nil {
			ns = t.Namespace
		}
	}
	yes, asked := o.Confirm(fmt.Sprintf("Delete tenant %s and everything in namespace %s? [y/N]", o.Tenant.Name, ns), false)
	switch {
	case !asked:
		return cmdutil.UsageError{Err: errors.New("refusing to delete without confirmation: pass --yes")}
	case !yes:
		return fmt.Errorf("not deleted: %w", context.Canceled)
	}
	return nil
}

// Run asks for confirmation (unless --yes), then deletes the tenant,
// showing the live step view on a terminal.
func (o *Options) Run(ctx context.Context) error {
	// Without an engine the prompt still comes first: refusing to delete
	// unconfirmed is the usage error, whatever else is wrong.
	e, err := o.Engine(ctx)
	if cerr := o.confirm(ctx, e); cerr != nil {
		return cerr
	}
	if err != nil {
		return err
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
