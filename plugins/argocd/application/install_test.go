package application

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
)

func testApp(name string, labels map[string]any, finalizers []any, status map[string]any) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
		"metadata": map[string]any{"name": "vcluster-" + name, "namespace": "argocd", "labels": labels},
	}}
	if finalizers != nil {
		u.Object["metadata"].(map[string]any)["finalizers"] = finalizers
	}
	if status != nil {
		u.Object["status"] = status
	}
	return u
}

func newInstaller(objs ...runtime.Object) (*Installer, *dynfake.FakeDynamicClient) {
	dyn := dynfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{applicationGVR: "ApplicationList"}, objs...)
	cs := fake.NewSimpleClientset(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "argocd"}})
	return &Installer{Kube: cs, Dynamic: dyn}, dyn
}

func TestRemoveAddsResourcesFinalizerThenDeletes(t *testing.T) {
	in, dyn := newInstaller(testApp("demo", map[string]any{tenant.LabelName: "demo"}, nil, nil))
	if err := in.Remove(context.Background(), "demo", 0, nil); err != nil {
		t.Fatal(err)
	}
	var verbs []string
	for _, a := range dyn.Actions() {
		verbs = append(verbs, a.GetVerb())
		if p, ok := a.(k8stesting.PatchAction); ok && !strings.Contains(string(p.GetPatch()), resourcesFinalizer) {
			t.Errorf("patch without the resources finalizer: %s", p.GetPatch())
		}
	}
	if strings.Join(verbs, ",") != "get,patch,delete" {
		t.Fatalf("actions %v, want get,patch,delete", verbs)
	}
	// Gone (or never there) is fine.
	if err := in.Remove(context.Background(), "demo", 0, nil); err != nil {
		t.Fatal(err)
	}
}

func TestRemoveKeepsFinalizerAndRefusesForeign(t *testing.T) {
	in, dyn := newInstaller(
		testApp("demo", map[string]any{tenant.LabelName: "demo"}, []any{resourcesFinalizer + "/foreground"}, nil),
		testApp("other", map[string]any{"team": "x"}, nil, nil))
	if err := in.Remove(context.Background(), "demo", 0, nil); err != nil {
		t.Fatal(err)
	}
	for _, a := range dyn.Actions() {
		if a.GetVerb() == "patch" {
			t.Errorf("patched an Application that has the finalizer")
		}
	}
	if err := in.Remove(context.Background(), "other", 0, nil); err == nil || !strings.Contains(err.Error(), "refusing") {
		t.Fatalf("Remove(foreign) = %v", err)
	}
}

func TestPreflightWithoutArgoCDNamespace(t *testing.T) {
	in, _ := newInstaller()
	in.Namespace = "elsewhere"
	if _, err := in.Preflight(context.Background(), "demo"); err == nil || !strings.Contains(err.Error(), `"elsewhere" does not exist`) {
		t.Fatalf("Preflight = %v", err)
	}
}

func TestSynced(t *testing.T) {
	for _, tc := range []struct {
		status  map[string]any
		done    bool
		wantErr bool
		msg     string
	}{
		{nil, false, false, "waiting for Argo CD to sync"},
		{map[string]any{"sync": map[string]any{"status": "Unknown"}, "conditions": []any{map[string]any{"type": "ComparisonError", "message": "repo unreachable\nmore"}}}, false, false, "ComparisonError repo unreachable"},
		{map[string]any{"sync": map[string]any{"status": "Synced"}, "operationState": map[string]any{"phase": "Succeeded"}}, true, false, ""},
		{map[string]any{"operationState": map[string]any{"phase": "Failed", "message": "one or more objects failed"}}, false, true, ""},
	} {
		in, _ := newInstaller(testApp("demo", map[string]any{tenant.LabelName: "demo"}, nil, tc.status))
		done, msg, err := in.Synced(context.Background(), "demo")
		if done != tc.done || (err != nil) != tc.wantErr || !strings.Contains(msg, tc.msg) {
			t.Errorf("status %v: Synced = %v, %q, %v", tc.status, done, msg, err)
		}
	}
}
