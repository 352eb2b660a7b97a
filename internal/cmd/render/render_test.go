package render

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-tenant/kubectl-tenant/internal/cmdutil"
	"github.com/kubectl-tenant/kubectl-tenant/internal/factory"
)

const config = `repoURL: https://git.example.com/platform.git
clusters:
  - project: project-x
    nodePools:
      - name: workload
`

func run(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	streams, _, out, errOut := genericiooptions.NewTestIOStreams()
	cmd := NewCmdRender(factory.New(streams), nil)
	cmd.SetArgs(args)
	cmd.SetOut(out)
	cmd.SetErr(errOut)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	err := cmd.ExecuteContext(context.Background())
	if err != nil {
		errOut.WriteString("error: " + cmdutil.OneLine(err) + "\n")
	}
	return out.String(), errOut.String(), cmdutil.ExitCode(err)
}

func writeConfig(t *testing.T, dir, s string) string {
	t.Helper()
	p := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func tree(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(dir, func(p string, e os.DirEntry, err error) error {
		if err == nil && !e.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return err
	})
	return out
}

func TestRenderWriteThenCheck(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, t.TempDir(), config)
	out, errOut, code := run(t, "-f", cfg, "--out", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, "written   applications/app-vcluster-project-x.yaml\n") ||
		!strings.Contains(out, "written   terraform/terraform.tfvars\n") {
		t.Errorf("output:\n%s", out)
	}
	out, errOut, code = run(t, "-f", cfg, "--out", dir, "--check")
	if code != 0 || !strings.Contains(out, "up to date") {
		t.Fatalf("check of a fresh render: exit %d\n%s%s", code, out, errOut)
	}

	// Drift: a new project. --check exits 1 with a diff and writes nothing.
	writeConfig(t, filepath.Dir(cfg), config+"  - project: project-y\n    nodePools:\n      - name: workload-y\n")
	before := tree(t, dir)
	out, errOut, code = run(t, "-f", cfg, "--out", dir, "--check")
	if code != cmdutil.ExitError {
		t.Fatalf("drift: exit %d, want 1\n%s", code, errOut)
	}
	if !strings.Contains(out, "+++ b/applications/app-vcluster-project-y.yaml") || !strings.Contains(errOut, "out of date") {
		t.Errorf("drift output:\n%s\nstderr:\n%s", out, errOut)
	}
	if after := tree(t, dir); strings.Join(after, ",") != strings.Join(before, ",") {
		t.Error("--check wrote files")
	}

	// --only renders and owns only the chosen sections.
	out, _, code = run(t, "-f", cfg, "--out", dir, "--only", "applications")
	if code != 0 || strings.Contains(out, "vcluster/") || strings.Contains(out, "terraform/") || !strings.Contains(out, "written   applications/app-vcluster-project-y.yaml") {
		t.Errorf("--only applications: exit %d\n%s", code, out)
	}
}

func TestRenderBadConfigWritesNothing(t *testing.T) {
	for name, src := range map[string]string{
		"unknown field":  config + "    machinType: x\n",
		"two problems":   "repoURL: https://x/y.git\nclusters:\n  - project: Bad\n    nodePools: [{name: w}]\n  - project: ok\n",
		"invalid yaml":   config + "  - project: [\n",
		"duplicate pool": config + "  - project: y\n    nodePools:\n      - name: workload\n",
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := writeConfig(t, t.TempDir(), src)
			_, errOut, code := run(t, "-f", cfg, "--out", dir)
			// Bad input, exit 2, as `create --gitops --config` says for the
			// same file (audit L6: render said 1).
			if code != cmdutil.ExitUsage {
				t.Fatalf("exit %d, want 2: %s", code, errOut)
			}
			if !strings.Contains(errOut, cfg+":") {
				t.Errorf("error does not quote the file: %s", errOut)
			}
			if files := tree(t, dir); len(files) != 0 {
				t.Errorf("a bad config wrote %v", files)
			}
		})
	}
}

func TestRenderMissingConfig(t *testing.T) {
	dir := t.TempDir()
	_, errOut, code := run(t, "-f", filepath.Join(dir, "nope.yaml"), "--out", dir)
	if code != cmdutil.ExitUsage || !strings.Contains(errOut, "nope.yaml") {
		t.Fatalf("exit %d: %s", code, errOut)
	}
}

func TestRenderUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"--all", "--only", "vcluster"},
		{"--only", "helm"},
		{"--only", ""},
		{"extra-arg"},
	} {
		_, errOut, code := run(t, args...)
		if code != cmdutil.ExitUsage && !(args[0] == "extra-arg" && code != 0) {
			t.Errorf("%v: exit %d, want 2: %s", args, code, errOut)
		}
	}
}

func TestRenderFlagsParse(t *testing.T) {
	var got *Options
	streams, _, _, _ := genericiooptions.NewTestIOStreams()
	cmd := NewCmdRender(factory.New(streams), func(_ context.Context, o *Options) error { got = o; return nil })
	cmd.SetArgs([]string{"-f", "c.yaml", "--out", "repo", "--only", "terraform,vcluster,terraform", "--check"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if got.File != "c.yaml" || got.Out != "repo" || !got.Check || strings.Join(got.Sections(), ",") != "terraform,vcluster" {
		t.Errorf("options %+v sections %v", got, got.Sections())
	}
}
