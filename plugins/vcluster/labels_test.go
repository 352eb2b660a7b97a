package vcluster

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	kubefake "helm.sh/helm/v3/pkg/kube/fake"
	"helm.sh/helm/v3/pkg/storage"
	"helm.sh/helm/v3/pkg/storage/driver"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/vclustervalues"
)

// renderChart renders the real vcluster chart (shipped in the vcluster Go
// module) the way Install does, client-side, and returns its objects.
func renderChart(t *testing.T, req tenant.InstallRequest) []unstructured.Unstructured {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/loft-sh/vcluster").Output()
	if err != nil {
		t.Fatalf("locating the vcluster module: %v", err)
	}
	ch, err := loader.Load(filepath.Join(strings.TrimSpace(string(out)), "chart"))
	if err != nil {
		t.Fatal(err)
	}
	vals, err := vclustervalues.For(req.Name, req.Pool, req.K8sVersion, req.Isolation)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &action.Configuration{
		Releases:     storage.Init(driver.NewMemory()),
		KubeClient:   &kubefake.PrintingKubeClient{Out: &bytes.Buffer{}},
		Capabilities: chartutil.DefaultCapabilities,
		Log:          func(string, ...any) {},
	}
	in := action.NewInstall(cfg)
	in.ReleaseName, in.Namespace = tenant.ReleaseName, req.Namespace
	in.DryRun, in.ClientOnly = true, true
	in.KubeVersion = &chartutil.KubeVersion{Version: "v1.34.2", Major: "1", Minor: "34"}
	in.PostRenderer = labeller(tenant.Labels(req.Name, req.Pool))
	rel, err := in.RunWithContext(context.Background(), ch, vals)
	if err != nil {
		t.Fatal(err)
	}
	var objs []unstructured.Unstructured
	dec := utilyaml.NewYAMLOrJSONDecoder(strings.NewReader(rel.Manifest), 4096)
	for {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			break
		}
		if len(m) > 0 {
			objs = append(objs, unstructured.Unstructured{Object: m})
		}
	}
	if len(objs) == 0 {
		t.Fatal("the chart rendered no objects")
	}
	return objs
}

func TestEveryRenderedObjectCarriesTenantLabels(t *testing.T) {
	objs := renderChart(t, tenant.InstallRequest{Name: "a", Namespace: "vcluster-a", Spec: tenant.Spec{Pool: "project-x"}})
	kinds := map[string]bool{}
	for _, o := range objs {
		kinds[o.GetKind()] = true
		l := o.GetLabels()
		if l[tenant.LabelName] != "a" || l[tenant.LabelWorkspace] != "project-x" || l[tenant.LabelManagedBy] != tenant.ManagedByValue {
			t.Errorf("%s/%s labels = %v, want tenant a, workspace project-x", o.GetKind(), o.GetName(), l)
		}
	}
	for _, k := range []string{"StatefulSet", "Service", "ServiceAccount", "Role", "RoleBinding", "Secret"} {
		if !kinds[k] {
			t.Errorf("no %s rendered; got %v", k, kinds)
		}
	}
	for _, k := range []string{"ResourceQuota", "LimitRange", "NetworkPolicy"} {
		if kinds[k] {
			t.Errorf("%s rendered without isolation", k)
		}
	}
}

func TestIsolationRendersQuotaLimitsAndTenantOnlyNetworkPolicy(t *testing.T) {
	objs := renderChart(t, tenant.InstallRequest{Name: "b", Namespace: "vcluster-b", Spec: tenant.Spec{Pool: "project-z", Isolation: true}})
	byKind := map[string][]unstructured.Unstructured{}
	for _, o := range objs {
		byKind[o.GetKind()] = append(byKind[o.GetKind()], o)
	}
	for _, k := range []string{"ResourceQuota", "LimitRange"} {
		if len(byKind[k]) != 1 {
			t.Errorf("%d %s objects, want 1", len(byKind[k]), k)
		}
	}
	var work *unstructured.Unstructured
	for i, np := range byKind["NetworkPolicy"] {
		if np.GetLabels()[tenant.LabelName] != "b" {
			t.Errorf("NetworkPolicy %s labels %v", np.GetName(), np.GetLabels())
		}
		if np.GetName() == "vc-work-vcluster" {
			work = &byKind["NetworkPolicy"][i]
		}
	}
	if work == nil {
		t.Fatalf("no workload NetworkPolicy; got %d NetworkPolicies", len(byKind["NetworkPolicy"]))
	}
	// Cross-tenant traffic is denied because every ingress peer is a bare
	// podSelector, which only matches pods in the policy's own namespace.
	ingress, _, _ := unstructured.NestedSlice(work.Object, "spec", "ingress")
	if len(ingress) == 0 {
		t.Fatal("workload policy admits nothing: no ingress rules")
	}
	for _, r := range ingress {
		from, _, _ := unstructured.NestedSlice(r.(map[string]any), "from")
		for _, peer := range from {
			p := peer.(map[string]any)
			if _, ok := p["namespaceSelector"]; ok {
				t.Errorf("workload ingress admits other namespaces: %v", p)
			}
			if _, ok := p["ipBlock"]; ok {
				t.Errorf("workload ingress admits an ipBlock: %v", p)
			}
		}
	}
}
