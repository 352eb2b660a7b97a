package factory_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-tenant/kubectl-tenant/internal/cmdutil/cmdutiltest"
	"github.com/kubectl-tenant/kubectl-tenant/internal/factory"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/hostconfig"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/session"
	"github.com/kubectl-tenant/kubectl-tenant/plugins/argocd"
	"github.com/kubectl-tenant/kubectl-tenant/plugins/argocd/application"
)

// TestArgoCDEngineIsBuiltNotChanged: the host defaults are an input to the
// Argo CD engine, not a change to what the Factory built. Engine has no
// Argo CD plugins and stays so; each ArgoCDEngine is a new engine whose
// registrar and installer are where the host defaults say, and the
// environment beats them.
func TestArgoCDEngineIsBuiltNotChanged(t *testing.T) {
	kubeconfig, _, _ := cmdutiltest.FakeHostWithDefaults(t, map[string]string{"argocdNamespace": "gitops-system", "argocdServer": "https://argocd.example"}, "demo")
	t.Setenv("KUBECONFIG", kubeconfig)
	t.Setenv("KUBECTL_TENANT_STATE_DIR", t.TempDir())
	t.Setenv(hostconfig.EnvArgoCDNamespace, "")
	t.Setenv(hostconfig.EnvArgoCDServer, "")
	streams, _, _, _ := genericiooptions.NewTestIOStreams()
	f := factory.New(streams)
	ctx := context.Background()
	base, err := f.Engine()
	if err != nil {
		t.Fatal(err)
	}
	a, err := f.ArgoCDEngine(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := f.ArgoCDEngine(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if base.Registrar != nil || base.GitOps != nil {
		t.Errorf("Engine() has Argo CD plugins: %T %T", base.Registrar, base.GitOps)
	}
	if a == base || a == b || a.Registrar == b.Registrar {
		t.Error("ArgoCDEngine returned a shared engine or registrar")
	}
	reg, in := a.Registrar.(*argocd.Registrar), a.GitOps.(*application.Installer)
	if reg.Options.Namespace != "gitops-system" || reg.Options.Server != "https://argocd.example" || reg.KeepSession || in.Namespace != "gitops-system" {
		t.Errorf("registrar options %+v, keep session %v; installer namespace %q", reg.Options, reg.KeepSession, in.Namespace)
	}
	if again, _ := f.Engine(); again != base || again.Registrar != nil {
		t.Error("Engine() changed after ArgoCDEngine")
	}

	// The environment (as the Factory read it) beats the host defaults.
	f.Env[hostconfig.EnvArgoCDNamespace] = "from-env"
	c, err := f.ArgoCDEngine(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ns := c.Registrar.(*argocd.Registrar).Options.Namespace; ns != "from-env" {
		t.Errorf("namespace %q, want the environment's", ns)
	}
}

// TestFactoryReadsTheEnvironmentOnce: the defaults come from the
// environment factory.New read, not from the process's at the time of the
// call, and a test (or a caller) gives the Factory its own through Env.
func TestFactoryReadsTheEnvironmentOnce(t *testing.T) {
	kubeconfig, _, _ := cmdutiltest.FakeHostWithDefaults(t, map[string]string{"pool": "from-host"}, "demo")
	t.Setenv("KUBECONFIG", kubeconfig)
	t.Setenv("KUBECTL_TENANT_STATE_DIR", t.TempDir())
	t.Setenv("KUBECTL_TENANT_POOL", "at-start")
	t.Setenv(hostconfig.EnvValues, "a.yaml, b.yaml")
	streams, _, _, _ := genericiooptions.NewTestIOStreams()
	f := factory.New(streams)
	t.Setenv("KUBECTL_TENANT_POOL", "later")
	t.Setenv(hostconfig.EnvValues, "later.yaml")
	r, err := f.Defaults(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if v := r.Get(hostconfig.KeyPool); v.Value != "at-start" || v.Source != hostconfig.Env || v.From != "$KUBECTL_TENANT_POOL" {
		t.Errorf("pool = %+v; want the environment read at start", v)
	}
	if got := r.ValuesFiles(); !slices.Equal(got, []string{"a.yaml", "b.yaml"}) {
		t.Errorf("values files = %q; want those of the environment read at start", got)
	}
	delete(f.Env, "KUBECTL_TENANT_POOL")
	if r, _ = f.Defaults(context.Background(), nil); r.Get(hostconfig.KeyPool).Value != "from-host" {
		t.Errorf("pool without the variable = %+v; want the host's", r.Get(hostconfig.KeyPool))
	}
	if got := session.DefaultStore(f.Env.Get, hostconfig.EnvStateDir).Dir; got != filepath.Join(f.Env["KUBECTL_TENANT_STATE_DIR"], "sessions") {
		t.Errorf("session dir %q", got)
	}
	e, err := f.Engine()
	if err != nil {
		t.Fatal(err)
	}
	if e.Sessions.Dir != filepath.Join(f.Env["KUBECTL_TENANT_STATE_DIR"], "sessions") {
		t.Errorf("engine session dir %q; want the one of $KUBECTL_TENANT_STATE_DIR", e.Sessions.Dir)
	}
}

// A kubeconfig that names no cluster is said so, instead of client-go's
// last resort "cannot reach ... http://localhost:8080"; --server, or a
// kubeconfig with a cluster, is tried as given.
func TestNoClusterIsSaidSo(t *testing.T) {
	empty := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(empty, []byte("apiVersion: v1\nkind: Config\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("KUBECONFIG", empty)
	t.Setenv("KUBECTL_TENANT_STATE_DIR", t.TempDir())
	t.Setenv("KUBERNETES_SERVICE_HOST", "") // not in a pod
	engine := func(server string) error {
		streams, _, _, _ := genericiooptions.NewTestIOStreams()
		f := factory.New(streams)
		if server != "" {
			*f.ConfigFlags.APIServer = server
		}
		_, err := f.Engine()
		return err
	}
	if err := engine(""); err == nil || !strings.Contains(err.Error(), "no Kubernetes cluster: the kubeconfig ("+empty+") names none") {
		t.Errorf("empty kubeconfig: %v", err)
	}
	if err := engine("https://127.0.0.1:1"); err != nil {
		t.Errorf("--server: %v", err)
	}
	kubeconfig, _ := cmdutiltest.FakeHost(t)
	t.Setenv("KUBECONFIG", kubeconfig)
	if err := engine(""); err != nil {
		t.Errorf("a kubeconfig with a cluster: %v", err)
	}
}
