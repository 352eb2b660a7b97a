// Package connect implements `kubectl tenant connect NAME`.
package connect

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/kubectl-tenant/kubectl-tenant/internal/cmd/wake"
	"github.com/kubectl-tenant/kubectl-tenant/internal/cmdutil"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/kubeconfig"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/session"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
)

// Options of connect.
type Options struct {
	f           *cmdutil.Factory
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
}

// NewCmdConnect builds the command; runF replaces Run in tests.
func NewCmdConnect(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	o := &Options{f: f}
	cmd := &cobra.Command{
		Use:   "connect NAME [-- COMMAND [ARGS...]]",
		Short: "Connect to a tenant: kubeconfig context NAME through an in-process port-forward",
		Long: `Connect writes a kubeconfig context for the tenant (server: a local port-forward to the
vCluster pod, or its LoadBalancer address; TLS verified with the tenant CA), makes it current
and keeps the forward open. Ctrl-C (or 'kubectl tenant disconnect') restores the previous context.
A sleeping tenant is woken first: on a terminal connect asks, elsewhere it needs --wake.`,
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
	fl.StringVar(&o.ContextName, "context-name", "", "kubeconfig context to write (default: the tenant name)")
	fl.IntVar(&o.LocalPort, "local-port", 0, "local port of the forward (default: a free port)")
	fl.BoolVar(&o.Background, "background", false, "keep a detached forwarder (reconnects on drops) until `kubectl tenant disconnect`")
	fl.BoolVar(&o.Wake, "wake", false, "wake the tenant if it is sleeping, without asking")
	fl.BoolVar(&o.forwarder, "forwarder", false, "internal: run as the background forwarder")
	fl.IntVar(&o.readyFD, "ready-fd", 0, "internal: file descriptor to report readiness on")
	_ = fl.MarkHidden("forwarder")
	_ = fl.MarkHidden("ready-fd")
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
		if err := o.awake(ctx, func() error { return StartBackground(ctx, o.f, o.Name, o.ContextName) }); err != nil {
			return err
		}
		fmt.Fprintf(o.f.IOStreams.Out, "context %q is current; `kubectl tenant disconnect %s` switches back\n", o.ContextName, o.ContextName)
		return nil
	case len(o.Command) > 0:
		return o.runCommand(ctx)
	}
	e, err := o.f.Engine()
	if err != nil {
		return err
	}
	var c *tenant.Connection
	err = o.awake(ctx, func() (err error) {
		c, err = e.Connect(ctx, tenant.ConnectOptions{Name: o.Name, ContextName: o.ContextName, LocalPort: o.LocalPort,
			Activate: true, Record: true, PID: os.Getpid()})
		return err
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(o.f.IOStreams.ErrOut, "connected: context %q -> %s (Ctrl-C to disconnect)\n", o.ContextName, c.Session.Server)
	holdErr := c.Hold(ctx)
	if _, err := e.Disconnect(context.WithoutCancel(ctx), o.ContextName); err != nil {
		return err
	}
	fmt.Fprintf(o.f.IOStreams.ErrOut, "disconnected; context restored to %q\n", c.Session.PreviousContext)
	return holdErr
}

// runCommand connects through a throw-away kubeconfig that only COMMAND sees.
func (o *Options) runCommand(ctx context.Context) error {
	e, err := o.f.Engine()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "kubectl-tenant-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	scoped := *e
	scoped.Kubeconfig = kubeconfig.Store{Path: filepath.Join(dir, "kubeconfig")}
	var c *tenant.Connection
	err = o.awake(ctx, func() (err error) {
		c, err = scoped.Connect(ctx, tenant.ConnectOptions{Name: o.Name, ContextName: o.ContextName, LocalPort: o.LocalPort, Activate: true})
		return err
	})
	if err != nil {
		return err
	}
	defer c.Close()
	cmd := exec.CommandContext(ctx, o.Command[0], o.Command[1:]...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+scoped.Kubeconfig.Path)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = o.f.IOStreams.In, o.f.IOStreams.Out, o.f.IOStreams.ErrOut
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return &cmdutil.CommandExitError{Command: o.Command[0], Code: exitStatus(ee.ProcessState)}
		}
		return err
	}
	return nil
}

// runForwarder is the detached child: connect, tell the parent, hold until
// SIGTERM (sent by disconnect or delete).
func (o *Options) runForwarder(ctx context.Context) error {
	report := func(msg string) {
		if o.readyFD > 0 {
			f := os.NewFile(uintptr(o.readyFD), "ready")
			fmt.Fprintln(f, msg)
			f.Close()
		}
	}
	e, err := o.f.Engine()
	if err != nil {
		report("error: " + err.Error())
		return err
	}
	c, err := e.Connect(ctx, tenant.ConnectOptions{Name: o.Name, ContextName: o.ContextName, LocalPort: o.LocalPort,
		Activate: true, Record: true, PID: os.Getpid()})
	var se *tenant.SleepingError
	if errors.As(err, &se) {
		report(sleepingLine) // the parent offers to wake it
		return err
	}
	if err != nil {
		report("error: " + err.Error())
		return err
	}
	report("ok " + c.Session.Server)
	return c.Hold(ctx)
}

// StartBackground starts a detached forwarder process for the tenant and
// returns once it holds the connection (or reports why it could not). A
// forwarder already running for the context is replaced.
func StartBackground(ctx context.Context, f *cmdutil.Factory, name, contextName string) error {
	if contextName == "" {
		contextName = tenant.ContextFor(name)
	}
	sessions := session.Store{Dir: session.DefaultDir()}
	if old, ok, _ := sessions.Get(contextName); ok {
		old.Stop(5 * time.Second)
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	args := []string{"connect", name, "--forwarder", "--ready-fd", "3", "--context-name", contextName}
	args = append(args, passthroughFlags(f)...)
	if err := os.MkdirAll(sessions.Dir, 0o700); err != nil {
		return err
	}
	logf, err := os.OpenFile(filepath.Join(sessions.Dir, contextName+".log"), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	defer logf.Close()
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	defer r.Close()
	cmd := exec.Command(self, args...)
	cmd.Stdout, cmd.Stderr, cmd.ExtraFiles = logf, logf, []*os.File{w}
	cmd.Env = os.Environ()
	if t := f.ConfigFlags.BearerToken; t != nil && *t != "" {
		// In the environment, not argv: argv is world-readable in /proc.
		cmd.Env = append(cmd.Env, cmdutil.TokenEnv+"="+*t)
	}
	detach(cmd) // survives the terminal
	if err := cmd.Start(); err != nil {
		w.Close()
		return err
	}
	w.Close()
	// Reap it when it ends while this process lives on (the TUI does):
	// an unreaped forwarder stays a zombie that looks alive to disconnect.
	go func() { _ = cmd.Wait() }()
	line, err := readLine(ctx, r)
	if err != nil {
		return fmt.Errorf("background forwarder: %w (log: %s)", err, logf.Name())
	}
	if msg, ok := strings.CutPrefix(line, "error: "); ok {
		return errors.New(msg)
	}
	if line == sleepingLine {
		return &tenant.SleepingError{Name: name}
	}
	return nil
}

// sleepingLine is what the forwarder reports when the tenant sleeps.
const sleepingLine = "sleeping"

// awake runs connect; when the tenant sleeps it wakes it (with --wake, or
// after asking on a terminal) and connects again. An awake tenant costs no
// extra API call: connect reads the namespace anyway.
func (o *Options) awake(ctx context.Context, connect func() error) error {
	err := connect()
	var se *tenant.SleepingError
	if !errors.As(err, &se) {
		return err
	}
	if !o.Wake {
		yes, asked := cmdutil.Confirm(o.f.IOStreams, fmt.Sprintf("Tenant %s is sleeping. Wake it? [Y/n]", o.Name), true)
		switch {
		case !asked:
			return fmt.Errorf("tenant %s is sleeping: run `kubectl tenant wake %s` or pass --wake", o.Name, o.Name)
		case !yes:
			return fmt.Errorf("not connected, tenant %s is still sleeping: %w", o.Name, context.Canceled)
		}
	}
	if _, err := wake.Wake(ctx, o.f, tenant.WakeOptions{Name: o.Name, Wait: wake.DefaultWait}, true); err != nil {
		return err
	}
	return connect()
}

func readLine(ctx context.Context, r *os.File) (string, error) {
	type res struct {
		s   string
		err error
	}
	ch := make(chan res, 1)
	go func() {
		s, err := bufio.NewReader(r).ReadString('\n')
		ch <- res{strings.TrimSpace(s), err}
	}()
	select {
	case v := <-ch:
		if v.s == "" && v.err != nil {
			return "", fmt.Errorf("it exited before connecting")
		}
		return v.s, nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// passthroughFlags repeats the kubeconfig flags the user gave so the child
// talks to the same cluster and writes the same file.
func passthroughFlags(f *cmdutil.Factory) []string {
	var out []string
	add := func(name string, v *string) {
		if v != nil && *v != "" {
			out = append(out, "--"+name, *v)
		}
	}
	c := f.ConfigFlags
	add("kubeconfig", c.KubeConfig)
	add("context", c.Context)
	add("cluster", c.ClusterName)
	add("user", c.AuthInfoName)
	add("server", c.APIServer)
	add("certificate-authority", c.CAFile)
	add("request-timeout", c.Timeout)
	return out
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
