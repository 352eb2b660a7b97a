package completion_test

import (
	"bytes"
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-tenant/kubectl-tenant/internal/cmd/completion"
	"github.com/kubectl-tenant/kubectl-tenant/internal/cmd/root"
	"github.com/kubectl-tenant/kubectl-tenant/internal/cmdutil"
	"github.com/kubectl-tenant/kubectl-tenant/internal/cmdutil/cmdutiltest"
	"github.com/kubectl-tenant/kubectl-tenant/internal/factory"
)

func execute(t *testing.T, args ...string) (string, error) {
	t.Helper()
	streams, _, out, _ := genericiooptions.NewTestIOStreams()
	cmd := root.NewCmdRoot(factory.New(streams))
	cmd.SetArgs(args)
	err := cmd.Execute()
	return out.String(), err
}

func TestScripts(t *testing.T) {
	marks := map[string]string{
		"bash":       "__start_kubectl-tenant",
		"zsh":        "#compdef kubectl-tenant",
		"fish":       "complete -c kubectl-tenant",
		"powershell": "Register-ArgumentCompleter",
	}
	for _, sh := range completion.Shells {
		for _, args := range [][]string{{"completion", sh}, {"completion", sh, "--no-descriptions"}} {
			out, err := execute(t, args...)
			if err != nil {
				t.Fatalf("%v: %v", args, err)
			}
			if !strings.Contains(out, marks[sh]) {
				t.Errorf("%v: script lacks %q", args, marks[sh])
			}
		}
	}
}

func TestUnknownShellIsUsageError(t *testing.T) {
	for _, args := range [][]string{{"completion", "tcsh"}, {"completion"}} {
		_, err := execute(t, args...)
		if code := cmdutil.ExitCode(err); code != cmdutil.ExitUsage {
			t.Errorf("%v: exit %d (%v), want %d", args, code, err, cmdutil.ExitUsage)
		}
	}
	var b bytes.Buffer
	if err := completion.Generate(nil, &b, "tcsh", true); cmdutil.ExitCode(err) != cmdutil.ExitUsage {
		t.Errorf("Generate(tcsh) = %v", err)
	}
}

// TestDynamicCompletion goes through cobra's __complete protocol, which
// the kubectl_complete-tenant script calls.
func TestDynamicCompletion(t *testing.T) {
	out, err := execute(t, "__complete", "")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"completion", "connect", "create", "delete", "disconnect", "list", "status", "version"} {
		if !strings.Contains(out, "\n"+c+"\t") && !strings.HasPrefix(out, c+"\t") {
			t.Errorf("__complete \"\" lacks %q:\n%s", c, out)
		}
	}
	out, err = execute(t, "__complete", "completion", "")
	if err != nil {
		t.Fatal(err)
	}
	for _, sh := range completion.Shells {
		if !strings.Contains(out, sh+"\n") {
			t.Errorf("__complete completion \"\" lacks %q:\n%s", sh, out)
		}
	}
}

// TestTenantNames completes tenant names through cobra's __complete on the
// real command tree, against a fake host cluster.
func TestTenantNames(t *testing.T) {
	kubeconfig, _ := cmdutiltest.FakeHost(t, "demo", "dev-2")
	t.Setenv("KUBECONFIG", kubeconfig)
	t.Setenv("KUBECTL_TENANT_STATE_DIR", t.TempDir())
	for _, verb := range []string{"connect", "delete", "disconnect", "status"} {
		out, err := execute(t, "__complete", verb, "")
		if err != nil {
			t.Fatal(err)
		}
		if out != "demo\ndev-2\n:4\n" {
			t.Errorf("__complete %s \"\" = %q, want the tenant names and :4 (no file completion)", verb, out)
		}
		want := ":4\n" // one tenant per command
		if verb == "delete" {
			want = "dev-2\n:4\n" // the tenants not named yet
		}
		out, _ = execute(t, "__complete", verb, "demo", "")
		if out != want {
			t.Errorf("__complete %s demo \"\" = %q, want %q", verb, out, want)
		}
	}
	out, _ := execute(t, "__complete", "status", "--events", "3", "dev")
	if out != "dev-2\n:4\n" {
		t.Errorf("__complete status --events 3 dev = %q", out)
	}
}
