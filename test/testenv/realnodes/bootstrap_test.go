package realnodes

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-tenant/kubectl-tenant/test/testenv"
)

var (
	applicationGVR    = schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "applications"}
	applicationSetGVR = schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "applicationsets"}
)

// TestBootstrapOnRealNode is the platform flow to its end on the real node
// (issue #26): a tenant created with --isolation on pool project-x,
// `register --bootstrap` by the real binary; the host Argo CD's
// applicationset-controller generates NAME-argocd, which installs the Argo
// CD of the host defaults' bootstrapSource (chart argo-cd from the
// playground's Helm repository, its images on the node) into the tenant,
// Synced and Healthy. That Argo CD, reached with connect, syncs an
// Application of its own (chart hello from the same repository, reached at
// the host's address) into its own cluster. delete then leaves nothing on
// the host: no Application, no cluster secret, no namespace. It logs the
// time from register to Synced/Healthy and the in-tenant Argo CD's memory.
func TestBootstrapOnRealNode(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Minute)
	defer cancel()
	env, down := upRealNodes(ctx, t, "testenv-bootstrap-")
	defer down()
	cs, err := env.Clientset()
	if err != nil {
		t.Fatal(err)
	}
	rc, err := env.RESTConfig()
	if err != nil {
		t.Fatal(err)
	}
	dyn, err := dynamic.NewForConfig(rc)
	if err != nil {
		t.Fatal(err)
	}
	if len(env.RealNodes) == 0 || env.RealNodes[0].Pool != pool {
		t.Fatalf("env.RealNodes = %+v, want a real node of pool %s", env.RealNodes, pool)
	}
	node := env.RealNodes[0]
	hd, err := cs.CoreV1().ConfigMaps(testenv.HostDefaultsNamespace).Get(ctx, testenv.HostDefaultsName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var source map[string]any
	if err := yaml.Unmarshal([]byte(hd.Data["bootstrapSource"]), &source); err != nil || source["chart"] != testenv.ArgoCDChartName {
		t.Fatalf("host default bootstrapSource %q (%v): want chart %s", hd.Data["bootstrapSource"], err, testenv.ArgoCDChartName)
	}

	c := newCLI(t, env)
	const name = "boot"
	ns := "vcluster-" + name
	begin := time.Now()
	c.run(ctx, "create", name, "--pool", pool, "--isolation", "--connect=false")
	t.Logf("create %s --isolation: ready in %s", name, time.Since(begin).Round(100*time.Millisecond))

	// 1. register --bootstrap: NAME-argocd generated, Synced and Healthy.
	begin = time.Now()
	c.run(ctx, "register", name, "--yes", "--bootstrap")
	apps := dyn.Resource(applicationGVR).Namespace(testenv.ArgoCDNamespace)
	sets := dyn.Resource(applicationSetGVR).Namespace(testenv.ArgoCDNamespace)
	if set, err := sets.Get(ctx, "argocd", metav1.GetOptions{}); err != nil {
		t.Fatalf("bootstrap ApplicationSet: %v", err)
	} else if got, _, _ := unstructured.NestedMap(set.Object, "spec", "template", "spec", "source"); got["repoURL"] != source["repoURL"] ||
		got["chart"] != source["chart"] || got["targetRevision"] != source["targetRevision"] {
		t.Fatalf("bootstrap ApplicationSet's source %v, want the host default bootstrapSource %v", got, source)
	}
	appName := name + "-argocd"
	waitLong(ctx, t, 15*time.Minute, "Application "+appName+" to be Synced and Healthy", func() (bool, string) {
		return syncedHealthy(ctx, apps, appName)
	})
	t.Logf("register --bootstrap -> %s Synced and Healthy in %s", appName, time.Since(begin).Round(100*time.Millisecond))
	app, err := apps.Get(ctx, appName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got, _, _ := unstructured.NestedMap(app.Object, "spec", "source"); got["repoURL"] != source["repoURL"] || got["chart"] != source["chart"] {
		t.Errorf("%s's source %v, want the host default %v", appName, got, source)
	}

	// 2. The Argo CD inside the tenant syncs an Application of its own into
	// its own cluster: chart hello from the playground's repository at the
	// host's address (the address pods reach the host at). Argo CD's core
	// install has no server, which is what creates project default.
	repoURL := "http://" + node.HostIP + ":" + strconv.Itoa(env.Ports.ChartRepo)
	manifest := `apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata:
  name: default
  namespace: argocd
spec:
  sourceRepos: ["*"]
  destinations: [{server: "*", namespace: "*"}]
  clusterResourceWhitelist: [{group: "*", kind: "*"}]
---
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: hello
  namespace: argocd
spec:
  project: default
  source:
    repoURL: ` + repoURL + `
    chart: ` + testenv.HelloChartName + `
    targetRevision: ` + testenv.HelloChartVersion + `
  destination:
    server: https://kubernetes.default.svc
    namespace: default
  syncPolicy:
    automated: {prune: true, selfHeal: true}
`
	c.run(ctx, "connect", name, "--", "sh", "-c", "kubectl apply -f - <<'EOF'\n"+manifest+"EOF\n")
	begin = time.Now()
	waitLong(ctx, t, 10*time.Minute, "the in-tenant Application hello to be Synced and Healthy", func() (bool, string) {
		out := c.run(ctx, "connect", name, "--", "kubectl", "get", "application", "hello", "-n", "argocd",
			"-o", "jsonpath={.status.sync.status} {.status.health.status} {.status.conditions}")
		return strings.HasPrefix(out, "Synced Healthy"), out
	})
	t.Logf("in-tenant Application hello Synced and Healthy in %s", time.Since(begin).Round(100*time.Millisecond))
	if out := c.run(ctx, "connect", name, "--", "kubectl", "get", "configmap", testenv.HelloChartName, "-n", "default",
		"-o", "jsonpath={.data.message}"); !strings.Contains(out, "hello") {
		t.Fatalf("ConfigMap %s in the tenant says %q, want the chart's message", testenv.HelloChartName, out)
	}
	argoPods := 0
	for _, p := range syncedPods(ctx, t, cs, ns, "") {
		if p.Annotations["vcluster.loft.sh/object-namespace"] == "argocd" {
			argoPods++
			if p.Spec.NodeName != node.Name {
				t.Errorf("in-tenant Argo CD pod %s runs on %q, want %s", p.Name, p.Spec.NodeName, node.Name)
			}
		}
	}
	if argoPods < 4 {
		t.Errorf("%d in-tenant Argo CD pods on the host, want application-controller, applicationset-controller, redis and repo-server", argoPods)
	}
	mem, err := argoCDMemory(ctx, cs, node.Name, ns)
	if err != nil {
		t.Errorf("the in-tenant Argo CD's memory: %v", err)
	} else {
		t.Logf("the in-tenant Argo CD's memory (working sets, kubelet /stats/summary): %s", mem)
	}

	// 3. delete leaves nothing on the host.
	c.run(ctx, "delete", name, "--yes")
	waitLong(ctx, t, 5*time.Minute, "nothing of "+name+" left on the host", func() (bool, string) {
		var left []string
		if _, err := cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			left = append(left, fmt.Sprintf("namespace %s (%v)", ns, err))
		}
		if _, err := apps.Get(ctx, appName, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			left = append(left, fmt.Sprintf("Application %s (%v)", appName, err))
		}
		secrets, err := cs.CoreV1().Secrets(testenv.ArgoCDNamespace).List(ctx, metav1.ListOptions{LabelSelector: "argocd.argoproj.io/secret-type=cluster"})
		if err != nil || len(secrets.Items) != 0 {
			left = append(left, fmt.Sprintf("cluster secrets %d (%v)", len(secrets.Items), err))
		}
		return len(left) == 0, strings.Join(left, "; ")
	})
}

// syncedHealthy says whether Application name is Synced and Healthy, and
// otherwise what it is.
func syncedHealthy(ctx context.Context, apps dynamic.ResourceInterface, name string) (bool, string) {
	a, err := apps.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return false, err.Error()
	}
	sync, _, _ := unstructured.NestedString(a.Object, "status", "sync", "status")
	health, _, _ := unstructured.NestedString(a.Object, "status", "health", "status")
	conds, _, _ := unstructured.NestedSlice(a.Object, "status", "conditions")
	op, _, _ := unstructured.NestedString(a.Object, "status", "operationState", "message")
	return sync == "Synced" && health == "Healthy", fmt.Sprintf("sync %q health %q conditions %v operation %q", sync, health, conds, op)
}

// waitLong polls cond every 2 s for up to d.
func waitLong(ctx context.Context, t *testing.T, d time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(d)
	last := ""
	for time.Now().Before(deadline) && ctx.Err() == nil {
		ok, msg := cond()
		if ok {
			return
		}
		last = msg
		time.Sleep(2 * time.Second)
	}
	t.Fatalf("waiting %s for %s: last: %s", d, what, last)
}

// argoCDMemory sums the working sets of the containers of the tenant's
// pods in its namespace argocd (their host copies in ns), as node's kubelet
// reports them in /stats/summary.
func argoCDMemory(ctx context.Context, cs kubernetes.Interface, node, ns string) (string, error) {
	raw, err := cs.CoreV1().RESTClient().Get().AbsPath("/api/v1/nodes/" + node + "/proxy/stats/summary").DoRaw(ctx)
	if err != nil {
		return "", err
	}
	var sum struct {
		Pods []struct {
			PodRef     struct{ Name, Namespace string }
			Containers []struct {
				Name   string
				Memory struct {
					WorkingSetBytes *uint64 `json:"workingSetBytes"`
				}
			}
		}
	}
	if err := json.Unmarshal(raw, &sum); err != nil {
		return "", err
	}
	pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return "", err
	}
	argo := map[string]bool{}
	for _, p := range pods.Items {
		if p.Annotations["vcluster.loft.sh/object-namespace"] == "argocd" {
			argo[p.Name] = true
		}
	}
	var total uint64
	var parts []string
	for _, p := range sum.Pods {
		if p.PodRef.Namespace != ns || !argo[p.PodRef.Name] {
			continue
		}
		for _, c := range p.Containers {
			if c.Memory.WorkingSetBytes == nil {
				return "", fmt.Errorf("no working set for %s/%s yet", p.PodRef.Name, c.Name)
			}
			total += *c.Memory.WorkingSetBytes
			parts = append(parts, fmt.Sprintf("%s %.1f MiB", c.Name, float64(*c.Memory.WorkingSetBytes)/(1<<20)))
		}
	}
	if len(parts) == 0 {
		return "", fmt.Errorf("no container of the in-tenant Argo CD in the summary")
	}
	return fmt.Sprintf("%.1f MiB (%s)", float64(total)/(1<<20), strings.Join(parts, ", ")), nil
}
