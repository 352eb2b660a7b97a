package root

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-tenant/kubectl-tenant/internal/cmdutil"
	"github.com/kubectl-tenant/kubectl-tenant/internal/factory"
)

// TestUsageErrorsExit2 runs the real command tree with bad input: every case
// must fail before touching a cluster (there is none) with exit code 2.
func TestUsageErrorsExit2(t *testing.T) {
	for _, args := range [][]string{
		{"create"},
		{"create", "Bad_Name"},
		{"create", "ok", "--ttl", "-1h"},
		{"create", "ok", "-o", "xml"},
		{"create", "ok", "--no-such-flag"},
		{"connect", "a", "b"},
		{"connect", "ok", "--background", "--", "true"},
		{"list", "extra"},
		{"list", "-o", "table"},
		{"status"},
		{"delete", "ok"}, // no --yes and stdin is not a terminal
		{"version", "-o", "xml"},
		{"extend", "ok"},
		{"extend", "ok", "--ttl", "0"},
		{"extend", "ok", "--ttl", "-1h"},
		{"extend", "ok", "--ttl", "1h", "--never"},
		{"extend", "Bad_Name", "--ttl", "1h"},
		{"gc", "extra"},
		{"gc", "-o", "wide"},
		{"gc", "--wait", "-1s"},
		{"stats", "--since", "0"},
		{"stats", "-o", "name"},
	} {
		var out, errb bytes.Buffer
		streams := genericiooptions.IOStreams{In: &bytes.Buffer{}, Out: &out, ErrOut: &errb}
		cmd := NewCmdRoot(factory.New(streams))
		cmd.SetArgs(append(args, "--kubeconfig", "/nonexistent/kubeconfig"))
		err := cmd.ExecuteContext(context.Background())
		if code := cmdutil.ExitCode(err); code != cmdutil.ExitUsage {
			t.Errorf("%v: exit code %d (err %v), want 2", args, code, err)
		}
		if out.Len() != 0 {
			t.Errorf("%v: wrote to stdout: %q", args, out.String())
		}
	}
}

func TestVersionJSONNeedsNoCluster(t *testing.T) {
	var out bytes.Buffer
	streams := genericiooptions.IOStreams{In: &bytes.Buffer{}, Out: &out, ErrOut: &bytes.Buffer{}}
	cmd := NewCmdRoot(factory.New(streams))
	cmd.SetArgs([]string{"version", "-o", "json", "--kubeconfig", "/nonexistent"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(out.Bytes(), []byte(`"goVersion"`)) {
		t.Fatalf("version -o json: %s", out.String())
	}
}

// pflag takes a back-quoted word in a flag's usage as the placeholder of its
// value: "--background kubectl tenant disconnect" was what help printed.
// Every placeholder is one word.
func TestFlagPlaceholdersAreOneWord(t *testing.T) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		c.LocalFlags().VisitAll(func(f *pflag.Flag) {
			if name, _ := pflag.UnquoteUsage(f); strings.ContainsAny(name, " \t") {
				t.Errorf("%s --%s: help shows the placeholder %q; quote with ' instead of a back quote", c.CommandPath(), f.Name, name)
			}
		})
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(NewCmdRoot(factory.New(genericiooptions.IOStreams{In: &bytes.Buffer{}, Out: &bytes.Buffer{}, ErrOut: &bytes.Buffer{}})))
}
