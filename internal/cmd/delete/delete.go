// Package delete implements `kubectl tenant delete NAME...`.
package delete

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-tenant/kubectl-tenant/internal/cmdutil"
	"github.com/kubectl-tenant/kubectl-tenant/internal/progress"
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
	// Names are the tenants to delete, in order, each once; Tenant holds
	// the flags they share (Run sets its Name per tenant).
	Names  []string
	Tenant tenant.DeleteOptions
	Yes    bool
}

// NewCmdDelete builds the command; runF replaces Run in tests.
func NewCmdDelete(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	o := &Options{IO: f.IOStreams, Confirm: cmdutil.Prompter(f.IOStreams),
		Engine: func(ctx context.Context) (*tenant.Engine, error) { return f.ArgoCDEngine(ctx, nil) }}
	cmd := &cobra.Command{
		Use:   "delete NAME [NAME...]",
		Short: "Delete tenants completely: registration, release, namespace, kubeconfig entries, forwarders",
		Long: `Delete tenants completely: the Argo CD registration, the Helm release, the namespace, the
kubeconfig entries and the forwarders. Several names are deleted one after the other, after one
question; a failure does not stop the others, and the command then exits 1 naming each.`,
		Example: `  kubectl tenant delete demo
  kubectl tenant delete ci-1 ci-2 --yes`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Names = args
			if err := o.Validate(); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return o.Run(cmd.Context())
		},
		ValidArgsFunction: cmdutil.CompleteMoreTenantNames(f),
	}
	cmd.Flags().BoolVarP(&o.Yes, "yes", "y", false, "do not ask for confirmation (required when stdin is not a terminal)")
	cmd.Flags().DurationVar(&o.Tenant.Wait, "wait", 5*time.Minute, "how long to wait for the namespace to be gone; 0 does not wait")
	cmd.Flags().BoolVar(&o.Tenant.IgnoreNotFound, "ignore-not-found", false, "succeed when the tenant does not exist")
	return cmd
}

// Validate checks every name before anything is deleted, and drops repeats.
func (o *Options) Validate() error {
	var names []string
	for _, n := range o.Names {
		if err := tenant.ValidateName(n); err != nil {
			return err
		}
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	o.Names = names
	return nil
}

// confirm asks once before anything is deleted, unless --yes, naming each
// tenant's namespace (a claimed warm spare keeps its own).
func (o *Options) confirm(ctx context.Context, e *tenant.Engine) error {
	if o.Yes {
		return nil
	}
	q := make([]string, len(o.Names))
	for i, name := range o.Names {
		q[i] = fmt.Sprintf("tenant %s and everything in namespace %s", name, namespaceOf(ctx, e, name))
	}
	yes, asked := o.Confirm(fmt.Sprintf("Delete %s? [y/N]", strings.Join(q, ", ")), false)
	switch {
	case !asked:
		return cmdutil.UsageError{Err: errors.New("refusing to delete without confirmation: pass --yes")}
	case !yes:
		return cmdutil.Declined("not deleted")
	}
	return nil
}

// namespaceOf is the namespace a delete of name removes, as the engine
// resolves the tenant (a claimed warm spare keeps its own namespace); a
// name it does not resolve (no tenant, no engine) is named by the target
// the engine would make of it.
func namespaceOf(ctx context.Context, e *tenant.Engine, name string) string {
	t := &tenant.Target{Name: name}
	if e != nil {
		if got, err := e.Resolve(ctx, name); err == nil {
			t = got
		}
	}
	return t.Namespace()
}

// Run asks for confirmation (unless --yes), then deletes the tenants one
// after the other, showing the live step view on a terminal.
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
	var failed []error
	for _, name := range o.Names {
		if ctx.Err() != nil { // Ctrl-C stops the rest too
			return ctx.Err()
		}
		if len(o.Names) > 1 && !progress.IsTerminal(o.IO.ErrOut) {
			// Plain step lines do not name the tenant (the live view's title does).
			fmt.Fprintf(o.IO.ErrOut, "Deleting tenant %s\n", name)
		}
		if err := o.delete(ctx, e, name); err != nil {
			if len(o.Names) == 1 {
				return err
			}
			if !strings.Contains(err.Error(), strconv.Quote(name)) {
				err = fmt.Errorf("tenant %s: %w", name, err)
			}
			failed = append(failed, err)
		}
	}
	if len(failed) > 0 {
		return notDeleted{failed, len(o.Names)}
	}
	return nil
}

// notDeleted is one line naming each failure; errors.Is and As (and so the
// exit code) see each of them.
type notDeleted struct {
	errs  []error
	total int
}

func (n notDeleted) Error() string {
	msgs := make([]string, len(n.errs))
	for i, err := range n.errs {
		msgs[i] = cmdutil.OneLine(err)
	}
	return fmt.Sprintf("%d of %d tenants not deleted: %s", len(n.errs), n.total, strings.Join(msgs, "; "))
}

func (n notDeleted) Unwrap() []error { return n.errs }

// delete deletes one tenant and prints it on stdout.
func (o *Options) delete(ctx context.Context, e *tenant.Engine, name string) error {
	opts := o.Tenant
	opts.Name = name
	done := fmt.Sprintf("tenant %s deleted", name)
	err := cmdutil.RunSteps(o.IO.ErrOut, e, true, "Deleting tenant "+name, "delete", name, tenant.DeletePlan(), func(e *tenant.Engine) (string, error) {
		return done, e.Delete(ctx, opts)
	})
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(o.IO.Out, done)
	return err
}
