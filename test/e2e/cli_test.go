package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/warmpool"
)

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

// runEnv is w.run with extra environment variables and a 5-minute bound.
func (w *world) runEnv(extra []string, args ...string) result {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	return w.runWith(ctx, extra, args...)
}

func noSecrets(t testing.TB, r result, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if s != "" && strings.Contains(r.stdout+r.stderr, s) {
			t.Errorf("a password or token was printed:\nstdout: %s\nstderr: %s", r.stdout, r.stderr)
		}
	}
}

func (w *world) createTenant(name, pool string, extra ...string) {
	w.t.Helper()
	w.mustRun(append([]string{"create", name, "--pool", pool, "--connect=false"}, extra...)...)
	w.t.Cleanup(func() {
		w.run(context.Background(), "delete", name, "--yes", "--ignore-not-found")
	})
}

// deleteAtEnd deletes the tenants when the test ends, whatever happened.
func (w *world) deleteAtEnd(names ...string) {
	w.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		for _, n := range names {
			w.run(ctx, "delete", n, "--yes", "--ignore-not-found")
		}
	})
}

// interruptAfter runs kubectl-tenant and sends SIGINT once a stderr line
// reports step done; it returns the exit code and stderr.
func (w *world) interruptAfter(step string, args ...string) (int, string) {
	w.t.Helper()
	cmd := exec.Command(w.bin, args...)
	cmd.Env = w.environ()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		w.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		w.t.Fatal(err)
	}
	sc := bufio.NewScanner(stderr)
	var seen []string
	for sc.Scan() {
		seen = append(seen, sc.Text())
		if strings.Contains(sc.Text(), step) && strings.Contains(sc.Text(), "done") {
			_ = cmd.Process.Signal(syscall.SIGINT)
			break
		}
	}
	for sc.Scan() {
		seen = append(seen, sc.Text())
	}
	_ = cmd.Wait()
	return cmd.ProcessState.ExitCode(), strings.Join(seen, "\n")
}

// runJSON runs kubectl-tenant, which must exit 0, and decodes its stdout
// (an -o json document) as a T.
func runJSON[T any](w *world, args ...string) T {
	w.t.Helper()
	return stdoutJSON[T](w.t, w.mustRun(args...))
}

// stdoutJSON decodes r's stdout as a T; stdout that is not a T's JSON fails
// the test.
func stdoutJSON[T any](t testing.TB, r result) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(r.stdout), &v); err != nil {
		t.Fatalf("stdout is not a %T's JSON (%v):\nstdout: %s\nstderr: %s", v, err, r.stdout, r.stderr)
	}
	return v
}

type listOut struct {
	Items []tenant.Tenant `json:"items"`
}

func (w *world) list() map[string]tenant.Tenant {
	w.t.Helper()
	l := runJSON[listOut](w, "list", "-o", "json")
	out := map[string]tenant.Tenant{}
	for _, t := range l.Items {
		out[t.Name] = t
	}
	return out
}

// statusOf is `kubectl tenant status NAME -o json`.
func (w *world) statusOf(name string) tenant.Tenant {
	w.t.Helper()
	return runJSON[tenant.Tenant](w, "status", name, "-o", "json")
}

// waitStatus polls status until it says want (or fails after limit).
func (w *world) waitStatus(name string, want tenant.Status, limit time.Duration) tenant.Tenant {
	w.t.Helper()
	deadline := time.Now().Add(limit)
	for {
		t := w.statusOf(name)
		if t.Status == want {
			return t
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("tenant %s is %s (%s) after %s, want %s", name, t.Status, t.Reason, limit, want)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

type gcOut struct {
	DryRun bool              `json:"dryRun"`
	Items  []tenant.GCResult `json:"items"`
}

type registerOut struct {
	Name, Server, Mode, Secret string
	Labels                     map[string]string
	ConnectionState            string `json:"connectionState"`
}

type upgradeOut struct {
	DryRun    bool                 `json:"dryRun"`
	Waves     []tenant.UpgradeWave `json:"waves"`
	Unchanged []tenant.UpgradeItem `json:"unchanged"`
	Skipped   []tenant.UpgradeItem `json:"skipped"`
}

type poolStatusOut struct {
	Items []warmpool.Status `json:"items"`
}

// poolStatus is `pool status -o json`'s entry for warmPool.
func (w *world) poolStatus() warmpool.Status {
	w.t.Helper()
	out := runJSON[poolStatusOut](w, "pool", "status", "-o", "json")
	for _, p := range out.Items {
		if p.Pool == warmPool {
			return p
		}
	}
	w.t.Fatalf("pool status has no %s: %+v", warmPool, out.Items)
	return warmpool.Status{}
}

// listSpares is `list --spares -o json`'s spares.
func (w *world) listSpares() []tenant.Tenant {
	w.t.Helper()
	l := runJSON[listOut](w, "list", "--spares", "-o", "json")
	var out []tenant.Tenant
	for _, t := range l.Items {
		if t.Spare {
			out = append(out, t)
		}
	}
	return out
}
