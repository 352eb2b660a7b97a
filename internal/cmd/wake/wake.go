// Package wake implements `kubectl tenant wake NAME`.
package wake

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/kubectl-tenant/kubectl-tenant/internal/cmdutil"
	"github.com/kubectl-tenant/kubectl-tenant/internal/progress"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
)

// DefaultWait is how long wake (and connect --wake) waits for the virtual
// API, as create does.
const DefaultWait = 5 * time.Minute

// Options of wake.
type Options struct {
	f      *cmdutil.Factory
	Tenant tenant.WakeOptions
	Output string
}

// NewCmdWake builds the command; runF replaces Run in tests.
func NewCmdWake(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	o := &Options{f: f}
	cmd := &cobra.Command{
		Use:   "wake NAME",
		Short: "Scale a sleeping tenant back up and wait until its API is ready",
		Long: `Wake restores the replica count sleep (or 'vcluster pause') recorded and waits for the virtual
API like create. Waking an awake tenant only checks that it is ready.`,
		Example: `  kubectl tenant wake demo
  kubectl tenant wake demo --wait 0   # return once scaled up`,
		Args: cobra.ExactArgs(1),
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
	cmd.Flags().DurationVar(&o.Tenant.Wait, "wait", DefaultWait, "how long to wait for the virtual API to be ready; 0 returns after scaling up")
	cmd.Flags().StringVarP(&o.Output, "output", "o", "", "output format: json|yaml|name")
	return cmd
}

// Validate checks input before any API call.
func (o *Options) Validate() error {
	return cmdutil.ValidateTenantStep(o.Tenant.Name, o.Tenant.Wait, o.Output)
}

// Run wakes the tenant.
func (o *Options) Run(ctx context.Context) error {
	t, err := Wake(ctx, o.f, o.Tenant, o.Output != "json" && o.Output != "yaml")
	if err != nil {
		return err
	}
	return cmdutil.PrintTenant(o.f.IOStreams.Out, o.Output, t, fmt.Sprintf("tenant %s is awake (%s)", t.Name, t.Status))
}

// Wake wakes a tenant with the step view on stderr (live on a terminal when
// live is set); connect uses it too.
func Wake(ctx context.Context, f *cmdutil.Factory, o tenant.WakeOptions, live bool) (*tenant.Tenant, error) {
	e, err := f.Engine()
	if err != nil {
		return nil, err
	}
	report, finish := progress.For(f.IOStreams.ErrOut, live, "Waking tenant "+o.Name, "wake", o.Name, progress.WakePlan(o.Wait > 0))
	prev := e.Report
	e.Report = report
	defer func() { e.Report = prev }()
	t, err := e.Wake(ctx, o)
	if err != nil {
		finish("", err)
		return nil, err
	}
	finish(fmt.Sprintf("tenant %s is %s", t.Name, t.Status), nil)
	return t, nil
}
