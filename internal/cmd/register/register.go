// Package register implements `kubectl tenant register NAME` and
// `kubectl tenant deregister NAME`: the tenant's vCluster as an Argo CD
// cluster, in one command instead of a port-forward, `argocd login` and
// `argocd cluster add`.
package register

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-tenant/kubectl-tenant/internal/cmdutil"
	"github.com/kubectl-tenant/kubectl-tenant/internal/progress"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/hostconfig"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
	"github.com/kubectl-tenant/kubectl-tenant/plugins/argocd"
	"github.com/kubectl-tenant/kubectl-tenant/plugins/argocd/application"
)

// Options of register.
type Options struct {
	IO genericiooptions.IOStreams
	// NewRegistrar builds the registrar for where Argo CD is (the flags
	// over the environment and the host defaults).
	NewRegistrar func(context.Context, argocd.Options) (*argocd.Registrar, error)
	// Confirm asks a yes/no question (cmdutil.Confirm on the command's
	// streams); asked is false where nobody can answer.
	Confirm func(question string, def bool) (yes, asked bool)
	// Defaults resolves the settings (the command's flags over the
	// environment and the host defaults); nil: built-in values.
	Defaults  func(context.Context) (hostconfig.Resolver, error)
	Register  argocd.RegisterOptions
	ArgoCD    argocd.Options
	LabelArgs []string
	Auth      string
	Bootstrap bool
	DryRun    bool
	Yes       bool
	Output    string
}

// NewCmdRegister builds the command; runF replaces Run in tests.
func NewCmdRegister(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	o := &Options{IO: f.IOStreams, NewRegistrar: newRegistrar(f), Confirm: cmdutil.Prompter(f.IOStreams)}
	var cmd *cobra.Command
	o.Defaults = func(ctx context.Context) (hostconfig.Resolver, error) { return f.Defaults(ctx, cmd.Flags()) }
	cmd = &cobra.Command{
		Use:   "register NAME",
		Short: "Register a tenant with Argo CD (like argocd cluster add, with the vCluster's in-cluster address)",
		Long: `Register adds the tenant's vCluster to the host's Argo CD, with the effect of
'argocd cluster add NAME --label env=vdev --upsert' but with no second terminal and no argocd CLI:

  - it opens its own port-forward to Service argocd-server (or uses --argocd-server) and logs in
    with the initial admin password (Secret argocd-initial-admin-secret), or a token from
    $ARGOCD_AUTH_TOKEN or the argocd CLI config (--auth token). TLS is verified unless
    --insecure; a server started with --insecure (plain HTTP) is used in plain HTTP through
    the port-forward, and needs --plaintext or an http:// --argocd-server otherwise, which is
    refused unless --insecure too (credentials would cross the network unencrypted);
  - inside the vCluster it creates ServiceAccount argocd-manager (kube-system), ClusterRole
    argocd-manager-role (or Roles in --namespaces), ClusterRoleBinding argocd-manager-role-binding
    and a token that expires (--argocd-token-lifetime, the host defaults' argocdTokenLifetime,
    else 24h), bound to a Secret argocd-manager-token-* of its own;
  - it upserts the cluster (name NAME, the labels, the ServiceAccount token and the vCluster CA)
    at https://vcluster.NAMESPACE, the vCluster Service's in-cluster address in the tenant's
    namespace (vcluster-NAME, or the warm spare's it claimed), after checking
    that the vCluster certificate covers that name. --mode declarative writes the equivalent
    argocd.argoproj.io/secret-type=cluster Secret instead, for users with host RBAC but no
    Argo CD login.

Re-running is an upsert with a new token: once Argo CD has it, the token Secrets of earlier
tokens are deleted, which revokes those tokens. 'kubectl tenant gc' renews the token before it
expires (see gc --argocd-renew-before); 'deregister' and 'delete' revoke it. 'kubectl tenant
delete' deregisters first; 'list' shows REGISTERED. Tokens and passwords are never printed.`,
		Example: `  kubectl tenant register demo --yes
  kubectl tenant register demo --label env=vdev --label team=payments --yes
  kubectl tenant register demo --mode declarative --namespaces apps,jobs --yes
  kubectl tenant register demo --bootstrap --yes        # also apply the ApplicationSet "argocd"
  kubectl tenant register demo --bootstrap --dry-run    # only print that ApplicationSet`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.Complete(args); err != nil {
				return err
			}
			// A bad --argocd-token-lifetime or $KUBECTL_TENANT_... is refused
			// before anything is asked or changed.
			if _, _, err := (hostconfig.Resolver{Flags: cmdutil.ChangedFlags(cmd.Flags()), Getenv: f.Env.Get}).ArgoCDToken(); err != nil {
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
		ValidArgsFunction: cmdutil.CompleteTenantNames(f),
	}
	fl := cmd.Flags()
	fl.StringArrayVar(&o.LabelArgs, "label", nil, "Argo CD cluster label KEY=VALUE (repeatable; default env=vdev)")
	cmdutil.AddArgoCDFlags(cmd, f.Env, &o.ArgoCD, &o.Auth, false)
	fl.StringVar(&o.Register.Mode, "mode", argocd.ModeAPI, "api: through the Argo CD API; declarative: write the cluster Secret in the Argo CD namespace directly")
	fl.StringVar(&o.Register.ServerAddress, "server-address", argocd.AddressInCluster, "address Argo CD uses for the vCluster: in-cluster (https://vcluster.NAMESPACE, the tenant's namespace), forwarded (this machine's 'connect --background' forward), or an https:// URL")
	fl.StringSliceVar(&o.Register.Namespaces, "namespaces", nil, "scope argocd-manager to Roles in these vCluster namespaces (comma-separated) instead of a ClusterRole")
	fl.Duration("argocd-token-lifetime", argocd.DefaultTokenLifetime, "lifetime of Argo CD's token (at least 10m; $"+hostconfig.EnvArgoCDTokenLifetime+", the host defaults' "+hostconfig.KeyArgoCDTokenLifetime+")")
	fl.BoolVar(&o.Bootstrap, "bootstrap", false, "also apply the ApplicationSet \"argocd\" that installs Argo CD into every cluster with these labels")
	fl.BoolVar(&o.DryRun, "dry-run", false, "with --bootstrap: print the ApplicationSet and change nothing")
	fl.BoolVarP(&o.Yes, "yes", "y", false, "do not ask for confirmation (required when stdin is not a terminal)")
	fl.StringVarP(&o.Output, "output", "o", "", "output format: json|yaml|name")
	return cmd
}

// Complete fills derived fields.
func (o *Options) Complete(args []string) error {
	o.Register.Name = args[0]
	labels, err := cmdutil.ParseLabels(o.LabelArgs)
	if err != nil {
		return err
	}
	o.Register.Labels = labels
	o.ArgoCD.Auth = cmdutil.ResolveAuth(o.Auth)
	return nil
}

// Validate checks the input.
func (o *Options) Validate() error {
	if err := o.Register.Validate(); err != nil {
		return err
	}
	if err := o.ArgoCD.Validate(); err != nil {
		return err
	}
	if o.DryRun && !o.Bootstrap {
		return cmdutil.UsageError{Err: errors.New("--dry-run only applies to --bootstrap (it prints the ApplicationSet)")}
	}
	if err := cmdutil.ValidateOutput(o.Output, "", "json", "yaml", "name"); err != nil {
		return err
	}
	return nil
}

// confirm asks before anything changes, unless --yes (or --dry-run, which
// changes nothing).
func (o *Options) confirm() error {
	if o.Yes || o.DryRun {
		return nil
	}
	scope := "cluster-admin rights"
	if len(o.Register.Namespaces) > 0 {
		scope = "admin rights in namespaces " + strings.Join(o.Register.Namespaces, ",")
	}
	yes, asked := o.Confirm(fmt.Sprintf("Create ServiceAccount argocd-manager with %s in tenant %s and give Argo CD its token? [y/N]", scope, o.Register.Name), false)
	switch {
	case !asked:
		return cmdutil.UsageError{Err: errors.New("refusing to register without confirmation: pass --yes")}
	case !yes:
		return cmdutil.Declined("not registered")
	}
	return nil
}

// Run asks for confirmation (unless --yes), then registers (and
// bootstraps).
func (o *Options) Run(ctx context.Context) error {
	if err := o.confirm(); err != nil {
		return err
	}
	if o.DryRun {
		return o.printApplicationSet(ctx)
	}
	res, err := o.register(ctx)
	if err != nil {
		return err
	}
	return cmdutil.PrintOutcome(o.IO.Out, o.Output, res.Name, res, Summary(res))
}

// Summary is the one-line outcome of a registration.
func Summary(res *argocd.Result) string {
	msg := fmt.Sprintf("tenant %s registered with Argo CD as %s", res.Name, res.Server)
	if res.Secret != "" {
		msg += " (Secret " + res.Secret + ")"
	}
	if res.Connection != "" {
		msg += ", connection " + res.Connection
	}
	return msg
}

// newRegistrar is the Factory's registrar for one call, with where Argo CD
// is completed from the environment and the host defaults.
func newRegistrar(f *cmdutil.Factory) func(context.Context, argocd.Options) (*argocd.Registrar, error) {
	return func(ctx context.Context, ao argocd.Options) (*argocd.Registrar, error) {
		ao, err := cmdutil.ArgoCDDefaults(ctx, f.Defaults, ao)
		if err != nil {
			return nil, err
		}
		return f.NewRegistrar(ao, false)
	}
}

// resolve resolves the settings (built-in values without Defaults).
func (o *Options) resolve(ctx context.Context) (hostconfig.Resolver, error) {
	if o.Defaults == nil {
		return hostconfig.Resolver{}, nil
	}
	return o.Defaults(ctx)
}

// printApplicationSet prints the ApplicationSet --bootstrap would apply,
// with the host defaults' source. A host that cannot be reached still
// gets a print, of the built-in source, with a warning saying so.
func (o *Options) printApplicationSet(ctx context.Context) error {
	d, err := o.resolve(ctx)
	if err != nil {
		fmt.Fprintf(o.IO.ErrOut, "Warning: host defaults not read (%s): the source shown is the built-in %s\n", tenant.FirstLine(err.Error()), hostconfig.KeyBootstrapSource)
		d = hostconfig.Resolver{}
	}
	source, _, err := d.BootstrapSource()
	if err != nil {
		return err
	}
	ns := cmp.Or(o.ArgoCD.Namespace, argocd.DefaultNamespace) // --argocd-namespace defaults to the environment's
	return application.PrintApplicationSet(o.IO.Out, ns, o.Register.Labels, source)
}

// register runs the registration with the live step view on stderr (on a
// terminal, not with -o json|yaml).
func (o *Options) register(ctx context.Context) (*argocd.Result, error) {
	r, err := o.NewRegistrar(ctx, o.ArgoCD)
	if err != nil {
		return nil, err
	}
	d, err := o.resolve(ctx)
	if err != nil {
		return nil, err
	}
	if o.Register.TokenLifetime, _, err = d.ArgoCDToken(); err != nil {
		return nil, err
	}
	var source map[string]any
	if o.Bootstrap {
		if source, _, err = d.BootstrapSource(); err != nil {
			return nil, err
		}
	}
	name := o.Register.Name
	g := &argocd.Registration{Registrar: r, Options: o.Register, Bootstrap: o.Bootstrap, Source: source}
	report, finish := progress.For(o.IO.ErrOut, o.Output != "json" && o.Output != "yaml", "Registering tenant "+name+" with Argo CD", "register", name, g.Plan())
	res, err := g.Run(ctx, name, report)
	if err != nil {
		finish("", err)
		return nil, err
	}
	finish(Summary(res), nil)
	return res, nil
}

// DeregisterOptions of deregister.
type DeregisterOptions struct {
	IO           genericiooptions.IOStreams
	NewRegistrar func(context.Context, argocd.Options) (*argocd.Registrar, error)
	Name         string
	ArgoCD       argocd.Options
	Auth         string
}

// NewCmdDeregister builds `deregister NAME`; runF replaces Run in tests.
func NewCmdDeregister(f *cmdutil.Factory, runF func(context.Context, *DeregisterOptions) error) *cobra.Command {
	o := &DeregisterOptions{IO: f.IOStreams, NewRegistrar: newRegistrar(f)}
	cmd := &cobra.Command{
		Use:   "deregister NAME",
		Short: "Remove a tenant from Argo CD (its cluster entry and argocd-manager in the vCluster); the tenant stays",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Name = args[0]
			o.ArgoCD.Auth = cmdutil.ResolveAuth(o.Auth)
			if err := tenant.ValidateName(o.Name); err != nil {
				return err
			}
			if err := o.ArgoCD.Validate(); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return o.Run(cmd.Context())
		},
		ValidArgsFunction: cmdutil.CompleteTenantNames(f),
	}
	cmdutil.AddArgoCDFlags(cmd, f.Env, &o.ArgoCD, &o.Auth, false)
	return cmd
}

// Run deregisters.
func (o *DeregisterOptions) Run(ctx context.Context) error {
	r, err := o.NewRegistrar(ctx, o.ArgoCD)
	if err != nil {
		return err
	}
	report := progress.Lines(o.IO.ErrOut)
	var servers []string
	err = report.Step(tenant.StepDeregister, func() (err error) {
		servers, err = r.Unregister(ctx, o.Name, true, report)
		return err
	})
	if err != nil {
		return err
	}
	msg := fmt.Sprintf("tenant %s was not registered with Argo CD", o.Name)
	if len(servers) > 0 {
		msg = fmt.Sprintf("tenant %s deregistered from Argo CD (%s)", o.Name, strings.Join(servers, ", "))
	}
	_, err = fmt.Fprintln(o.IO.Out, msg)
	return err
}
