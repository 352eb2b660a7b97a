package register

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-tenant/kubectl-tenant/internal/cmdutil"
	"github.com/kubectl-tenant/kubectl-tenant/internal/cmdutil/cmdutiltest"
	"github.com/kubectl-tenant/kubectl-tenant/internal/factory"
	"github.com/kubectl-tenant/kubectl-tenant/plugins/argocd"
)

func run(t *testing.T, args ...string) (stdout string, opts *Options, err error) {
	t.Helper()
	var out, errb bytes.Buffer
	f := factory.New(genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errb})
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

// TestRegisterAsksInRun: Validate only checks; Run asks before it builds a
// registrar (no API call), and refuses without a terminal to ask on.
func TestRegisterAsksInRun(t *testing.T) {
	stop := errors.New("registrar built")
	for _, tc := range []struct {
		args          []string
		answer, asked bool
		want          error
		code          int
	}{
		{args: []string{"demo"}, code: cmdutil.ExitUsage},                               // nobody to ask
		{args: []string{"demo"}, asked: true, code: cmdutil.ExitCancelled},              // answered no
		{args: []string{"demo"}, asked: true, answer: true, want: stop},                 // answered yes
		{args: []string{"demo", "--yes"}, want: stop},                                   // not asked
		{args: []string{"demo", "--bootstrap", "--dry-run", "--argocd-namespace", "x"}}, // changes nothing: not asked
	} {
		var questions []string
		_, _, err := cmdutiltest.Run(NewCmdRegister, func(o *Options) {
			o.Confirm = func(q string, _ bool) (bool, bool) {
				questions = append(questions, q)
				return tc.answer, tc.asked
			}
			o.NewRegistrar = func(context.Context, argocd.Options) (*argocd.Registrar, error) { return nil, stop }
		}, tc.args...)
		if (tc.want != nil && !errors.Is(err, tc.want)) || (tc.want == nil && cmdutil.ExitCode(err) != tc.code) {
			t.Errorf("%v (answer %v, asked %v): %v", tc.args, tc.answer, tc.asked, err)
		}
		wantAsked := !slices.Contains(tc.args, "--yes") && !slices.Contains(tc.args, "--dry-run")
		if wantAsked != (len(questions) == 1) {
			t.Errorf("%v: asked %q", tc.args, questions)
		}
	}
}
