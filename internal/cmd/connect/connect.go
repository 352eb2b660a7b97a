// Package connect implements `kubectl tenant connect NAME`.
package connect

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-tenant/kubectl-tenant/internal/cmdutil"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/credential"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/hostconfig"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/kubeconfig"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
)

// Options of connect.
type Options struct {
	IO     genericiooptions.IOStreams
	Engine func() (*tenant.Engine, error)
	// StartBackground starts the detached forwarder
	// (cmdutil.Forwarder.Start); config is kubectl's flags, which the
	// forwarder completes with the parent's secrets.
	StartBackground func(ctx context.Context, name, contextName string) error
	// Confirm asks whether to wake a sleeping tenant (cmdutil.Confirm on
	// the command's streams); asked is false where nobody can answer.
	Confirm func(question string, def bool) (yes, asked bool)
	// Defaults are the host defaults (f.Defaults; nil: none), read only
	// for a sleeping tenant: their wakeOnConnect wakes it without asking.
	Defaults func(context.Context, *pflag.FlagSet) (hostconfig.Resolver, error)
	// Env is the environment a command run with `connect NAME -- CMD`
	// gets (with KUBECONFIG set to the tenant's).
	Env    cmdutil.Env
	config *genericclioptions.ConfigFlags
	// flags are the command's flags (a --credential-lifetime given).
	flags *pflag.FlagSet

	Name        string
	ContextName string
	LocalPort   int
	Background  bool
	// Wake wakes a sleeping tenant without asking.
	Wake    bool
	Command []string
	// forwarder is set in the detached child that holds a background
	// connection; readyFD is where it reports readiness to its parent.
	forwarder bool
	readyFD   int
	// parentFD carries the parent's secrets, then "detach" once the parent
	// took the connection; EOF before that means the parent gave up.
	parentFD int
}

// NewCmdConnect builds the command; runF replaces Run in tests.
func NewCmdConnect(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	o := &Options{IO: f.IOStreams, Engine: f.Engine, Env: f.Env, config: f.ConfigFlags, Confirm: cmdutil.Prompter(f.IOStreams), Defaults: f.Defaults}
	o.StartBackground = func(ctx context.Context, name, contextName string) error {
		fw := cmdutil.NewForwarder(f)
		if fl := o.flags.Lookup(credentialLifetimeFlag); fl != nil && fl.Changed {
			fw.Args = []string{"--" + credentialLifetimeFlag + "=" + fl.Value.String()}
		}
		return fw.Start(ctx, name, contextName)
	}
	cmd := &cobra.Command{
		Use:   "connect NAME [-- COMMAND [ARGS...]]",
		Short: "Connect to a tenant: kubeconfig context NAME through an in-process port-forward",
		Long: `Connect writes a kubeconfig context for the tenant (server: a local port-forward to the
vCluster pod, or its LoadBalancer address; TLS verified with the tenant CA), makes it current
and keeps the forward open. Ctrl-C (or 'kubectl tenant disconnect') restores the previous context.
The context holds no key: its user runs 'kubectl tenant credential', which returns a client
certificate valid for --credential-lifetime (host default credentialLifetime, $` + hostconfig.EnvCredentialLifetime + `;
built-in ` + hostconfig.BuiltInCredentialLifetime + `), naming your host user, minted only while your host rights
let you read the tenant's client CA (the tenant-admin Role grants it) and cached 0600 in the
state directory until it expires; connect mints the first one.
A sleeping tenant is woken first: on a terminal connect asks, elsewhere it needs --wake (or
the host defaults' wakeOnConnect, or $` + hostconfig.EnvWakeOnConnect + `=true). Every request through the forward
counts as use of the tenant (recorded at most once a minute): gc puts a tenant to sleep only
when idle (see create --sleep-after). When gc did, the forward stays and the next request
through it wakes the tenant, held until its API answers.`,
		Example: `  kubectl tenant connect demo                 # foreground; Ctrl-C to end
  kubectl tenant connect demo --background    # detached forwarder; end with disconnect
  kubectl tenant connect demo -- kubectl get ns`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.Complete(cmd, args); err != nil {
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
	fl.StringVar(&o.ContextName, "context-name", "", "kubeconfig context to write (default: the tenant name); an existing context kubectl-tenant did not write is never replaced")
	fl.IntVar(&o.LocalPort, "local-port", 0, "local port of the forward (default: a free port)")
	fl.BoolVar(&o.Background, "background", false, "keep a detached forwarder (reconnects on drops) until 'kubectl tenant disconnect'")
	fl.BoolVar(&o.Wake, "wake", false, "wake the tenant if it is sleeping, without asking")
	fl.Duration(credentialLifetimeFlag, 0, "lifetime of the context's client certificates (default: host credentialLifetime, else "+hostconfig.BuiltInCredentialLifetime+"; 1m to 24h)")
	fl.BoolVar(&o.forwarder, "forwarder", false, "internal: run as the background forwarder")
	fl.IntVar(&o.readyFD, "ready-fd", 0, "internal: file descriptor to report readiness on")
	fl.IntVar(&o.parentFD, "parent-fd", 0, "internal: file descriptor of the parent's secrets and its detach")
	_ = fl.MarkHidden("forwarder")
	_ = fl.MarkHidden("ready-fd")
	_ = fl.MarkHidden("parent-fd")
	return cmd
}

// Complete splits NAME from the command after --.
func (o *Options) Complete(cmd *cobra.Command, args []string) error {
	if at := cmd.ArgsLenAtDash(); at >= 0 {
		if at != 1 {
			return cmdutil.UsageError{Err: errors.New("connect takes exactly one tenant name before --")}
		}
		o.Command = args[1:]
	} else if len(args) != 1 {
		return cmdutil.UsageError{Err: errors.New("connect takes exactly one tenant name")}
	}
	o.Name = args[0]
	o.flags = cmd.Flags()
	if o.ContextName == "" {
		o.ContextName = tenant.ContextFor(o.Name)
	}
	return nil
}

// Validate checks flags.
func (o *Options) Validate() error {
	if err := tenant.ValidateName(o.Name); err != nil {
		return err
	}
	if o.Background && len(o.Command) > 0 {
		return cmdutil.UsageError{Err: errors.New("--background and -- COMMAND exclude each other")}
	}
	if err := tenant.ValidateContextName(o.ContextName); err != nil {
		return err
	}
	if o.LocalPort < 0 || o.LocalPort > 65535 {
		return cmdutil.UsageError{Err: fmt.Errorf("--local-port %d is not a port", o.LocalPort)}
	}
	return nil
}

// Run connects in the chosen mode.
func (o *Options) Run(ctx context.Context) error {
	switch {
	case o.forwarder:
		return o.runForwarder(ctx)
	case o.Background:
		if err := o.awake(ctx, func() error { return o.StartBackground(ctx, o.Name, o.ContextName) }); err != nil {
			return err
		}
		fmt.Fprintf(o.IO.Out, "context %q is current; `kubectl tenant disconnect %s` switches back\n", o.ContextName, o.ContextName)
		return nil
	case len(o.Command) > 0:
		return o.runCommand(ctx)
	}
	e, err := o.Engine()
	if err != nil {
		return err
	}
	cred, err := o.contextCredential(ctx, e, e.Kubeconfig.Path, "")
	if err != nil {
		return err
	}
	var c *tenant.Connection
	err = o.awake(ctx, func() (err error) {
		c, err = e.Connect(ctx, tenant.ConnectOptions{Name: o.Name, ContextName: o.ContextName, LocalPort: o.LocalPort,
			Activate: true, Record: true, PID: os.Getpid(), Credential: cred})
		return err
	})
	if err != nil {
		return err
	}
	defer c.Close()
	fmt.Fprintf(o.IO.ErrOut, "connected: context %q -> %s (Ctrl-C to disconnect)\n", o.ContextName, c.Session.Server)
	holdErr := c.Hold(ctx)
	if _, err := e.Disconnect(context.WithoutCancel(ctx), o.ContextName); err != nil {
		return err
	}
	fmt.Fprintf(o.IO.ErrOut, "disconnected; context restored to %q\n", c.Session.PreviousContext)
	return holdErr
}

// runCommand connects through a throw-away kubeconfig that only COMMAND sees.
func (o *Options) runCommand(ctx context.Context) error {
	e, err := o.Engine()
	if err != nil {
		return err
	}
	// A private directory (the kubeconfig names the exec plugin, no key),
	// removed on return and, by the second-signal exit, by kubeconfig.Abort.
	store, remove, err := kubeconfig.TempStore()
	if err != nil {
		return err
	}
	defer remove()
	scoped := *e
	scoped.Kubeconfig = store
	// The plugin finds the host through the user's kubeconfig, not the
	// throw-away one COMMAND sees as $KUBECONFIG.
	// Its credential cache lives in the same private directory, so the
	// second-signal exit (kubeconfig.Abort) removes it too.
	cred, err := o.contextCredential(ctx, &scoped, e.Kubeconfig.Path, filepath.Join(filepath.Dir(store.Path), "credential"))
	if err != nil {
		return err
	}
	var c *tenant.Connection
	err = o.awake(ctx, func() (err error) {
		c, err = scoped.Connect(ctx, tenant.ConnectOptions{Name: o.Name, ContextName: o.ContextName, LocalPort: o.LocalPort, Activate: true, Credential: cred})
		return err
	})
	if err != nil {
		return err
	}
	defer c.Close()
	cmd := exec.CommandContext(ctx, o.Command[0], o.Command[1:]...)
	cmd.Env = append(o.Env.List(), "KUBECONFIG="+scoped.Kubeconfig.Path)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = o.IO.In, o.IO.Out, o.IO.ErrOut
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return &cmdutil.CommandExitError{Command: o.Command[0], Code: exitStatus(ee.ProcessState)}
		}
		return err
	}
	return nil
}

// runForwarder is the detached child: take the parent's secrets, connect,
// tell the parent, and hold until SIGTERM (sent by disconnect or delete). If
// the parent gives up before it took the connection (Ctrl-C, killed), undo
// everything and exit.
func (o *Options) runForwarder(ctx context.Context) error {
	report := func(msg string) {
		if o.readyFD > 0 {
			f := os.NewFile(uintptr(o.readyFD), "ready")
			fmt.Fprintln(f, msg)
			f.Close()
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	detached := make(chan struct{})
	if o.parentFD > 0 {
		if err := o.fromParent(cancel, detached); err != nil {
			report("error: " + err.Error())
			return err
		}
	} else {
		close(detached)
	}
	e, err := o.Engine()
	if err != nil {
		report("error: " + err.Error())
		return err
	}
	cred, err := o.contextCredential(ctx, e, e.Kubeconfig.Path, "")
	if err != nil {
		report("error: " + err.Error())
		return err
	}
	c, err := e.Connect(ctx, tenant.ConnectOptions{Name: o.Name, ContextName: o.ContextName, LocalPort: o.LocalPort,
		Activate: true, Record: true, PID: os.Getpid(), Credential: cred})
	var se *tenant.SleepingError
	if errors.As(err, &se) {
		report(cmdutil.ForwarderSleeping) // the parent offers to wake it
		return err
	}
	if err != nil {
		report("error: " + err.Error())
		return err
	}
	defer c.Close()
	report("ok " + c.Session.Server)
	select {
	case <-detached:
	case <-ctx.Done():
		// The parent gave up before taking the connection.
		if _, err := e.Disconnect(context.WithoutCancel(ctx), o.ContextName); err != nil {
			return err
		}
		return ctx.Err()
	}
	return c.Hold(ctx)
}

// fromParent reads the secrets line, then watches for "detach"; anything
// else (EOF: the parent exited or gave up) cancels.
func (o *Options) fromParent(cancel func(), detached chan<- struct{}) error {
	f := os.NewFile(uintptr(o.parentFD), "parent")
	rd := bufio.NewReader(f)
	line, err := rd.ReadString('\n')
	var sec cmdutil.ForwarderSecrets
	if err == nil {
		err = json.Unmarshal([]byte(line), &sec)
	}
	if err != nil {
		f.Close()
		return fmt.Errorf("no configuration from the parent process: %w", err)
	}
	if sec.Token != "" {
		*o.config.BearerToken = sec.Token
	}
	if sec.Password != "" {
		*o.config.Password = sec.Password
	}
	go func() {
		defer f.Close()
		if l, _ := rd.ReadString('\n'); strings.TrimSpace(l) == "detach" {
			close(detached)
			return
		}
		cancel()
	}()
	return nil
}

// credentialLifetimeFlag is the flag of hostconfig.KeyCredentialLifetime.
const credentialLifetimeFlag = "credential-lifetime"

// contextCredential is what makes the context e writes hold no key: the
// exec plugin (reaching the host through userKubeconfig, the file the
// user's host context is in) with the resolved lifetime and the cache:
// cachePath, else in the state directory.
func (o *Options) contextCredential(ctx context.Context, e *tenant.Engine, userKubeconfig, cachePath string) (*tenant.ContextCredential, error) {
	r := hostconfig.Resolver{Flags: cmdutil.ChangedFlags(o.flags), Getenv: o.Env.Get}
	if o.Defaults != nil {
		// Host defaults that cannot be read leave the flag, the
		// environment and the built-in lifetime.
		if hr, err := o.Defaults(ctx, o.flags); err == nil {
			r = hr
		}
	}
	lifetime, _, err := r.CredentialLifetime()
	if err != nil {
		return nil, err
	}
	hostKubeconfig := o.Env.Get("KUBECONFIG")
	if hostKubeconfig == "" {
		hostKubeconfig = userKubeconfig
	}
	if cachePath == "" && e.Sessions.Err == nil {
		cachePath = e.Sessions.CredentialPath(e.Kubeconfig.Path, o.ContextName)
	}
	return &tenant.ContextCredential{
		Exec:     cmdutil.CredentialExec(o.config, e.HostContext, hostKubeconfig, o.Name, lifetime, cachePath),
		Cache:    credential.Cache{Path: cachePath, Write: kubeconfig.WritePrivate},
		Lifetime: lifetime,
	}, nil
}

// awake runs connect; when the tenant sleeps it wakes it (with --wake, or
// after asking on a terminal) and connects again. An awake tenant costs no
// extra API call: connect reads the namespace anyway.
func (o *Options) awake(ctx context.Context, connect func() error) error {
	err := connect()
	var se *tenant.SleepingError
	if !errors.As(err, &se) {
		return err
	}
	if !o.Wake && o.Defaults != nil {
		if r, err := o.Defaults(ctx, nil); err == nil {
			o.Wake, _, _ = r.Bool(hostconfig.KeyWakeOnConnect)
		}
	}
	if !o.Wake {
		yes, asked := o.Confirm(fmt.Sprintf("Tenant %s is sleeping. Wake it? [Y/n]", o.Name), true)
		switch {
		case !asked:
			return fmt.Errorf("tenant %s is sleeping: run `kubectl tenant wake %s` or pass --wake", o.Name, o.Name)
		case !yes:
			return cmdutil.Declined(fmt.Sprintf("not connected: tenant %s is still sleeping", o.Name))
		}
	}
	e, err := o.Engine()
	if err != nil {
		return err
	}
	if _, err := cmdutil.Wake(ctx, o.IO.ErrOut, e, tenant.WakeOptions{Name: o.Name, Wait: cmdutil.DefaultWakeWait}, true); err != nil {
		return err
	}
	return connect()
}

// exitStatus is a finished command's exit code; a command killed by a
// signal counts 128+signal, as in a shell.
func exitStatus(ps *os.ProcessState) int {
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	if c := ps.ExitCode(); c > 0 {
		return c
	}
	return cmdutil.ExitError
}
