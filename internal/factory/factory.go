// Package factory wires the Factory the commands get: the host clients,
// the vCluster backend, the Argo CD plugins, the defaults resolver and the
// environment, read once. It is the one package between main and the
// commands that links the backends (and with vCluster's, Helm).
package factory

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync"

	"github.com/spf13/pflag"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubectl-tenant/kubectl-tenant/internal/cmdutil"
	"github.com/kubectl-tenant/kubectl-tenant/internal/progress"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/gitops"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/hostconfig"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/kubeconfig"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/session"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
	"github.com/kubectl-tenant/kubectl-tenant/plugins/argocd"
	"github.com/kubectl-tenant/kubectl-tenant/plugins/argocd/application"
	"github.com/kubectl-tenant/kubectl-tenant/plugins/vcluster"
)

// New returns the Factory over kubectl's standard flags and this process's
// environment: the one place where its funcs are wired.
func New(streams genericiooptions.IOStreams) *cmdutil.Factory {
	f := &cmdutil.Factory{ConfigFlags: cmdutil.NewConfigFlags(), IOStreams: streams, Env: cmdutil.ReadEnv()}
	c := &clients{f: f}
	f.KubeconfigPath = func() string {
		return f.ConfigFlags.ToRawKubeConfigLoader().ConfigAccess().GetDefaultFilename()
	}
	f.Engine = func() (*tenant.Engine, error) { return c.build(false) }
	f.LocalEngine = func() (*tenant.Engine, error) { return c.build(true) }
	f.Defaults = c.hostDefaults
	f.ArgoCDEngine = c.argoCDEngine
	f.EngineWith = c.engineWith
	f.NewRegistrar = c.newRegistrar
	f.NewInstaller = c.newInstaller
	return f
}

// clients are what the Factory's funcs build once per process.
type clients struct {
	f      *cmdutil.Factory
	once   sync.Once
	engine *tenant.Engine // without Argo CD plugins, which use it
	meta   metadata.Interface
	dyn    dynamic.Interface
	err    error

	hostOnce sync.Once
	host     *hostconfig.Defaults
	hostErr  error
}

// sessions is the session store in the Factory's environment.
func (c *clients) sessions() session.Store {
	return session.DefaultStore(c.f.Env.Get, hostconfig.EnvStateDir)
}

func (c *clients) build(localOnly bool) (*tenant.Engine, error) {
	f := c.f
	c.once.Do(func() {
		host, err := c.hostContext(localOnly)
		if err != nil {
			c.err = err
			return
		}
		cfg, err := f.ConfigFlags.ToRESTConfig()
		if err != nil {
			c.err = fmt.Errorf("kubeconfig: %w", err)
			return
		}
		if !localOnly && noCluster(f.ConfigFlags, cfg) {
			c.err = fmt.Errorf("no Kubernetes cluster: the kubeconfig (%s) names none; set KUBECONFIG, or pass --kubeconfig or --server", kubeconfigFiles(f.ConfigFlags))
			return
		}
		// client-go's default (5 QPS, burst 10) throttles a create's parallel
		// access reviews and the TUI's refreshes; the apiserver's own
		// priority and fairness is the real limit.
		cfg.QPS, cfg.Burst = 50, 100
		kube, err := kubernetes.NewForConfig(cfg)
		if err != nil {
			c.err = err
			return
		}
		meta, err := metadata.NewForConfig(cfg)
		if err != nil {
			c.err = err
			return
		}
		dyn, err := dynamic.NewForConfig(cfg)
		if err != nil {
			c.err = err
			return
		}
		c.meta, c.dyn = meta, dyn
		c.engine = &tenant.Engine{Host: tenant.Host{
			Kube:        kube,
			REST:        cfg,
			Backend:     &vcluster.Backend{Getter: f.ConfigFlags, Kube: kube, Meta: meta},
			Kubeconfig:  kubeconfig.Store{Path: f.KubeconfigPath()},
			Sessions:    c.sessions(),
			HostContext: host,
			Report:      progress.Lines(f.IOStreams.ErrOut),
		}}
	})
	return c.engine, c.err
}

// noCluster says the REST config is client-go's last resort: no cluster in
// the kubeconfig, no --server and not in a pod, so kubectl would try
// http://localhost:8080 and report a refused connection there.
func noCluster(flags *genericclioptions.ConfigFlags, cfg *rest.Config) bool {
	if cfg.Host != clientcmd.ClusterDefaults.Server || (flags.APIServer != nil && *flags.APIServer != "") {
		return false
	}
	raw, err := flags.ToRawKubeConfigLoader().RawConfig()
	return err == nil && len(raw.Clusters) == 0
}

// kubeconfigFiles names the kubeconfig files read, for the error above.
func kubeconfigFiles(flags *genericclioptions.ConfigFlags) string {
	if flags.KubeConfig != nil && *flags.KubeConfig != "" {
		return *flags.KubeConfig
	}
	return strings.Join(clientcmd.NewDefaultClientConfigLoadingRules().GetLoadingPrecedence(), string(filepath.ListSeparator))
}

func (c *clients) argoCDEngine(ctx context.Context, warn io.Writer) (*tenant.Engine, error) {
	if _, err := c.f.Engine(); err != nil {
		return nil, err
	}
	r, err := c.f.Defaults(ctx, nil)
	if err != nil {
		// An API that cannot be reached fails the command anyway: say it
		// once, as the error, not first as a warning.
		var ue *tenant.UnreachableError
		if warn == nil || errors.As(err, &ue) {
			return nil, err
		}
		fmt.Fprintln(warn, "Warning:", err)
		r = hostconfig.Resolver{Getenv: c.f.Env.Get}
	}
	ao := cmdutil.HostArgoCD(r)
	reg, err := c.f.NewRegistrar(ao, false)
	if err != nil {
		return nil, err
	}
	in, err := c.f.NewInstaller(nil, ao.Namespace)
	if err != nil {
		return nil, err
	}
	return c.f.EngineWith(reg, in)
}

func (c *clients) engineWith(reg *argocd.Registrar, in *application.Installer) (*tenant.Engine, error) {
	base, err := c.f.Engine()
	if err != nil {
		return nil, err
	}
	e := *base
	if reg != nil {
		e.Registrar = reg
	}
	if in != nil {
		e.GitOps = in
	}
	return &e, nil
}

func (c *clients) newRegistrar(ao argocd.Options, keepSession bool) (*argocd.Registrar, error) {
	b, err := c.f.Engine()
	if err != nil {
		return nil, err
	}
	return &argocd.Registrar{Kube: b.Kube, REST: b.REST, Sessions: b.Sessions, Tenants: b, Meta: c.meta, Options: ao, KeepSession: keepSession}, nil
}

func (c *clients) newInstaller(cfg *gitops.Config, ns string) (*application.Installer, error) {
	b, err := c.f.Engine()
	if err != nil {
		return nil, err
	}
	return &application.Installer{Kube: b.Kube, Dynamic: c.dyn, Namespace: ns, Config: cfg}, nil
}

// hostContext makes commands talk to the host cluster even while a tenant
// context (written by connect) is current: without --context, a current
// context that is one of ours is replaced by the host context recorded in its
// session or in the context's own mark. It returns the effective host context
// name.
func (c *clients) hostContext(localOnly bool) (string, error) {
	f := c.f
	if c := f.ConfigFlags.Context; c != nil && *c != "" {
		return *c, nil
	}
	// A fresh load: ConfigFlags caches its loader with the overrides of the
	// first call, so it must not be asked before --context is settled.
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if p := f.ConfigFlags.KubeConfig; p != nil {
		rules.ExplicitPath = *p
	}
	raw, err := rules.Load()
	if err != nil {
		return "", nil // let ToRESTConfig report the kubeconfig problem
	}
	cur := raw.CurrentContext
	m, ours := kubeconfig.MarkOf(raw.Contexts[cur])
	if !ours {
		return cur, nil
	}
	host := m.Host
	if s, ok, _ := c.sessions().Get(rules.GetDefaultFilename(), cur); ok && s.HostContext != "" {
		host = s.HostContext
	}
	if host == "" || host == cur {
		if localOnly {
			return cur, nil
		}
		return "", cmdutil.UsageError{Err: fmt.Errorf("the current context %q is a tenant, not the host cluster: pass --context HOST or run `kubectl tenant disconnect`", cur)}
	}
	*f.ConfigFlags.Context = host
	return host, nil
}

// hostDefaults is Factory.Defaults: the platform's defaults for a command
// are the flags of fs the user set (fs may be nil), the Factory's
// environment, the host cluster's ConfigMap kube-public/kubectl-tenant (one
// GET, once per process) and the built-in values. A malformed ConfigMap is
// one error line. It changes nothing: what the defaults decide is the
// caller's input (HostArgoCD, ApplyCreateDefaults).
func (c *clients) hostDefaults(ctx context.Context, fs *pflag.FlagSet) (hostconfig.Resolver, error) {
	e, err := c.f.Engine()
	if err != nil {
		return hostconfig.Resolver{}, err
	}
	c.hostOnce.Do(func() {
		c.host, c.hostErr = hostconfig.Load(ctx, e.Kube)
		var bad *hostconfig.MalformedError
		if c.hostErr != nil && !errors.As(c.hostErr, &bad) {
			c.hostErr = tenant.APIError(c.hostErr)
		}
	})
	if c.hostErr != nil {
		return hostconfig.Resolver{}, c.hostErr
	}
	return hostconfig.Resolver{Flags: cmdutil.ChangedFlags(fs), Getenv: c.f.Env.Get, Host: c.host}, nil
}
