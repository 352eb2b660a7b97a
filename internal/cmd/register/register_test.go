package register

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-tenant/kubectl-tenant/internal/cmdutil"
	"github.com/kubectl-tenant/kubectl-tenant/plugins/argocd"
)

func run(t *testing.T, args ...string) (stdout string, opts *Options, err error) {
	t.Helper()
	var out, errb bytes.Buffer
	f := cmdutil.NewFactory(genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errb})
	var got *Options
	cmd := NewCmdRegister(f, func(_ context.Context, o *Options) error { got = o; return nil })
	if len(args) > 0 && args[0] == "--dry-run-real" {
		cmd = NewCmdRegister(f, nil)
		args = args[1:]
	}
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	err = cmd.Execute()
	return out.String(), got, err
}

func TestFlags(t *testing.T) {
	_, o, err := run(t, "demo", "--yes", "--label", "env=vdev", "--label", "team=a", "--namespaces", "apps,jobs",
		"--mode", "declarative", "--auth", "token", "--argocd-namespace", "gitops", "--insecure")
	if err != nil {
		t.Fatal(err)
	}
	r := o.Register
	if r.Name != "demo" || r.Labels["team"] != "a" || len(r.Labels) != 2 || strings.Join(r.Namespaces, ",") != "apps,jobs" || r.Mode != argocd.ModeDeclarative || r.ServerAddress != argocd.AddressInCluster {
		t.Errorf("register options %+v", r)
	}
	if a := o.ArgoCD; a.Auth != argocd.AuthToken || a.Namespace != "gitops" || !a.Insecure || a.Server != "" {
		t.Errorf("argocd options %+v", a)
	}
	if _, o, _ := run(t, "demo", "--yes"); o.ArgoCD.Auth != argocd.AuthAuto || o.ArgoCD.Namespace != "" || o.Register.Labels != nil {
		t.Errorf("defaults %+v %+v", o.ArgoCD, o.Register)
	}
}

// create's --argocd-* spellings work on register too (M12).
func TestPrefixedArgoCDFlags(t *testing.T) {
	_, o, err := run(t, "demo", "--yes", "--argocd-insecure", "--argocd-plaintext", "--argocd-auth", "initial-admin")
	if err != nil {
		t.Fatal(err)
	}
	if a := o.ArgoCD; !a.Insecure || !a.Plaintext || a.Auth != argocd.AuthInitialAdmin || a.Flags != argocd.DefaultFlags {
		t.Errorf("argocd options %+v", a)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"demo"}, // no --yes and stdin is not a terminal
		{"demo", "--yes", "--label", "novalue"},
		{"demo", "--yes", "--mode", "gitops"},
		{"demo", "--yes", "--auth", "sso"},
		{"demo", "--yes", "--server-address", "http://x"},
		{"demo", "--yes", "--dry-run"},
		{"demo", "--yes", "-o", "xml"},
		{"Bad_Name", "--yes"},
		{"in-cluster", "--yes"},
	} {
		_, _, err := run(t, args...)
		if code := cmdutil.ExitCode(err); code != cmdutil.ExitUsage {
			t.Errorf("%v: exit %d (%v), want %d", args, code, err, cmdutil.ExitUsage)
		}
	}
}

// --bootstrap --dry-run prints the ApplicationSet without any cluster.
func TestBootstrapDryRun(t *testing.T) {
	out, _, err := run(t, "--dry-run-real", "demo", "--bootstrap", "--dry-run", "--label", "team=a", "--argocd-namespace", "gitops")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"kind: ApplicationSet", "name: argocd", "namespace: gitops", "team: a", "'{{ .name }}-argocd'"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
