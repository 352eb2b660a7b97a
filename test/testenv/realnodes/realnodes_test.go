// Package realnodes tests the playground's opt-in real nodes
// (testenv.Options.RealNodes) against real containerd, kubelet, kube-proxy
// and CoreDNS. It starts a playground of its own; anything missing on the
// machine fails the test (the harness never skips).
package realnodes

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-tenant/kubectl-tenant/test/testenv/realnode"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"

	"github.com/kubectl-tenant/kubectl-tenant/test/testenv"
)

const pool = "project-x"

// TestRealNodeWebThroughServiceDNS brings up a playground with real nodes,
// runs the test web server as a real container on pool project-x's node,
// exposes it as a Service, and has a second pod fetch http://web.<ns>.svc
// through the host CoreDNS (kube-dns at the kubelet's clusterDNS) and
// kube-proxy's ClusterIP rules. The web pod mounts a claim the default
// StorageClass's provisioner binds. Then the real kubectl-tenant creates a
// tenant there with no values file (tenantOnRealNode): its vCluster runs
// from the chart's own pod spec and PVC, and a developer's Deployment and
// Service inside it run and answer. After Down, nothing of the real nodes is
// left (processes, mounts, cgroups, namespaces, veths, volume directories),
// and the host's iptables rules and routes are as before.
func TestRealNodeWebThroughServiceDNS(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Minute)
	defer cancel()
	hostBefore := hostNetState(t)
	existedBefore := map[string]bool{}
	for _, p := range []string{"/var/log/containers", "/tmp/hostpath_pv"} {
		_, err := os.Stat(p)
		existedBefore[p] = err == nil
	}
	dir, err := os.MkdirTemp("", "testenv-realnodes-")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	env, err := testenv.Up(ctx, testenv.Options{Dir: dir, RealNodes: true, Logf: func(f string, a ...any) {
		fmt.Fprintf(os.Stderr, "testenv: "+f+"\n", a...)
	}})
	if err != nil {
		_ = testenv.Down(dir)
		t.Fatalf("playground with real nodes: %v", err)
	}
	t.Logf("playground with real nodes up in %s", time.Since(start).Round(100*time.Millisecond))
	downDone := false
	defer func() {
		if !downDone {
			_ = testenv.Down(dir)
		}
	}()

	cs, err := env.Clientset()
	if err != nil {
		t.Fatal(err)
	}
	if len(env.RealNodes) == 0 || env.RealNodes[0].Pool != pool {
		t.Fatalf("env.RealNodes = %+v, want a real node of pool %s", env.RealNodes, pool)
	}
	node := env.RealNodes[0]
	n, err := cs.CoreV1().Nodes().Get(ctx, node.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n.Labels["project"] != pool || len(n.Spec.Taints) == 0 || n.Spec.Taints[0].Key != "project" ||
		n.Annotations["kwok.x-k8s.io/node"] != "" || n.Status.NodeInfo.KubeletVersion != testenv.KubeVersion {
		t.Fatalf("node %s: labels %v taints %v kubelet %q annotations %v; want a real kubelet %s, project=%s, tainted",
			n.Name, n.Labels, n.Spec.Taints, n.Status.NodeInfo.KubeletVersion, n.Annotations, testenv.KubeVersion, pool)
	}

	ns := "web-test"
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// A claim without a class: the default StorageClass's provisioner
	// (kube-controller-manager's host-path one) makes and binds a volume.
	if _, err := cs.CoreV1().PersistentVolumeClaims(ns).Create(ctx, &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: "data"},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
		},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	labels := map[string]string{"app": "web"}
	webPod := podOnPool("web", labels, nil)
	webPod.Spec.Volumes = []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{
		PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data"}}}}
	webPod.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "data", MountPath: "/data"}}
	if _, err := cs.CoreV1().Pods(ns).Create(ctx, webPod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().Services(ns).Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: corev1.ServiceSpec{Selector: labels, Ports: []corev1.ServicePort{
			{Port: 80, TargetPort: intstr.FromInt32(80)}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	web := waitPod(ctx, t, cs, ns, "web", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning })
	cid := web.Status.ContainerStatuses[0].ContainerID
	if web.Spec.NodeName != node.Name || !strings.HasPrefix(cid, "containerd://") || !strings.HasPrefix(web.Status.PodIP, "10.215.") {
		t.Fatalf("web pod: node %q container %q IP %q; want a containerd container on %s with a pod-CIDR IP",
			web.Spec.NodeName, cid, web.Status.PodIP, node.Name)
	}
	tasks, err := exec.CommandContext(ctx, "ctr", "--address", node.ContainerdSocket, "-n", "k8s.io", "tasks", "ls").CombinedOutput()
	if err != nil || !bytes.Contains(tasks, []byte(strings.TrimPrefix(cid, "containerd://"))) {
		t.Fatalf("container %s is not a running task of the node's containerd (%v):\n%s", cid, err, tasks)
	}

	pvc, err := cs.CoreV1().PersistentVolumeClaims(ns).Get(ctx, "data", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if pvc.Status.Phase != corev1.ClaimBound || pvc.Spec.StorageClassName == nil || *pvc.Spec.StorageClassName != realnode.StorageClassName {
		t.Fatalf("PVC data: phase %s class %v; want Bound by the default class %s", pvc.Status.Phase, pvc.Spec.StorageClassName, realnode.StorageClassName)
	}
	pv, err := cs.CoreV1().PersistentVolumes().Get(ctx, pvc.Spec.VolumeName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if pv.Spec.HostPath == nil {
		t.Fatalf("PV %s is not a host-path volume: %+v", pv.Name, pv.Spec.PersistentVolumeSource)
	}
	volDir := pv.Spec.HostPath.Path

	url := "http://web." + ns + ".svc"
	if _, err := cs.CoreV1().Pods(ns).Create(ctx, podOnPool("fetch", nil, []string{"/testweb", "get", "--timeout", "90s", url}),
		metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	fetch := waitPod(ctx, t, cs, ns, "fetch", func(p *corev1.Pod) bool {
		return p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed
	})
	logs := podLogs(ctx, t, cs, ns, "fetch")
	if fetch.Status.Phase != corev1.PodSucceeded || !strings.Contains(logs, "testweb web") {
		t.Fatalf("fetch of %s: phase %s; want Succeeded and the web server's answer \"testweb web\"; logs:\n%s", url, fetch.Status.Phase, logs)
	}
	t.Logf("fetched %s from a second pod: %q", url, strings.TrimSpace(logs))

	// The same with the real kubectl-tenant: a vCluster from the chart's own
	// spec on the real node, and a developer's app inside it (issue #12).
	tenantOnRealNode(ctx, t, env, cs, node)

	downDone = true
	if err := testenv.Down(dir); err != nil {
		t.Fatalf("down: %v", err)
	}
	if left := realnode.Leftovers(dir); len(left) > 0 {
		t.Errorf("left after Down:\n  %s", strings.Join(left, "\n  "))
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("playground directory %s still exists after Down (%v)", dir, err)
	}
	if _, err := os.Stat(volDir); !os.IsNotExist(err) {
		t.Errorf("volume directory %s of PV %s still exists after Down (%v)", volDir, pv.Name, err)
	}
	for _, p := range []string{"/var/log/containers", "/tmp/hostpath_pv"} {
		if _, err := os.Stat(p); existedBefore[p] != (err == nil) {
			t.Errorf("%s: existed before Up %v, exists after Down %v", p, existedBefore[p], err == nil)
		}
	}
	if after := hostNetState(t); after != hostBefore {
		t.Errorf("host iptables rules or routes changed:\nbefore:\n%s\nafter:\n%s", hostBefore, after)
	}
}

// podOnPool is a pod of the test web image on the real pool's node.
func podOnPool(name string, labels map[string]string, command []string) *corev1.Pod {
	restart := corev1.RestartPolicyAlways
	if command != nil {
		restart = corev1.RestartPolicyNever
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec: corev1.PodSpec{
			RestartPolicy: restart,
			NodeSelector:  map[string]string{"project": pool},
			Tolerations:   []corev1.Toleration{{Key: "project", Operator: corev1.TolerationOpEqual, Value: pool, Effect: corev1.TaintEffectNoSchedule}},
			// The pod's hostname is the answer the web server gives.
			Hostname: name,
			Containers: []corev1.Container{{
				Name: name, Image: testenv.TestWebImage, ImagePullPolicy: corev1.PullIfNotPresent,
				Command: command,
				Ports:   []corev1.ContainerPort{{ContainerPort: 80}},
			}},
		},
	}
}

func waitPod(ctx context.Context, t *testing.T, cs kubernetes.Interface, ns, name string, done func(*corev1.Pod) bool) *corev1.Pod {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	var last *corev1.Pod
	for time.Now().Before(deadline) {
		p, err := cs.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if err == nil {
			last = p
			if done(p) {
				return p
			}
		}
		time.Sleep(time.Second)
	}
	ev, _ := cs.CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
	var b strings.Builder
	for _, e := range ev.Items {
		fmt.Fprintf(&b, "  %s %s: %s\n", e.InvolvedObject.Name, e.Reason, e.Message)
	}
	t.Fatalf("pod %s/%s did not get there in 3m; last status %+v\nevents:\n%s", ns, name, last.Status, b.String())
	return nil
}

func podLogs(ctx context.Context, t *testing.T, cs kubernetes.Interface, ns, name string) string {
	t.Helper()
	rc, err := cs.CoreV1().Pods(ns).GetLogs(name, &corev1.PodLogOptions{}).Stream(ctx)
	if err != nil {
		t.Fatalf("logs of %s/%s (apiserver -> kubelet): %v", ns, name, err)
	}
	defer rc.Close()
	b, _ := io.ReadAll(rc)
	return string(b)
}

// hostNetState is what of the host network namespace's iptables rules and
// routes could come from real nodes (their addresses, kube-proxy's and the
// CNI plugins' chains): real nodes must add none of it. Other playgrounds on
// the machine change other routes meanwhile, so only these are compared.
func hostNetState(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	for _, c := range [][]string{{"iptables-save"}, {"ip", "route", "show", "table", "all"}} {
		out, err := exec.Command(c[0], c[1:]...).Output()
		if err != nil {
			t.Fatalf("%s: %v", strings.Join(c, " "), err)
		}
		for _, l := range strings.Split(string(out), "\n") {
			for _, m := range []string{"10.214.", "10.215.", "10.96.", "KUBE-", "CNI-"} {
				if strings.Contains(l, m) {
					b.WriteString(l + "\n")
					break
				}
			}
		}
	}
	return b.String()
}
