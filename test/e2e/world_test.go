// Package e2e drives the real kubectl-tenant binary against the playground:
// a real kube-apiserver/etcd, the real vcluster chart and real vCluster
// control planes (see test/testenv). Nothing here is faked.
//
// The scenario files hold tests only. Helpers live by what they touch:
//   - world_test.go: the suite's set-up, a test's world, the playground's state;
//   - cli_test.go: running kubectl-tenant and reading its output (runJSON);
//   - clients_test.go: the other real CLIs (kubectl, vcluster, harness binaries);
//   - kube_test.go: the host cluster's objects;
//   - helm_test.go: Helm releases, values files and charts;
//   - argocd_test.go: Argo CD (API, CLI, Applications, the version matrix);
//   - repo_test.go: the GitOps platform repository;
//   - localworld_test.go, tmux_test.go, measure_test.go: the tests without a
//     playground, the terminal app's pane, benchmark figures.
package e2e

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-tenant/kubectl-tenant/internal/factory"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/hostconfig"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/session"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
	"github.com/kubectl-tenant/kubectl-tenant/test/testenv"
	"github.com/kubectl-tenant/kubectl-tenant/test/testenv/vcrunner"
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

// newWorld serves tests and benchmarks.
func newWorld(t testing.TB) *world {
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

// engine builds the same engine the CLI uses, on the world's kubeconfig.
func (w *world) engine() *tenant.Engine {
	w.t.Helper()
	f := factory.New(genericiooptions.NewTestIOStreamsDiscard())
	*f.ConfigFlags.KubeConfig = w.kubeconfig
	e, err := f.Engine()
	if err != nil {
		w.t.Fatal(err)
	}
	e.Report = nil
	e.Sessions.Dir = w.stateDir + "/sessions"
	return e
}

func (w *world) session(name string) *session.Session {
	w.t.Helper()
	s, ok, err := session.Store{Dir: w.stateDir + "/sessions"}.Get(w.kubeconfig, name)
	if err != nil || !ok {
		w.t.Fatalf("no session for %s: %v", name, err)
	}
	return &s
}

// leftoversOf lists the runner's processes and state of namespace ns.
func (w *world) leftoversOf(ns string) (procs, volumes []string) {
	for _, l := range vcrunner.Leftovers(w.env.Dir) {
		switch {
		case strings.HasPrefix(l, "volume dir "):
			volumes = append(volumes, l)
		case strings.Contains(l, "/"+ns+"_"):
			procs = append(procs, l)
		}
	}
	return procs, volumes
}
