//go:build unix

package main

import (
	"bytes"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kubectl-tenant/kubectl-tenant/internal/cmdutil/cmdutiltest"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// TestMain removes the binary built for the tests (135 MB a run in the
// machine's temporary directory otherwise).
func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

// binary builds kubectl-tenant once for the process-level tests
// ($KUBECTL_TENANT_TEST_BINARY runs them against another build).
func binary(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("KUBECTL_TENANT_TEST_BINARY"); p != "" {
		return p
	}
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "kubectl-tenant-bin-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "kubectl-tenant")
		if out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput(); err != nil {
			binErr = errors.New("go build: " + err.Error() + "\n" + string(out))
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// blackHole is an API server on loopback that completes the TLS handshake,
// reads the request and never answers (an overloaded apiserver, a broken
// proxy). It returns a kubeconfig trusting it and a channel that receives
// once per request.
func blackHole(t *testing.T) (string, <-chan struct{}) {
	t.Helper()
	reqs := make(chan struct{}, 100)
	release := make(chan struct{})
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case reqs <- struct{}{}:
		default:
		}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) }) // runs first: Close waits for handlers
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	kubeconfig := cmdutiltest.Kubeconfig(t, srv.URL, ca)
	blackHoles[kubeconfig] = reqs
	return kubeconfig, reqs
}

// blackHoles are the request channels of blackHole's kubeconfigs.
var blackHoles = map[string]<-chan struct{}{}

// interrupted starts the binary against a black-hole API server, waits until
// it is blocked in an API request, sends sigs (in order) and returns the
// exit code and stderr. A process that does not end fails by the timeout
// (no wall-clock assertion on how fast it ends).
func interrupted(t *testing.T, sigs []syscall.Signal, args ...string) (int, string) {
	t.Helper()
	kubeconfig, _ := blackHole(t)
	return interruptedWith(t, kubeconfig, nil, sigs, args...)
}

// interruptedWith is interrupted against the black hole of kubeconfig (from
// blackHole), with env added to the environment.
func interruptedWith(t *testing.T, kubeconfig string, env []string, sigs []syscall.Signal, args ...string) (int, string) {
	t.Helper()
	requests := blackHoles[kubeconfig]
	cmd := exec.Command(binary(t), args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig, "HOME="+t.TempDir(), "KUBECTL_TENANT_STATE_DIR="+t.TempDir())
	cmd.Env = append(cmd.Env, env...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-requests:
	case err := <-done:
		t.Fatalf("%v ended before it reached the API: %v\n%s", args, err, stderr.String())
	}
	for _, s := range sigs {
		_ = cmd.Process.Signal(s)
	}
	const generous = 60 * time.Second
	select {
	case <-done:
	case <-time.After(generous):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("%v still running %s after %v (the audit's H3 hang)\n%s", args, generous, sigs, stderr.String())
	}
	return cmd.ProcessState.ExitCode(), stderr.String()
}

// Audit H3: create against an API server that never answers hung for good
// and ignored Ctrl-C. Now one SIGINT ends it with exit 3.
func TestCreateInterruptedOnStalledAPIExits3(t *testing.T) {
	code, stderr := interrupted(t, []syscall.Signal{syscall.SIGINT}, "create", "demo", "--wait", "1m")
	if code != 3 {
		t.Fatalf("exit %d, want 3\n%s", code, stderr)
	}
	// One line that says what happened and how to finish, not "context canceled".
	if !strings.Contains(stderr, "error: interrupted; tenant demo may be half-created") || !strings.Contains(stderr, "run `kubectl tenant create demo` again to resume") {
		t.Errorf("the error line does not say how to finish:\n%s", stderr)
	}
}

// A second signal ends the process at once, with exit 3 and a line that
// says what may be left and how to resume.
func TestCreateSignalledTwiceExits3(t *testing.T) {
	code, stderr := interrupted(t, []syscall.Signal{syscall.SIGINT, syscall.SIGTERM}, "create", "demo", "--wait", "1m")
	if code != 3 {
		t.Fatalf("exit %d, want 3\n%s", code, stderr)
	}
	// Which signal ends it depends on timing; either way the last line is
	// the one error line.
	if strings.Contains(stderr, "stopped at once") && !strings.Contains(stderr, "kubectl tenant create demo") {
		t.Errorf("the second-signal line does not say how to resume:\n%s", stderr)
	}
}

// Audit L7: SIGHUP (the terminal closed) killed connect without cleanup.
// It now cancels like SIGINT: the command ends through its own cleanup,
// exit 3, instead of being killed by the signal.
func TestConnectHangupExits3(t *testing.T) {
	code, stderr := interrupted(t, []syscall.Signal{syscall.SIGHUP}, "connect", "demo")
	if code != 3 {
		t.Fatalf("exit %d, want 3 (-1: killed by SIGHUP)\n%s", code, stderr)
	}
}

// Audit N14: `connect NAME -- COMMAND` keeps the tenant's admin key in a
// temporary kubeconfig; a second signal exits at once, and used to leave it
// (and a kubeconfig lock, when one was held). Now the second signal removes
// them before exiting: nothing of the tool's is left in $TMPDIR, no lock
// beside the kubeconfig. The process is stopped while both signals are
// sent, so they arrive together and the second one usually ends it before
// the first one's own cleanup; the run is retried until it did.
func TestConnectCommandSignalledTwiceLeavesNoKubeconfig(t *testing.T) {
	sigs := []syscall.Signal{syscall.SIGSTOP, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCONT}
	for attempt := 1; ; attempt++ {
		tmp := t.TempDir()
		kubeconfig, _ := blackHole(t)
		code, stderr := interruptedWith(t, kubeconfig, []string{"TMPDIR=" + tmp}, sigs, "connect", "demo", "--", "sleep", "600")
		if code != 3 {
			t.Fatalf("exit %d, want 3\n%s", code, stderr)
		}
		left, _ := filepath.Glob(filepath.Join(tmp, "kubectl-tenant-*"))
		locks, _ := filepath.Glob(filepath.Join(filepath.Dir(kubeconfig), "*.lock"))
		if len(left) > 0 || len(locks) > 0 {
			t.Fatalf("left behind: %v %v\n%s", left, locks, stderr)
		}
		if strings.Contains(stderr, "stopped at once") && !strings.Contains(stderr, "your kubeconfig was not changed") {
			t.Errorf("the second-signal line does not say the kubeconfig is untouched:\n%s", stderr)
		}
		if strings.Contains(stderr, "stopped at once (removed "+tmp) {
			return // the second signal removed the temporary kubeconfig
		}
		if attempt == 10 {
			t.Fatalf("the second signal never ended the run before the first one's cleanup in %d attempts\n%s", attempt, stderr)
		}
	}
}
