package create

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-tenant/kubectl-tenant/internal/cmdutil"
	"github.com/kubectl-tenant/kubectl-tenant/internal/factory"
	"github.com/kubectl-tenant/kubectl-tenant/plugins/argocd"
)

func run(t *testing.T, args ...string) (*Options, error) {
	t.Helper()
	var out, errb bytes.Buffer
	f := factory.New(genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errb})
	var got *Options
	cmd := NewCmdCreate(f, func(_ context.Context, o *Options) error { got = o; return nil })
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	return got, cmd.Execute()
}

// TestRegisterTakesArgoCDFlags: create --register reaches an Argo CD with a
// self-signed certificate or at an explicit address, like register (M12).
func TestRegisterTakesArgoCDFlags(t *testing.T) {
	o, err := run(t, "demo", "--register", "--argocd-insecure", "--argocd-server", "https://argocd.example.com",
		"--argocd-namespace", "gitops", "--argocd-auth", "token")
	if err != nil {
		t.Fatal(err)
	}
	a := o.ArgoCD
	if !a.Insecure || a.Server != "https://argocd.example.com" || a.Namespace != "gitops" || a.Auth != argocd.AuthToken || a.Flags != argocd.PrefixedFlags {
		t.Errorf("argocd options %+v", a)
	}
	if o, err := run(t, "demo", "--register"); err != nil || o.ArgoCD.Auth != argocd.AuthAuto || o.ArgoCD.Insecure || o.ArgoCD.Namespace != "" { // "": the environment, the host defaults or argocd, resolved at register
		t.Errorf("defaults: %+v, %v", o.ArgoCD, err)
	}
	for _, args := range [][]string{
		{"demo", "--register", "--argocd-auth", "sso"},
		{"demo", "--register", "--argocd-server", "ftp://x"},
		{"in-cluster", "--register"}, // Argo CD's own cluster name
	} {
		if _, err := run(t, args...); cmdutil.ExitCode(err) != cmdutil.ExitUsage {
			t.Errorf("%v: %v, want a usage error", args, err)
		}
	}
	if _, err := run(t, "in-cluster"); err != nil {
		t.Errorf("a tenant in-cluster that is not registered: %v", err)
	}
}
