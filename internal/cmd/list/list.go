// Package list implements `kubectl tenant list`.
package list

import (
	"context"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/cli-runtime/pkg/printers"

	"github.com/kubectl-tenant/kubectl-tenant/internal/cmdutil"
	"github.com/kubectl-tenant/kubectl-tenant/internal/columns"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
)

// Options of list.
type Options struct {
	IO genericiooptions.IOStreams
	// Engine is the engine with the Argo CD registrar the REGISTERED
	// column asks (cmdutil.Factory.ArgoCDEngine; tests give a fake).
	Engine func(context.Context) (*tenant.Engine, error)
	Output string
	Owner  string
	// Selector is a label selector over the tenant namespaces' labels
	// (create --label), as upgrade -l takes it.
	Selector string
	All      bool
	// Spares also lists the warm pools' unclaimed spares.
	Spares bool
}

// NewCmdList builds the command; runF replaces Run in tests.
func NewCmdList(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	o := &Options{IO: f.IOStreams, Engine: func(ctx context.Context) (*tenant.Engine, error) {
		// A malformed host defaults object costs the REGISTERED column's
		// Argo CD namespace only (a warning; the environment's applies).
		return f.ArgoCDEngine(ctx, f.IOStreams.ErrOut)
	}}
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List tenants with status, pool, age, expiry, connection and registration",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.Validate(); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return o.Run(cmd.Context())
		},
	}
	cmd.Flags().StringVarP(&o.Output, "output", "o", "", "output format: wide|json|yaml|name")
	cmd.Flags().StringVar(&o.Owner, "owner", "", "only tenants created by this user")
	cmd.Flags().StringVarP(&o.Selector, "selector", "l", "", "label selector over the tenants' namespace labels (set with 'create --label'), e.g. team=a")
	cmd.Flags().BoolVar(&o.Spares, "spares", false, "also list the warm pools' unclaimed spares (see 'kubectl tenant pool')")
	// Tenants live in their own namespaces, so list is always cluster-wide;
	// -A is accepted because kubectl users type it by habit.
	cmd.Flags().BoolVarP(&o.All, "all-namespaces", "A", false, "list tenants of every namespace (the default; accepted for kubectl habit)")
	return cmd
}

// Validate checks the flags before any API call.
func (o *Options) Validate() error {
	if _, err := labels.Parse(o.Selector); err != nil {
		return cmdutil.UsageError{Err: fmt.Errorf("invalid --selector %q: %w", o.Selector, err)}
	}
	return cmdutil.ValidateOutput(o.Output, cmdutil.OutputFormats...)
}

// Run lists.
func (o *Options) Run(ctx context.Context) error {
	e, err := o.Engine(ctx)
	if err != nil {
		return err
	}
	ts, err := e.List(ctx)
	if err != nil {
		return err
	}
	if o.Spares {
		ss, err := e.ListSpares(ctx)
		if err != nil {
			return err
		}
		ts = append(ts, ss...)
	}
	sel, err := labels.Parse(o.Selector)
	if err != nil {
		return err
	}
	ts = slices.DeleteFunc(ts, func(t tenant.Tenant) bool {
		return (o.Owner != "" && t.Owner != o.Owner) || !sel.Matches(labels.Set(t.Labels))
	})
	return Print(o.IO.Out, o.Output, ts, time.Now())
}

// List is the -o json|yaml document.
type List struct {
	APIVersion string          `json:"apiVersion"`
	Kind       string          `json:"kind"`
	Items      []tenant.Tenant `json:"items"`
}

// Print writes tenants in the given format.
func Print(w io.Writer, format string, ts []tenant.Tenant, now time.Time) error {
	switch format {
	case "json", "yaml":
		if ts == nil {
			ts = []tenant.Tenant{}
		}
		return cmdutil.PrintObject(w, format, List{APIVersion: "kubectl-tenant.io/v1alpha1", Kind: "TenantList", Items: ts})
	case "name":
		for _, t := range ts {
			if _, err := fmt.Fprintln(w, "tenant/"+t.Name); err != nil {
				return err
			}
		}
		return nil
	}
	tw := printers.GetNewTabWriter(w)
	wide := format == "wide"
	header := "NAME\tSTATUS\tPOOL\tK8S\tAGE\tEXPIRES\tCONNECTED\tREGISTERED"
	if wide {
		header += "\tNAMESPACE\tOWNER\tREADY-IN\tSLEEP-AFTER\tSLEPT"
	}
	fmt.Fprintln(tw, header)
	for _, t := range ts {
		// Annotation values are anyone's with namespace-patch rights:
		// never let them reach the terminal raw.
		c := columns.Clean
		line := fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s", c(t.Name), c(string(t.Status)), c(columns.Dash(t.Pool)), c(columns.Dash(t.K8sVersion)),
			columns.Age(t.CreatedAt, now), columns.Expires(t.ExpiresAt, now), columns.YesNo(&t.Connected), columns.YesNo(t.Registered))
		if wide {
			ready := "-"
			if t.TimeToReady > 0 {
				ready = t.TimeToReady.String()
			}
			sleepAfter, slept := "default", "-"
			if t.SleepAfter != nil {
				sleepAfter = "never"
				if *t.SleepAfter > 0 {
					sleepAfter = t.SleepAfter.String()
				}
			}
			if d := t.SleptAt(now); d > 0 {
				slept = fmt.Sprintf("%.1fh", d.Hours())
			}
			line += fmt.Sprintf("\t%s\t%s\t%s\t%s\t%s", c(t.Namespace), c(columns.Dash(t.Owner)), ready, sleepAfter, slept)
		}
		fmt.Fprintln(tw, line)
	}
	return tw.Flush()
}
