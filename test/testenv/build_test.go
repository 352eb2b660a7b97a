package testenv

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestHeartbeat: a long build says every interval that it is still running,
// and stop ends the lines before it returns (no log after a test's end).
func TestHeartbeat(t *testing.T) {
	var mu sync.Mutex
	var lines []string
	logf := func(f string, a ...any) {
		mu.Lock()
		defer mu.Unlock()
		lines = append(lines, fmt.Sprintf(f, a...))
	}
	stop := heartbeat(logf, 20*time.Millisecond, "still building etcd", time.Now())
	time.Sleep(110 * time.Millisecond)
	stop()
	mu.Lock()
	n := len(lines)
	mu.Unlock()
	if n < 2 {
		t.Fatalf("%d heartbeat lines in 110 ms at 20 ms, want several: %q", n, lines)
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "still building etcd (") || !strings.HasSuffix(l, " so far) ...") {
			t.Errorf("heartbeat line %q", l)
		}
	}
	time.Sleep(60 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	if len(lines) != n {
		t.Errorf("heartbeat logged after stop: %q", lines[n:])
	}
}

// TestColdBuildNamesBuiltBinaries: every typical duration printed belongs
// to a binary the harness builds (a renamed binary would lose its figure).
func TestColdBuildNamesBuiltBinaries(t *testing.T) {
	built := map[string]bool{}
	for _, c := range components() {
		for bin := range c.cmds {
			built[bin] = true
		}
	}
	for bin := range coldBuild {
		if !built[bin] {
			t.Errorf("coldBuild names %q, which no component builds", bin)
		}
	}
}
