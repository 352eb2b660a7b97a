// Package upgrade implements `kubectl tenant upgrade`.
package upgrade

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-tenant/kubectl-tenant/internal/cmdutil"
	"github.com/kubectl-tenant/kubectl-tenant/internal/columns"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/hostconfig"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
)

// Options of upgrade.
type Options struct {
	IO       genericiooptions.IOStreams
	Engine   func() (*tenant.Engine, error)
	Defaults func(context.Context, *pflag.FlagSet) (hostconfig.Resolver, error)
	Tenant   tenant.UpgradeOptions
	DryRun   bool
	Output   string
	flags    *pflag.FlagSet // the ones the user set beat the host defaults
}

// Result is what -o json|yaml prints: the plan, with outcomes unless DryRun.
type Result struct {
	DryRun bool `json:"dryRun"`
	*tenant.UpgradePlan
}

// NewCmdUpgrade builds the command; runF replaces Run in tests.
func NewCmdUpgrade(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	o := &Options{IO: f.IOStreams, Engine: f.Engine, Defaults: f.Defaults}
	cmd := &cobra.Command{
		Use:   "upgrade [NAME | -l SELECTOR | --all] --chart-version V [--values FILE]",
		Short: "Upgrade tenants' vCluster releases in waves: canaries first, then the rest once they are Ready",
		Long: `Upgrade the vCluster Helm release of the selected tenants, keeping each tenant's pool,
Kubernetes version and the values the user gave it with -f (later --values files win).
Canary tenants go first; the waves after them start only when every canary is Ready
again, and each wave must be Ready before the next starts. A tenant that does not
answer before the upgrade is skipped and reported; tenants outside the selection
are never touched. A tenant already at the target chart and values is unchanged,
so re-running the same command after a failure or Ctrl-C resumes.`,
		Example: `  kubectl tenant upgrade -l team=a --chart-version 0.34.1 --canary 1 --dry-run
  kubectl tenant upgrade --all --chart-version 0.34.1 --canary 2 --wave-size 5
  kubectl tenant upgrade demo -f more-values.yaml`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				o.Tenant.Name = args[0]
			}
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
	fl := cmd.Flags()
	o.flags = fl
	fl.StringVarP(&o.Tenant.Selector, "selector", "l", "", "label selector over the tenants' namespace labels (set with 'create --label')")
	fl.BoolVar(&o.Tenant.All, "all", false, "upgrade every tenant")
	fl.StringVar(&o.Tenant.ChartVersion, "chart-version", "", "target chart version (required unless --values is given; default: keep each release's version)")
	fl.StringArrayVarP(&o.Tenant.ValuesFiles, "values", "f", nil, "vCluster chart values file merged over the tenant's current values (repeatable; later files win)")
	fl.StringVar(&o.Tenant.Chart, "chart", "", "chart: local path, oci:// reference or chart name in --chart-repo (default: $"+hostconfig.EnvChart+", the host defaults' chart, or vcluster)")
	fl.StringVar(&o.Tenant.ChartRepo, "chart-repo", "", "chart repository URL (default: $"+hostconfig.EnvChartRepo+", the host defaults' chartRepo, or https://charts.loft.sh)")
	fl.IntVar(&o.Tenant.Canary, "canary", 1, "tenants upgraded and checked before any other")
	fl.IntVar(&o.Tenant.WaveSize, "wave-size", 0, "tenants per wave after the canaries (0: a quarter of them, at least 1)")
	fl.DurationVar(&o.Tenant.Wait, "wait", 5*time.Minute, "how long each upgraded tenant may take to be Ready again")
	fl.DurationVar(&o.Tenant.ProbeTimeout, "probe-timeout", 20*time.Second, "how long a tenant may take to answer before the upgrade; one that does not is skipped")
	fl.BoolVar(&o.DryRun, "dry-run", false, "print the plan (waves, unchanged and skipped tenants, each planned tenant's values diff) and change nothing")
	fl.StringVarP(&o.Output, "output", "o", "", "output format: json|yaml")
	return cmd
}

// Validate checks input before any API call.
func (o *Options) Validate() error {
	if err := tenant.ValidateUpgrade(o.Tenant); err != nil {
		return err
	}
	return cmdutil.ValidateOutput(o.Output, "", "json", "yaml")
}

// Run plans, then (unless --dry-run) upgrades wave by wave with the step view
// per tenant, and prints the plan with each tenant's outcome.
func (o *Options) Run(ctx context.Context) error {
	e, err := o.Engine()
	if err != nil {
		return err
	}
	// The chart and its repository as create resolves them (the host's
	// mirror); the version stays each release's unless --chart-version.
	r, err := o.Defaults(ctx, o.flags)
	if err != nil {
		return err
	}
	o.Tenant.Chart, o.Tenant.ChartRepo, _ = r.Chart(false)
	if r.Host != nil {
		o.Tenant.Values = r.Host.Values
	}
	structured := o.Output == "json" || o.Output == "yaml"
	if !structured {
		fmt.Fprintln(o.IO.ErrOut, "Checking the selected tenants...")
	}
	p, err := e.PlanUpgrade(ctx, o.Tenant)
	if err != nil {
		return err
	}
	var runErr error
	if !o.DryRun && len(p.Waves) > 0 {
		var steps []string
		for _, w := range p.Waves {
			for _, it := range w.Tenants {
				steps = append(steps, tenant.UpgradeSteps(it.Name)...)
			}
		}
		runErr = cmdutil.RunSteps(o.IO.ErrOut, e, !structured, "Upgrading tenants", "upgrade", "", steps, func(e *tenant.Engine) (string, error) {
			err := e.Upgrade(ctx, o.Tenant, p)
			return summary(p), err
		})
	}
	if structured {
		if err := cmdutil.PrintObject(o.IO.Out, o.Output, Result{DryRun: o.DryRun, UpgradePlan: p}); err != nil {
			return err
		}
	} else if err := printTable(o.IO.Out, p, o.DryRun); err != nil {
		return err
	}
	return runErr
}

func summary(p *tenant.UpgradePlan) string {
	n := map[tenant.Outcome]int{}
	for _, it := range p.Items() {
		n[it.Outcome]++
	}
	return fmt.Sprintf("%d upgraded, %d unchanged, %d skipped, %d failed",
		n[tenant.OutcomeUpgraded], n[tenant.OutcomeUnchanged], n[tenant.OutcomeSkipped], n[tenant.OutcomeFailed])
}

// printTable prints one row per tenant in plan order.
func printTable(w io.Writer, p *tenant.UpgradePlan, dryRun bool) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "WAVE\tTENANT\tFROM\tTO\tREVISION\tOUTCOME\tREASON")
	row := func(wave string, it tenant.UpgradeItem) {
		rev := ""
		if it.Revision > 0 {
			rev = fmt.Sprint(it.Revision)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", wave, it.Name, columns.Dash(it.From), columns.Dash(it.To), columns.Dash(rev), it.Outcome, it.Reason)
	}
	for _, wv := range p.Waves {
		for _, it := range wv.Tenants {
			row(wv.Name, it)
		}
	}
	for _, it := range append(append([]tenant.UpgradeItem(nil), p.Unchanged...), p.Skipped...) {
		row("-", it)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if dryRun {
		// What each planned upgrade does to the values.
		for _, wv := range p.Waves {
			for _, it := range wv.Tenants {
				if len(it.ValuesDiff) > 0 {
					fmt.Fprintf(w, "%s values:\n", it.Name)
				}
				for _, l := range it.ValuesDiff {
					fmt.Fprintf(w, "  %s\n", l)
				}
			}
		}
	}
	var err error
	if dryRun {
		_, err = fmt.Fprintln(w, "dry run: nothing was changed")
	} else {
		_, err = fmt.Fprintln(w, summary(p))
	}
	return err
}
