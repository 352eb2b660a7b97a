package testenv

import (
	"fmt"
	"maps"
	"slices"
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

// builtBy are the binaries EnsureBinaries builds with x, sorted.
func builtBy(x Extras) []string {
	var names []string
	for _, c := range components() {
		if x.has(c) {
			names = append(names, slices.Collect(maps.Keys(c.cmds))...)
		}
	}
	slices.Sort(names)
	return names
}

// TestUpBuildsOnlyWhatItRuns: `playground up` (make playground, make demo)
// builds neither vCluster VClusterOldVersion nor Argo CD ArgoCDV2Version,
// which only the e2e suite uses; the suite's playground (Start) builds both.
func TestUpBuildsOnlyWhatItRuns(t *testing.T) {
	old, v2 := VClusterBinary(VClusterOldChartVersion), "argocd-v2"
	for _, opts := range []Options{{}, {RealNodes: true}} {
		got := builtBy(opts.extras())
		if slices.Contains(got, old) || slices.Contains(got, v2) {
			t.Errorf("Up(%+v) builds %q, want neither %s nor %s", opts, got, old, v2)
		}
		for _, want := range []string{"etcd", "kube-apiserver", "kwok", "vcluster", "argocd", "helm"} {
			if !slices.Contains(got, want) {
				t.Errorf("Up(%+v) builds %q, want %s among them", opts, got, want)
			}
		}
	}
	suite := builtBy(suiteOptions(t.TempDir()).extras())
	for _, want := range []string{old, v2, "vcluster", "argocd"} {
		if !slices.Contains(suite, want) {
			t.Errorf("the suite's playground builds %q, want %s among them", suite, want)
		}
	}
	if slices.Contains(suite, "kubelet") {
		t.Errorf("the suite's (kwok) playground builds %q, want no kubelet", suite)
	}
}
