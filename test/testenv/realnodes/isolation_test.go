package realnodes

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kubectl-tenant/kubectl-tenant/test/testenv"
)

// TestIsolationOnRealNode observes what `create --isolation` promises on
// the real node, where kube-router's firewall enforces the host cluster's
// NetworkPolicies (realnode.FirewallCommand): two tenants A and B on pool
// project-x, created by the real binary with --isolation, each running the
// test web server behind Service web and a client pod. Each client fetches
// its own tenant's Service by name (the tenant's DNS and in-tenant traffic
// pass); from A's pod a request to B's Service (its ClusterIP on the host)
// fails, as a filtered connection. Then both tenants are converged without --isolation
// (create again without the flag removes the policies) and A's pod reaches
// B's Service: the same pods and Service, only the policies differ, so the
// negative result is the policies' doing and the test can fail.
func TestIsolationOnRealNode(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Minute)
	defer cancel()
	env, down := upRealNodes(ctx, t, "testenv-isolation-")
	defer down()
	cs, err := env.Clientset()
	if err != nil {
		t.Fatal(err)
	}
	if len(env.RealNodes) == 0 || env.RealNodes[0].Pool != pool {
		t.Fatalf("env.RealNodes = %+v, want a real node of pool %s", env.RealNodes, pool)
	}
	c := newCLI(t, env)
	const a, b = "iso-a", "iso-b"
	for _, name := range []string{a, b} {
		begin := time.Now()
		c.run(ctx, "create", name, "--pool", pool, "--isolation", "--connect=false")
		t.Logf("create %s --isolation: ready in %s", name, time.Since(begin).Round(100*time.Millisecond))
		pols, err := cs.NetworkingV1().NetworkPolicies("vcluster-"+name).List(ctx, metav1.ListOptions{})
		if err != nil || len(pols.Items) == 0 {
			t.Fatalf("NetworkPolicies of %s: %v (%d); want the chart's", name, err, len(pols.Items))
		}
	}
	// In each tenant the test web server behind Service web, and a client
	// pod (the same image serving on another port, so it keeps running and
	// has `testweb get`, a Go client: busybox-static's wget crashes in
	// glibc's resolver).
	for _, name := range []string{a, b} {
		c.run(ctx, "connect", name, "--", "sh", "-c", `set -e
kubectl create deployment web --image=`+testenv.TestWebImage+`
kubectl expose deployment web --port 80
kubectl run client --image=`+testenv.TestWebImage+` -- serve --addr :8080
kubectl rollout status deployment/web --timeout=3m
kubectl wait --for=condition=Ready pod/client --timeout=3m`)
	}
	webSvc := syncedService(ctx, t, cs, "vcluster-"+b, "web")
	url := "http://" + webSvc.Spec.ClusterIP + "/"
	clientA := syncedPods(ctx, t, cs, "vcluster-"+a, "client")
	clientB := syncedPods(ctx, t, cs, "vcluster-"+b, "client")
	if len(clientA) != 1 || len(clientB) != 1 {
		t.Fatalf("client pods on the host: A %s, B %s; want one each", describe(clientA), describe(clientB))
	}
	// get fetches url once from pod p (testweb get: one try of at most 5 s
	// when the timeout is shorter) and returns what it printed.
	get := func(p corev1.Pod, url string, timeout time.Duration) (string, error) {
		return hostExec(ctx, env, p, "/testweb", "get", "--timeout", timeout.String(), url)
	}

	// Each tenant's own pod fetches its own Service by name: DNS (the
	// tenant's CoreDNS) and traffic inside a tenant pass the policies.
	for _, x := range []struct {
		name   string
		client corev1.Pod
	}{{a, clientA[0]}, {b, clientB[0]}} {
		out, err := get(x.client, "http://web.default.svc/", 2*time.Minute)
		if err != nil || !strings.Contains(out, "testweb web-") {
			t.Fatalf("%s's pod fetching its own Service web.default.svc with --isolation: %v: %s", x.name, err, out)
		}
	}
	// A's pod cannot reach B's Service: a bounded connect attempt that
	// ends filtered (kube-router rejects with ICMP port unreachable:
	// "connection refused"; a drop would time out), never an answer,
	// never a DNS error (the URL is an address). Several tries: a
	// connection admitted before the policies were in place would show.
	for i := 0; i < 3; i++ {
		out, err := get(clientA[0], url, time.Second)
		if err == nil || strings.Contains(out, "testweb web-") {
			t.Fatalf("A's pod reached B's Service %s with --isolation on both: %s", url, out)
		}
		if !filtered(out) {
			t.Fatalf("A's pod fetching B's Service %s failed, but not as a filtered connection: %v: %s", url, err, out)
		}
		if i == 0 {
			t.Logf("A -> B's Service %s with isolation: %s", url, strings.TrimSpace(out))
		}
	}

	// Without --isolation (create converges: the policies go), the same
	// pod reaches the same Service.
	for _, name := range []string{a, b} {
		c.run(ctx, "create", name, "--pool", pool, "--connect=false")
	}
	waitFor(ctx, t, "the tenants' NetworkPolicies to go", func() (bool, string) {
		var left []string
		for _, name := range []string{a, b} {
			pols, err := cs.NetworkingV1().NetworkPolicies("vcluster-"+name).List(ctx, metav1.ListOptions{})
			if err != nil {
				return false, err.Error()
			}
			for _, p := range pols.Items {
				left = append(left, p.Namespace+"/"+p.Name)
			}
		}
		return len(left) == 0, "left: " + strings.Join(left, ", ")
	})
	var last string
	waitFor(ctx, t, "A's pod to reach B's Service without isolation", func() (bool, string) {
		out, err := get(clientA[0], url, time.Second)
		last = out
		return err == nil && strings.Contains(out, "testweb web-"), fmt.Sprintf("%v: %s", err, out)
	})
	t.Logf("A -> B's Service %s without isolation: %s", url, strings.TrimSpace(last))
	for _, name := range []string{a, b} {
		c.run(ctx, "delete", name, "--yes")
	}
}

// filtered says whether testweb get's error is a connection the network
// refused (an ICMP reject) or never answered.
func filtered(out string) bool {
	return strings.Contains(out, "connection refused") || strings.Contains(out, "i/o timeout") ||
		strings.Contains(out, "Client.Timeout exceeded") || strings.Contains(out, "no route to host")
}

// hostExec runs a command in pod p's first container with kubectl on the
// host (the pod as the host sees it) and returns its combined output.
func hostExec(ctx context.Context, env *testenv.Env, p corev1.Pod, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "kubectl", append([]string{"--kubeconfig", env.Kubeconfig, "-n", p.Namespace,
		"exec", p.Name, "-c", p.Spec.Containers[0].Name, "--"}, args...)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// syncedService is the host copy of Service name in the tenant's default
// namespace.
func syncedService(ctx context.Context, t *testing.T, cs kubernetes.Interface, ns, name string) *corev1.Service {
	t.Helper()
	var svc *corev1.Service
	waitFor(ctx, t, "Service "+name+" synced to "+ns, func() (bool, string) {
		list, err := cs.CoreV1().Services(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err.Error()
		}
		for i, s := range list.Items {
			if s.Annotations["vcluster.loft.sh/object-name"] == name && s.Annotations["vcluster.loft.sh/object-namespace"] == "default" &&
				s.Spec.ClusterIP != "" && s.Spec.ClusterIP != corev1.ClusterIPNone {
				svc = &list.Items[i]
				return true, ""
			}
		}
		return false, fmt.Sprintf("%d services, none synced from default/%s", len(list.Items), name)
	})
	return svc
}
