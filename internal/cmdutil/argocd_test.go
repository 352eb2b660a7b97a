package cmdutil

import (
	"context"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/hostconfig"
	"github.com/kubectl-tenant/kubectl-tenant/plugins/argocd"
)

// TestArgoCDServerOrigin: where --argocd-server's value came from reaches
// the refusal of a plain-HTTP address (audit N4): the flag, the
// environment (the flag's default), or the host defaults that filled it.
func TestArgoCDServerOrigin(t *testing.T) {
	newCmd := func(env map[string]string, args ...string) argocd.Options {
		var o argocd.Options
		var auth string
		cmd := &cobra.Command{Use: "register", RunE: func(*cobra.Command, []string) error { return nil }}
		AddArgoCDFlags(cmd, Env(env), &o, &auth, false)
		cmd.SetArgs(args)
		if err := cmd.Execute(); err != nil {
			t.Fatal(err)
		}
		return o
	}
	check := func(o argocd.Options, want string) {
		t.Helper()
		err := o.Validate()
		if err == nil || !strings.Contains(err.Error(), "(from "+want) {
			t.Errorf("%+v: got %v, want a refusal naming %q", o, err, want)
		}
	}
	check(newCmd(nil, "--argocd-server", "http://argo.example"), "flag --argocd-server")
	env := map[string]string{hostconfig.EnvArgoCDServer: "http://argo.example"}
	check(newCmd(env), "env $"+hostconfig.EnvArgoCDServer)
	check(newCmd(env, "--argocd-server", "http://other.example"), "flag --argocd-server")
	if o := newCmd(env, "--argocd-server", "http://other.example", "--insecure"); o.Validate() != nil {
		t.Errorf("--insecure: %v", o.Validate())
	}

	host, err := hostconfig.Parse(map[string]string{hostconfig.KeyArgoCDServer: "http://argo.example"})
	if err != nil {
		t.Fatal(err)
	}
	defaults := func(context.Context, *pflag.FlagSet) (hostconfig.Resolver, error) {
		return hostconfig.Resolver{Host: host}, nil
	}
	_, err = ArgoCDDefaults(context.Background(), defaults, newCmd(nil))
	if err == nil || !strings.Contains(err.Error(), "(from host "+hostconfig.Ref+")") || !strings.Contains(err.Error(), "--insecure") {
		t.Errorf("host defaults' http:// address: %v", err)
	}
	if _, err := ArgoCDDefaults(context.Background(), defaults, newCmd(nil, "--insecure")); err != nil {
		t.Errorf("host defaults' http:// address with --insecure: %v", err)
	}
}
