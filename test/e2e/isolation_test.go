package e2e

import (
	"context"
	"fmt"
	"sort"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
)

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
