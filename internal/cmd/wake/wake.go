// Package wake implements `kubectl tenant wake NAME`.
package wake

import (
	"context"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-tenant/kubectl-tenant/internal/cmdutil"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
)

// Options of wake.
type Options struct {
	IO     genericiooptions.IOStreams
	Engine func() (*tenant.Engine, error)
	Tenant tenant.WakeOptions
	Output string
}

// NewCmdWake builds the command; runF replaces Run in tests.
func NewCmdWake(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	o := &Options{IO: f.IOStreams, Engine: f.Engine}
	cmd := &cobra.Command{
		Use:   "wake NAME",
		Short: "Scale a sleeping tenant back up and wait until its API answers",
		Long: `Wake restores the replica count sleep (or 'vcluster pause') recorded and waits until the virtual
API answers through a port-forward, as your kubectl reaches it. It does not wait for the
kubelet's readiness probe: list says Pending for a second or two more, until the probe passes
and the tenant's Service (what Argo CD uses) has its endpoint. Waking an awake tenant only
checks that it is ready, as create does.`,
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
	cmd.Flags().DurationVar(&o.Tenant.Wait, "wait", cmdutil.DefaultWakeWait, "how long to wait for the virtual API to answer; 0 returns after scaling up")
	cmd.Flags().StringVarP(&o.Output, "output", "o", "", "output format: json|yaml|name")
	return cmd
}

// Validate checks input before any API call.
func (o *Options) Validate() error {
	return cmdutil.ValidateTenantStep(o.Tenant.Name, o.Tenant.Wait, o.Output)
}

// Run wakes the tenant.
func (o *Options) Run(ctx context.Context) error {
	e, err := o.Engine()
	if err != nil {
		return err
	}
	t, err := cmdutil.Wake(ctx, o.IO.ErrOut, e, o.Tenant, o.Output != "json" && o.Output != "yaml")
	if err != nil {
		return err
	}
	return cmdutil.PrintTenant(o.IO.Out, o.Output, t, tenant.AwakeLine(t, o.Tenant.Wait > 0))
}
