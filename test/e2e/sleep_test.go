package e2e

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
)

// TestSleepWake: a tenant with state sleeps (connection ended, control plane
// and synced pods gone, namespace and volume kept, list says Sleeping),
// connect refuses without --wake off a terminal, wake brings the state
// back (asked on a terminal, --wake elsewhere); interrupted and repeated
// sleeps and wakes converge; create wakes and delete removes a sleeping
// tenant.
func TestSleepWake(t *testing.T) {
	const name = "e2e-nap"
	ns := tenant.NamespaceFor(name)
	w := newWorld(t)
	cs, err := w.env.Clientset()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	w.mustRun("create", name, "--pool", "project-x", "-f", persistentValues(t), "--connect=false")
	w.mustRun("connect", name, "--", "kubectl", "create", "configmap", "kept", "--from-literal=k=v")
	// A pod inside the vCluster is synced into the host namespace.
	w.mustRun("connect", name, "--", "kubectl", "run", "web", "--image=nginx", "--restart=Never")
	synced := func() int {
		pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "vcluster.loft.sh/managed-by=vcluster"})
		if err != nil {
			t.Fatal(err)
		}
		return len(pods.Items)
	}
	for deadline := time.Now().Add(2 * time.Minute); synced() == 0; time.Sleep(time.Second) {
		if time.Now().After(deadline) {
			t.Fatal("the vCluster never synced pod web into the host namespace")
		}
	}
	w.mustRun("connect", name, "--background")
	sess := w.session(name)
	if procs, _ := w.leftoversOf(ns); len(procs) == 0 {
		t.Fatalf("no runner process of %s while awake: the check below would prove nothing", ns)
	}

	// Interrupted once the scale-down is done, then re-run: converges.
	code, out := w.interruptAfter(tenant.StepScaleDown, "sleep", name)
	if code != 3 && code != 0 {
		t.Fatalf("interrupted sleep: exit %d, want 3 (cancelled) or 0 (finished first)\n%s", code, out)
	}
	t.Logf("interrupted sleep exited %d", code)
	if got := w.list()[name].Status; got != tenant.StatusSleeping {
		t.Errorf("after an interrupted sleep list says %s, want %s", got, tenant.StatusSleeping)
	}
	r := w.mustRun("sleep", name)
	if !strings.Contains(r.stderr, "already asleep") {
		t.Errorf("re-run sleep does not say the tenant was already asleep:\n%s", r.stderr)
	}
	if r := w.mustRun("sleep", name, "-o", "name"); strings.TrimSpace(r.stdout) != "tenant/"+name {
		t.Errorf("sleep -o name: %q", r.stdout)
	}

	got := w.list()[name]
	if got.Status != tenant.StatusSleeping || got.SleepingSince == nil || got.Connected {
		t.Errorf("asleep, list says %+v", got)
	}
	if !gone(sess.PID) {
		t.Errorf("forwarder %d still alive after sleep", sess.PID)
	}
	if !w.namespaceExists(name) {
		t.Fatal("sleep removed the namespace")
	}
	pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=vcluster,release=vcluster"})
	if err != nil || len(pods.Items) != 0 {
		t.Errorf("control-plane pods left while asleep: %v %v", err, pods.Items)
	}
	if n := synced(); n != 0 {
		t.Errorf("%d synced pod(s) left while asleep", n)
	}
	sts, err := cs.AppsV1().StatefulSets(ns).Get(ctx, "vcluster", metav1.GetOptions{})
	if err != nil || *sts.Spec.Replicas != 0 || sts.Annotations["loft.sh/paused"] != "true" || sts.Annotations["loft.sh/paused-replicas"] != "1" {
		t.Errorf("StatefulSet not paused the way `vcluster pause` does: %v %+v", err, sts)
	}
	var procs, volumes []string
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(500 * time.Millisecond) {
		if procs, volumes = w.leftoversOf(ns); len(procs) == 0 || time.Now().After(deadline) {
			break
		}
	}
	if len(procs) > 0 {
		t.Errorf("the vCluster still runs while asleep: %v", procs)
	}
	if len(volumes) == 0 {
		t.Error("no runner volume left: the vCluster's data did not survive sleep")
	}

	// Off a terminal, connect needs --wake; the background path too.
	for _, args := range [][]string{{"connect", name}, {"connect", name, "--background"}} {
		r := w.run(ctx, args...)
		if r.code != 1 {
			t.Fatalf("%v on a sleeping tenant: exit %d, want 1\n%s", args, r.code, r.stderr)
		}
		if line := oneLineError(t, r); !strings.Contains(line, "kubectl tenant wake "+name) || !strings.Contains(line, "--wake") {
			t.Errorf("%v: %s", args, line)
		}
	}

	start := time.Now()
	r = w.mustRun("wake", name, "--wait", "10m")
	t.Logf("wake took %s", time.Since(start).Round(100*time.Millisecond))
	for _, step := range []string{tenant.StepScaleUp, tenant.StepReady} {
		if !strings.Contains(r.stderr, step) {
			t.Errorf("wake progress lacks step %q:\n%s", step, r.stderr)
		}
	}
	// Wake returns when the API answers; list says Ready once the kubelet's
	// probes pass (kwok's pod is Ready at once, a real node's a second later).
	if got := w.list()[name]; (got.Status != tenant.StatusReady && got.Status != tenant.StatusPending) || got.SleepingSince != nil {
		t.Errorf("after wake list says %+v", got)
	}
	w.waitStatus(name, tenant.StatusReady, time.Minute)
	// What wake asks the virtual API server (through the vCluster proxy):
	// /readyz without two post-start hooks, which must exist by those names
	// (an unknown name would be ignored, and the wake wait a second more).
	r = w.mustRun("connect", name, "--", "kubectl", "get", "--raw", tenant.WokenReadyz+"&verbose")
	for _, want := range []string{"[+]poststarthook/rbac/bootstrap-roles excluded: ok", "[+]poststarthook/scheduling/bootstrap-system-priority-classes excluded: ok", "readyz check passed"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("%s lacks %q:\n%s", tenant.WokenReadyz, want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "cannot be excluded") {
		t.Errorf("%s names a check the server lacks:\n%s", tenant.WokenReadyz, r.stdout)
	}
	if r := w.mustRun("wake", name, "-o", "name"); !strings.Contains(r.stderr, "already awake") || strings.TrimSpace(r.stdout) != "tenant/"+name {
		t.Errorf("second wake: stdout %q\n%s", r.stdout, r.stderr)
	}
	r = w.mustRun("connect", name, "--", "kubectl", "get", "configmap", "kept", "-o", "jsonpath={.data.k}")
	if r.stdout != "v" {
		t.Errorf("ConfigMap kept after sleep and wake: got %q, want v", r.stdout)
	}

	// On a terminal connect asks: "n" leaves it asleep (cancelled, exit 3),
	// the default wakes it and connects.
	w.mustRun("sleep", name)
	for i, answer := range []string{"n", ""} {
		p := &tmuxPane{t: t, socket: fmt.Sprintf("kt-e2e-nap-%d-%d", os.Getpid(), i)}
		t.Cleanup(func() { _, _ = p.tmux("kill-server") })
		p.start(w.environ(), fmt.Sprintf("%q connect %s -- kubectl get configmap kept -o name; echo \"connect exited: $?\"; sleep 600", w.bin, name))
		p.waitFor(`Tenant `+name+` is sleeping\. Wake it\? \[Y/n\]`, time.Minute, "connect exited")
		if answer != "" {
			p.keys(true, answer)
		}
		p.keys(false, "Enter")
		want := `connect exited: 3`
		if answer == "" {
			want = `(?s)configmap/kept.*connect exited: 0`
		}
		s := p.waitFor(want, 10*time.Minute, "connect exited: 1")
		if answer == "n" && w.list()[name].Status != tenant.StatusSleeping {
			t.Errorf("answering n woke the tenant:\n%s", s)
		}
	}

	// connect --wake wakes without asking.
	w.mustRun("sleep", name)
	r = w.mustRun("connect", name, "--wake", "--", "kubectl", "get", "configmap", "kept", "-o", "name")
	if !strings.Contains(r.stdout, "configmap/kept") || !strings.Contains(r.stderr, tenant.StepScaleUp) {
		t.Errorf("connect --wake: stdout %q\n%s", r.stdout, r.stderr)
	}

	// Re-running create converges to a running tenant: it wakes a sleeping one.
	w.mustRun("sleep", name)
	w.mustRun("create", name, "--pool", "project-x", "-f", persistentValues(t), "--connect=false")
	if got := w.list()[name]; got.Status != tenant.StatusReady || got.SleepingSince != nil {
		t.Errorf("create on a sleeping tenant left %+v", got)
	}
	sts, err = cs.AppsV1().StatefulSets(ns).Get(ctx, "vcluster", metav1.GetOptions{})
	if err != nil || *sts.Spec.Replicas != 1 || sts.Annotations["loft.sh/paused"] != "" {
		t.Errorf("after create on a sleeping tenant the StatefulSet is still paused: %v %+v", err, sts)
	}

	w.mustRun("sleep", name)
	w.mustRun("delete", name, "--yes")
	w.assertGone(name, sess)
}
