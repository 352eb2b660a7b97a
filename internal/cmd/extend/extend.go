// Package extend implements `kubectl tenant extend NAME`.
package extend

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-tenant/kubectl-tenant/internal/cmdutil"
	"github.com/kubectl-tenant/kubectl-tenant/internal/columns"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/hostconfig"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
)

// Options of extend.
type Options struct {
	IO       genericiooptions.IOStreams
	Engine   func() (*tenant.Engine, error)
	Defaults func(context.Context, *pflag.FlagSet) (hostconfig.Resolver, error)
	// Now is the clock of the printed "in 4h" (tests pin it).
	Now    func() time.Time
	Tenant tenant.ExtendOptions
	// SleepAfter, when SetSleepAfter, is the tenant's new idle limit.
	SleepAfter    time.Duration
	SetSleepAfter bool
	Output        string
}

// NewCmdExtend builds the command; runF replaces Run in tests.
func NewCmdExtend(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	o := &Options{IO: f.IOStreams, Engine: f.Engine, Defaults: f.Defaults, Now: time.Now}
	cmd := &cobra.Command{
		Use:   "extend NAME (--ttl DURATION | --never | --sleep-after DURATION)",
		Short: "Set when a tenant expires (now + --ttl, or never) and how long it may idle",
		Long: `Extend sets the tenant's expiry (annotation tenant.kubectl-tenant.io/expires-at on its
namespace) to now + --ttl, counted from now, not from the old expiry. --never removes the
expiry. An expired tenant that gc has not deleted yet can still be extended.
--sleep-after sets how long the tenant may stay idle before gc puts it to sleep (annotation
tenant.kubectl-tenant.io/sleep-after; 0 never sleeps, whatever the host defaults say).`,
		Example: `  kubectl tenant extend demo --ttl 4h
  kubectl tenant extend demo --never
  kubectl tenant extend demo --sleep-after 2h`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Tenant.Name = args[0]
			o.SetSleepAfter = cmd.Flags().Changed("sleep-after")
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
	cmd.Flags().DurationVar(&o.Tenant.TTL, "ttl", 0, "new time to live from now (e.g. 4h)")
	cmd.Flags().BoolVar(&o.Tenant.Never, "never", false, "remove the expiry: the tenant lives until deleted")
	cmd.Flags().DurationVar(&o.SleepAfter, "sleep-after", 0, "how long the tenant may stay idle before gc puts it to sleep (e.g. 2h; 0 never)")
	cmd.Flags().StringVarP(&o.Output, "output", "o", "", "output format: json|yaml|name")
	return cmd
}

// Validate checks input before any API call.
func (o *Options) Validate() error {
	if err := tenant.ValidateName(o.Tenant.Name); err != nil {
		return err
	}
	switch {
	case o.Tenant.Never && o.Tenant.TTL != 0:
		return cmdutil.UsageError{Err: errors.New("--ttl and --never exclude each other")}
	case o.SetSleepAfter && o.SleepAfter < 0:
		return cmdutil.UsageError{Err: errors.New("--sleep-after must not be negative (0 never sleeps)")}
	case !o.Tenant.Never && o.Tenant.TTL < 0, !o.Tenant.Never && o.Tenant.TTL == 0 && !o.SetSleepAfter:
		return cmdutil.UsageError{Err: errors.New("give a positive --ttl, or --never to remove the expiry")}
	}
	return cmdutil.ValidateOutput(o.Output, "", "json", "yaml", "name")
}

// Run extends and prints the new expiry.
func (o *Options) Run(ctx context.Context) error {
	e, err := o.Engine()
	if err != nil {
		return err
	}
	if o.SetSleepAfter {
		t, err := e.SetSleepAfter(ctx, o.Tenant.Name, o.SleepAfter)
		if err != nil {
			return err
		}
		if !o.Tenant.Never && o.Tenant.TTL == 0 {
			human := fmt.Sprintf("tenant %s never sleeps when idle", t.Name)
			if o.SleepAfter > 0 {
				human = fmt.Sprintf("tenant %s sleeps after %s idle", t.Name, o.SleepAfter)
			}
			return cmdutil.PrintTenant(o.IO.Out, o.Output, t, human)
		}
	}
	// The host's maximum TTL holds for extend too (--never is no expiry).
	r, err := o.Defaults(ctx, nil)
	if err != nil {
		return err
	}
	if err := r.CheckTTL(o.Tenant.TTL); err != nil {
		return err
	}
	t, err := e.Extend(ctx, o.Tenant)
	if err != nil {
		return err
	}
	human := fmt.Sprintf("tenant %s never expires", t.Name)
	if t.ExpiresAt != nil {
		human = fmt.Sprintf("tenant %s expires at %s (%s)", t.Name, t.ExpiresAt.Format(time.RFC3339), columns.Expires(t.ExpiresAt, o.Now()))
	}
	return cmdutil.PrintTenant(o.IO.Out, o.Output, t, human)
}
