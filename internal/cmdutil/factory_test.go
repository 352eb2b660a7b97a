package cmdutil_test

import (
	"context"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-tenant/kubectl-tenant/internal/cmdutil"
	"github.com/kubectl-tenant/kubectl-tenant/internal/cmdutil/cmdutiltest"
	"github.com/kubectl-tenant/kubectl-tenant/plugins/argocd"
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
	t.Setenv(argocd.NamespaceEnv, "")
	t.Setenv(argocd.ServerEnv, "")
	streams, _, _, _ := genericiooptions.NewTestIOStreams()
	f := cmdutil.NewFactory(streams)
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
	reg, in := a.Registrar.(*argocd.Registrar), a.GitOps.(*argocd.Installer)
	if reg.Options.Namespace != "gitops-system" || reg.Options.Server != "https://argocd.example" || reg.KeepSession || in.Options.Namespace != "gitops-system" {
		t.Errorf("registrar options %+v, keep session %v; installer options %+v", reg.Options, reg.KeepSession, in.Options)
	}
	if again, _ := f.Engine(); again != base || again.Registrar != nil {
		t.Error("Engine() changed after ArgoCDEngine")
	}

	// The environment beats the host defaults.
	t.Setenv(argocd.NamespaceEnv, "from-env")
	c, err := f.ArgoCDEngine(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ns := c.Registrar.(*argocd.Registrar).Options.Namespace; ns != "from-env" {
		t.Errorf("namespace %q, want the environment's", ns)
	}
}
