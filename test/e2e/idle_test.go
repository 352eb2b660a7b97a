package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
)

// TestIdleSleepWakeOnRequest is issue #27's "done when", on the kwok
// playground (real vCluster processes): a tenant with a one-minute idle
// limit, connected in the background and left alone, is asleep after gc;
// a plain `kubectl get ns` through its context then succeeds with no other
// command (the forwarder wakes the tenant and holds the request) and the
// tenant is Ready again. A registered tenant only Argo CD talks to goes to
// sleep as well (Argo CD's traffic is not use). stats reports the hours
// slept per tenant and in total.
func TestIdleSleepWakeOnRequest(t *testing.T) {
	const name, argoName = "e2e-idle", "e2e-idle-argo"
	w := newWorld(t)
	w.deleteAtEnd(name, argoName)
	w.mustRun("create", name, "--pool", "project-x", "--connect=false", "--sleep-after", "1m")
	w.mustRun("create", argoName, "--pool", "project-x", "--connect=false", "--register", "--sleep-after", "1m")
	if got := w.list()[name]; got.SleepAfter == nil || *got.SleepAfter != time.Minute {
		t.Fatalf("list after create --sleep-after 1m: %+v", got)
	}
	w.mustRun("connect", name, "--background")
	sess := w.session(name)

	// Used a moment ago: gc leaves it awake.
	if r := w.mustRun("gc", "--pools=false", "--dry-run"); strings.Contains(r.stdout, "tenant/"+name+" ") {
		t.Fatalf("gc --dry-run right after connect would touch %s:\n%s", name, r.stdout)
	}
	time.Sleep(70 * time.Second) // left alone for longer than its limit
	r := w.mustRun("gc", "--pools=false", "--wait", "0")
	for _, n := range []string{name, argoName} {
		if !strings.Contains(r.stdout, "tenant/"+n+" slept, idle for") {
			t.Errorf("gc did not put %s to sleep:\n%s\n%s", n, r.stdout, r.stderr)
		}
	}
	for _, n := range []string{name, argoName} {
		if got := w.list()[n]; got.Status != tenant.StatusSleeping {
			t.Fatalf("%s after gc: %s, want %s", n, got.Status, tenant.StatusSleeping)
		}
	}
	if gone(sess.PID) {
		t.Fatalf("gc's idle sleep ended the forwarder %d: nothing can wake the tenant on request", sess.PID)
	}

	// A plain kubectl through the context: no kubectl-tenant command.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	kubectl := exec.CommandContext(ctx, "kubectl", "--context", name, "get", "ns", "default", "-o", "name")
	kubectl.Env = append(os.Environ(), "KUBECONFIG="+w.kubeconfig)
	start := time.Now()
	out, err := kubectl.CombinedOutput()
	took := time.Since(start).Round(100 * time.Millisecond)
	if err != nil || strings.TrimSpace(string(out)) != "namespace/default" {
		// The forwarder's log says what it did with the requests.
		logs, _ := filepath.Glob(filepath.Join(w.stateDir, "*", "*.log"))
		more, _ := filepath.Glob(filepath.Join(w.stateDir, "*.log"))
		for _, l := range append(logs, more...) {
			b, _ := os.ReadFile(l)
			t.Logf("%s:\n%s", l, tailLines(string(b), 40))
		}
		t.Fatalf("kubectl get ns through the sleeping tenant's context: %v\n%s", err, tailLines(string(out), 5))
	}
	t.Logf("kubectl get ns on a sleeping tenant answered after %s (wake on request)", took)
	// The forwarder lets the request through once the API answers, before
	// the kubelet's probes (kwok's at once) mark the pod Ready.
	if got := w.list()[name]; (got.Status != tenant.StatusReady && got.Status != tenant.StatusPending) || got.WokenAt == nil || got.Slept <= 0 {
		t.Errorf("after the request: %+v, want awake (Ready, or Pending until the probes pass), woken, with time slept", got)
	}
	w.waitStatus(name, tenant.StatusReady, time.Minute)
	if got := w.list()[argoName]; got.Status != tenant.StatusSleeping {
		t.Errorf("%s woke too: %s", argoName, got.Status)
	}

	s := runJSON[tenant.Stats](w, "stats", "-o", "json")
	if s.SleptHours[name] <= 0 || s.SleptHours[argoName] <= 0 || s.TotalSleptHours < s.SleptHours[name]+s.SleptHours[argoName] {
		t.Errorf("stats slept hours: %v total %v", s.SleptHours, s.TotalSleptHours)
	}
	if r := w.mustRun("stats"); !strings.Contains(r.stdout, "Slept") {
		t.Errorf("stats does not show time slept:\n%s", r.stdout)
	}
}
