package realnodes

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"

	"github.com/kubectl-tenant/kubectl-tenant/test/testenv"
)

// The milestones of one wake, in the order they happen. Each is the moment
// the benchmark's watch of the host API first saw it (so the kubelet's
// status updates, which follow its PLEG relist of about 1 s, are part of
// what is seen), except "api listening": the timestamp the container
// runtime put on the virtual API server's first log line after it started
// serving.
var wakeMilestones = []string{
	"scale-up patch",   // the StatefulSet's spec.replicas back to 1 (our patch landed)
	"pod created",      // the StatefulSet controller created the pod
	"pod scheduled",    // spec.nodeName set by the scheduler
	"init started",     // an init container running (the binary copy)
	"main started",     // the vCluster container running
	"api listening",    // the virtual API server serves (its log line)
	"startup passed",   // containerStatuses.started: the startup probe passed
	"pod ready",        // Ready condition: the readiness probe passed
	"endpoints ready",  // the Service's EndpointSlice has a ready endpoint
	"wake returned",    // `kubectl tenant wake` returned: our poll noticed
	"request answered", // a kubectl get ns through `connect` answered
}

// BenchmarkWakeRealNode is issue #27's wake figure on the real node: it
// creates one tenant on pool project-x's real node with the real binary (no
// values file), then WAKE_RUNS times (default 10) puts it to sleep and
// times `kubectl tenant wake NAME` (waits for the API, as a user runs it),
// recording when each milestone of the wake was first seen. It reports p50
// and p95 of the wake and logs the per-milestone medians (offsets from the
// start of the command). With WAKE_BEFORE_BIN (a kubectl-tenant built from
// another commit) a second tenant is created and woken by that binary, the
// two taking turns (order alternating), so before and after share the
// playground and the machine's load. Run one at a time, -benchtime 1x, -v
// for the tables:
//
//	cd test/testenv && WAKE_BEFORE_BIN=/tmp/kubectl-tenant-63b38a1 go test -run '^$' \
//	  -bench '^BenchmarkWakeRealNode$' -benchtime 1x -v -timeout 40m ./realnodes/
func BenchmarkWakeRealNode(b *testing.B) {
	runs := 10
	if s := os.Getenv("WAKE_RUNS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			b.Fatalf("WAKE_RUNS=%q: want a positive number", s)
		}
		runs = n
	}
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Minute)
	defer cancel()
	dir, err := os.MkdirTemp("", "testenv-wakebench-")
	if err != nil {
		b.Fatal(err)
	}
	env, err := testenv.Up(ctx, testenv.Options{Dir: dir, RealNodes: true, Logf: func(f string, a ...any) {
		fmt.Fprintf(os.Stderr, "testenv: "+f+"\n", a...)
	}})
	if err != nil {
		_ = testenv.Down(dir)
		b.Fatalf("playground with real nodes: %v", err)
	}
	defer func() {
		if err := testenv.Down(dir); err != nil {
			b.Errorf("down: %v", err)
		}
	}()
	cs, err := env.Clientset()
	if err != nil {
		b.Fatal(err)
	}
	type subject struct {
		label, name string
		c           *benchCLI
		walls       []float64
		offsets     map[string][]float64
	}
	subjects := []*subject{{label: "this build", name: "wakebench", c: newBenchCLI(b, env, "")}}
	if bin := os.Getenv("WAKE_BEFORE_BIN"); bin != "" {
		subjects = append(subjects, &subject{label: "WAKE_BEFORE_BIN " + bin, name: "wakebefore", c: newBenchCLI(b, env, bin)})
	}
	for _, s := range subjects {
		s.offsets = map[string][]float64{}
		s.c.run(ctx, "create", s.name, "--pool", pool, "--connect=false")
	}
	for i := 0; i < runs; i++ {
		for j := range subjects {
			s := subjects[(i+j)%len(subjects)]
			s.c.run(ctx, "sleep", s.name)
			ms, wall := timeWake(ctx, b, s.c, cs, "vcluster-"+s.name, s.name)
			s.walls = append(s.walls, wall.Seconds())
			var line []string
			for _, m := range wakeMilestones {
				if at, ok := ms[m]; ok {
					s.offsets[m] = append(s.offsets[m], at.Seconds())
					line = append(line, fmt.Sprintf("%s %.2f", m, at.Seconds()))
				}
			}
			b.Logf("%s run %d: wake %.2f s; %s", s.label, i+1, wall.Seconds(), strings.Join(line, ", "))
		}
	}
	for k, s := range subjects {
		p50, p95 := percentile(s.walls, 50), percentile(s.walls, 95)
		sorted := slices.Clone(s.walls)
		slices.Sort(sorted)
		var tbl strings.Builder
		fmt.Fprintf(&tbl, "%s: wake over %d runs: p50 %.2f s, p95 %.2f s, min %.2f, max %.2f\n", s.label, runs, p50, p95, sorted[0], sorted[len(sorted)-1])
		fmt.Fprintf(&tbl, "| milestone | median offset (s) | median step (s) | runs seen |\n|---|---:|---:|---:|\n")
		// In the order they happened (by median): a wake may return before
		// the kubelet's probes pass.
		var seen []string
		for _, m := range wakeMilestones {
			if len(s.offsets[m]) > 0 {
				seen = append(seen, m)
			}
		}
		slices.SortStableFunc(seen, func(a, b string) int {
			return cmp.Compare(percentile(s.offsets[a], 50), percentile(s.offsets[b], 50))
		})
		prev := 0.0
		for _, m := range seen {
			med := percentile(s.offsets[m], 50)
			fmt.Fprintf(&tbl, "| %s | %.2f | %.2f | %d |\n", m, med, med-prev, len(s.offsets[m]))
			prev = med
		}
		b.Log(tbl.String())
		unit := "wake"
		if k > 0 {
			unit = "before-wake"
		}
		b.ReportMetric(p50, unit+"-p50-s")
		b.ReportMetric(p95, unit+"-p95-s")
	}
}

// timeWake runs `wake NAME`, watching the tenant's StatefulSet, pods and
// EndpointSlices meanwhile, and returns when each milestone was first seen
// (offset from the command's start) and the command's wall time.
func timeWake(ctx context.Context, b *testing.B, c *benchCLI, cs kubernetes.Interface, ns, name string) (map[string]time.Duration, time.Duration) {
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	var mu sync.Mutex
	seen := map[string]time.Time{}
	mark := func(m string) {
		mu.Lock()
		defer mu.Unlock()
		if _, ok := seen[m]; !ok {
			seen[m] = time.Now()
		}
	}
	var pod *corev1.Pod
	var wg sync.WaitGroup
	watchAll := func(w watch.Interface, on func(watch.Event)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer w.Stop()
			for {
				select {
				case <-wctx.Done():
					return
				case ev, ok := <-w.ResultChan():
					if !ok {
						return
					}
					on(ev)
				}
			}
		}()
	}
	sw, err := cs.AppsV1().StatefulSets(ns).Watch(wctx, metav1.ListOptions{LabelSelector: "app=vcluster"})
	if err != nil {
		b.Fatal(err)
	}
	pw, err := cs.CoreV1().Pods(ns).Watch(wctx, metav1.ListOptions{LabelSelector: "app=vcluster"})
	if err != nil {
		b.Fatal(err)
	}
	ew, err := cs.DiscoveryV1().EndpointSlices(ns).Watch(wctx, metav1.ListOptions{LabelSelector: "kubernetes.io/service-name=" + testenvReleaseName})
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	watchAll(sw, func(ev watch.Event) {
		if s, ok := ev.Object.(interface{ GetAnnotations() map[string]string }); ok && ev.Type == watch.Modified {
			if s.GetAnnotations()["loft.sh/paused"] == "" {
				mark("scale-up patch")
			}
		}
	})
	watchAll(pw, func(ev watch.Event) {
		p, ok := ev.Object.(*corev1.Pod)
		if !ok || p.DeletionTimestamp != nil {
			return
		}
		mu.Lock()
		pod = p.DeepCopy()
		mu.Unlock()
		mark("pod created")
		if p.Spec.NodeName != "" {
			mark("pod scheduled")
		}
		for _, s := range p.Status.InitContainerStatuses {
			if s.State.Running != nil || s.State.Terminated != nil {
				mark("init started")
			}
		}
		for _, s := range p.Status.ContainerStatuses {
			if s.State.Running != nil {
				mark("main started")
			}
			if s.Started != nil && *s.Started {
				mark("startup passed")
			}
		}
		for _, cnd := range p.Status.Conditions {
			if cnd.Type == corev1.PodReady && cnd.Status == corev1.ConditionTrue {
				mark("pod ready")
			}
		}
	})
	watchAll(ew, func(ev watch.Event) {
		es, ok := ev.Object.(*discoveryv1.EndpointSlice)
		if !ok {
			return
		}
		for _, e := range es.Endpoints {
			if e.Conditions.Ready != nil && *e.Conditions.Ready {
				mark("endpoints ready")
			}
		}
	})
	c.run(ctx, "wake", name)
	wall := time.Since(start)
	mark("wake returned")
	c.run(ctx, "connect", name, "--", "kubectl", "get", "ns", "default", "-o", "name")
	mark("request answered")
	// The watch may see the endpoint a moment after wake returned.
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		mu.Lock()
		_, ok := seen["endpoints ready"]
		mu.Unlock()
		if ok {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	stop()
	wg.Wait()
	if pod != nil {
		if at, ok := apiListening(ctx, cs, pod); ok {
			seen["api listening"] = at
		}
	}
	out := map[string]time.Duration{}
	for m, at := range seen {
		out[m] = at.Sub(start)
	}
	return out, wall
}

// testenvReleaseName is the Helm release (and Service) name of every tenant.
const testenvReleaseName = "vcluster"

// apiListening is the container runtime's timestamp of the vCluster
// container's first log line saying the virtual API server serves.
func apiListening(ctx context.Context, cs kubernetes.Interface, p *corev1.Pod) (time.Time, bool) {
	raw, err := cs.CoreV1().Pods(p.Namespace).GetLogs(p.Name, &corev1.PodLogOptions{Container: "syncer", Timestamps: true}).DoRaw(ctx)
	if err != nil {
		return time.Time{}, false
	}
	for _, l := range strings.Split(string(raw), "\n") {
		ts, msg, ok := strings.Cut(l, " ")
		if !ok {
			continue
		}
		for _, marker := range apiListeningMarkers {
			if strings.Contains(msg, marker) {
				at, err := time.Parse(time.RFC3339Nano, ts)
				return at, err == nil
			}
		}
	}
	return time.Time{}, false
}

// apiListeningMarkers are vCluster 0.34's log lines once its API server
// answers (the first found counts).
var apiListeningMarkers = []string{"Serving securely on", "Starting to serve", "start proxy server"}

// percentile is the nearest-rank percentile of xs.
func percentile(xs []float64, p int) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	i := (p*len(s) + 99) / 100
	return s[max(i-1, 0)]
}

// repoRoot is the repository this file is in.
func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..")
}

// benchCLI runs the real kubectl-tenant binary like cli, for a benchmark.
type benchCLI struct {
	tb         testing.TB
	bin, state string
	kubeconfig string
}

// newBenchCLI builds kubectl-tenant from this repository, or uses bin.
func newBenchCLI(tb testing.TB, env *testenv.Env, bin string) *benchCLI {
	tb.Helper()
	dir := tb.TempDir()
	c := &benchCLI{tb: tb, bin: bin, kubeconfig: dir + "/kubeconfig", state: dir + "/state"}
	if bin == "" {
		c.bin = dir + "/kubectl-tenant"
		build := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", c.bin, "./cmd/kubectl-tenant")
		build.Dir = repoRoot()
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := build.CombinedOutput(); err != nil {
			tb.Fatalf("building kubectl-tenant: %v\n%s", err, out)
		}
	}
	kc, err := os.ReadFile(env.Kubeconfig)
	if err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(c.kubeconfig, kc, 0o600); err != nil {
		tb.Fatal(err)
	}
	return c
}

func (c *benchCLI) run(ctx context.Context, args ...string) string {
	c.tb.Helper()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.bin, args...)
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "KUBECTL_TENANT_") && !strings.HasPrefix(kv, "KUBECONFIG=") {
			env = append(env, kv)
		}
	}
	cmd.Env = append(env, "KUBECONFIG="+c.kubeconfig, "KUBECTL_TENANT_STATE_DIR="+c.state, "NO_COLOR=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		c.tb.Fatalf("kubectl-tenant %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}
