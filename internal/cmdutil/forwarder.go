package cmdutil

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"k8s.io/cli-runtime/pkg/genericclioptions"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
)

// The background forwarder is `kubectl-tenant connect NAME --forwarder
// --ready-fd 3 --parent-fd 4 ...`, a detached child of this binary: the
// parent (Forwarder.Start, here) passes it the secrets on fd 4 and reads its
// readiness on fd 3; the child side is in internal/cmd/connect.

// ForwarderSecrets travel from parent to forwarder over a pipe: never in
// argv (world-readable) or the environment (kept for the process's life).
type ForwarderSecrets struct {
	Token    string `json:"token,omitempty"`
	Password string `json:"password,omitempty"`
}

// Forwarder starts background connections: what it takes from the
// Factory, so a command's Options hold it rather than the Factory.
type Forwarder struct {
	Engine func() (*tenant.Engine, error)
	// Config is kubectl's flags, repeated to the forwarder (secrets over a
	// pipe); Env is the environment it runs in.
	Config *genericclioptions.ConfigFlags
	Env    Env
	// Args are more arguments of the forwarder's connect (a
	// --credential-lifetime the user gave).
	Args []string
}

// NewForwarder is f's Forwarder.
func NewForwarder(f *Factory) Forwarder {
	return Forwarder{Engine: f.Engine, Config: f.ConfigFlags, Env: f.Env}
}

// Connect is the engine's tenant.Connector for create and the interactive
// app: a background forwarder for context NAME.
func (fw Forwarder) Connect(ctx context.Context, name string) error {
	return fw.Start(ctx, name, "")
}

// Start starts a detached forwarder process for the tenant and returns
// once it holds the connection (or reports why it could not). A forwarder
// already holding the context is replaced (see tenant.Connect). If ctx ends
// first (Ctrl-C), the forwarder is told to undo what it did and is stopped:
// nothing keeps running or switches the context later.
func (fw Forwarder) Start(ctx context.Context, name, contextName string) error {
	if contextName == "" {
		contextName = tenant.ContextFor(name)
	}
	e, err := fw.Engine() // settles the host context the forwarder must use
	if err != nil {
		return err
	}
	if err := e.CheckContext(name, contextName); err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	args := []string{"connect", name, "--forwarder", "--ready-fd", "3", "--parent-fd", "4", "--context-name", contextName}
	args = append(args, fw.Args...)
	args = append(args, PassthroughFlags(fw.Config, e.HostContext)...)
	if err := e.Sessions.MkDir(); err != nil {
		return err
	}
	logPath := e.Sessions.LogPath(e.Kubeconfig.Path, contextName)
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	defer logf.Close()
	readyR, readyW, err := os.Pipe()
	if err != nil {
		return err
	}
	defer readyR.Close()
	parentR, parentW, err := os.Pipe()
	if err != nil {
		readyW.Close()
		return err
	}
	defer parentW.Close()
	cmd := exec.Command(self, args...)
	cmd.Stdout, cmd.Stderr, cmd.ExtraFiles = logf, logf, []*os.File{readyW, parentR}
	cmd.Env = fw.Env.List()
	detach(cmd) // survives the terminal
	err = cmd.Start()
	readyW.Close()
	parentR.Close()
	if err != nil {
		return err
	}
	// Reap it when it ends while this process lives on (the TUI does).
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	sec, _ := json.Marshal(ForwarderSecrets{Token: deref(fw.Config.BearerToken), Password: deref(fw.Config.Password)})
	if _, err := parentW.Write(append(sec, '\n')); err != nil {
		return fmt.Errorf("background forwarder: %w (log: %s)", err, logPath)
	}
	line, err := readLine(ctx, readyR)
	if err != nil {
		abandon(e, parentW, cmd, exited, contextName)
		return fmt.Errorf("background forwarder: %w (log: %s)", err, logPath)
	}
	if msg, ok := strings.CutPrefix(line, "error: "); ok {
		return errors.New(msg)
	}
	if line == ForwarderSleeping {
		return &tenant.SleepingError{Name: name}
	}
	if _, err := parentW.Write([]byte("detach\n")); err != nil {
		// It died between its report and now: nothing holds the context.
		abandon(e, parentW, cmd, exited, contextName)
		return fmt.Errorf("background forwarder exited after connecting (log: %s)", logPath)
	}
	return nil
}

// abandon tells the forwarder the parent gave up (EOF on its pipe: it undoes
// its connection and exits), stops it if it does not, and removes what a
// forwarder stopped that way may have left.
func abandon(e *tenant.Engine, parentW *os.File, cmd *exec.Cmd, exited <-chan struct{}, contextName string) {
	parentW.Close()
	steps := []func(){terminateChild(cmd), func() { _ = cmd.Process.Kill() }}
	for i := 0; !waitExited(exited, 3*time.Second) && i < len(steps); i++ {
		steps[i]()
	}
	if s, ok, _ := e.Sessions.Get(e.Kubeconfig.Path, contextName); ok && s.PID == cmd.Process.Pid {
		_, _ = e.Disconnect(context.Background(), contextName)
	}
}

func waitExited(exited <-chan struct{}, d time.Duration) bool {
	select {
	case <-exited:
		return true
	case <-time.After(d):
		return false
	}
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// ForwarderSleeping is what the forwarder reports when the tenant sleeps.
const ForwarderSleeping = "sleeping"

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

// PassthroughFlags repeats every kubeconfig flag the user gave, so the
// forwarder acts as the same identity (--as, client certificates, TLS
// options) on the same host context and writes the same file. The token and
// the password go over the parent pipe instead (ForwarderSecrets).
func PassthroughFlags(c *genericclioptions.ConfigFlags, hostContext string) []string {
	var out []string
	str := func(name string, v *string) {
		if v != nil && *v != "" {
			out = append(out, "--"+name+"="+*v)
		}
	}
	list := func(name string, v *[]string) {
		if v != nil {
			for _, x := range *v {
				out = append(out, "--"+name+"="+x)
			}
		}
	}
	flag := func(name string, v *bool) {
		if v != nil && *v {
			out = append(out, "--"+name+"=true")
		}
	}
	str("kubeconfig", c.KubeConfig)
	str("cache-dir", c.CacheDir)
	context := c.Context
	if hostContext != "" {
		context = &hostContext // pinned: the current context may change meanwhile
	}
	str("context", context)
	str("cluster", c.ClusterName)
	str("user", c.AuthInfoName)
	str("namespace", c.Namespace)
	str("server", c.APIServer)
	str("tls-server-name", c.TLSServerName)
	flag("insecure-skip-tls-verify", c.Insecure)
	str("client-certificate", c.CertFile)
	str("client-key", c.KeyFile)
	str("certificate-authority", c.CAFile)
	str("as", c.Impersonate)
	str("as-uid", c.ImpersonateUID)
	list("as-group", c.ImpersonateGroup)
	list("as-user-extra", c.ImpersonateUserExtra)
	str("username", c.Username)
	str("request-timeout", c.Timeout)
	flag("disable-compression", c.DisableCompression)
	return out
}
