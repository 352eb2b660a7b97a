package application

import (
	"context"
	"reflect"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/hostconfig"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
)

func builtInSource(t *testing.T) map[string]any {
	t.Helper()
	src, _, err := hostconfig.Resolver{}.BootstrapSource()
	if err != nil {
		t.Fatal(err)
	}
	return src
}

func TestApplicationSet(t *testing.T) {
	as := ApplicationSet("argocd", nil, builtInSource(t))
	b, err := yaml.Marshal(as)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Kind     string `json:"kind"`
		Metadata struct {
			Name, Namespace string
			Annotations     map[string]string
		} `json:"metadata"`
		Spec struct {
			Generators []struct {
				Clusters struct {
					Selector struct {
						MatchLabels map[string]string `json:"matchLabels"`
					} `json:"selector"`
				} `json:"clusters"`
			} `json:"generators"`
			Template struct {
				Metadata struct{ Name string } `json:"metadata"`
				Spec     struct {
					Destination struct{ Server, Namespace string }              `json:"destination"`
					Source      struct{ Chart, RepoURL, TargetRevision string } `json:"source"`
				} `json:"spec"`
			} `json:"template"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got.Kind != "ApplicationSet" || got.Metadata.Name != "argocd" || got.Metadata.Namespace != "argocd" || got.Metadata.Annotations[bootstrapAnnotation] == "" {
		t.Errorf("metadata %+v", got.Metadata)
	}
	if sel := got.Spec.Generators[0].Clusters.Selector.MatchLabels; len(sel) != 1 || sel["env"] != "vdev" {
		t.Errorf("selector %v, want env=vdev", sel)
	}
	tm := got.Spec.Template
	if tm.Metadata.Name != "{{ .name }}-argocd" || tm.Spec.Destination.Server != "{{ .server }}" || tm.Spec.Destination.Namespace != "argocd" || tm.Spec.Source.Chart != "argo-cd" || tm.Spec.Source.TargetRevision == "" {
		t.Errorf("template %+v", tm)
	}
	if sel := ApplicationSet("argocd", map[string]string{"team": "a"}, builtInSource(t))["spec"].(map[string]any)["generators"].([]any)[0].(map[string]any)["clusters"].(map[string]any)["selector"].(map[string]any)["matchLabels"].(map[string]any); sel["team"] != "a" || len(sel) != 1 {
		t.Errorf("selector with labels: %v", sel)
	}
}

// The host defaults' source is the template's, verbatim but for the
// release name a chart gets; the caller's map is not changed.
func TestApplicationSetSource(t *testing.T) {
	source := func(as map[string]any) map[string]any {
		return as["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)["source"].(map[string]any)
	}
	chart, err := hostconfig.ParseBootstrapSource("repoURL: http://charts.mirror.example/argo\nchart: argo-cd\ntargetRevision: 3.2.11\nhelm:\n  values: |\n    redis: {enabled: true}\n")
	if err != nil {
		t.Fatal(err)
	}
	before, _ := yaml.Marshal(chart)
	got := source(ApplicationSet("argocd", nil, chart))
	want := map[string]any{"repoURL": "http://charts.mirror.example/argo", "chart": "argo-cd", "targetRevision": "3.2.11",
		"helm": map[string]any{"releaseName": "argocd", "values": "redis: {enabled: true}\n"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("chart source %v, want %v", got, want)
	}
	if after, _ := yaml.Marshal(chart); string(after) != string(before) {
		t.Errorf("the host's source was changed: %s", after)
	}
	git, err := hostconfig.ParseBootstrapSource("{repoURL: https://git.example.com/platform.git, path: argocd/install, targetRevision: main, kustomize: {namePrefix: x-}}")
	if err != nil {
		t.Fatal(err)
	}
	got = source(ApplicationSet("argocd", nil, git))
	want = map[string]any{"repoURL": "https://git.example.com/platform.git", "path": "argocd/install", "targetRevision": "main", "kustomize": map[string]any{"namePrefix": "x-"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("git source %v, want %v", got, want)
	}
}

// Only what an ApplicationSet generated for the tenant's cluster goes: not
// the tenant's own Application, not another tenant's, not one that only
// carries the tenant's label.
func TestRemoveGenerated(t *testing.T) {
	const server = "https://vcluster.vcluster-demo"
	gen := func(name, label, dest string) *unstructured.Unstructured {
		u := testApp("x", map[string]any{tenant.LabelName: label}, nil, nil)
		u.SetName(name)
		yes := true
		u.SetOwnerReferences([]metav1.OwnerReference{{APIVersion: "argoproj.io/v1alpha1", Kind: "ApplicationSet", Name: ApplicationSetName, UID: "u1", Controller: &yes}})
		_ = unstructured.SetNestedField(u.Object, dest, "spec", "destination", "server")
		return u
	}
	own := testApp("demo", map[string]any{tenant.LabelName: "demo"}, nil, nil) // create --gitops: vcluster-demo
	_ = unstructured.SetNestedField(own.Object, server, "spec", "destination", "server")
	_, dyn := newInstaller(
		gen("demo-argocd", "demo", server+"/"),
		own,
		gen("other-argocd", "other", "https://vcluster.vcluster-other"),
		gen("labelled-argocd", "demo", "https://kubernetes.default.svc"), // the label alone
	)
	ctx := context.Background()
	removed, err := RemoveGenerated(ctx, dyn, "argocd", "demo", []string{server})
	if err != nil || len(removed) != 1 || removed[0] != "demo-argocd" {
		t.Fatalf("removed %v: %v", removed, err)
	}
	list, err := dyn.Resource(applicationGVR).Namespace("argocd").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, a := range list.Items {
		left = append(left, a.GetName())
	}
	if strings.Join(left, ",") != "labelled-argocd,other-argocd,vcluster-demo" {
		t.Errorf("left %v", left)
	}
	if removed, err := RemoveGenerated(ctx, dyn, "argocd", "demo", []string{server}); err != nil || len(removed) != 0 {
		t.Errorf("second run: %v %v", removed, err)
	}
}
