package gitops

import (
	"encoding/json"
	"reflect"
	"testing"

	"sigs.k8s.io/yaml"
)

// normalize round-trips through JSON so typed and parsed maps compare.
func normalize(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestTenantApplicationOfProjectIsTheRenderedOne(t *testing.T) {
	cfg := mustLoad(t, "full")
	files := mustRender(t, cfg)
	var rendered any
	if err := yaml.Unmarshal(files[ApplicationPath("payments")], &rendered); err != nil {
		t.Fatal(err)
	}
	app, fromConfig, err := TenantApplication(cfg, TenantRequest{Name: "payments"})
	if err != nil || !fromConfig {
		t.Fatalf("TenantApplication = %v, fromConfig %v", err, fromConfig)
	}
	if got := normalize(t, app); !reflect.DeepEqual(got, rendered) {
		t.Fatalf("Application differs from the rendered file:\n%v\nwant\n%v", got, rendered)
	}

	// User values ride on the chart source, above the repository's files.
	app, _, err = TenantApplication(cfg, TenantRequest{Name: "payments", Values: map[string]any{"x": 1}})
	if err != nil {
		t.Fatal(err)
	}
	helm := chartSource(app)["helm"].(obj)
	if helm["valuesObject"].(map[string]any)["x"] != 1 || len(helm["valueFiles"].([]string)) != 2 {
		t.Fatalf("helm %v", helm)
	}
}

func TestTenantApplicationFromFlags(t *testing.T) {
	for _, cfg := range []*Config{nil, mustLoad(t, "full")} {
		app, fromConfig, err := TenantApplication(cfg, TenantRequest{
			Name: "demo", Pool: "project-x", K8sVersion: "v1.34.2",
			Chart:  Chart{RepoURL: "http://127.0.0.1:8879"},
			Values: map[string]any{"controlPlane": map[string]any{"statefulSet": map[string]any{"persistence": map[string]any{"volumeClaim": map[string]any{"enabled": false}}}}},
		})
		if err != nil || fromConfig {
			t.Fatalf("TenantApplication = %v, fromConfig %v", err, fromConfig)
		}
		m := normalize(t, app).(map[string]any)
		meta := m["metadata"].(map[string]any)
		if meta["name"] != "vcluster-demo" || meta["labels"].(map[string]any)["tenant.kubectl-tenant.io/name"] != "demo" {
			t.Fatalf("metadata %v", meta)
		}
		spec := m["spec"].(map[string]any)
		srcs := spec["sources"].([]any)
		if len(srcs) != 1 {
			t.Fatalf("sources %v: want the chart only (no repository holds a flag-built tenant)", srcs)
		}
		src := srcs[0].(map[string]any)
		if src["repoURL"] != "http://127.0.0.1:8879" || src["chart"] != "vcluster" || src["targetRevision"] != "0.34.0" {
			t.Fatalf("chart source %v", src)
		}
		vals := src["helm"].(map[string]any)["valuesObject"].(map[string]any)
		sts := vals["controlPlane"].(map[string]any)["statefulSet"].(map[string]any)
		if sts["scheduling"].(map[string]any)["nodeSelector"].(map[string]any)["project"] != "project-x" {
			t.Errorf("values lack the pool's node selector: %v", sts)
		}
		if sts["persistence"] == nil {
			t.Errorf("user values not merged: %v", sts)
		}
		if vals["controlPlane"].(map[string]any)["distro"] == nil {
			t.Errorf("k8s version not set: %v", vals)
		}
		if spec["destination"].(map[string]any)["namespace"] != "vcluster-demo" {
			t.Errorf("destination %v", spec["destination"])
		}
	}
}

func TestTenantApplicationRejectsBadInput(t *testing.T) {
	for _, req := range []TenantRequest{
		{Name: "Bad_Name"},
		{Name: "demo", K8sVersion: "1.34"},
		{Name: "demo", Chart: Chart{RepoURL: "not a url"}},
	} {
		if _, _, err := TenantApplication(nil, req); err == nil {
			t.Errorf("TenantApplication(%+v) succeeded", req)
		}
	}
}
