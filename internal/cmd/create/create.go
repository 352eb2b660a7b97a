// Package create implements `kubectl tenant create NAME`.
package create

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-tenant/kubectl-tenant/internal/cmdutil"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/gitops"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/hostconfig"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
	"github.com/kubectl-tenant/kubectl-tenant/plugins/argocd"
	"github.com/kubectl-tenant/kubectl-tenant/plugins/argocd/application"
)

// Options of create.
type Options struct {
	IO genericiooptions.IOStreams
	// Engine, Defaults, Connector, Registration and NewInstaller are what
	// Run takes from the Factory (tests give fakes).
	Engine       func() (*tenant.Engine, error)
	Defaults     func(context.Context, *pflag.FlagSet) (hostconfig.Resolver, error)
	Connector    tenant.Connector
	Registration func(context.Context, argocd.Options, argocd.RegisterOptions) (tenant.Registration, error)
	NewInstaller func(*gitops.Config, string) (*application.Installer, error)

	Tenant  tenant.CreateOptions
	Connect bool
	Output  string
	// Labels (KEY=VALUE) go on the tenant namespace and, with Register,
	// are the Argo CD cluster labels too (default there env=vdev).
	Register bool
	Labels   []string
	// ArgoCD (with Auth, the --argocd-auth flag) says where Argo CD is
	// and how to log in for --register, as register's flags do.
	ArgoCD argocd.Options
	Auth   string
	// ConfigFile is the platform config.yaml for --gitops; GitOpsConfig is
	// it parsed (nil without one).
	ConfigFile   string
	GitOpsConfig *gitops.Config
	// flags are the command's flags: the ones the user set beat the
	// environment and the host defaults.
	flags *pflag.FlagSet
}

// NewCmdCreate builds the command; runF replaces Run in tests.
func NewCmdCreate(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	o := &Options{IO: f.IOStreams, Engine: f.Engine, Defaults: f.Defaults, Connector: cmdutil.NewForwarder(f),
		NewInstaller: f.NewInstaller,
		Registration: func(ctx context.Context, ao argocd.Options, ro argocd.RegisterOptions) (tenant.Registration, error) {
			ao, err := cmdutil.ArgoCDDefaults(ctx, f.Defaults, ao)
			if err != nil {
				return nil, err
			}
			d, err := f.Defaults(ctx, nil)
			if err != nil {
				return nil, err
			}
			if ro.TokenLifetime, _, err = d.ArgoCDToken(); err != nil {
				return nil, err
			}
			r, err := f.NewRegistrar(ao, false)
			if err != nil {
				return nil, err
			}
			return &argocd.Registration{Registrar: r, Options: ro}, nil
		}}
	cmd := &cobra.Command{
		Use:   "create NAME",
		Short: "Create a tenant: a vCluster pinned to its node pool, ready and connected",
		Long: `create installs a vCluster into namespace vcluster-NAME, pinned to the node pool
(nodes labelled and tainted project=POOL), waits until its API answers and connects.

With --gitops the tenant is installed by the host's Argo CD instead of Helm: create
server-side-applies the Argo CD Application vcluster-NAME (field manager kubectl-tenant)
into Argo CD's namespace (--argocd-namespace, config.yaml's argocdNamespace,
$` + hostconfig.EnvArgoCDNamespace + `, the host defaults' argocdNamespace or argocd),
waits for Argo CD to sync it and then for the vCluster like a Helm create.
When NAME is a project of --config config.yaml the Application is the one
'kubectl tenant render' renders (project folder and values from the platform repository);
otherwise it is built from the flags and the config's defaults, with the values inline.
'kubectl tenant delete NAME' deletes the Application first, so Argo CD prunes the vCluster.`,
		Example: `  kubectl tenant create demo
  kubectl tenant create demo --pool project-x --ttl 8h --connect=false
  kubectl tenant create demo --isolation   # quota, limit range, tenant-only network policy
  kubectl tenant create project-x --gitops --config platform/config.yaml`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.Complete(args); err != nil {
				return err
			}
			if err := o.Validate(); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return o.Run(cmd.Context())
		},
	}
	fl := cmd.Flags()
	o.flags = fl
	fl.StringVar(&o.Tenant.Pool, "pool", "", "node pool (nodes labelled and tainted project=POOL); default: $"+hostconfig.EnvPool+", the host defaults' pool, or the tenant name")
	fl.StringVar(&o.Tenant.K8sVersion, "k8s-version", "", "Kubernetes version of the virtual cluster (vCluster distro image tag)")
	fl.StringArrayVarP(&o.Tenant.ValuesFiles, "values", "f", nil, "extra vCluster chart values file (repeatable; later files win; kept for later runs, merged over the values of earlier -f)")
	fl.StringVar(&o.Tenant.Chart, "chart", "", "chart: local path, oci:// reference or chart name in --chart-repo (default: $"+hostconfig.EnvChart+", the host defaults' chart, or vcluster)")
	fl.StringVar(&o.Tenant.ChartRepo, "chart-repo", "", "chart repository URL (default: $"+hostconfig.EnvChartRepo+", the host defaults' chartRepo, or https://charts.loft.sh)")
	fl.StringVar(&o.Tenant.ChartVersion, "chart-version", "", "chart version (default: $"+hostconfig.EnvChartVersion+", the host defaults' chartVersion, or 0.34.0 for the default chart)")
	fl.DurationVar(&o.Tenant.TTL, "ttl", 0, "time to live, recorded as expires-at (e.g. 8h); 0 never expires (default: $"+hostconfig.EnvTTL+" or the host defaults' ttl; at most their maxTTL)")
	fl.Duration("sleep-after", 0, "how long the tenant may stay idle before gc puts it to sleep (e.g. 2h; 0 never); default: $"+hostconfig.EnvSleepAfter+" or the host defaults' idleSleepAfter, read when gc runs")
	fl.BoolVar(&o.Tenant.Isolation, "isolation", false, "add the chart's ResourceQuota, LimitRange and NetworkPolicies (workload traffic only from the tenant itself); tune them with -f")
	fl.DurationVar(&o.Tenant.Wait, "wait", 5*time.Minute, "how long to wait for the virtual API to be ready (and for another run changing this tenant to finish); 0 returns after install")
	fl.BoolVar(&o.Connect, "connect", true, "connect when ready (writes context NAME in a background forwarder)")
	fl.StringVarP(&o.Output, "output", "o", "", "output format: json|yaml|name")
	fl.BoolVar(&o.Register, "register", false, "register the tenant with Argo CD when ready (as 'kubectl tenant register NAME --yes')")
	fl.StringArrayVar(&o.Labels, "label", nil, "label `KEY=VALUE` on the tenant namespace, for 'list -l' and 'upgrade -l' (repeatable); with --register also an Argo CD cluster label (default there env=vdev)")
	cmdutil.AddArgoCDFlags(cmd, f.Env, &o.ArgoCD, &o.Auth, true)
	fl.BoolVar(&o.Tenant.GitOps, "gitops", false, "install through the host's Argo CD (an Application) instead of Helm")
	fl.StringVar(&o.ConfigFile, "config", "", "with --gitops: platform config.yaml (as for render); a project of it is installed as rendered")
	return cmd
}

// Complete fills derived fields.
func (o *Options) Complete(args []string) error {
	o.Tenant.Name = args[0]
	if o.Tenant.Wait == 0 {
		o.Connect = false // cannot connect to what we did not wait for
	}
	return nil
}

// Validate checks input before any API call.
func (o *Options) Validate() error {
	if err := tenant.ValidateName(o.Tenant.Name); err != nil {
		return err
	}
	if o.Tenant.TTL < 0 {
		return cmdutil.UsageError{Err: fmt.Errorf("--ttl must not be negative")}
	}
	if o.Register && o.Tenant.Wait == 0 {
		return cmdutil.UsageError{Err: fmt.Errorf("--register needs the tenant ready: do not set --wait 0")}
	}
	labels, err := cmdutil.ParseLabels(o.Labels)
	if err != nil {
		return err
	}
	if err := tenant.ValidateLabels(labels); err != nil {
		return err
	}
	o.Tenant.Labels = labels
	if o.Register {
		if err := (&argocd.RegisterOptions{Name: o.Tenant.Name, Labels: labels}).Validate(); err != nil {
			return err
		}
		o.ArgoCD.Auth = cmdutil.ResolveAuth(o.Auth)
		if err := o.ArgoCD.Validate(); err != nil {
			return err
		}
	}
	if err := o.validateGitOps(); err != nil {
		return err
	}
	return cmdutil.ValidateOutput(o.Output, "", "json", "yaml", "name")
}

// validateGitOps checks the --gitops flags and loads --config.
func (o *Options) validateGitOps() error {
	t := &o.Tenant
	if !t.GitOps {
		if o.ConfigFile != "" {
			return cmdutil.UsageError{Err: errors.New("--config only applies with --gitops")}
		}
		return nil
	}
	if c := t.Chart; strings.HasPrefix(c, "oci://") || strings.ContainsAny(c, `/\`) || c == "." || c == ".." {
		return cmdutil.UsageError{Err: fmt.Errorf("--chart %q: with --gitops the chart is a name in --chart-repo (Argo CD cannot read a local chart)", c)}
	}
	if o.ConfigFile == "" {
		return nil
	}
	cfg, err := gitops.Load(o.ConfigFile)
	if err != nil {
		var list gitops.ErrorList
		if errors.As(err, &list) && len(list) > 1 {
			err = fmt.Errorf("%w (and %d more problems: see `kubectl tenant render -f %s`)", list[0], len(list)-1, o.ConfigFile)
		}
		return cmdutil.UsageError{Err: err}
	}
	o.GitOpsConfig = cfg
	if !slices.ContainsFunc(cfg.Clusters, func(c gitops.Cluster) bool { return c.Project == t.Name }) {
		return nil
	}
	for flag, v := range map[string]string{"--pool": t.Pool, "--k8s-version": t.K8sVersion, "--chart": t.Chart, "--chart-repo": t.ChartRepo, "--chart-version": t.ChartVersion} {
		if v != "" && !(flag == "--pool" && v == t.Name) {
			return cmdutil.UsageError{Err: fmt.Errorf("%s: tenant %s is a project of %s, which sets it", flag, t.Name, o.ConfigFile)}
		}
	}
	if t.Isolation {
		return cmdutil.UsageError{Err: fmt.Errorf("--isolation: tenant %s is a project of %s, which sets it (isolation: true)", t.Name, o.ConfigFile)}
	}
	t.Pool = t.Name // a project's pool is named like it
	return nil
}

// Run creates the tenant, connects it in the background and registers it
// with Argo CD when asked: one engine call, whose steps show as the live
// step view on a terminal (not with -o json|yaml), plain lines otherwise.
func (o *Options) Run(ctx context.Context) error {
	e, err := o.Engine()
	if err != nil {
		return err
	}
	r, err := o.Defaults(ctx, o.flags)
	if err != nil {
		return err
	}
	if err := r.ApplyCreate(&o.Tenant); err != nil {
		return err
	}
	if _, _, err := r.Duration(hostconfig.KeyIdleSleepAfter); err != nil {
		return err // before creating anything
	}
	name := o.Tenant.Name
	chart := chartSource(r, o.Tenant, o.GitOpsConfig, o.ConfigFile)
	if o.Tenant.GitOps {
		var configNS string
		if o.GitOpsConfig != nil {
			configNS = o.GitOpsConfig.ArgoCDNamespace
		}
		in, err := o.NewInstaller(o.GitOpsConfig, r.ArgoCD(configNS).Namespace.Value)
		if err != nil {
			return err
		}
		e = e.WithGitOps(in)
	}
	if o.Connect {
		// Refuse a context name taken by the user's own context (say the
		// host's "minikube") before creating anything, not after.
		if err := e.CheckContext(name, tenant.ContextFor(name)); err != nil {
			return fmt.Errorf("%w (or create with --connect=false, then `kubectl tenant connect %s --context-name NAME`)", err, name)
		}
		o.Tenant.Connect = o.Connector
	}
	if o.Register {
		if o.Tenant.Register, err = o.Registration(ctx, o.ArgoCD, argocd.RegisterOptions{Labels: o.Tenant.Labels}); err != nil {
			return err
		}
	}
	// Bad input is one line: the chart line only once the input is fine.
	if err := e.ValidateCreate(o.Tenant); err != nil {
		return err
	}
	if chart.Chart.Value == "" {
		fmt.Fprintln(o.IO.ErrOut, chart.String()+" "+name)
	} else {
		fmt.Fprintln(o.IO.ErrOut, chart.String())
	}
	var t *tenant.Tenant
	err = cmdutil.RunSteps(o.IO.ErrOut, e, o.Output != "json" && o.Output != "yaml", "Creating tenant "+name, "create", name,
		tenant.CreatePlan(o.Tenant), func(e *tenant.Engine) (string, error) {
			var err error
			if t, err = e.Create(ctx, o.Tenant); err != nil {
				return "", err
			}
			return t.Summary(), nil
		})
	var nr *tenant.NotRegisteredError
	if errors.As(err, &nr) {
		return fmt.Errorf("tenant %s is created, but not registered with Argo CD (re-run with --register, or run `kubectl tenant register %s`): %w", name, name, nr.Err)
	}
	if err != nil {
		return err
	}
	if t, err = o.sleepAfter(ctx, e, r, t); err != nil {
		return err
	}
	msg := fmt.Sprintf("tenant %s created", t.Name)
	if t.TimeToReady > 0 {
		msg += fmt.Sprintf(" (ready in %s)", t.TimeToReady)
	}
	if t.Registered != nil && *t.Registered {
		msg += "; registered with Argo CD"
	}
	if t.Connected {
		msg += fmt.Sprintf("; context %q is current — `kubectl tenant disconnect` switches back", t.Name)
	}
	return cmdutil.PrintOutcome(o.IO.Out, o.Output, t.Name, createdTenant{t, chart}, msg)
}

// sleepAfter records the tenant's idle limit when the caller chose one
// (--sleep-after, or the environment); the host default is not copied: gc
// reads it when it runs.
func (o *Options) sleepAfter(ctx context.Context, e *tenant.Engine, r hostconfig.Resolver, t *tenant.Tenant) (*tenant.Tenant, error) {
	d, v, err := r.Duration(hostconfig.KeyIdleSleepAfter)
	if err != nil || v.Source < hostconfig.Env {
		return t, err
	}
	connected, registered := t.Connected, t.Registered
	if t, err = e.SetSleepAfter(ctx, t.Name, d); err != nil {
		return nil, fmt.Errorf("tenant %s is created, but its --sleep-after is not recorded (run `kubectl tenant extend %s --sleep-after %s`): %w", o.Tenant.Name, o.Tenant.Name, d, err)
	}
	t.Connected, t.Registered = connected, registered
	return t, nil
}
