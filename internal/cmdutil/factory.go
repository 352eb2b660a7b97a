// Package cmdutil holds what every command shares: the Factory (lazy clients
// built from kubectl's ConfigFlags), IO streams, exit codes and printing.
package cmdutil

import (
	"os"
	"fmt"
	"sync"

	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"

	"github.com/kubectl-tenant/kubectl-tenant/internal/progress"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/kubeconfig"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/session"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
	"github.com/kubectl-tenant/kubectl-tenant/plugins/vcluster"
)

// Factory builds clients on first use, so `version`, `completion` and
// `--help` never touch the kubeconfig or the network.
type Factory struct {
	ConfigFlags *genericclioptions.ConfigFlags
	IOStreams   genericiooptions.IOStreams

	once   sync.Once
	engine *tenant.Engine
	err    error
}

// NewFactory returns a Factory over kubectl's standard flags.
func NewFactory(streams genericiooptions.IOStreams) *Factory {
	return &Factory{
		ConfigFlags: genericclioptions.NewConfigFlags(true).WithDiscoveryBurst(300).WithDiscoveryQPS(50.0),
		IOStreams:   streams,
	}
}

// KubeconfigPath is the file tenant contexts are written to: --kubeconfig,
// else the first KUBECONFIG entry, else ~/.kube/config.
func (f *Factory) KubeconfigPath() string {
	return f.ConfigFlags.ToRawKubeConfigLoader().ConfigAccess().GetDefaultFilename()
}

// Engine returns the lifecycle engine wired to the host cluster, reporting
// progress to stderr.
func (f *Factory) Engine() (*tenant.Engine, error) {
	f.once.Do(func() {
		cfg, err := f.ConfigFlags.ToRESTConfig()
		if err != nil {
			f.err = fmt.Errorf("kubeconfig: %w", err)
			return
		}
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
		f.engine = &tenant.Engine{
			Kube:       kube,
			REST:       cfg,
			Backend:    &vcluster.Backend{Getter: f.ConfigFlags, Kube: kube, Meta: meta},
			Kubeconfig: kubeconfig.Store{Path: f.KubeconfigPath()},
			Sessions:   session.Store{Dir: session.DefaultDir()},
			Report:     progress.Lines(f.IOStreams.ErrOut),
		}
	})
	return f.engine, f.err
}

// TokenEnv passes --token to a background forwarder without putting it in
// its command line.
const TokenEnv = "KUBECTL_TENANT_BEARER_TOKEN"

// TakeTokenFromEnv fills --token from TokenEnv when the flag is unset.
func (f *Factory) TakeTokenFromEnv() {
	if t := f.ConfigFlags.BearerToken; t != nil && *t == "" {
		if v := os.Getenv(TokenEnv); v != "" {
			*t = v
		}
	}
}
