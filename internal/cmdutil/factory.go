// Package cmdutil holds what every command shares: the Factory (lazy clients
// built from kubectl's ConfigFlags), IO streams, exit codes and printing.
package cmdutil

import (
	"context"
	"fmt"
	"io"
	"sync"

	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubectl-tenant/kubectl-tenant/internal/progress"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/gitops"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/hostconfig"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/kubeconfig"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/session"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
	"github.com/kubectl-tenant/kubectl-tenant/plugins/argocd"
	"github.com/kubectl-tenant/kubectl-tenant/plugins/vcluster"
)

// Factory builds clients on first use, so `version`, `completion` and
// `--help` never touch the kubeconfig or the network.
type Factory struct {
	ConfigFlags *genericclioptions.ConfigFlags
	IOStreams   genericiooptions.IOStreams
	// Interrupts is main's signal handling; commands set its hint.
	Interrupts Interrupts
	once       sync.Once
	engine     *tenant.Engine // without Argo CD plugins, which use it
	meta       metadata.Interface
	dyn        dynamic.Interface
	err        error

	hostOnce sync.Once
	host     *hostconfig.Defaults
	hostErr  error
}

// NewFactory returns a Factory over kubectl's standard flags.
func NewFactory(streams genericiooptions.IOStreams) *Factory {
	flags := genericclioptions.NewConfigFlags(true).WithDiscoveryBurst(300).WithDiscoveryQPS(50.0)
	timeout := DefaultRequestTimeout.String()
	flags.Timeout = &timeout // the --request-timeout default; Helm's client reads it too
	return &Factory{ConfigFlags: flags, IOStreams: streams}
}

// KubeconfigPath is the file tenant contexts are written to: --kubeconfig,
// else the first KUBECONFIG entry, else ~/.kube/config.
func (f *Factory) KubeconfigPath() string {
	return f.ConfigFlags.ToRawKubeConfigLoader().ConfigAccess().GetDefaultFilename()
}

// Engine returns the lifecycle engine wired to the host cluster, reporting
// progress to stderr. It has no Argo CD plugins (no Registrar, no GitOps):
// the commands that deregister, list registrations or remove Applications
// take ArgoCDEngine, built per call from it.
func (f *Factory) Engine() (*tenant.Engine, error) { return f.build(false) }

// LocalEngine is Engine for a command that edits only local state
// (disconnect): a current tenant context whose host cluster is unknown is
// no error. A process runs one command, so the first of Engine and
// LocalEngine builds the engine both return.
func (f *Factory) LocalEngine() (*tenant.Engine, error) { return f.build(true) }

func (f *Factory) build(localOnly bool) (*tenant.Engine, error) {
	f.once.Do(func() {
		host, err := f.hostContext(localOnly)
		if err != nil {
			f.err = err
			return
		}
		cfg, err := f.ConfigFlags.ToRESTConfig()
		if err != nil {
			f.err = fmt.Errorf("kubeconfig: %w", err)
			return
		}
		// client-go's default (5 QPS, burst 10) throttles a create's parallel
		// access reviews and the TUI's refreshes; the apiserver's own
		// priority and fairness is the real limit.
		cfg.QPS, cfg.Burst = 50, 100
		kube, err := kubernetes.NewForConfig(cfg)
		if err != nil {
			f.err = err
			return
		}
		meta, err := metadata.NewForConfig(cfg)
		if err != nil {
			f.err = err
			return
		}
		dyn, err := dynamic.NewForConfig(cfg)
		if err != nil {
			f.err = err
			return
		}
		f.meta, f.dyn = meta, dyn
		f.engine = &tenant.Engine{
			Kube:        kube,
			REST:        cfg,
			Backend:     &vcluster.Backend{Getter: f.ConfigFlags, Kube: kube, Meta: meta},
			Kubeconfig:  kubeconfig.Store{Path: f.KubeconfigPath()},
			Sessions:    session.DefaultStore(),
			HostContext: host,
			Report:      progress.Lines(f.IOStreams.ErrOut),
		}
	})
	return f.engine, f.err
}

// ArgoCDEngine returns a new engine (Engine's clients and reporter) whose
// Argo CD plugins are where the environment, then the host defaults say:
// the Registrar (delete deregisters, list shows REGISTERED; without an
// Argo CD on the host both are no-ops) and the GitOps installer (delete
// removes a GitOps tenant's Application). With warn set, a host defaults
// error is a warning there and the environment's and built-in values
// apply; without, it is returned.
func (f *Factory) ArgoCDEngine(ctx context.Context, warn io.Writer) (*tenant.Engine, error) {
	if _, err := f.Engine(); err != nil {
		return nil, err
	}
	r, err := f.Defaults(ctx, nil)
	if err != nil {
		if warn == nil {
			return nil, err
		}
		fmt.Fprintln(warn, "Warning:", err)
	}
	ao := HostArgoCD(r)
	reg, err := f.NewRegistrar(ao, false)
	if err != nil {
		return nil, err
	}
	in, err := f.NewInstaller(nil, ao.Namespace)
	if err != nil {
		return nil, err
	}
	return f.EngineWith(reg, in)
}

// EngineWith returns a new engine: Engine's, with the Argo CD plugins reg
// and in (either may be nil). The Factory's engine stays as built.
func (f *Factory) EngineWith(reg *argocd.Registrar, in *argocd.Installer) (*tenant.Engine, error) {
	base, err := f.Engine()
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

// NewRegistrar returns a new Argo CD registrar with ao (where Argo CD is,
// how to log in) for one command's calls; keepSession keeps one Argo CD
// session for all of them (the interactive app lists every few seconds;
// Close ends it).
func (f *Factory) NewRegistrar(ao argocd.Options, keepSession bool) (*argocd.Registrar, error) {
	b, err := f.Engine()
	if err != nil {
		return nil, err
	}
	return &argocd.Registrar{Kube: b.Kube, REST: b.REST, Sessions: b.Sessions, Tenants: b, Meta: f.meta, Options: ao, KeepSession: keepSession}, nil
}

// NewInstaller returns a new Argo CD installer for one create --gitops:
// the platform config cfg (nil: none) in Argo CD's namespace ns.
func (f *Factory) NewInstaller(cfg *gitops.Config, ns string) (*argocd.Installer, error) {
	b, err := f.Engine()
	if err != nil {
		return nil, err
	}
	return &argocd.Installer{Kube: b.Kube, Dynamic: f.dyn, Options: argocd.Options{Namespace: ns}, Config: cfg}, nil
}

// hostContext makes commands talk to the host cluster even while a tenant
// context (written by connect) is current: without --context, a current
// context that is one of ours is replaced by the host context recorded in its
// session or in the context's own mark. It returns the effective host context
// name.
func (f *Factory) hostContext(localOnly bool) (string, error) {
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
	if s, ok, _ := session.DefaultStore().Get(rules.GetDefaultFilename(), cur); ok && s.HostContext != "" {
		host = s.HostContext
	}
	if host == "" || host == cur {
		if localOnly {
			return cur, nil
		}
		return "", UsageError{fmt.Errorf("the current context %q is a tenant, not the host cluster: pass --context HOST or run `kubectl tenant disconnect`", cur)}
	}
	*f.ConfigFlags.Context = host
	return host, nil
}
