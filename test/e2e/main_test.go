// Package e2e drives the real kubectl-tenant binary against the playground:
// a real kube-apiserver/etcd, the real vcluster chart and real vCluster
// control planes (see test/testenv). Nothing here is faked.
package e2e

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/hostconfig"
	"github.com/kubectl-tenant/kubectl-tenant/test/testenv"
)

// TestMain runs the tests around the shared playground, then removes the
// binary they built.
func TestMain(m *testing.M) {
	testenv.Main(m)
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
}

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// binary builds kubectl-tenant once per test run.
func binary(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "kt-bin-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "kubectl-tenant")
		_, file, _, _ := runtime.Caller(0)
		root := filepath.Join(filepath.Dir(file), "..", "..")
		// As `make build` and releases build it (.goreleaser.yaml): the
		// binary users run, not cgo's larger one.
		cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", binPath, "./cmd/kubectl-tenant")
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			binErr = errors.New(string(out))
		}
	})
	if binErr != nil {
		t.Fatalf("building kubectl-tenant: %v", binErr)
	}
	return binPath
}

// world is one test's view: the shared playground, its own copy of the admin
// kubeconfig and its own session state directory.
type world struct {
	t          testing.TB
	env        *testenv.Env
	bin        string
	kubeconfig string
	stateDir   string
	values     string
	// argoNS is the namespace of the Argo CD this world's kubectl-tenant
	// and Argo CD helpers use (env.ArgoCDNamespace unless forArgoCD).
	argoNS string
	// argoBin is that Argo CD's harness binary ("argocd" or "argocd-v2").
	argoBin string
}

func newWorld(t *testing.T) *world { return newWorldB(t, t) }

// newWorldB also serves benchmarks.
func newWorldB(t testing.TB, _ *testing.T) *world {
	env := testenv.Start(t)
	w := &world{t: t, env: env, bin: binary(t), stateDir: t.TempDir(), argoNS: env.ArgoCDNamespace, argoBin: "argocd"}
	w.kubeconfig = filepath.Join(t.TempDir(), "kubeconfig")
	b, err := os.ReadFile(env.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(w.kubeconfig, b, 0o600); err != nil {
		t.Fatal(err)
	}
	// The values the shared (kwok) playground's host defaults carry, for
	// tests that pass them with -f.
	vals, err := testenv.PlaygroundValues(len(env.RealNodes) > 0)
	if err != nil {
		t.Fatal(err)
	}
	w.values = filepath.Join(t.TempDir(), "playground-values.yaml")
	if err := os.WriteFile(w.values, []byte(vals), 0o600); err != nil {
		t.Fatal(err)
	}
	return w
}

type result struct {
	stdout, stderr string
	code           int
}

// run runs kubectl-tenant with the world's environment.
func (w *world) run(ctx context.Context, args ...string) result {
	w.t.Helper()
	return w.runWith(ctx, nil, args...)
}

// runWith runs kubectl-tenant with the world's environment plus extra.
func (w *world) runWith(ctx context.Context, extra []string, args ...string) result {
	w.t.Helper()
	cmd := exec.CommandContext(ctx, w.bin, args...)
	cmd.Env = append(w.environ(), extra...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		w.t.Fatalf("running %v: %v", args, err)
	}
	return r
}

func (w *world) environ() []string {
	env := append(os.Environ(),
		"KUBECONFIG="+w.kubeconfig,
		"KUBECTL_TENANT_STATE_DIR="+w.stateDir,
		"NO_COLOR=1",
	)
	if w.argoNS != w.env.ArgoCDNamespace {
		// As a user would point the tool at another Argo CD.
		env = append(env, hostconfig.EnvArgoCDNamespace+"="+w.argoNS)
	}
	return env
}

// mustRun fails the test unless the command exits 0. The command gets
// five minutes, or its own --wait and one more: a test that asks create to
// wait 8m must not kill it at 5 (CI once killed one at 5m while the
// scheduler had the pod parked; see runTimeout).
func (w *world) mustRun(args ...string) result {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout(args))
	defer cancel()
	r := w.run(ctx, args...)
	if r.code != 0 {
		w.t.Fatalf("kubectl-tenant %s: exit %d\nstdout: %s\nstderr: %s\n%s", strings.Join(args, " "), r.code, r.stdout, r.stderr, w.diagnose())
	}
	return r
}

// runTimeout is how long mustRun lets a command run: 5m, or the command's
// --wait plus a minute for what follows the wait.
func runTimeout(args []string) time.Duration {
	d := 5 * time.Minute
	for i, a := range args {
		v, ok := strings.CutPrefix(a, "--wait=")
		if !ok && a == "--wait" && i+1 < len(args) {
			v, ok = args[i+1], true
		}
		if w, err := time.ParseDuration(v); ok && err == nil && w+time.Minute > d {
			d = w + time.Minute
		}
	}
	return d
}

// diagnose says what the playground looked like when a command failed:
// the tenants' control-plane pods and claims, the volumes, scheduling
// events, and the last lines of the scheduler's and the vCluster runner's
// logs. A failure in CI is then explained by its own output.
func (w *world) diagnose() string {
	var b strings.Builder
	b.WriteString("--- playground at failure ---\n")
	for _, args := range [][]string{
		{"get", "pods,pvc", "-A", "-l", "app=vcluster", "-o", "wide"},
		{"get", "pv", "-o", "wide"},
		{"get", "events", "-A", "--field-selector", "type=Warning", "--sort-by=.lastTimestamp"},
	} {
		out, err := w.kubectl(args...)
		b.WriteString("$ kubectl " + strings.Join(args, " ") + "\n" + tailLines(out, 30))
		if err != nil {
			b.WriteString("(" + err.Error() + ")\n")
		}
	}
	for _, p := range w.env.Parts {
		if p.Name != "kube-scheduler" && p.Name != "vcrunner" && p.Name != "kube-controller-manager" {
			continue
		}
		out, err := os.ReadFile(p.Log)
		if err != nil {
			continue
		}
		b.WriteString("$ tail " + p.Log + "\n" + tailLines(string(out), 25))
	}
	return b.String()
}

func tailLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n") + "\n"
}

// kubectl runs the real kubectl with the world's kubeconfig.
func (w *world) kubectl(args ...string) (string, error) {
	cmd := exec.Command("kubectl", args...)
	cmd.Env = w.environ()
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// oneLineError asserts stderr ends in exactly one "error:" line.
func oneLineError(t testing.TB, r result) string {
	t.Helper()
	var errs []string
	for _, l := range strings.Split(strings.TrimSpace(r.stderr), "\n") {
		if strings.HasPrefix(l, "error: ") {
			errs = append(errs, l)
		}
	}
	if len(errs) != 1 {
		t.Fatalf("want exactly one error line, stderr:\n%s", r.stderr)
	}
	return errs[0]
}
