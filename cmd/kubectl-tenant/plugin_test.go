package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-tenant/kubectl-tenant/internal/cmdutil/cmdutiltest"
)

// TestInstalledAsKubectlPlugin builds the binary, puts it on PATH as
// kubectl-tenant next to the kubectl_complete-tenant script, and drives it
// through the real kubectl: `kubectl tenant version`, `kubectl plugin list`
// and kubectl's plugin completion down to tenant names from a (fake) host
// cluster.
func TestInstalledAsKubectlPlugin(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Fatal("kubectl_complete-tenant is a shell script: run this test on linux or darwin")
	}
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Fatalf("kubectl is required (every supported machine has it): %v", err)
	}
	bin := t.TempDir()
	const testVersion = "v9.9.9-plugintest"
	// Same compile flags as `go test` itself, so every package comes from
	// the build cache and only the link runs.
	build := exec.Command("go", "build", "-o", filepath.Join(bin, "kubectl-tenant"),
		"-ldflags", "-X github.com/kubectl-tenant/kubectl-tenant/internal/buildinfo.Version="+testVersion, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	script, err := os.ReadFile("../../kubectl_complete-tenant")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bin, "kubectl_complete-tenant"), script, 0o755); err != nil {
		t.Fatal(err)
	}
	kubeconfig, _ := cmdutiltest.FakeHost(t, "demo", "dev-2")
	env := append(os.Environ(),
		"PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"),
		"KUBECONFIG="+kubeconfig,
		"KUBECTL_TENANT_STATE_DIR="+t.TempDir(),
		"HOME="+t.TempDir(), // no user kubectl config or plugins of this machine
	)
	run := func(args ...string) (string, error) {
		cmd := exec.Command(kubectl, args...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		return string(out), err
	}

	out, err := run("tenant", "version")
	if err != nil || !strings.Contains(out, "kubectl-tenant "+testVersion) {
		t.Errorf("kubectl tenant version: %v\n%s", err, out)
	}
	out, err = run("tenant", "version", "-o", "json")
	var info struct{ Version string }
	if err != nil || json.Unmarshal([]byte(out), &info) != nil || info.Version != testVersion {
		t.Errorf("kubectl tenant version -o json: %v\n%s", err, out)
	}

	// plugin list exits 1 when it warns about some other plugin on this
	// machine's PATH; what matters is that ours is listed.
	out, _ = run("plugin", "list")
	if !strings.Contains(out, filepath.Join(bin, "kubectl-tenant")+"\n") {
		t.Errorf("kubectl plugin list does not list %s:\n%s", filepath.Join(bin, "kubectl-tenant"), out)
	}
	if strings.Contains(out, filepath.Join(bin, "kubectl-tenant")+" is") {
		t.Errorf("kubectl plugin list warns about kubectl-tenant:\n%s", out)
	}

	// kubectl >= 1.26 completes plugin arguments through kubectl_complete-<plugin>.
	start := time.Now()
	out, err = run("__complete", "tenant", "")
	if err != nil || !strings.Contains(out, "create") || !strings.Contains(out, "connect") {
		t.Errorf("kubectl __complete tenant \"\": %v\n%s", err, out)
	}
	for _, verb := range []string{"status", "connect", "delete", "disconnect"} {
		out, err = run("__complete", "tenant", verb, "")
		if err != nil || !strings.Contains(out, "demo\n") || !strings.Contains(out, "dev-2\n") {
			t.Errorf("kubectl __complete tenant %s \"\": %v\n%s", verb, err, out)
		}
	}
	out, err = run("__complete", "tenant", "status", "dev")
	if err != nil || !strings.Contains(out, "dev-2\n") || strings.Contains(out, "demo\n") {
		t.Errorf("kubectl __complete tenant status dev: %v\n%s", err, out)
	}
	t.Logf("7 completions through kubectl in %v", time.Since(start).Round(time.Millisecond))
}
