// Package sleep implements `kubectl tenant sleep NAME`.
package sleep

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-tenant/kubectl-tenant/internal/cmdutil"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
)

// Options of sleep.
type Options struct {
	IO     genericiooptions.IOStreams
	Engine func() (*tenant.Engine, error)
	Tenant tenant.SleepOptions
	Output string
}

// NewCmdSleep builds the command; runF replaces Run in tests.
func NewCmdSleep(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	o := &Options{IO: f.IOStreams, Engine: f.Engine}
	cmd := &cobra.Command{
		Use:   "sleep NAME",
		Short: "Scale a tenant to zero, keeping its data; `wake` brings it back",
		Long: `Sleep ends the tenant's connections, scales its vCluster control plane to zero (recording the
replica count as 'vcluster pause' does, so 'vcluster resume' works too) and removes the pods it
synced into its namespace. The namespace, the release and the control plane's volume stay: 'wake'
restores the tenant with its state. Sleeping a sleeping tenant succeeds and changes nothing.`,
		Example: `  kubectl tenant sleep demo
  kubectl tenant wake demo`,
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
	cmd.Flags().DurationVar(&o.Tenant.Wait, "wait", 2*time.Minute, "how long to wait for the control-plane pods to stop; 0 does not wait")
	cmd.Flags().StringVarP(&o.Output, "output", "o", "", "output format: json|yaml|name")
	return cmd
}

// Validate checks input before any API call.
func (o *Options) Validate() error {
	return cmdutil.ValidateTenantStep(o.Tenant.Name, o.Tenant.Wait, o.Output)
}

// Run puts the tenant to sleep, showing the live step view on a terminal.
func (o *Options) Run(ctx context.Context) error {
	e, err := o.Engine()
	if err != nil {
		return err
	}
	name := o.Tenant.Name
	var t *tenant.Tenant
	err = cmdutil.RunSteps(o.IO.ErrOut, e, o.Output != "json" && o.Output != "yaml",
		"Putting tenant "+name+" to sleep", "sleep", name, tenant.SleepPlan(o.Tenant.Wait > 0), func(e *tenant.Engine) (res string, err error) {
			if t, err = e.Sleep(ctx, o.Tenant); err != nil {
				return "", err
			}
			return fmt.Sprintf("tenant %s is %s", name, t.Status), nil
		})
	if err != nil {
		return err
	}
	return cmdutil.PrintTenant(o.IO.Out, o.Output, t,
		fmt.Sprintf("tenant %s is sleeping; `kubectl tenant wake %s` brings it back", name, name))
}
