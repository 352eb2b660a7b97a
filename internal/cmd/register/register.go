// Package register implements `kubectl tenant register NAME` and
// `kubectl tenant deregister NAME`: the tenant's vCluster as an Argo CD
// cluster, in one command instead of a port-forward, `argocd login` and
// `argocd cluster add`.
package register

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/kubectl-tenant/kubectl-tenant/internal/cmdutil"
	"github.com/kubectl-tenant/kubectl-tenant/internal/progress"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/hostconfig"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
	"github.com/kubectl-tenant/kubectl-tenant/plugins/argocd"
)

// Options of register.
type Options struct {
	f         *cmdutil.Factory
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
	o := &Options{f: f}
	cmd := &cobra.Command{
		Use:   "register NAME",
		Short: "Register a tenant with Argo CD (like argocd cluster add, with the vCluster's in-cluster address)",
		Long: `Register adds the tenant's vCluster to the host's Argo CD, with the effect of
'argocd cluster add NAME --label env=vdev --upsert' but with no second terminal and no argocd CLI:

  - it opens its own port-forward to Service argocd-server (or uses --argocd-server) and logs in
    with the initial admin password (Secret argocd-initial-admin-secret), or a token from
    $ARGOCD_AUTH_TOKEN or the argocd CLI config (--auth token). TLS is verified unless
    --insecure; a server started with --insecure (plain HTTP) is used in plain HTTP through
    the port-forward, and needs --plaintext or an http:// --argocd-server otherwise;
  - inside the vCluster it creates ServiceAccount argocd-manager (kube-system), ClusterRole
    argocd-manager-role (or Roles in --namespaces), ClusterRoleBinding argocd-manager-role-binding
    and a token Secret;
  - it upserts the cluster (name NAME, the labels, the ServiceAccount token and the vCluster CA)
    at https://vcluster.vcluster-NAME, the vCluster Service's in-cluster address, after checking
    that the vCluster certificate covers that name. --mode declarative writes the equivalent
    argocd.argoproj.io/secret-type=cluster Secret instead, for users with host RBAC but no
    Argo CD login.

Re-running is an upsert. 'kubectl tenant delete' deregisters first; 'list' shows REGISTERED.
Tokens and passwords are never printed.`,
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
	AddArgoCDFlags(cmd, &o.ArgoCD, &o.Auth, false)
	fl.StringVar(&o.Register.Mode, "mode", argocd.ModeAPI, "api: through the Argo CD API; declarative: write the cluster Secret in the Argo CD namespace directly")
	fl.StringVar(&o.Register.ServerAddress, "server-address", argocd.AddressInCluster, "address Argo CD uses for the vCluster: in-cluster (https://vcluster.vcluster-NAME), forwarded (this machine's `connect --background` forward), or an https:// URL")
	fl.StringSliceVar(&o.Register.Namespaces, "namespaces", nil, "scope argocd-manager to Roles in these vCluster namespaces (comma-separated) instead of a ClusterRole")
	fl.BoolVar(&o.Bootstrap, "bootstrap", false, "also apply the ApplicationSet \"argocd\" that installs Argo CD into every cluster with these labels")
	fl.BoolVar(&o.DryRun, "dry-run", false, "with --bootstrap: print the ApplicationSet and change nothing")
	fl.BoolVarP(&o.Yes, "yes", "y", false, "do not ask for confirmation (required when stdin is not a terminal)")
	fl.StringVarP(&o.Output, "output", "o", "", "output format: json|yaml|name")
	return cmd
}

// AddArgoCDFlags adds the flags that say where Argo CD is and how to log in
// (register and deregister share them; create has them prefixed, where a
// bare --insecure would be ambiguous). --argocd-server is not --server:
// that one is kubectl's, for the host API server. auth gets --auth (or
// --argocd-auth); resolve it into o.Auth with ResolveAuth. The defaults come
// from the environment (KUBECTL_TENANT_ARGOCD_*), which is what the commands
// without these flags (list, delete, gc, the interactive app) use.
func AddArgoCDFlags(cmd *cobra.Command, o *argocd.Options, auth *string, prefixed bool) {
	fl := cmd.Flags()
	env := argocd.OptionsFromEnv() // a malformed value counts as unset here
	names, authName, authHelp := argocd.DefaultFlags, "auth", authUsage
	if prefixed {
		names, authName, authHelp = argocd.PrefixedFlags, "argocd-auth", "Argo CD login: initial-admin or token (as register's --auth)"
	}
	o.Flags = names
	fl.StringVar(&o.Namespace, "argocd-namespace", env.Namespace, "namespace of argocd-server and its Secrets (default: $"+argocd.NamespaceEnv+", the host defaults' argocdNamespace, or "+argocd.DefaultNamespace+")")
	fl.StringVar(&o.Server, "argocd-server", env.Server, "Argo CD API address (https://HOST[:PORT]; $"+argocd.ServerEnv+"); default: a port-forward to Service argocd-server")
	fl.BoolVar(&o.Insecure, strings.TrimPrefix(names.Insecure, "--"), env.Insecure, "skip TLS verification of the Argo CD server (its default certificate is self-signed; $"+argocd.InsecureEnv+")")
	fl.BoolVar(&o.Plaintext, strings.TrimPrefix(names.Plaintext, "--"), env.Plaintext, "speak plain HTTP to Argo CD (argocd-server --insecure; $"+argocd.PlaintextEnv+"); detected by itself through the port-forward")
	fl.StringVar(auth, authName, "auto", authHelp)
	if !prefixed {
		// create's spellings work here too, so one set of flags fits both.
		for alias, p := range map[string]*bool{argocd.PrefixedFlags.Insecure: &o.Insecure, argocd.PrefixedFlags.Plaintext: &o.Plaintext} {
			fl.BoolVar(p, strings.TrimPrefix(alias, "--"), *p, "")
			_ = fl.MarkHidden(strings.TrimPrefix(alias, "--"))
		}
		fl.StringVar(auth, "argocd-auth", "auto", "")
		_ = fl.MarkHidden("argocd-auth")
	}
}

const authUsage = "Argo CD login: initial-admin (Secret argocd-initial-admin-secret) or token ($ARGOCD_AUTH_TOKEN, else the argocd CLI's token for --argocd-server, or of its context made by argocd login --port-forward); auto: the token when $ARGOCD_AUTH_TOKEN is set"

// ResolveAuth maps the --auth flag value to argocd.Options.Auth.
func ResolveAuth(flag string) string {
	if flag == "auto" {
		return argocd.AuthAuto
	}
	return flag
}

// ArgoCDDefaults fills where Argo CD is from the environment, the host
// defaults and the built-in values when the flags left it unset.
func ArgoCDDefaults(ctx context.Context, f *cmdutil.Factory, ao argocd.Options) (argocd.Options, error) {
	if ao.Namespace != "" && ao.Server != "" {
		return ao, nil
	}
	r, err := f.Defaults(ctx, nil)
	if err != nil {
		return ao, err
	}
	ao.Namespace = firstNonEmpty(ao.Namespace, r.Get(hostconfig.KeyArgoCDNamespace).Value)
	ao.Server = firstNonEmpty(ao.Server, r.Get(hostconfig.KeyArgoCDServer).Value)
	return ao, ao.Validate()
}

// Complete fills derived fields.
func (o *Options) Complete(args []string) error {
	o.Register.Name = args[0]
	labels, err := ParseLabels(o.LabelArgs)
	if err != nil {
		return err
	}
	o.Register.Labels = labels
	o.ArgoCD.Auth = ResolveAuth(o.Auth)
	return nil
}

// ParseLabels turns KEY=VALUE arguments into a map (nil when none).
func ParseLabels(args []string) (map[string]string, error) {
	if len(args) == 0 {
		return nil, nil
	}
	out := map[string]string{}
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		if !ok || k == "" {
			return nil, cmdutil.UsageError{Err: fmt.Errorf("invalid --label %q: want KEY=VALUE", a)}
		}
		out[k] = v
	}
	return out, nil
}

// Validate checks input and confirmation before any API call.
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
	if o.Yes || o.DryRun {
		return nil
	}
	in, ok := o.f.IOStreams.In.(*os.File)
	if !ok || !term.IsTerminal(int(in.Fd())) {
		return cmdutil.UsageError{Err: errors.New("refusing to register without confirmation: pass --yes")}
	}
	scope := "cluster-admin rights"
	if len(o.Register.Namespaces) > 0 {
		scope = "admin rights in namespaces " + strings.Join(o.Register.Namespaces, ",")
	}
	fmt.Fprintf(o.f.IOStreams.ErrOut, "Create ServiceAccount argocd-manager with %s in tenant %s and give Argo CD its token? [y/N] ", scope, o.Register.Name)
	ans, _ := bufio.NewReader(in).ReadString('\n')
	if a := strings.ToLower(strings.TrimSpace(ans)); a != "y" && a != "yes" {
		return fmt.Errorf("not registered: %w", context.Canceled)
	}
	return nil
}

// Run registers (and bootstraps).
func (o *Options) Run(ctx context.Context) error {
	if o.DryRun {
		ns := firstNonEmpty(o.ArgoCD.Namespace, os.Getenv(argocd.NamespaceEnv), argocd.DefaultNamespace)
		return argocd.PrintApplicationSet(o.f.IOStreams.Out, ns, o.Register.Labels)
	}
	res, err := Register(ctx, o.f, o.Register, o.ArgoCD, o.Bootstrap, o.Output != "json" && o.Output != "yaml")
	if err != nil {
		return err
	}
	return cmdutil.PrintOutcome(o.f.IOStreams.Out, o.Output, res.Name, res, Summary(res))
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

// Register runs a registration with the Factory's engine and progress (the
// live view on a terminal when live): register's Run and create --register.
func Register(ctx context.Context, f *cmdutil.Factory, ro argocd.RegisterOptions, ao argocd.Options, bootstrap, live bool) (*argocd.Result, error) {
	r, err := f.ArgoCD()
	if err != nil {
		return nil, err
	}
	if ao, err = ArgoCDDefaults(ctx, f, ao); err != nil {
		return nil, err
	}
	r.Options = ao
	plan := []string{argocd.StepLogin, argocd.StepCertificate, argocd.StepManager, argocd.StepRegister}
	if bootstrap {
		plan = append(plan, argocd.StepBootstrap)
	}
	report, finish := progress.For(f.IOStreams.ErrOut, live, "Registering tenant "+ro.Name+" with Argo CD", "register", ro.Name, plan)
	r.Engine.Report = report
	res, err := r.Register(ctx, ro)
	if err == nil && bootstrap {
		report(tenant.Event{Time: time.Now(), Step: argocd.StepBootstrap, Phase: tenant.PhaseStarted})
		var msg string
		msg, err = r.Bootstrap(ctx, ro.Labels) // nil: env=vdev, like the registration
		if err != nil {
			report(tenant.Event{Time: time.Now(), Step: argocd.StepBootstrap, Phase: tenant.PhaseFailed, Message: err.Error(), Err: err})
		} else {
			report(tenant.Event{Time: time.Now(), Step: argocd.StepBootstrap, Phase: tenant.PhaseDone, Message: msg})
		}
	}
	if err != nil {
		finish("", err)
		return nil, err
	}
	finish(Summary(res), nil)
	return res, nil
}

// DeregisterOptions of deregister.
type DeregisterOptions struct {
	f      *cmdutil.Factory
	Name   string
	ArgoCD argocd.Options
	Auth   string
}

// NewCmdDeregister builds `deregister NAME`; runF replaces Run in tests.
func NewCmdDeregister(f *cmdutil.Factory, runF func(context.Context, *DeregisterOptions) error) *cobra.Command {
	o := &DeregisterOptions{f: f}
	cmd := &cobra.Command{
		Use:   "deregister NAME",
		Short: "Remove a tenant from Argo CD (its cluster entry and argocd-manager in the vCluster); the tenant stays",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Name = args[0]
			o.ArgoCD.Auth = ResolveAuth(o.Auth)
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
	AddArgoCDFlags(cmd, &o.ArgoCD, &o.Auth, false)
	return cmd
}

// Run deregisters.
func (o *DeregisterOptions) Run(ctx context.Context) error {
	r, err := o.f.ArgoCD()
	if err != nil {
		return err
	}
	if r.Options, err = ArgoCDDefaults(ctx, o.f, o.ArgoCD); err != nil {
		return err
	}
	var servers []string
	err = stepOf(r.Engine.Report, tenant.StepDeregister, func() (err error) {
		servers, err = r.Unregister(ctx, o.Name, true)
		return err
	})
	if err != nil {
		return err
	}
	msg := fmt.Sprintf("tenant %s was not registered with Argo CD", o.Name)
	if len(servers) > 0 {
		msg = fmt.Sprintf("tenant %s deregistered from Argo CD (%s)", o.Name, strings.Join(servers, ", "))
	}
	_, err = fmt.Fprintln(o.f.IOStreams.Out, msg)
	return err
}

func stepOf(report tenant.Reporter, step string, fn func() error) error {
	emit := func(p tenant.Phase, msg string, err error) {
		if report != nil {
			report(tenant.Event{Time: time.Now(), Step: step, Phase: p, Message: msg, Err: err})
		}
	}
	emit(tenant.PhaseStarted, "", nil)
	if err := fn(); err != nil {
		emit(tenant.PhaseFailed, err.Error(), err)
		return err
	}
	emit(tenant.PhaseDone, "", nil)
	return nil
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
