package realnodes

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-tenant/kubectl-tenant/test/testenv/realnode"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubectl-tenant/kubectl-tenant/test/testenv"
)

// cli runs the real kubectl-tenant binary (built from this repository) as a
// user of the playground would: its own copy of the admin kubeconfig, its
// own session state, no KUBECTL_TENANT_* setting and no values file.
type cli struct {
	t          *testing.T
	bin        string
	kubeconfig string
	stateDir   string
}

func newCLI(t *testing.T, env *testenv.Env) *cli {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..", "..")
	dir := t.TempDir()
	c := &cli{t: t, bin: filepath.Join(dir, "kubectl-tenant"), kubeconfig: filepath.Join(dir, "kubeconfig"), stateDir: filepath.Join(dir, "state")}
	// As `make build` and releases build it (.goreleaser.yaml).
	build := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", c.bin, "./cmd/kubectl-tenant")
	build.Dir = root
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building kubectl-tenant: %v\n%s", err, out)
	}
	b, err := os.ReadFile(env.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(c.kubeconfig, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return c
}

func (c *cli) environ() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "KUBECTL_TENANT_") && !strings.HasPrefix(kv, "KUBECONFIG=") {
			env = append(env, kv)
		}
	}
	return append(env, "KUBECONFIG="+c.kubeconfig, "KUBECTL_TENANT_STATE_DIR="+c.stateDir, "NO_COLOR=1")
}

// run runs kubectl-tenant ARGS and fails the test unless it exits 0.
func (c *cli) run(ctx context.Context, args ...string) string {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.bin, args...)
	cmd.Env = c.environ()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		c.t.Fatalf("kubectl-tenant %s: %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, out.String(), errb.String())
	}
	return out.String()
}

// tenantOnRealNode is issue #12's user flow with the real binary on a real
// node of pool: create with no values file (the chart's own pod spec and
// PVC), a Deployment and Service inside the tenant fetched by another pod
// through the tenant's CoreDNS, sleep and wake with the data kept, delete
// leaving nothing.
func tenantOnRealNode(ctx context.Context, t *testing.T, env *testenv.Env, cs kubernetes.Interface, node realnode.Node) {
	c := newCLI(t, env)
	const name = "rn1"
	ns := "vcluster-" + name
	start := time.Now()
	c.run(ctx, "create", name, "--pool", node.Pool, "--connect=false")
	t.Logf("create %s: ready in %s", name, time.Since(start).Round(100*time.Millisecond))

	// 1. The control plane is the chart's own pod, a container on the
	// pool's real node, its data on a claim the default class bound.
	cp := controlPlanePod(ctx, t, cs, ns)
	if cp.Spec.NodeName != node.Name || len(cp.Status.ContainerStatuses) == 0 ||
		!strings.HasPrefix(cp.Status.ContainerStatuses[0].ContainerID, "containerd://") {
		t.Fatalf("control plane pod %s: node %q statuses %+v; want a containerd container on %s", cp.Name, cp.Spec.NodeName, cp.Status.ContainerStatuses, node.Name)
	}
	if img := cp.Spec.Containers[0].Image; img != testenv.VClusterImage {
		t.Errorf("control plane image %s, want %s", img, testenv.VClusterImage)
	}
	var claim string
	for _, v := range cp.Spec.Volumes {
		if v.Name == "data" && v.PersistentVolumeClaim != nil {
			claim = v.PersistentVolumeClaim.ClaimName
		}
	}
	if claim == "" {
		t.Fatalf("control plane pod %s has no data claim (volumes %+v): the chart's default persistence is off", cp.Name, cp.Spec.Volumes)
	}
	pvc, err := cs.CoreV1().PersistentVolumeClaims(ns).Get(ctx, claim, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if pvc.Status.Phase != corev1.ClaimBound || pvc.Spec.StorageClassName == nil || *pvc.Spec.StorageClassName != realnode.StorageClassName {
		t.Fatalf("claim %s: phase %s class %v; want Bound by %s", claim, pvc.Status.Phase, pvc.Spec.StorageClassName, realnode.StorageClassName)
	}
	pvName := pvc.Spec.VolumeName
	var list struct {
		Items []struct{ Name, Status, Pool string }
	}
	if err := json.Unmarshal([]byte(c.run(ctx, "list", "-o", "json")), &list); err != nil {
		t.Fatal(err)
	}
	if tenants := list.Items; len(tenants) != 1 || tenants[0].Name != name || tenants[0].Status != "Ready" || tenants[0].Pool != node.Pool {
		t.Fatalf("list: %+v; want %s Ready in %s", list.Items, name, node.Pool)
	}

	// 2. Inside the tenant: a Deployment of the test web server, its
	// Service, and a pod that fetches it by its Service name.
	script := `set -e
kubectl create deployment web --image=` + testenv.TestWebImage + `
kubectl expose deployment web --port 80
kubectl rollout status deployment/web --timeout=3m
kubectl run fetch --image=` + testenv.TestWebImage + ` --restart=Never -- get --timeout 90s http://web.default.svc
kubectl wait --for=jsonpath='{.status.phase}'=Succeeded pod/fetch --timeout=3m
kubectl logs fetch`
	out := c.run(ctx, "connect", name, "--", "sh", "-c", script)
	if !strings.Contains(out, "testweb web-") {
		t.Fatalf("fetch of http://web.default.svc inside the tenant did not get the web server's answer:\n%s", out)
	}
	web := syncedPods(ctx, t, cs, ns, "web-")
	if len(web) != 1 || web[0].Spec.NodeName != node.Name || web[0].Status.Phase != corev1.PodRunning ||
		!strings.HasPrefix(web[0].Status.ContainerStatuses[0].ContainerID, "containerd://") {
		t.Fatalf("web's pod on the host: %+v; want one running containerd container on %s", describe(web), node.Name)
	}
	t.Logf("inside %s: web runs on %s as %s; fetch got %q", name, node.Name, web[0].Status.ContainerStatuses[0].ContainerID,
		strings.TrimSpace(out[strings.LastIndex(out, "testweb"):]))

	// 3. register, then an Argo CD Application whose destination is the
	// tenant by name syncs a manifest from a local git repository into it:
	// Argo CD's server and controller reach https://vcluster.vcluster-NAME
	// through CoreDNS and kube-proxy, as any pod would.
	out = c.run(ctx, "register", name, "--yes")
	if !strings.Contains(out, "https://vcluster."+ns) || !strings.Contains(out, "Successful") {
		t.Fatalf("register: %q; want the in-cluster address https://vcluster.%s, connection Successful", out, ns)
	}
	syncFromGit(ctx, t, env, name)
	if out := c.run(ctx, "connect", name, "--", "kubectl", "get", "configmap", "from-argocd", "-o", "jsonpath={.data.synced}"); out != "yes" {
		t.Fatalf("ConfigMap from-argocd in the tenant says %q, want the synced \"yes\"", out)
	}

	// 4. sleep removes the tenant's host pods; wake brings web back with
	// the tenant's state kept on its volume.
	c.run(ctx, "sleep", name)
	waitFor(ctx, t, "the tenant's host pods to go after sleep", func() (bool, string) {
		pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err.Error()
		}
		return len(pods.Items) == 0, fmt.Sprintf("%d pods left", len(pods.Items))
	})
	c.run(ctx, "wake", name)
	waitFor(ctx, t, "web's pod to run again after wake", func() (bool, string) {
		pods := syncedPods(ctx, t, cs, ns, "web-")
		return len(pods) == 1 && pods[0].Status.Phase == corev1.PodRunning && pods[0].Spec.NodeName == node.Name, describe(pods)
	})
	if pvc, err := cs.CoreV1().PersistentVolumeClaims(ns).Get(ctx, claim, metav1.GetOptions{}); err != nil || pvc.Spec.VolumeName != pvName {
		t.Fatalf("after wake, claim %s: %v %v; want the same volume %s", claim, err, pvc, pvName)
	}
	if out := c.run(ctx, "connect", name, "--", "kubectl", "get", "deployment", "web", "-o", "name"); strings.TrimSpace(out) != "deployment.apps/web" {
		t.Fatalf("after wake the tenant says %q, want deployment.apps/web", out)
	}

	// 5. delete leaves nothing: namespace, volume, containers, contexts,
	// Argo CD's cluster entry.
	ids := map[string]bool{}
	for _, p := range append(syncedPods(ctx, t, cs, ns, ""), *controlPlanePod(ctx, t, cs, ns)) {
		for _, s := range p.Status.ContainerStatuses {
			ids[strings.TrimPrefix(s.ContainerID, "containerd://")] = true
		}
	}
	c.run(ctx, "delete", name, "--yes")
	waitFor(ctx, t, "namespace and volume to go after delete", func() (bool, string) {
		_, nsErr := cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		_, pvErr := cs.CoreV1().PersistentVolumes().Get(ctx, pvName, metav1.GetOptions{})
		return apierrors.IsNotFound(nsErr) && apierrors.IsNotFound(pvErr), fmt.Sprintf("namespace: %v; PV %s: %v", nsErr, pvName, pvErr)
	})
	waitFor(ctx, t, "the tenant's containers to stop", func() (bool, string) {
		tasks, err := exec.CommandContext(ctx, "ctr", "--address", node.ContainerdSocket, "-n", "k8s.io", "tasks", "ls", "-q").Output()
		if err != nil {
			return false, err.Error()
		}
		var left []string
		for _, id := range strings.Fields(string(tasks)) {
			if ids[id] {
				left = append(left, id)
			}
		}
		return len(left) == 0, "still running: " + strings.Join(left, ", ")
	})
	secrets, err := cs.CoreV1().Secrets(testenv.ArgoCDNamespace).List(ctx, metav1.ListOptions{LabelSelector: "argocd.argoproj.io/secret-type=cluster"})
	if err != nil || len(secrets.Items) != 0 {
		t.Errorf("Argo CD cluster secrets after delete: %v %d", err, len(secrets.Items))
	}
	cfg, err := clientcmd.LoadFromFile(c.kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	for k := range cfg.Contexts {
		if strings.Contains(k, name) {
			t.Errorf("kubeconfig context %s left after delete", k)
		}
	}
	if out := c.run(ctx, "list", "-o", "name"); strings.TrimSpace(out) != "" {
		t.Errorf("list after delete: %q", out)
	}
}

// controlPlanePod is the tenant's vCluster pod (label app=vcluster).
func controlPlanePod(ctx context.Context, t *testing.T, cs kubernetes.Interface, ns string) *corev1.Pod {
	t.Helper()
	pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=vcluster"})
	if err != nil || len(pods.Items) != 1 {
		t.Fatalf("control plane pod of %s: %v (%d pods)", ns, err, len(pods.Items))
	}
	return &pods.Items[0]
}

// syncedPods are the host copies of the tenant's pods whose name inside the
// tenant starts with prefix.
func syncedPods(ctx context.Context, t *testing.T, cs kubernetes.Interface, ns, prefix string) []corev1.Pod {
	t.Helper()
	pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out []corev1.Pod
	for _, p := range pods.Items {
		if n := p.Annotations["vcluster.loft.sh/object-name"]; n != "" && strings.HasPrefix(n, prefix) && p.DeletionTimestamp == nil {
			out = append(out, p)
		}
	}
	return out
}

func describe(pods []corev1.Pod) string {
	var parts []string
	for _, p := range pods {
		parts = append(parts, fmt.Sprintf("%s on %q %s", p.Name, p.Spec.NodeName, p.Status.Phase))
	}
	return "[" + strings.Join(parts, "; ") + "]"
}

// waitFor polls cond for up to 3 minutes.
func waitFor(ctx context.Context, t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	last := ""
	for time.Now().Before(deadline) && ctx.Err() == nil {
		ok, msg := cond()
		if ok {
			return
		}
		last = msg
		time.Sleep(time.Second)
	}
	t.Fatalf("waiting for %s: %v; last: %s", what, errors.Join(ctx.Err(), errors.New("3m passed")), last)
}

// syncFromGit commits a ConfigMap to a new local git repository and has Argo
// CD's application-controller sync it into tenant name (destination by
// name): the Application must be Synced and Healthy and the ConfigMap in the
// tenant. The Application is deleted on return.
func syncFromGit(ctx context.Context, t *testing.T, env *testenv.Env, name string) {
	t.Helper()
	stop := keepSyncing(ctx, t, env, name)
	stop()
}
