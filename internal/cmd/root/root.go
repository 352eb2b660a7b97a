// Package root assembles the kubectl-tenant command tree.
package root

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kubectl-tenant/kubectl-tenant/internal/cmd/completion"
	configcmd "github.com/kubectl-tenant/kubectl-tenant/internal/cmd/config"
	"github.com/kubectl-tenant/kubectl-tenant/internal/cmd/connect"
	"github.com/kubectl-tenant/kubectl-tenant/internal/cmd/create"
	credentialcmd "github.com/kubectl-tenant/kubectl-tenant/internal/cmd/credential"
	deletecmd "github.com/kubectl-tenant/kubectl-tenant/internal/cmd/delete"
	"github.com/kubectl-tenant/kubectl-tenant/internal/cmd/disconnect"
	"github.com/kubectl-tenant/kubectl-tenant/internal/cmd/extend"
	"github.com/kubectl-tenant/kubectl-tenant/internal/cmd/gc"
	"github.com/kubectl-tenant/kubectl-tenant/internal/cmd/list"
	poolcmd "github.com/kubectl-tenant/kubectl-tenant/internal/cmd/pool"
	"github.com/kubectl-tenant/kubectl-tenant/internal/cmd/register"
	"github.com/kubectl-tenant/kubectl-tenant/internal/cmd/render"
	"github.com/kubectl-tenant/kubectl-tenant/internal/cmd/sleep"
	"github.com/kubectl-tenant/kubectl-tenant/internal/cmd/stats"
	"github.com/kubectl-tenant/kubectl-tenant/internal/cmd/status"
	"github.com/kubectl-tenant/kubectl-tenant/internal/cmd/upgrade"
	"github.com/kubectl-tenant/kubectl-tenant/internal/cmd/version"
	"github.com/kubectl-tenant/kubectl-tenant/internal/cmd/wake"
	"github.com/kubectl-tenant/kubectl-tenant/internal/cmdutil"
	"github.com/kubectl-tenant/kubectl-tenant/internal/progress"
	"github.com/kubectl-tenant/kubectl-tenant/internal/tui"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/hostconfig"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
	"github.com/kubectl-tenant/kubectl-tenant/plugins/argocd"
)

// NewCmdRoot returns `kubectl tenant` with every subcommand.
func NewCmdRoot(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "kubectl-tenant",
		Short: "Private, throw-away Kubernetes clusters (vClusters) registered with your GitOps platform",
		Long: `kubectl tenant gives you a private virtual cluster on the shared host cluster in minutes:
created on your project's node pool, connected as a kubeconfig context, and torn down completely.

Run without arguments in a terminal to open the interactive app: the tenant list, a new-tenant
wizard and live progress, driving the same engine as the commands. Its create passes the chart
values files named in $` + hostconfig.EnvValues + ` (comma-separated), like create -f.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Annotations:   map[string]string{cobra.CommandDisplayNameAnnotation: "kubectl tenant"},
		PersistentPreRunE: func(c *cobra.Command, args []string) error {
			hint := interruptHint(c.Name(), args)
			if c.Name() == "connect" && c.ArgsLenAtDash() >= 0 {
				hint = "your kubeconfig was not changed (COMMAND had a temporary one)"
			}
			f.Interrupts.SetHint(hint, c.Name() != "connect")
			return cmdutil.ValidateCounts(c.Flags())
		},
		// No arguments on a terminal: the interactive app; otherwise help.
		RunE: func(c *cobra.Command, _ []string) error {
			if !progress.IsTerminal(f.IOStreams.In) || !progress.IsTerminal(f.IOStreams.Out) {
				return c.Help()
			}
			return runTUI(c.Context(), f)
		},
	}
	cmd.SetIn(f.IOStreams.In)
	cmd.SetOut(f.IOStreams.Out)
	cmd.SetErr(f.IOStreams.ErrOut)
	f.ConfigFlags.AddFlags(cmd.PersistentFlags())
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return cmdutil.UsageError{Err: err} })
	cmd.AddCommand(
		create.NewCmdCreate(f, nil),
		connect.NewCmdConnect(f, nil),
		credentialcmd.NewCmdCredential(f, nil),
		disconnect.NewCmdDisconnect(f, nil),
		deletecmd.NewCmdDelete(f, nil),
		list.NewCmdList(f, nil),
		status.NewCmdStatus(f, nil),
		sleep.NewCmdSleep(f, nil),
		wake.NewCmdWake(f, nil),
		extend.NewCmdExtend(f, nil),
		gc.NewCmdGC(f, nil),
		poolcmd.NewCmdPool(f, nil, nil),
		stats.NewCmdStats(f, nil),
		upgrade.NewCmdUpgrade(f, nil),
		version.NewCmdVersion(f),
		render.NewCmdRender(f, nil),
		register.NewCmdRegister(f, nil), register.NewCmdDeregister(f, nil),
		completion.NewCmdCompletion(f),
		configcmd.NewCmdConfig(f, nil),
	)
	usageErrors(cmd)
	return cmd
}

// usageErrors makes every wrong argument a usage error (exit code 2), in
// every command: a wrong argument count, and an unknown subcommand of the root
// or of a group such as `pool` (which cobra would otherwise answer with help
// and exit code 0, or with exit code 1 at the root).
func usageErrors(c *cobra.Command) {
	if c.HasSubCommands() {
		c.Args = unknownCommand
		if !c.Runnable() {
			c.RunE = func(c *cobra.Command, _ []string) error { return c.Help() }
		}
	}
	wrapArgs(c)
	for _, sub := range c.Commands() {
		usageErrors(sub)
	}
}

// unknownCommand rejects any argument to a command that only groups others,
// in one line, with cobra's suggestions.
func unknownCommand(c *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	err := fmt.Sprintf("unknown command %q for %q", args[0], c.CommandPath())
	if c.SuggestionsMinimumDistance <= 0 {
		c.SuggestionsMinimumDistance = 2 // cobra's own default
	}
	if s := c.SuggestionsFor(args[0]); len(s) > 0 {
		err += fmt.Sprintf("; did you mean %q?", s[0])
	}
	return errors.New(err)
}

// interruptHint is what a second Ctrl-C says the verb may leave behind, and
// how to finish (every step is idempotent, so the same command resumes).
func interruptHint(verb string, args []string) string {
	name := "NAME"
	if len(args) > 0 {
		name = args[0]
	}
	switch verb {
	case "create":
		// Not vcluster-NAME by name: a create that claimed a warm spare
		// is in the spare's namespace.
		return fmt.Sprintf("tenant %s may be half-created (its namespace, Helm release or Argo CD Application): run `kubectl tenant create %s` again to resume, or `kubectl tenant delete %s` to remove it",
			name, name, name)
	case "delete":
		if len(args) > 1 {
			names := strings.Join(args, " ")
			return fmt.Sprintf("tenants %s may be half-deleted: run `kubectl tenant delete %s --yes` again to finish", names, names)
		}
		return fmt.Sprintf("tenant %s may be half-deleted: run `kubectl tenant delete %s --yes` again to finish", name, name)
	case "connect":
		return fmt.Sprintf("the kubeconfig context may still point at tenant %s through a closed port: run `kubectl tenant disconnect` to switch back", name)
	case "upgrade":
		return "a tenant's upgrade may be half-done: run the same upgrade again to resume (a release left pending is rolled back first)"
	case "gc":
		return "expired tenants may be half-deleted: run `kubectl tenant gc` again to finish"
	}
	return ""
}

// wrapArgs makes argument-count errors usage errors (exit code 2).
func wrapArgs(c *cobra.Command) {
	if c.Args == nil {
		return
	}
	args := c.Args
	c.Args = func(cmd *cobra.Command, a []string) error {
		if err := args(cmd, a); err != nil {
			return cmdutil.UsageError{Err: err}
		}
		return nil
	}
}

// runTUI wires the interactive app to the Factory's engine: its events go to
// the app instead of stderr; connections are background forwarders, as
// `create` makes them.
func runTUI(ctx context.Context, f *cmdutil.Factory) error {
	// A malformed host defaults object stops the app before it starts.
	defaults, err := f.Defaults(ctx, nil)
	if err != nil {
		return err
	}
	// One Argo CD session for the app's life (its list refreshes every few
	// seconds), logged out when it ends. Where Argo CD is comes from the
	// environment (which errors name), then the host defaults.
	ao := cmdutil.HostArgoCD(defaults)
	lifetime, _, err := defaults.ArgoCDToken()
	if err != nil {
		return err
	}
	reg, err := f.NewRegistrar(ao, true)
	if err != nil {
		return err
	}
	defer reg.Close()
	in, err := f.NewInstaller(nil, ao.Namespace)
	if err != nil {
		return err
	}
	shared, err := f.EngineWith(reg, in)
	if err != nil {
		return err
	}
	bus := tui.NewBus()
	e := shared.With(bus.Reporter()) // the engine's events go to the app, not stderr
	return tui.Run(ctx, tui.Config{
		Engine:  e,
		Bus:     bus,
		Connect: cmdutil.NewForwarder(f).Connect,
		Disconnect: func(ctx context.Context, name string) error {
			_, err := e.Disconnect(ctx, tenant.ContextFor(name))
			return err
		},
		// Like `register NAME --yes` with the environment's Argo CD
		// options; the app asks first.
		Registration: &argocd.Registration{Registrar: reg, Options: argocd.RegisterOptions{TokenLifetime: lifetime}},
		Defaults: func(o *tenant.CreateOptions) error {
			return defaults.ApplyCreate(o)
		},
		DefaultPool: defaults.Get(hostconfig.KeyPool).Value,
	}, f.IOStreams.In, f.IOStreams.Out)
}
