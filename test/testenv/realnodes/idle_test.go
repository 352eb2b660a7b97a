package realnodes

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kubectl-tenant/kubectl-tenant/test/testenv"
)

// listed is what the test reads of `list -o json`.
type listed struct {
	Name          string         `json:"name"`
	Status        string         `json:"status"`
	SleepAfter    *time.Duration `json:"sleepAfter"`
	SleepingSince *time.Time     `json:"sleepingSince"`
	WokenAt       *time.Time     `json:"wokenAt"`
	Slept         time.Duration  `json:"slept"`
}

func (c *cli) list(ctx context.Context) map[string]listed {
	c.t.Helper()
	var l struct{ Items []listed }
	if err := json.Unmarshal([]byte(c.run(ctx, "list", "-o", "json")), &l); err != nil {
		c.t.Fatal(err)
	}
	out := map[string]listed{}
	for _, it := range l.Items {
		out[it.Name] = it
	}
	return out
}

// TestRealNodeIdleSleepWakeOnRequest is issue #27's "done when" on the real
// node (the control planes are the chart's pods, containers of the node's
// containerd): a tenant with a one-minute idle limit, connected in the
// background and left alone, is asleep after gc; then a plain `kubectl get
// ns` through its context succeeds with no other command (the background
// forwarder wakes the tenant and holds the request) and the tenant is Ready
// again. A registered tenant that only Argo CD talks to (an Application
// syncing into it all along) still goes to sleep, and stays asleep.
func TestRealNodeIdleSleepWakeOnRequest(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	env, down := upRealNodes(ctx, t, "testenv-realidle-")
	defer down()
	if len(env.RealNodes) == 0 || env.RealNodes[0].Pool != pool {
		t.Fatalf("env.RealNodes = %+v, want a real node of pool %s", env.RealNodes, pool)
	}
	cs, err := env.Clientset()
	if err != nil {
		t.Fatal(err)
	}
	c := newCLI(t, env)
	const name, argoName = "idle1", "idle-argo"
	// The background forwarder is a process of ours: delete disconnects it,
	// even when the test fails half-way (before Down).
	defer func() {
		for _, n := range []string{name, argoName} {
			cmd := exec.Command(c.bin, "delete", n, "--yes", "--ignore-not-found")
			cmd.Env = c.environ()
			_ = cmd.Run()
		}
	}()
	c.run(ctx, "create", name, "--pool", pool, "--connect=false", "--sleep-after", "1m")
	c.run(ctx, "create", argoName, "--pool", pool, "--connect=false", "--register", "--sleep-after", "1m")
	if got := c.list(ctx)[name]; got.SleepAfter == nil || *got.SleepAfter != time.Minute || got.Status != "Ready" {
		t.Fatalf("list after create --sleep-after 1m: %+v", got)
	}
	for _, n := range []string{name, argoName} {
		if cp := controlPlanePod(ctx, t, cs, "vcluster-"+n); cp.Spec.NodeName != env.RealNodes[0].Name {
			t.Fatalf("control plane of %s on %q, want the real node %s", n, cp.Spec.NodeName, env.RealNodes[0].Name)
		}
	}
	// Argo CD talks to idle-argo all along: an Application syncs into it
	// (and the controller keeps refreshing it) while nobody else does.
	stopApp := keepSyncing(ctx, t, env, argoName)
	defer stopApp()
	c.run(ctx, "connect", name, "--background")

	if out := c.run(ctx, "gc", "--pools=false", "--dry-run"); strings.Contains(out, "tenant/"+name+" ") {
		t.Fatalf("gc --dry-run right after connect would touch %s:\n%s", name, out)
	}
	time.Sleep(70 * time.Second) // left alone for longer than its limit
	out := c.run(ctx, "gc", "--pools=false", "--wait", "0")
	for _, n := range []string{name, argoName} {
		if !strings.Contains(out, "tenant/"+n+" slept, idle for") {
			t.Errorf("gc did not put %s to sleep:\n%s", n, out)
		}
	}
	waitFor(ctx, t, "both control-plane pods to stop after gc", func() (bool, string) {
		var left []string
		for _, n := range []string{name, argoName} {
			pods, err := cs.CoreV1().Pods("vcluster-"+n).List(ctx, metav1.ListOptions{LabelSelector: "app=vcluster"})
			if err != nil {
				return false, err.Error()
			}
			if len(pods.Items) > 0 {
				left = append(left, n)
			}
		}
		return len(left) == 0, "still running: " + strings.Join(left, ", ")
	})
	for _, n := range []string{name, argoName} {
		if got := c.list(ctx)[n]; got.Status != "Sleeping" {
			t.Fatalf("%s after gc: %s, want Sleeping", n, got.Status)
		}
	}

	// A plain kubectl through the context: no kubectl-tenant command.
	kctx, kcancel := context.WithTimeout(ctx, 3*time.Minute)
	defer kcancel()
	kubectl := exec.CommandContext(kctx, "kubectl", "--context", name, "get", "ns", "default", "-o", "name")
	kubectl.Env = append(os.Environ(), "KUBECONFIG="+c.kubeconfig)
	start := time.Now()
	kout, err := kubectl.CombinedOutput()
	took := time.Since(start).Round(100 * time.Millisecond)
	if err != nil || strings.TrimSpace(string(kout)) != "namespace/default" {
		logs, _ := filepath.Glob(filepath.Join(c.stateDir, "*", "*.log"))
		more, _ := filepath.Glob(filepath.Join(c.stateDir, "*.log"))
		for _, l := range append(logs, more...) {
			b, _ := os.ReadFile(l)
			t.Logf("%s:\n%s", l, b)
		}
		t.Fatalf("kubectl get ns through the sleeping tenant's context (after %s): %v\n%s", took, err, kout)
	}
	t.Logf("kubectl get ns on the sleeping tenant answered after %s (wake on request, real node)", took)
	// The forwarder lets the request through once the API answers, about a
	// second before the kubelet's probes mark the pod Ready.
	got := c.list(ctx)
	if g := got[name]; (g.Status != "Ready" && g.Status != "Pending") || g.WokenAt == nil || g.Slept <= 0 {
		t.Errorf("%s after the request: %+v, want awake (Ready, or Pending until the probes pass), woken, with time slept", name, g)
	}
	waitFor(ctx, t, name+" Ready after the request", func() (bool, string) {
		g := c.list(ctx)[name]
		return g.Status == "Ready", string(g.Status)
	})
	if g := got[argoName]; g.Status != "Sleeping" {
		t.Errorf("%s, which only Argo CD talks to, woke too: %s", argoName, g.Status)
	}
	if cp := controlPlanePod(ctx, t, cs, "vcluster-"+name); cp.Spec.NodeName != env.RealNodes[0].Name {
		t.Errorf("woken control plane of %s on %q, want the real node", name, cp.Spec.NodeName)
	}
}

// keepSyncing has Argo CD sync a ConfigMap from a local git repository into
// tenant name (destination by name, automated sync) and waits until it is
// Synced and Healthy; the Application stays until the returned func.
func keepSyncing(ctx context.Context, t *testing.T, env *testenv.Env, name string) func() {
	t.Helper()
	repo := t.TempDir()
	if err := os.MkdirAll(filepath.Join(repo, "app"), 0o755); err != nil {
		t.Fatal(err)
	}
	cm := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-argocd\n  namespace: default\ndata:\n  synced: \"yes\"\n"
	if err := os.WriteFile(filepath.Join(repo, "app", "cm.yaml"), []byte(cm), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"init", "-q", "-b", "main"}, {"add", "-A"},
		{"-c", "user.email=test@example.invalid", "-c", "user.name=test", "commit", "-q", "-m", "app"}} {
		if out, err := exec.CommandContext(ctx, "git", append([]string{"-C", repo}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	dyn, err := env.Dynamic()
	if err != nil {
		t.Fatal(err)
	}
	apps := dyn.Resource(schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "applications"}).Namespace(testenv.ArgoCDNamespace)
	app := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
		"metadata": map[string]any{"name": name + "-app", "namespace": testenv.ArgoCDNamespace},
		"spec": map[string]any{
			"project":     "default",
			"source":      map[string]any{"repoURL": "file://" + repo, "targetRevision": "main", "path": "app"},
			"destination": map[string]any{"name": name, "namespace": "default"},
			"syncPolicy":  map[string]any{"automated": map[string]any{"selfHeal": true}},
		},
	}}
	if _, err := apps.Create(ctx, app, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	stop := func() { _ = apps.Delete(context.Background(), name+"-app", metav1.DeleteOptions{}) }
	waitFor(ctx, t, "Application "+name+"-app to be Synced and Healthy", func() (bool, string) {
		a, err := apps.Get(ctx, name+"-app", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		sync, _, _ := unstructured.NestedString(a.Object, "status", "sync", "status")
		health, _, _ := unstructured.NestedString(a.Object, "status", "health", "status")
		conds, _, _ := unstructured.NestedSlice(a.Object, "status", "conditions")
		return sync == "Synced" && health == "Healthy", fmt.Sprintf("sync %q health %q conditions %v", sync, health, conds)
	})
	return stop
}
