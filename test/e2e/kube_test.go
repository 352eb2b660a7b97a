package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/kubeconfig"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/session"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
)

func (w *world) clientset() *kubernetes.Clientset {
	w.t.Helper()
	cs, err := w.env.Clientset()
	if err != nil {
		w.t.Fatal(err)
	}
	return cs
}

func (w *world) dynamic() dynamic.Interface {
	w.t.Helper()
	rc, err := w.env.RESTConfig()
	if err != nil {
		w.t.Fatal(err)
	}
	dyn, err := dynamic.NewForConfig(rc)
	if err != nil {
		w.t.Fatal(err)
	}
	return dyn
}

// clients are the typed and dynamic clients of the playground, with a
// REST mapper for applying arbitrary manifests.
func (w *world) clients() (*kubernetes.Clientset, dynamic.Interface, *restmapper.DeferredDiscoveryRESTMapper) {
	w.t.Helper()
	cs := w.clientset()
	return cs, w.dynamic(), restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(cs.Discovery()))
}

func (w *world) namespaceExists(name string) bool {
	w.t.Helper()
	cs, err := w.env.Clientset()
	if err != nil {
		w.t.Fatal(err)
	}
	_, err = cs.CoreV1().Namespaces().Get(context.Background(), tenant.NamespaceFor(name), metav1.GetOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		w.t.Fatal(err)
	}
	return err == nil
}

// hostKinds are the kinds the vcluster chart and Helm create on the host.
var hostKinds = []schema.GroupVersionResource{
	{Version: "v1", Resource: "secrets"},
	{Version: "v1", Resource: "services"},
	{Version: "v1", Resource: "serviceaccounts"},
	{Version: "v1", Resource: "configmaps"},
	{Version: "v1", Resource: "resourcequotas"},
	{Version: "v1", Resource: "limitranges"},
	{Group: "apps", Version: "v1", Resource: "statefulsets"},
	{Group: "apps", Version: "v1", Resource: "deployments"}, // the chart's kind without persistence
	{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "roles"},
	{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "rolebindings"},
	{Group: "networking.k8s.io", Version: "v1", Resource: "networkpolicies"},
}

// createdByTool: rendered by Helm from the chart, or Helm's release Secrets.
// (vCluster itself and Kubernetes add more, e.g. vc-vcluster, kube-root-ca.crt.)
func createdByTool(o unstructured.Unstructured) bool {
	l := o.GetLabels()
	return l["heritage"] == "Helm" || l["release"] == tenant.ReleaseName || l["owner"] == "helm"
}

// assertIsolated: every object the tool created in the tenant's namespace
// carries its tenant and workspace labels; the isolation policies exist;
// nothing labelled for this tenant lives anywhere else.
func (w *world) assertIsolated(name, workspace string) {
	w.t.Helper()
	ctx := context.Background()
	d := w.dynamic()
	ns := tenant.NamespaceFor(name)
	kinds := map[string]int{}
	for _, gvr := range hostKinds {
		l, err := d.Resource(gvr).Namespace(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			w.t.Fatal(err)
		}
		for _, o := range l.Items {
			if !createdByTool(o) {
				continue
			}
			kinds[gvr.Resource]++
			if got := o.GetLabels(); got[tenant.LabelName] != name || got[tenant.LabelWorkspace] != workspace {
				w.t.Errorf("%s %s/%s: labels %v, want tenant %s workspace %s", gvr.Resource, ns, o.GetName(), got, name, workspace)
			}
		}
		mine, err := d.Resource(gvr).List(ctx, metav1.ListOptions{LabelSelector: tenant.LabelName + "=" + name})
		if err != nil {
			w.t.Fatal(err)
		}
		for _, o := range mine.Items {
			if o.GetNamespace() != ns {
				w.t.Errorf("%s %s/%s carries tenant %s's label outside its namespace", gvr.Resource, o.GetNamespace(), o.GetName(), name)
			}
		}
	}
	if kinds["statefulsets"]+kinds["deployments"] == 0 {
		w.t.Errorf("tenant %s: no control-plane workload created by the tool; got %v", name, kinds)
	}
	for _, k := range []string{"services", "secrets", "resourcequotas", "limitranges", "networkpolicies"} {
		if kinds[k] == 0 {
			w.t.Errorf("tenant %s: no %s created by the tool; got %v", name, k, kinds)
		}
	}
}

// tenantObjects names every host object labelled for tenant name, with its
// UID and labels: what another tenant's operations must leave alone.
func (w *world) tenantObjects(name string) []string {
	w.t.Helper()
	ctx := context.Background()
	d := w.dynamic()
	var out []string
	for _, gvr := range hostKinds {
		l, err := d.Resource(gvr).List(ctx, metav1.ListOptions{LabelSelector: tenant.LabelName + "=" + name})
		if err != nil {
			w.t.Fatal(err)
		}
		for _, o := range l.Items {
			out = append(out, fmt.Sprintf("%s %s/%s %s %v", gvr.Resource, o.GetNamespace(), o.GetName(), o.GetUID(), o.GetLabels()))
		}
	}
	if len(out) == 0 {
		w.t.Fatalf("no objects labelled for tenant %s", name)
	}
	sort.Strings(out)
	return out
}

// assertGone checks that nothing of tenant name is left anywhere.
func (w *world) assertGone(name string, sess *session.Session) {
	w.t.Helper()
	ctx := context.Background()
	cs, err := w.env.Clientset()
	if err != nil {
		w.t.Fatal(err)
	}
	ns := tenant.NamespaceFor(name)
	if _, err := cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		w.t.Errorf("namespace %s still exists (err=%v)", ns, err)
	}
	secs, err := cs.CoreV1().Secrets("").List(ctx, metav1.ListOptions{LabelSelector: "owner=helm"})
	if err != nil {
		w.t.Fatal(err)
	}
	for _, s := range secs.Items {
		if s.Namespace == ns {
			w.t.Errorf("release secret %s/%s left", s.Namespace, s.Name)
		}
	}
	cfg, err := clientcmd.LoadFromFile(w.kubeconfig)
	if err != nil {
		w.t.Fatal(err)
	}
	if _, ok := cfg.Contexts[name]; ok {
		w.t.Errorf("kubeconfig context %s left", name)
	}
	if _, ok := cfg.Clusters[kubeconfig.OwnedName(name)]; ok {
		w.t.Errorf("kubeconfig cluster %s left", kubeconfig.OwnedName(name))
	}
	if _, ok := cfg.AuthInfos[kubeconfig.OwnedName(name)]; ok {
		w.t.Errorf("kubeconfig user %s left", kubeconfig.OwnedName(name))
	}
	if _, ok := cfg.Contexts[cfg.CurrentContext]; !ok || cfg.CurrentContext == name {
		w.t.Errorf("current context %q is gone or the deleted tenant", cfg.CurrentContext)
	}
	st := session.Store{Dir: w.stateDir + "/sessions"}
	if _, ok, _ := st.Get(w.kubeconfig, name); ok {
		w.t.Errorf("session %s left", name)
	}
	if sess != nil {
		if sess.PID > 0 && !gone(sess.PID) {
			w.t.Errorf("forwarder pid %d still running", sess.PID)
		}
		if addr := strings.TrimPrefix(sess.Server, "https://"); addr != "" {
			if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
				c.Close()
				w.t.Errorf("forward port %s still listening", addr)
			}
		}
	}
}

// firstUIDs polls the tenant namespace until stop and records the first UID
// seen of Helm's revision-1 release Secret and of the control-plane
// workload: an uninstall and reinstall would replace them.
func (w *world) firstUIDs(name string, stop <-chan struct{}) func() map[string]string {
	cs, err := w.env.Clientset()
	if err != nil {
		w.t.Fatal(err)
	}
	ns := tenant.NamespaceFor(name)
	var mu sync.Mutex
	seen := map[string]string{}
	changed := []string{}
	record := func(key, uid string) {
		mu.Lock()
		defer mu.Unlock()
		if old, ok := seen[key]; ok && old != uid {
			changed = append(changed, fmt.Sprintf("%s: %s -> %s", key, old, uid))
		}
		seen[key] = uid
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			if s, err := cs.CoreV1().Secrets(ns).Get(ctx, "sh.helm.release.v1.vcluster.v1", metav1.GetOptions{}); err == nil {
				record("release v1", string(s.UID))
			}
			if ds, err := cs.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=vcluster"}); err == nil {
				for _, d := range ds.Items {
					record("deployment "+d.Name, string(d.UID))
				}
			}
			cancel()
			select {
			case <-stop:
				return
			case <-time.After(200 * time.Millisecond):
			}
		}
	}()
	return func() map[string]string {
		<-done
		mu.Lock()
		defer mu.Unlock()
		if len(changed) > 0 {
			w.t.Errorf("replaced while both creates ran (uninstalled and reinstalled?): %v", changed)
		}
		return seen
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

// assertNamespaceGone waits up to 2 minutes for namespace ns (and the Helm
// release in it) to be gone.
func (w *world) assertNamespaceGone(ns string) {
	w.t.Helper()
	cs := w.clientset()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		_, err := cs.CoreV1().Namespaces().Get(context.Background(), ns, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			break
		}
		if time.Now().After(deadline) {
			w.t.Errorf("namespace %s still exists (%v)", ns, err)
			return
		}
		time.Sleep(time.Second)
	}
	secs, err := cs.CoreV1().Secrets(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "owner=helm"})
	if err == nil && len(secs.Items) > 0 {
		w.t.Errorf("release secrets left in %s", ns)
	}
}

// apply server-side applies obj with strict field validation, as a dry run
// or for real.
func apply(ctx context.Context, dyn dynamic.Interface, mapper *restmapper.DeferredDiscoveryRESTMapper, obj *unstructured.Unstructured, dryRun bool) error {
	gvk := obj.GroupVersionKind()
	m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return err
	}
	data, err := json.Marshal(obj.Object)
	if err != nil {
		return err
	}
	opts := metav1.PatchOptions{FieldManager: "kubectl-tenant-e2e", Force: ptrTo(true), FieldValidation: "Strict"}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	var ri dynamic.ResourceInterface = dyn.Resource(m.Resource)
	if obj.GetNamespace() != "" {
		ri = dyn.Resource(m.Resource).Namespace(obj.GetNamespace())
	}
	_, err = ri.Patch(ctx, obj.GetName(), types.ApplyPatchType, data, opts)
	return err
}

// deleteManifest deletes what apply applied (best effort, for cleanup).
func deleteManifest(dyn dynamic.Interface, mapper *restmapper.DeferredDiscoveryRESTMapper, obj *unstructured.Unstructured) {
	gvk := obj.GroupVersionKind()
	m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return
	}
	var ri dynamic.ResourceInterface = dyn.Resource(m.Resource)
	if obj.GetNamespace() != "" {
		ri = dyn.Resource(m.Resource).Namespace(obj.GetNamespace())
	}
	_ = ri.Delete(context.Background(), obj.GetName(), metav1.DeleteOptions{})
}

type namespaceDeleter interface {
	Delete(ctx context.Context, name string, opts metav1.DeleteOptions) error
	Get(ctx context.Context, name string, opts metav1.GetOptions) (*corev1.Namespace, error)
}

// deleteNamespace deletes ns and waits (bounded) until it is gone.
func deleteNamespace(t *testing.T, nss namespaceDeleter, ns string) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := nss.Delete(ctx, ns, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		t.Errorf("delete namespace %s: %v", ns, err)
		return
	}
	for {
		if _, err := nss.Get(ctx, ns, metav1.GetOptions{}); apierrors.IsNotFound(err) {
			return
		}
		select {
		case <-ctx.Done():
			t.Errorf("namespace %s not deleted within 2m", ns)
			return
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func ptrTo[T any](v T) *T { return &v }

// createBenchTenant creates tenant i of BenchmarkList1000: its namespace,
// release Secret and paused control-plane StatefulSet.
func createBenchTenant(ctx context.Context, cs kubernetes.Interface, sts *appsv1.StatefulSet, i int) error {
	name := fmt.Sprintf("bench-%04d", i)
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: tenant.NamespaceFor(name),
		Labels:      map[string]string{tenant.LabelName: name, tenant.LabelPool: "project-x"},
		Annotations: map[string]string{tenant.AnnotationControlPlaneKind: "StatefulSet"}}}
	if _, err := cs.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "sh.helm.release.v1.vcluster.v1", Namespace: ns.Name,
		Labels: map[string]string{"owner": "helm", "name": "vcluster", "status": "deployed", "version": "1"}},
		Data: map[string][]byte{"release": make([]byte, 64<<10)}} // release payloads are tens of KiB
	if _, err := cs.CoreV1().Secrets(ns.Name).Create(ctx, sec, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	// Paused the way `vcluster pause` leaves it.
	s := sts.DeepCopy()
	s.Namespace = ns.Name
	s.Annotations = map[string]string{"loft.sh/paused": "true", "loft.sh/paused-replicas": "1"}
	s.Spec.Replicas = ptrTo(int32(0))
	if _, err := cs.AppsV1().StatefulSets(ns.Name).Create(ctx, s, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	return nil
}
