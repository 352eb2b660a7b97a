package testenv_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/kubectl-tenant/kubectl-tenant/test/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func TestKubeconfigVerifiesTLS(t *testing.T) {
	env := testenv.Start(t)
	cfg, err := env.RESTConfig()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Insecure || len(cfg.CAData) == 0 {
		t.Fatalf("admin kubeconfig must verify the apiserver with the CA (insecure=%v, CA bytes=%d)", cfg.Insecure, len(cfg.CAData))
	}
	cs, err := env.Clientset()
	if err != nil {
		t.Fatal(err)
	}
	v, err := cs.Discovery().ServerVersion()
	if err != nil {
		t.Fatal(err)
	}
	if v.GitVersion != testenv.KubeVersion {
		t.Fatalf("server version %q, want %q", v.GitVersion, testenv.KubeVersion)
	}
}

func TestNodePools(t *testing.T) {
	env := testenv.Start(t)
	cs, err := env.Clientset()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	sys, err := cs.CoreV1().Nodes().Get(ctx, "system-0", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if sys.Labels["pool"] != "system" || len(sys.Spec.Taints) != 0 {
		t.Errorf("system-0: labels %v taints %v; want pool=system and no taints", sys.Labels, sys.Spec.Taints)
	}
	checkReady(t, sys)
	if len(env.Pools) < 2 {
		t.Fatalf("want at least two tenant pools, got %v", env.Pools)
	}
	for _, pool := range env.Pools {
		n, err := cs.CoreV1().Nodes().Get(ctx, pool+"-0", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if n.Labels["project"] != pool {
			t.Errorf("%s: label project=%q, want %q", n.Name, n.Labels["project"], pool)
		}
		want := corev1.Taint{Key: "project", Value: pool, Effect: corev1.TaintEffectNoSchedule}
		found := false
		for _, tn := range n.Spec.Taints {
			found = found || (tn.Key == want.Key && tn.Value == want.Value && tn.Effect == want.Effect)
		}
		if !found {
			t.Errorf("%s: taints %v, want %s=%s:%s", n.Name, n.Spec.Taints, want.Key, want.Value, want.Effect)
		}
		checkReady(t, n)
		if n.Status.Allocatable.StorageEphemeral().IsZero() {
			t.Errorf("%s: no allocatable ephemeral-storage (vcluster pods request it)", n.Name)
		}
	}
}

func checkReady(t *testing.T, n *corev1.Node) {
	t.Helper()
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
			return
		}
	}
	t.Errorf("node %s is not Ready: %v", n.Name, n.Status.Conditions)
}

func TestStatefulSetOnProjectPool(t *testing.T) {
	env := testenv.Start(t)
	cs, err := env.Clientset()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ns := "sts-test"
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	labels := map[string]string{"app": "web"}
	sts := &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns},
		Spec: appsv1.StatefulSetSpec{
			Replicas:    ptr.To[int32](1),
			ServiceName: "web",
			Selector:    &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					NodeSelector: map[string]string{"project": "project-x"},
					Tolerations: []corev1.Toleration{{Key: "project", Operator: corev1.TolerationOpEqual,
						Value: "project-x", Effect: corev1.TaintEffectNoSchedule}},
					Containers: []corev1.Container{{Name: "web", Image: "registry.k8s.io/pause:3.10"}},
				},
			},
		},
	}
	if _, err := cs.AppsV1().StatefulSets(ns).Create(ctx, sts, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var pod *corev1.Pod
	for {
		pod, err = cs.CoreV1().Pods(ns).Get(ctx, "web-0", metav1.GetOptions{})
		if err == nil && pod.Status.Phase == corev1.PodRunning {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("pod web-0 not Running: %v %+v", err, podStatus(pod))
		case <-time.After(200 * time.Millisecond):
		}
	}
	if pod.Spec.NodeName != "project-x-0" {
		t.Fatalf("pod web-0 runs on %q, want project-x-0", pod.Spec.NodeName)
	}
	// Namespace deletion needs kube-controller-manager's namespace controller.
	if err := cs.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	for {
		_, err := cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		if err != nil {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("namespace %s was not deleted", ns)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func podStatus(p *corev1.Pod) any {
	if p == nil {
		return nil
	}
	return p.Status
}

// TestArgoCDLogin: each Argo CD of the shared playground (v3 in argocd, v2
// in argocd-v2) answers its version and a login through a port-forward of
// its Service.
func TestArgoCDLogin(t *testing.T) {
	env := testenv.Start(t)
	cs, err := env.Clientset()
	if err != nil {
		t.Fatal(err)
	}
	if len(env.ArgoCDs) != len(testenv.ArgoCDVersions) {
		t.Fatalf("playground runs Argo CDs %+v, want %v", env.ArgoCDs, testenv.ArgoCDVersions)
	}
	for _, a := range env.ArgoCDs {
		t.Run(a.Version, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			sec, err := cs.CoreV1().Secrets(a.Namespace).Get(ctx, "argocd-initial-admin-secret", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			addr, stop, err := env.ForwardService(ctx, a.Namespace, "argocd-server", 443)
			if err != nil {
				t.Fatal(err)
			}
			defer stop()
			resp, err := http.Get("http://" + addr + "/api/version")
			if err != nil {
				t.Fatal(err)
			}
			var v struct{ Version string }
			err = json.NewDecoder(resp.Body).Decode(&v)
			resp.Body.Close()
			if err != nil || !strings.HasPrefix(v.Version, a.Version+"+") {
				t.Errorf("GET /api/version in %s: %q (%v), want %s", a.Namespace, v.Version, err, a.Version)
			}
			body, _ := json.Marshal(map[string]string{"username": "admin", "password": string(sec.Data["password"])})
			resp, err = http.Post("http://"+addr+"/api/v1/session", "application/json", bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var out struct {
				Token string `json:"token"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusOK || out.Token == "" {
				t.Fatalf("POST /api/v1/session: %s, decode error %v, token %q", resp.Status, err, out.Token)
			}
		})
	}
}

func TestUpAgainReturnsRunningPlayground(t *testing.T) {
	env := testenv.Start(t)
	start := time.Now()
	again, err := testenv.Up(context.Background(), testenv.Options{Dir: env.Dir})
	if err != nil {
		t.Fatal(err)
	}
	if again.APIServerURL != env.APIServerURL || time.Since(start) > 10*time.Second {
		t.Fatalf("second Up started anew (%s in %s), want the running %s", again.APIServerURL, time.Since(start), env.APIServerURL)
	}
}

func TestPortInUseIsOneClearLine(t *testing.T) {
	testenv.Start(t) // binaries are built; this Up must fail before starting anything
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	_, err = testenv.Up(context.Background(), testenv.Options{Dir: t.TempDir(), Ports: testenv.Ports{Etcd: port}})
	if err == nil {
		t.Fatal("Up succeeded with its etcd port taken")
	}
	want := fmt.Sprintf("port %d for etcd is already in use", port)
	if err.Error() != want || strings.Contains(err.Error(), "\n") {
		t.Fatalf("error %q, want %q", err, want)
	}
}

func TestDownLeavesNothingAndUpWorksAgain(t *testing.T) {
	testenv.Start(t) // the binaries are built by now
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	defer testenv.Down(dir)
	for round := 1; round <= 2; round++ {
		env, err := testenv.Up(ctx, testenv.Options{Dir: dir, ArgoCDV2: true})
		if err != nil {
			t.Fatalf("Up #%d: %v", round, err)
		}
		if err := testenv.Down(dir); err != nil {
			t.Fatalf("Down #%d: %v", round, err)
		}
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Fatalf("Down #%d left %s behind (%v)", round, dir, err)
		}
		p := env.Ports
		for _, port := range []int{p.Etcd, p.EtcdPeer, p.APIServer, p.Kwok, p.Redis, p.ArgoCD, p.ArgoCDMetrics,
			p.RepoServer, p.RepoServerMetrics, p.ControllerMetrics, p.ChartRepo,
			p.ArgoCDV2, p.ArgoCDV2Metrics, p.RepoServerV2, p.RepoServerV2Metrics, p.ControllerV2Metrics} {
			if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second); err == nil {
				c.Close()
				t.Errorf("after Down #%d something still listens on port %d", round, port)
			}
		}
		for _, part := range env.Parts {
			if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", part.PID)); err == nil && !strings.Contains(string(b), ") Z ") {
				t.Errorf("after Down #%d %s (pid %d) still runs", round, part.Name, part.PID)
			}
		}
	}
}
