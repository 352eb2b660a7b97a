// Package cmdutil holds what every command shares: the Factory (funcs that
// build clients lazily from kubectl's ConfigFlags), IO streams, exit codes
// and printing.
package cmdutil

import (
	"context"
	"io"

	"github.com/spf13/pflag"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/gitops"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/hostconfig"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
	"github.com/kubectl-tenant/kubectl-tenant/plugins/argocd"
	"github.com/kubectl-tenant/kubectl-tenant/plugins/argocd/application"
)

// NewConfigFlags are kubectl's standard flags as the commands use them:
// with a --request-timeout default (Helm's client reads it too) and the
// discovery limits kubectl's own commands use.
func NewConfigFlags() *genericclioptions.ConfigFlags {
	flags := genericclioptions.NewConfigFlags(true).WithDiscoveryBurst(300).WithDiscoveryQPS(50.0)
	timeout := DefaultRequestTimeout.String()
	flags.Timeout = &timeout
	return flags
}

// Factory is what commands get from main: kubectl's flags, the IO
// streams, the environment read once, and funcs that build clients on
// first use, so `version`, `completion` and `--help` never touch the
// kubeconfig or the network. internal/factory wires every func in one
// place (it alone links the vCluster backend, and with it Helm); a
// command's Options copy only the funcs they call, and tests replace them.
type Factory struct {
	ConfigFlags *genericclioptions.ConfigFlags
	IOStreams   genericiooptions.IOStreams
	// Interrupts is main's signal handling; commands set its hint.
	Interrupts Interrupts
	// Env is the process environment, read by factory.New: nothing below
	// reads os.Getenv, so one run sees one environment.
	Env Env

	// KubeconfigPath is the file tenant contexts are written to:
	// --kubeconfig, else the first KUBECONFIG entry, else ~/.kube/config.
	KubeconfigPath func() string
	// Engine returns the lifecycle engine wired to the host cluster,
	// reporting progress to stderr. It has no Argo CD plugins (no
	// Registrar, no GitOps): the commands that deregister, list
	// registrations or remove Applications take ArgoCDEngine.
	Engine func() (*tenant.Engine, error)
	// LocalEngine is Engine for a command that edits only local state
	// (disconnect): a current tenant context whose host cluster is unknown
	// is no error. A process runs one command, so the first of Engine and
	// LocalEngine builds the engine both return.
	LocalEngine func() (*tenant.Engine, error)
	// Defaults resolves the platform's defaults for a command (see
	// hostDefaults).
	Defaults func(ctx context.Context, fs *pflag.FlagSet) (hostconfig.Resolver, error)
	// ArgoCDEngine returns a new engine (Engine's clients and reporter)
	// whose Argo CD plugins are where the environment, then the host
	// defaults say: the Registrar (delete deregisters, list shows
	// REGISTERED; without an Argo CD on the host both are no-ops) and the
	// GitOps installer (delete removes a GitOps tenant's Application).
	// With warn set, a host defaults error is a warning there and the
	// environment's and built-in values apply; without, it is returned.
	ArgoCDEngine func(ctx context.Context, warn io.Writer) (*tenant.Engine, error)
	// EngineWith returns a new engine: Engine's, with the Argo CD plugins
	// reg and in (either may be nil). The Factory's engine stays as built.
	EngineWith func(reg *argocd.Registrar, in *application.Installer) (*tenant.Engine, error)
	// NewRegistrar returns a new Argo CD registrar with ao (where Argo CD
	// is, how to log in) for one command's calls; keepSession keeps one
	// Argo CD session for all of them (the interactive app lists every few
	// seconds; Close ends it).
	NewRegistrar func(ao argocd.Options, keepSession bool) (*argocd.Registrar, error)
	// NewInstaller returns a new Argo CD installer for one create --gitops:
	// the platform config cfg (nil: none) in Argo CD's namespace ns.
	NewInstaller func(cfg *gitops.Config, ns string) (*application.Installer, error)
}
