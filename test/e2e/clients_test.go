package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/kubectl-tenant/kubectl-tenant/test/testenv"
)

// kubectl runs the real kubectl with the world's kubeconfig.
func (w *world) kubectl(args ...string) (string, error) {
	cmd := exec.Command("kubectl", args...)
	cmd.Env = w.environ()
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// harnessBin is the path of the harness-built binary name; missing is a failure, never
// a skip (the harness builds every one of them).
func (w *world) harnessBin(name string) string {
	w.t.Helper()
	p := w.env.Bins[name]
	if p == "" {
		w.t.Fatalf("the playground has no %s binary (env.json bins: %v)", name, w.env.Bins)
	}
	if _, err := os.Stat(p); err != nil {
		w.t.Fatalf("the harness's %s binary: %v", name, err)
	}
	return p
}

// client runs a real client binary with the world's KUBECONFIG and a
// private HOME (no config of this machine's user is read or written).
func (w *world) client(bin string, extra []string, args ...string) (string, error) {
	w.t.Helper()
	home := filepath.Join(w.stateDir, "client-home")
	if err := os.MkdirAll(home, 0o700); err != nil {
		w.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(append(w.environ(), "HOME="+home, "XDG_CONFIG_HOME="+filepath.Join(home, ".config"),
		"XDG_CACHE_HOME="+filepath.Join(home, ".cache"), "XDG_DATA_HOME="+filepath.Join(home, ".local")), extra...)
	out, err := cmd.Output()
	if ee, ok := err.(*exec.ExitError); ok {
		err = fmt.Errorf("%w: %s", err, ee.Stderr)
	}
	return string(out), err
}

var (
	vcCLIOnce sync.Once
	vcCLIPath string
	vcCLIErr  error
)

// vclusterCLI builds the vcluster CLI (cmd/vclusterctl) of the harness's
// vCluster version once, cached beside the harness's binaries.
func vclusterCLI(t testing.TB) string {
	t.Helper()
	vcCLIOnce.Do(func() {
		cache, err := os.UserCacheDir()
		if err != nil {
			vcCLIErr = err
			return
		}
		vcCLIPath = filepath.Join(cache, "kubectl-tenant", "testenv", "vclusterctl-"+testenv.VClusterVersion, "vcluster")
		if _, err := os.Stat(vcCLIPath); err == nil {
			return
		}
		// In a copy of the harness's vcluster build module: the CLI needs a
		// few modules its go.sum lacks, and -mod=mod must not edit it.
		tmp, err := os.MkdirTemp("", "vclusterctl-build-")
		if err != nil {
			vcCLIErr = err
			return
		}
		defer os.RemoveAll(tmp)
		for _, f := range []string{"go.mod", "go.sum", "tools.go"} {
			b, err := os.ReadFile(filepath.Join("../testenv/build/vcluster", f))
			if err == nil {
				err = os.WriteFile(filepath.Join(tmp, f), b, 0o644)
			}
			if err != nil {
				vcCLIErr = err
				return
			}
		}
		cmd := exec.Command("go", "build", "-mod=mod", "-trimpath", "-o", vcCLIPath, "github.com/loft-sh/vcluster/cmd/vclusterctl")
		cmd.Dir = tmp
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Logf("go build vclusterctl: %s", out)
			vcCLIErr = err
		}
	})
	if vcCLIErr != nil {
		t.Fatalf("building the vcluster CLI: %v", vcCLIErr)
	}
	return vcCLIPath
}

// vcluster runs the vcluster CLI against the playground, with telemetry off
// (its config in a private HOME) so it sends nothing anywhere.
func (w *world) vcluster(args ...string) (string, error) {
	w.t.Helper()
	home := filepath.Join(w.stateDir, "vcluster-home")
	if err := os.MkdirAll(filepath.Join(home, ".vcluster"), 0o700); err != nil {
		w.t.Fatal(err)
	}
	cfg := filepath.Join(home, ".vcluster", "config.json")
	if err := os.WriteFile(cfg, []byte(`{"driver": {"type": "helm"}, "telemetryDisabled": true}`), 0o600); err != nil {
		w.t.Fatal(err)
	}
	cmd := exec.Command(vclusterCLI(w.t), append(args, "--config", cfg)...)
	cmd.Env = append(w.environ(), "HOME="+home)
	out, err := cmd.CombinedOutput()
	return string(out), err
}
