package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
)

// TestTUI drives `kubectl tenant` with no arguments in tmux against the
// playground: new-tenant wizard -> live steps until Ready -> connect from the
// list -> delete (confirmed) -> quit; then nothing of the tenant is left.
func TestTUI(t *testing.T) {
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Fatal("tmux is not installed: run hack/deps.sh")
	}
	w := newWorld(t)
	const name = "e2e-tui"
	p := &tmuxPane{t: t, socket: fmt.Sprintf("kt-e2e-%d", os.Getpid())}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("last screen:\n%s", p.screen())
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			w.run(ctx, "delete", name, "--yes", "--ignore-not-found") // best effort
			cancel()
		}
		_, _ = p.tmux("kill-server")
	})

	// The shell prints the exit code and keeps the pane, so the test sees how
	// the app ended.
	script := fmt.Sprintf("%q; echo \"tui exited: $?\"; sleep 600", w.bin)
	p.start(w.environ(), script)
	p.waitFor(`kubectl tenant\s+\d+ tenants`, time.Minute, "tui exited")

	// The wizard: name validated as typed, a pool from the nodes' labels.
	pools := append([]string(nil), w.env.Pools...)
	sort.Strings(pools)
	pool, idx := pools[0], 0
	for i, pl := range pools {
		if pl == "project-x" {
			pool, idx = pl, i
		}
	}
	p.keys(false, "n")
	p.waitFor(`\d+ pools \(nodes labelled project=POOL\)`, 30*time.Second)
	p.keys(true, "E2E")
	p.waitFor(`invalid tenant name "E2E"`, 10*time.Second)
	for range 3 {
		p.keys(false, "BSpace")
	}
	p.keys(true, name)
	p.waitFor(`namespace vcluster-`+name, 10*time.Second)
	p.keys(false, "Tab")
	for range idx {
		p.keys(false, "Right")
	}
	p.waitFor(`‹ `+pool+` ›`, 10*time.Second)
	p.keys(false, "Tab", "Tab") // version: chart default
	p.keys(true, "2h")
	p.keys(false, "Tab", "Tab") // register: no
	p.waitFor(`› Create ‹`, 10*time.Second)
	p.keys(false, "Enter")

	// The step view, live, until the engine says Ready.
	p.waitFor(`Creating tenant `+name+` on pool `+pool, 30*time.Second)
	s := p.waitFor(`tenant `+name+` is Ready`, 6*time.Minute, "Error:", "tui exited")
	for _, step := range []string{"preflight", "namespace", "install", "schedule", "kubeconfig secret", "api ready"} {
		if !regexp.MustCompile(`✓ ` + step).MatchString(s) {
			t.Errorf("step %q not done on the final step view:\n%s", step, s)
		}
	}
	p.keys(false, "Enter")
	p.waitFor(`› `+name+`\s+Ready\s+`+pool, time.Minute)

	// Connect from the list: a background forwarder, the tenant's context current.
	p.keys(false, "c")
	p.waitFor(`connected: context "`+name+`" is current`, 2*time.Minute, "tui exited")
	if out, err := w.kubectl("config", "current-context"); err != nil || strings.TrimSpace(out) != name {
		t.Errorf("current context %q (%v), want %s", strings.TrimSpace(out), err, name)
	}
	if out, err := w.kubectl("--context", name, "get", "ns", "default", "-o", "name"); err != nil || strings.TrimSpace(out) != "namespace/default" {
		t.Errorf("kubectl through the tenant context: %v\n%s", err, out)
	}
	p.waitFor(`› `+name+`\s+Ready\s+`+pool+`\s+\S+\s+in \S+\s+yes`, 30*time.Second)
	sess := w.session(name)

	// Delete, confirmed, with the step view; then back to a list without it.
	p.keys(false, "d")
	p.waitFor(`Delete tenant `+name+` and everything in namespace vcluster-`+name+`\? \[y/N\]`, 10*time.Second)
	p.keys(false, "y")
	p.waitFor(`tenant `+name+` deleted`, 6*time.Minute, "Error:", "tui exited")
	p.keys(false, "Enter")
	deadline := time.Now().Add(time.Minute)
	for strings.Contains(p.screen(), " "+name+" ") {
		if time.Now().After(deadline) {
			t.Fatalf("%s still listed:\n%s", name, p.screen())
		}
		time.Sleep(500 * time.Millisecond)
	}
	p.keys(false, "q")
	p.waitFor(`tui exited: 0`, 30*time.Second)
	w.assertGone(name, sess)
}
