package vcrunner_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart/loader"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/transport/spdy"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-tenant/kubectl-tenant/test/testenv"
	"github.com/kubectl-tenant/kubectl-tenant/test/testenv/vcrunner"
)

func TestMain(m *testing.M) {
	// TestSandbox runs this binary as the sandbox's /binaries/vcluster.
	if os.Args[0] == "/binaries/vcluster" {
		os.Exit(fakeVCluster())
	}
	testenv.Main(m)
}

const release = "vcluster"

// playgroundValues are the chart values a user of the playground passes: the
// pool's nodeSelector and toleration, no PersistentVolumeClaim (the
// playground has no storage), and the in-cluster names in the certificate.
func playgroundValues(ns, pool string) map[string]any {
	v := fmt.Sprintf(`
controlPlane:
  statefulSet:
    persistence:
      volumeClaim:
        enabled: false
    scheduling:
      nodeSelector:
        project: %[2]s
      tolerations:
      - key: project
        operator: Equal
        value: %[2]s
        effect: NoSchedule
  proxy:
    extraSANs:
    - %[3]s.%[1]s.svc
    - %[3]s.%[1]s.svc.cluster.local
`, ns, pool, release)
	out := map[string]any{}
	if err := yaml.Unmarshal([]byte(v), &out); err != nil {
		panic(err)
	}
	return out
}

type tenantRun struct {
	ns, pool   string
	installed  time.Time
	pod        *corev1.Pod
	secretAt   time.Duration // install -> vc-<release> secret
	readyAt    time.Duration // install -> virtual /readyz through the port-forward
	virtual    *kubernetes.Clientset
	stopPF     func()
	localPort  uint16
	kubeconfig []byte
	values     map[string]any // nil: playgroundValues(ns, pool)
}

// TestVCluster installs the real vCluster chart into the playground and
// proves: a Running pod on the pool's kwok node, the vc-vcluster Secret
// written by the real vCluster, a working namespace list against the virtual
// cluster through a port-forward via the host apiserver; then a second
// tenant at the same time, isolated from the first; then that uninstalling
// and deleting the namespaces leaves no process, network namespace or rule.
func TestVCluster(t *testing.T) {
	env := testenv.Start(t)
	rc, err := env.RESTConfig()
	if err != nil {
		t.Fatal(err)
	}
	cs := kubernetes.NewForConfigOrDie(rc)
	ctx := t.Context()

	demo := &tenantRun{ns: "vcluster-demo", pool: "project-x"}
	other := &tenantRun{ns: "vcluster-other", pool: "project-z"}
	t.Cleanup(func() {
		for _, tr := range []*tenantRun{demo, other} {
			if tr.stopPF != nil {
				tr.stopPF()
			}
		}
	})

	t.Run("one tenant", func(t *testing.T) {
		install(t, env, demo)
		waitTenant(t, ctx, env, rc, cs, demo)
		t.Logf("vcluster-demo: pod %s on %s; install->vc secret %s, install->virtual /readyz %s",
			demo.pod.Name, demo.pod.Spec.NodeName, demo.secretAt.Round(100*time.Millisecond), demo.readyAt.Round(100*time.Millisecond))
		nss := namespaces(t, ctx, demo.virtual)
		for _, want := range []string{"default", "kube-system"} {
			if !slices.Contains(nss, want) {
				t.Fatalf("virtual cluster namespaces %v lack %q", nss, want)
			}
		}
		t.Logf("virtual namespaces: %v", nss)
		checkServicePortForward(t, ctx, rc, cs, demo)
	})

	t.Run("two tenants at once", func(t *testing.T) {
		if demo.virtual == nil {
			t.Fatal("first tenant did not come up")
		}
		install(t, env, other)
		waitTenant(t, ctx, env, rc, cs, other)
		t.Logf("vcluster-other: pod %s on %s; install->vc secret %s, install->virtual /readyz %s",
			other.pod.Name, other.pod.Spec.NodeName, other.secretAt.Round(100*time.Millisecond), other.readyAt.Round(100*time.Millisecond))
		// Both answer at the same time, and they are different clusters.
		mark := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "only-in-demo"}}
		if _, err := demo.virtual.CoreV1().Namespaces().Create(ctx, mark, metav1.CreateOptions{}); err != nil {
			t.Fatalf("create namespace in vcluster-demo: %v", err)
		}
		if !slices.Contains(namespaces(t, ctx, demo.virtual), "only-in-demo") {
			t.Fatal("namespace created in vcluster-demo is not listed there")
		}
		if slices.Contains(namespaces(t, ctx, other.virtual), "only-in-demo") {
			t.Fatal("namespace created in vcluster-demo shows up in vcluster-other")
		}
		if _, err := cs.CoreV1().Namespaces().Get(ctx, "only-in-demo", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Fatalf("virtual namespace leaked into the host cluster: %v", err)
		}
		// Each pod's port 8443 goes to its own network namespace.
		a, b := forwardTarget(t, ctx, rc, demo), forwardTarget(t, ctx, rc, other)
		if a == b || !strings.HasPrefix(a, "10.213.") || !strings.HasPrefix(b, "10.213.") {
			t.Fatalf("kwok PortForward targets %s and %s, want two distinct 10.213.N.2 addresses", a, b)
		}
		t.Logf("kwok PortForward targets: %s -> %s:8443, %s -> %s:8443", demo.ns, a, other.ns, b)
	})

	t.Run("pod replaced", func(t *testing.T) {
		if demo.pod == nil {
			t.Fatal("first tenant did not come up")
		}
		// The Deployment makes a new pod; the runner must stop the old
		// vCluster and start one for the new pod.
		old := demo.pod
		if demo.stopPF != nil {
			demo.stopPF()
		}
		if err := cs.CoreV1().Pods(demo.ns).Delete(ctx, old.Name, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		demo.installed = time.Now()
		demo.pod, demo.virtual = nil, nil
		waitTenant(t, ctx, env, rc, cs, demo)
		if demo.pod.UID == old.UID {
			t.Fatal("same pod")
		}
		t.Logf("replacement pod %s: delete->virtual /readyz %s", demo.pod.Name, demo.readyAt.Round(100*time.Millisecond))
		namespaces(t, ctx, demo.virtual)
	})

	t.Run("uninstall leaves nothing", func(t *testing.T) {
		for _, tr := range []*tenantRun{demo, other} {
			if tr.stopPF != nil {
				tr.stopPF()
			}
			uninstall(t, env, tr.ns)
			if err := cs.CoreV1().Namespaces().Delete(ctx, tr.ns, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
				t.Fatal(err)
			}
		}
		start := time.Now()
		var left []string
		for time.Since(start) < 2*time.Minute {
			left = vcrunner.Leftovers(env.Dir)
			left = append(left, portForwards(t, ctx, rc, demo.ns, other.ns)...)
			if len(left) == 0 {
				break
			}
			time.Sleep(250 * time.Millisecond)
		}
		if len(left) > 0 {
			t.Fatalf("left behind 2m after uninstall: %v", left)
		}
		t.Logf("everything of both tenants gone %s after uninstall", time.Since(start).Round(100*time.Millisecond))
	})
}

// TestVClusterPersistent installs the chart with its default persistence: a
// StatefulSet whose claim "data" the runner provisions. It proves pod
// <release>-0 serves through `port-forward pod/<release>-0 8443`, that the
// virtual cluster's state survives the pod being replaced, and that deleting
// the namespace removes the volume too.
func TestVClusterPersistent(t *testing.T) {
	env := testenv.Start(t)
	rc, err := env.RESTConfig()
	if err != nil {
		t.Fatal(err)
	}
	cs := kubernetes.NewForConfigOrDie(rc)
	ctx := t.Context()
	tr := &tenantRun{ns: "vcluster-sts", pool: "project-x"}
	tr.values = playgroundValues(tr.ns, tr.pool)
	delete(tr.values["controlPlane"].(map[string]any)["statefulSet"].(map[string]any), "persistence")
	t.Cleanup(func() {
		if tr.stopPF != nil {
			tr.stopPF()
		}
	})
	install(t, env, tr)
	waitTenant(t, ctx, env, rc, cs, tr)
	if tr.pod.Name != release+"-0" {
		t.Fatalf("pod is %s, want %s-0 (StatefulSet)", tr.pod.Name, release)
	}
	pvc, err := cs.CoreV1().PersistentVolumeClaims(tr.ns).Get(ctx, "data-"+release+"-0", metav1.GetOptions{})
	if err != nil || pvc.Status.Phase != corev1.ClaimBound {
		t.Fatalf("claim data-%s-0: %v %+v", release, err, pvc.Status)
	}
	t.Logf("%s: pod %s, claim bound to %s; install->vc secret %s, install->virtual /readyz %s",
		tr.ns, tr.pod.Name, pvc.Spec.VolumeName, tr.secretAt.Round(100*time.Millisecond), tr.readyAt.Round(100*time.Millisecond))
	netIndex := strings.Split(forwardTarget(t, ctx, rc, tr), ".")[2] // 10.213.N.2
	mark := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "survives-restart"}}
	if _, err := tr.virtual.CoreV1().Namespaces().Create(ctx, mark, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	old := tr.pod
	tr.stopPF()
	if err := cs.CoreV1().Pods(tr.ns).Delete(ctx, old.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	tr.installed, tr.pod = time.Now(), nil
	for {
		tr.pod = nil
		waitTenant(t, ctx, env, rc, cs, tr)
		if tr.pod.UID != old.UID {
			break
		}
		tr.stopPF()
		time.Sleep(200 * time.Millisecond)
	}
	if !slices.Contains(namespaces(t, ctx, tr.virtual), "survives-restart") {
		t.Fatal("virtual cluster state was lost when the pod was replaced")
	}
	t.Logf("replacement pod %s kept the virtual cluster's state; delete->virtual /readyz %s", tr.pod.Name, tr.readyAt.Round(100*time.Millisecond))

	tr.stopPF()
	uninstall(t, env, tr.ns)
	if err := cs.CoreV1().Namespaces().Delete(ctx, tr.ns, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	var left []string
	for time.Since(start) < 2*time.Minute {
		// Only this tenant's: other tests' tenants may be running.
		left = nil
		for _, l := range vcrunner.Leftovers(env.Dir) {
			if strings.Contains(l, "/"+tr.ns+"_") || strings.Contains(l, "vcluster-"+tr.ns+"_") ||
				strings.HasSuffix(l, "-"+netIndex) || strings.HasSuffix(l, "h"+netIndex) || strings.Contains(l, pvc.Spec.VolumeName) {
				left = append(left, l)
			}
		}
		left = append(left, portForwards(t, ctx, rc, tr.ns)...)
		if _, err := cs.CoreV1().PersistentVolumes().Get(ctx, pvc.Spec.VolumeName, metav1.GetOptions{}); err == nil {
			left = append(left, "PersistentVolume "+pvc.Spec.VolumeName)
		}
		if len(left) == 0 {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	if len(left) > 0 {
		t.Fatalf("left behind 2m after deleting %s: %v", tr.ns, left)
	}
	t.Logf("process, network namespace, volume and PersistentVolume gone %s after deleting the namespace", time.Since(start).Round(100*time.Millisecond))
}

func helmConfig(t *testing.T, env *testenv.Env, ns string) *action.Configuration {
	t.Helper()
	flags := genericclioptions.NewConfigFlags(false)
	flags.KubeConfig = &env.Kubeconfig
	flags.Context = &env.Context
	flags.Namespace = &ns
	cfg := new(action.Configuration)
	if err := cfg.Init(flags, ns, "secret", t.Logf); err != nil {
		t.Fatal(err)
	}
	return cfg
}

func install(t *testing.T, env *testenv.Env, tr *tenantRun) {
	t.Helper()
	chrt, err := loader.Load(env.VClusterChart)
	if err != nil {
		t.Fatalf("load chart %s: %v", env.VClusterChart, err)
	}
	in := action.NewInstall(helmConfig(t, env, tr.ns))
	in.ReleaseName = release
	in.Namespace = tr.ns
	in.CreateNamespace = true
	in.Timeout = 2 * time.Minute
	tr.installed = time.Now()
	values := tr.values
	if values == nil {
		values = playgroundValues(tr.ns, tr.pool)
	}
	if _, err := in.RunWithContext(t.Context(), chrt, values); err != nil {
		t.Fatalf("helm install %s into %s: %v", release, tr.ns, err)
	}
	t.Logf("helm install into %s took %s", tr.ns, time.Since(tr.installed).Round(time.Millisecond))
}

func uninstall(t *testing.T, env *testenv.Env, ns string) {
	t.Helper()
	un := action.NewUninstall(helmConfig(t, env, ns))
	un.Timeout = time.Minute
	if _, err := un.Run(release); err != nil {
		t.Fatalf("helm uninstall in %s: %v", ns, err)
	}
}

// waitTenant waits for the Running pod on the pool's node, the vc-<release>
// Secret written after the install, and the virtual apiserver's /readyz
// through a port-forward of the pod's port 8443 via the host apiserver.
func waitTenant(t *testing.T, ctx context.Context, env *testenv.Env, rc *rest.Config, cs *kubernetes.Clientset, tr *tenantRun) {
	t.Helper()
	deadline := time.Now().Add(4 * time.Minute)
	sel := "app=vcluster,release=" + release
	for tr.pod == nil {
		pods, err := cs.CoreV1().Pods(tr.ns).List(ctx, metav1.ListOptions{LabelSelector: sel})
		if err == nil {
			for i := range pods.Items {
				p := &pods.Items[i]
				if p.Status.Phase == corev1.PodRunning && p.DeletionTimestamp == nil && p.CreationTimestamp.Time.After(tr.installed.Add(-time.Second)) {
					tr.pod = p
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no Running pod %s in %s after 4m: %v %s", sel, tr.ns, err, describePods(pods))
		}
		time.Sleep(200 * time.Millisecond)
	}
	if want := tr.pool + "-0"; tr.pod.Spec.NodeName != want {
		t.Fatalf("pod %s runs on %q, want %q", tr.pod.Name, tr.pod.Spec.NodeName, want)
	}
	t.Logf("%s: pod %s Running on %s after %s", tr.ns, tr.pod.Name, tr.pod.Spec.NodeName, time.Since(tr.installed).Round(100*time.Millisecond))
	tr.secretAt = 0
	for {
		s, err := cs.CoreV1().Secrets(tr.ns).Get(ctx, "vc-"+release, metav1.GetOptions{})
		if err == nil && len(s.Data["config"]) > 0 {
			tr.secretAt = time.Since(tr.installed)
			for _, k := range []string{"certificate-authority", "client-certificate", "client-key"} {
				if len(s.Data[k]) == 0 {
					t.Fatalf("vc-%s lacks key %s", release, k)
				}
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no vc-%s secret in %s after 4m (%v); vCluster log %s/logs/vcluster-%s.log:\n%s",
				release, tr.ns, err, env.Dir, tr.ns, tail(env.Dir+"/logs/vcluster-"+tr.ns+".log", 30))
		}
		time.Sleep(200 * time.Millisecond)
	}
	// The forward dies when kwok has no rule yet or nothing listens behind it
	// (as kubectl port-forward does): make a new one for every attempt until
	// the virtual apiserver answers.
	var lastErr error
	for {
		port, stop, err := forwardPod(rc, tr.ns, tr.pod.Name, 8443)
		if err == nil {
			// A replaced pod's vCluster may rewrite the secret: use the latest.
			if s, err := cs.CoreV1().Secrets(tr.ns).Get(ctx, "vc-"+release, metav1.GetOptions{}); err == nil {
				tr.kubeconfig = s.Data["config"]
			}
			virtual := kubernetes.NewForConfigOrDie(virtualConfig(t, tr.kubeconfig, port))
			rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			_, err = virtual.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(rctx)
			cancel()
			if err == nil {
				tr.readyAt = time.Since(tr.installed)
				tr.virtual, tr.localPort, tr.stopPF = virtual, port, stop
				return
			}
			stop()
		}
		lastErr = err
		if time.Now().After(deadline) {
			t.Fatalf("virtual /readyz through port-forward not ok after 4m: %v; vCluster log:\n%s",
				lastErr, tail(env.Dir+"/logs/vcluster-"+tr.ns+".log", 30))
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// checkServicePortForward does what `kubectl port-forward svc/<release> 443`
// does: resolve the Service's port 443 to its target port on a selected pod,
// then forward to that pod.
func checkServicePortForward(t *testing.T, ctx context.Context, rc *rest.Config, cs *kubernetes.Clientset, tr *tenantRun) {
	t.Helper()
	svc, err := cs.CoreV1().Services(tr.ns).Get(ctx, release, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var target int
	for _, p := range svc.Spec.Ports {
		if p.Port == 443 {
			target = p.TargetPort.IntValue()
		}
	}
	if target != 8443 {
		t.Fatalf("service %s port 443 targets %d, want 8443", release, target)
	}
	pods, err := cs.CoreV1().Pods(tr.ns).List(ctx, metav1.ListOptions{LabelSelector: metav1.FormatLabelSelector(&metav1.LabelSelector{MatchLabels: svc.Spec.Selector})})
	if err != nil || len(pods.Items) == 0 {
		t.Fatalf("no pod behind service %s: %v", release, err)
	}
	port, stop, err := forwardPod(rc, tr.ns, pods.Items[0].Name, target)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	nss := namespaces(t, ctx, kubernetes.NewForConfigOrDie(virtualConfig(t, tr.kubeconfig, port)))
	t.Logf("through svc/%s 443: %d namespaces", release, len(nss))
}

func virtualConfig(t *testing.T, kubeconfig []byte, port uint16) *rest.Config {
	t.Helper()
	cfg, err := clientcmd.Load(kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cfg.Clusters {
		u, err := url.Parse(c.Server)
		if err != nil {
			t.Fatal(err)
		}
		if u.Hostname() != "localhost" {
			t.Fatalf("vc secret server is %s, want https://localhost:8443", c.Server)
		}
		c.Server = fmt.Sprintf("https://127.0.0.1:%d", port)
	}
	rc, err := clientcmd.NewDefaultClientConfig(*cfg, nil).ClientConfig()
	if err != nil {
		t.Fatal(err)
	}
	rc.Timeout = 10 * time.Second
	return rc
}

func namespaces(t *testing.T, ctx context.Context, cs *kubernetes.Clientset) []string {
	t.Helper()
	list, err := cs.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatalf("list namespaces in the virtual cluster: %v", err)
	}
	var out []string
	for _, n := range list.Items {
		out = append(out, n.Name)
	}
	return out
}

// forwardPod forwards a free local port to pod:port through the host
// apiserver (client-go's port-forward, as kubectl does).
func forwardPod(rc *rest.Config, ns, pod string, port int) (uint16, func(), error) {
	transport, upgrader, err := spdy.RoundTripperFor(rc)
	if err != nil {
		return 0, nil, err
	}
	u, err := url.Parse(fmt.Sprintf("%s/api/v1/namespaces/%s/pods/%s/portforward", strings.TrimSuffix(rc.Host, "/"), ns, pod))
	if err != nil {
		return 0, nil, err
	}
	dialer := spdy.NewDialer(upgrader, &http.Client{Transport: transport}, http.MethodPost, u)
	stopCh, readyCh := make(chan struct{}), make(chan struct{})
	pf, err := portforward.NewOnAddresses(dialer, []string{"127.0.0.1"}, []string{fmt.Sprintf("0:%d", port)}, stopCh, readyCh, io.Discard, io.Discard)
	if err != nil {
		return 0, nil, err
	}
	errCh := make(chan error, 1)
	go func() { errCh <- pf.ForwardPorts() }()
	var once sync.Once
	stop := func() { once.Do(func() { close(stopCh) }) }
	select {
	case <-readyCh:
	case err := <-errCh:
		return 0, nil, fmt.Errorf("port-forward %s/%s %d: %w", ns, pod, port, err)
	case <-time.After(30 * time.Second):
		stop()
		return 0, nil, fmt.Errorf("port-forward %s/%s %d: not ready after 30s", ns, pod, port)
	}
	ports, err := pf.GetPorts()
	if err != nil {
		stop()
		return 0, nil, err
	}
	return ports[0].Local, stop, nil
}

// forwardTarget is the address kwok's PortForward rule for tr's pod sends
// port 8443 to.
func forwardTarget(t *testing.T, ctx context.Context, rc *rest.Config, tr *tenantRun) string {
	t.Helper()
	gvr := schema.GroupVersionResource{Group: "kwok.x-k8s.io", Version: "v1alpha1", Resource: "portforwards"}
	pf, err := dynamic.NewForConfigOrDie(rc).Resource(gvr).Namespace(tr.ns).Get(ctx, tr.pod.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("PortForward for %s/%s: %v", tr.ns, tr.pod.Name, err)
	}
	fwds, _, _ := unstructured.NestedSlice(pf.Object, "spec", "forwards")
	for _, f := range fwds {
		m, _ := f.(map[string]any)
		addr, _, _ := unstructured.NestedString(m, "target", "address")
		port, _, _ := unstructured.NestedInt64(m, "target", "port")
		if port == 8443 {
			return addr
		}
	}
	t.Fatalf("PortForward %s/%s has no target for 8443: %v", tr.ns, tr.pod.Name, fwds)
	return ""
}

func portForwards(t *testing.T, ctx context.Context, rc *rest.Config, nss ...string) []string {
	dyn := dynamic.NewForConfigOrDie(rc)
	gvr := schema.GroupVersionResource{Group: "kwok.x-k8s.io", Version: "v1alpha1", Resource: "portforwards"}
	var out []string
	for _, ns := range nss {
		list, err := dyn.Resource(gvr).Namespace(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			out = append(out, fmt.Sprintf("list PortForwards in %s: %v", ns, err))
			continue
		}
		for _, o := range list.Items {
			out = append(out, "PortForward "+ns+"/"+o.GetName())
		}
	}
	return out
}

func describePods(pods *corev1.PodList) string {
	if pods == nil {
		return ""
	}
	var b strings.Builder
	for _, p := range pods.Items {
		fmt.Fprintf(&b, "\n  %s phase=%s node=%q ip=%q", p.Name, p.Status.Phase, p.Spec.NodeName, p.Status.PodIP)
		for _, c := range p.Status.Conditions {
			if c.Status != corev1.ConditionTrue {
				fmt.Fprintf(&b, " %s=%s(%s)", c.Type, c.Status, c.Message)
			}
		}
	}
	return b.String()
}

func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
