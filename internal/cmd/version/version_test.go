package version_test

import (
	"encoding/json"
	"runtime"
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-tenant/kubectl-tenant/internal/buildinfo"
	"github.com/kubectl-tenant/kubectl-tenant/internal/cmd/version"
	"github.com/kubectl-tenant/kubectl-tenant/internal/cmdutil"
	"github.com/kubectl-tenant/kubectl-tenant/internal/factory"
	"github.com/kubectl-tenant/kubectl-tenant/internal/support"
)

func run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	streams, _, out, _ := genericiooptions.NewTestIOStreams()
	cmd := version.NewCmdVersion(factory.New(streams))
	cmd.SetArgs(args)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	err := cmd.Execute()
	return out.String(), err
}

func TestVersionText(t *testing.T) {
	out, err := run(t)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"kubectl-tenant " + buildinfo.Get().Version, runtime.Version()} {
		if !strings.Contains(out, s) {
			t.Errorf("output %q lacks %q", out, s)
		}
	}
	// The compatibility line is exactly the e2e matrix, nothing more.
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if want := "tested with (e2e): Kubernetes host 1.34, vCluster chart 0.25.0, 0.34.0, Argo CD v3.2.11, v2.14.21"; lines[len(lines)-1] != want ||
		want != "tested with (e2e): "+support.Line() {
		t.Errorf("compatibility line %q, want %q (support.Line %q)", lines[len(lines)-1], want, support.Line())
	}
}

func TestVersionJSON(t *testing.T) {
	out, err := run(t, "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("-o json is not JSON: %v\n%s", err, out)
	}
	for _, k := range []string{"version", "commit", "date", "goVersion", "platform", "supports"} {
		if _, ok := got[k]; !ok {
			t.Errorf("-o json lacks %q: %s", k, out)
		}
	}
	var info version.Info
	if err := json.Unmarshal([]byte(out), &info); err != nil {
		t.Fatal(err)
	}
	if info != version.Get() {
		t.Errorf("-o json = %+v, want %+v", info, version.Get())
	}
	want := buildinfo.Supported{Kubernetes: "1.34", VCluster: "0.25.0, 0.34.0", ArgoCD: "v3.2.11, v2.14.21"}
	if info.Supports != want {
		t.Errorf("supports %+v, want the e2e matrix %+v", info.Supports, want)
	}
}

func TestVersionYAML(t *testing.T) {
	out, err := run(t, "-o", "yaml")
	if err != nil {
		t.Fatal(err)
	}
	var info version.Info
	if err := yaml.UnmarshalStrict([]byte(out), &info); err != nil || info.Version != buildinfo.Get().Version {
		t.Fatalf("-o yaml: %v\n%s", err, out)
	}
}

func TestVersionBadOutputIsUsageError(t *testing.T) {
	_, err := run(t, "-o", "xml")
	if code := cmdutil.ExitCode(err); code != cmdutil.ExitUsage {
		t.Errorf("-o xml: exit %d (%v), want %d", code, err, cmdutil.ExitUsage)
	}
}
