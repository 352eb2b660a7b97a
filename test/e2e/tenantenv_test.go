package e2e

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
	"github.com/kubectl-tenant/kubectl-tenant/test/testenv"
)

// statusOf is `kubectl tenant status NAME -o json`.
func (w *world) statusOf(name string) tenant.Tenant {
	w.t.Helper()
	r := w.mustRun("status", name, "-o", "json")
	var t tenant.Tenant
	if err := json.Unmarshal([]byte(r.stdout), &t); err != nil {
		w.t.Fatalf("status -o json is not a tenant (%v): %q", err, r.stdout)
	}
	return t
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

// assertPinned checks every pod the tenant synced to the host runs on a
// node of pool, with the pool's toleration, and that the tenant sees only
// the pool's nodes. It returns the synced pods it saw.
func (w *world) assertPinned(name, pool string, wantPods int) []corev1.Pod {
	w.t.Helper()
	cs := w.clientset()
	ctx := context.Background()
	var pods []corev1.Pod
	deadline := time.Now().Add(3 * time.Minute)
	for {
		l, err := cs.CoreV1().Pods(tenant.NamespaceFor(name)).List(ctx, metav1.ListOptions{LabelSelector: "vcluster.loft.sh/managed-by=vcluster"})
		if err != nil {
			w.t.Fatal(err)
		}
		pods = pods[:0]
		scheduled := 0
		for _, p := range l.Items {
			pods = append(pods, p)
			if p.Spec.NodeName != "" {
				scheduled++
			}
		}
		if len(pods) >= wantPods && scheduled == len(pods) {
			break
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("tenant %s: %d synced pods, %d scheduled, after 3m; want >= %d all scheduled", name, len(pods), scheduled, wantPods)
		}
		time.Sleep(time.Second)
	}
	for _, p := range pods {
		node, err := cs.CoreV1().Nodes().Get(ctx, p.Spec.NodeName, metav1.GetOptions{})
		if err != nil {
			w.t.Fatal(err)
		}
		if node.Labels[tenant.PoolLabel] != pool {
			w.t.Errorf("synced pod %s runs on node %s (pool %q), want pool %s", p.Name, node.Name, node.Labels[tenant.PoolLabel], pool)
		}
		if p.Spec.NodeSelector[tenant.PoolLabel] != pool {
			w.t.Errorf("synced pod %s has nodeSelector %v, want %s=%s", p.Name, p.Spec.NodeSelector, tenant.PoolLabel, pool)
		}
		tolerated := false
		for _, tol := range p.Spec.Tolerations {
			tolerated = tolerated || (tol.Key == tenant.PoolLabel && tol.Value == pool && tol.Effect == corev1.TaintEffectNoSchedule)
		}
		if !tolerated {
			w.t.Errorf("synced pod %s lacks the toleration %s=%s:NoSchedule: %+v", p.Name, tenant.PoolLabel, pool, p.Spec.Tolerations)
		}
	}
	// Inside the tenant: only the pool's nodes.
	var nodes corev1.NodeList
	deadline = time.Now().Add(time.Minute)
	for {
		out, err := w.kubectl("--context", name, "get", "nodes", "-o", "json")
		if err == nil && json.Unmarshal([]byte(out), &nodes) == nil && len(nodes.Items) > 0 {
			break
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("kubectl --context %s get nodes: %v\n%s", name, err, out)
		}
		time.Sleep(time.Second)
	}
	for _, n := range nodes.Items {
		if n.Labels[tenant.PoolLabel] != pool {
			w.t.Errorf("tenant %s sees node %s of pool %q, want only pool %s", name, n.Name, n.Labels[tenant.PoolLabel], pool)
		}
	}
	return pods
}

// TestCreateAsTypedWithHostDefaults: the playground wrote its host
// defaults, so `create NAME` works with no flag, no environment variable and
// no values file; config view names the ConfigMap. A Deployment made inside
// the tenant is scheduled on the pool's node with its toleration, the tenant
// sees only the pool's nodes, and list shows the tenant's Kubernetes version.
func TestCreateAsTypedWithHostDefaults(t *testing.T) {
	w := newWorld(t)
	r := w.mustRun("config", "view", "-o", "json")
	var view struct {
		HostFound bool `json:"hostFound"`
		Settings  []struct{ Key, Value, Source, From string }
	}
	if err := json.Unmarshal([]byte(r.stdout), &view); err != nil {
		t.Fatalf("config view -o json: %v\n%s", err, r.stdout)
	}
	sources := map[string]string{}
	for _, s := range view.Settings {
		sources[s.Key] = s.Source + " " + s.From
	}
	const cm = "host ConfigMap " + testenv.HostDefaultsNamespace + "/" + testenv.HostDefaultsName
	for _, k := range []string{"chartRepo", "chartVersion", "values", "pool"} {
		if sources[k] != cm {
			t.Errorf("config view: %s comes from %q, want %q\n%s", k, sources[k], cm, r.stdout)
		}
	}
	if !view.HostFound {
		t.Errorf("config view: hostFound false")
	}

	const name = "e2e-typed"
	w.deleteAtEnd(name)
	w.mustRun("create", name)
	got := w.list()[name]
	pool := testenv.TenantPools[0]
	if got.Status != tenant.StatusReady || got.Pool != pool || !strings.HasPrefix(got.K8sVersion, "v1.") {
		t.Fatalf("after a plain create, list says %+v", got)
	}
	if out, err := w.kubectl("--context", name, "create", "deployment", "web", "--image=registry.invalid/web:1", "--replicas=2"); err != nil {
		t.Fatalf("kubectl create deployment in the tenant: %v\n%s", err, out)
	}
	pods := w.assertPinned(name, pool, 3) // CoreDNS and the Deployment's two pods
	web := 0
	for _, p := range pods {
		if strings.HasPrefix(p.Annotations["vcluster.loft.sh/object-name"], "web-") {
			web++
		}
	}
	if web != 2 {
		t.Errorf("%d synced pods of Deployment web, want 2", web)
	}
}

// TestCreateGitOpsPinned: the same placement for a tenant Argo CD installs.
func TestCreateGitOpsPinned(t *testing.T) {
	w := newWorld(t)
	const name = "e2e-gitops-pin"
	w.deleteAtEnd(name)
	w.mustRun("create", name, "--gitops", "--pool", "project-z")
	w.assertPinned(name, "project-z", 1) // the tenant's CoreDNS
}

var (
	vcCLIOnce sync.Once
	vcCLIPath string
	vcCLIErr  error
)

// vclusterCLI builds the vcluster CLI (cmd/vclusterctl) of the harness's
// vCluster version once, cached beside the harness's binaries.
func vclusterCLI(t testing.TB) string {
	t.Helper()
	vcCLIOnce.Do(func() {
		cache, err := os.UserCacheDir()
		if err != nil {
			vcCLIErr = err
			return
		}
		vcCLIPath = filepath.Join(cache, "kubectl-tenant", "testenv", "vclusterctl-"+testenv.VClusterVersion, "vcluster")
		if _, err := os.Stat(vcCLIPath); err == nil {
			return
		}
		// In a copy of the harness's vcluster build module: the CLI needs a
		// few modules its go.sum lacks, and -mod=mod must not edit it.
		tmp, err := os.MkdirTemp("", "vclusterctl-build-")
		if err != nil {
			vcCLIErr = err
			return
		}
		defer os.RemoveAll(tmp)
		for _, f := range []string{"go.mod", "go.sum", "tools.go"} {
			b, err := os.ReadFile(filepath.Join("../testenv/build/vcluster", f))
			if err == nil {
				err = os.WriteFile(filepath.Join(tmp, f), b, 0o644)
			}
			if err != nil {
				vcCLIErr = err
				return
			}
		}
		cmd := exec.Command("go", "build", "-mod=mod", "-trimpath", "-o", vcCLIPath, "github.com/loft-sh/vcluster/cmd/vclusterctl")
		cmd.Dir = tmp
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Logf("go build vclusterctl: %s", out)
			vcCLIErr = err
		}
	})
	if vcCLIErr != nil {
		t.Fatalf("building the vcluster CLI: %v", vcCLIErr)
	}
	return vcCLIPath
}

// vcluster runs the vcluster CLI against the playground, with telemetry off
// (its config in a private HOME) so it sends nothing anywhere.
func (w *world) vcluster(args ...string) (string, error) {
	w.t.Helper()
	home := filepath.Join(w.stateDir, "vcluster-home")
	if err := os.MkdirAll(filepath.Join(home, ".vcluster"), 0o700); err != nil {
		w.t.Fatal(err)
	}
	cfg := filepath.Join(home, ".vcluster", "config.json")
	if err := os.WriteFile(cfg, []byte(`{"driver": {"type": "helm"}, "telemetryDisabled": true}`), 0o600); err != nil {
		w.t.Fatal(err)
	}
	cmd := exec.Command(vclusterCLI(w.t), append(args, "--config", cfg)...)
	cmd.Env = append(w.environ(), "HOME="+home)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestVClusterCLIInterop: `vcluster pause` -> Sleeping here within seconds;
// `kubectl tenant wake` brings it back; `kubectl tenant sleep` -> Paused in
// `vcluster list`.
func TestVClusterCLIInterop(t *testing.T) {
	w := newWorld(t)
	vclusterCLI(t) // build first: its time is not the status's
	const name = "e2e-vccli"
	w.createTenant(name, "project-x")
	ns := tenant.NamespaceFor(name)
	if out, err := w.vcluster("pause", tenant.ReleaseName, "-n", ns); err != nil {
		t.Fatalf("vcluster pause: %v\n%s", err, out)
	}
	w.waitStatus(name, tenant.StatusSleeping, 10*time.Second)
	w.mustRun("wake", name)
	if got := w.statusOf(name); got.Status != tenant.StatusReady {
		t.Fatalf("after wake: %+v", got)
	}
	w.mustRun("sleep", name)
	out, err := w.vcluster("list", "--output", "json", "-n", ns)
	if err != nil {
		t.Fatalf("vcluster list: %v\n%s", err, out)
	}
	var vcs []struct{ Name, Namespace, Status string }
	if err := json.Unmarshal([]byte(out[strings.Index(out, "["):]), &vcs); err != nil {
		t.Fatalf("vcluster list --output json: %v\n%s", err, out)
	}
	found := false
	for _, v := range vcs {
		if v.Namespace == ns {
			found = true
			if v.Status != "Paused" {
				t.Errorf("vcluster list says %s is %s, want Paused", ns, v.Status)
			}
		}
	}
	if !found {
		t.Errorf("vcluster list does not show %s:\n%s", ns, out)
	}
}

// TestBrokenValuesFailed: a values file the chart rejects fails create, and
// status says Failed with the chart's error (not Installing for ever).
func TestBrokenValuesFailed(t *testing.T) {
	w := newWorld(t)
	const name = "e2e-broken"
	w.deleteAtEnd(name)
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("controlPlane:\n  statefulSet:\n    notAValue: true\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	r := w.run(ctx, "create", name, "-f", bad, "--connect=false")
	if r.code == 0 {
		t.Fatalf("create with a values file the chart rejects succeeded:\n%s", r.stderr)
	}
	line := oneLineError(t, r)
	got := w.statusOf(name)
	if got.Status != tenant.StatusFailed || !strings.Contains(got.Reason, "notAValue") {
		t.Fatalf("status after a failed install: %s (%q); create said %s", got.Status, got.Reason, line)
	}
	if l := w.list()[name]; l.Status != tenant.StatusFailed {
		t.Errorf("list says %s, want Failed", l.Status)
	}
}
