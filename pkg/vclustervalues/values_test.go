package vclustervalues

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"sigs.k8s.io/yaml"
)

func TestValuesPinToPoolAndAddSANs(t *testing.T) {
	v, err := For("demo", "project-x", "v1.34.2", false)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := yaml.Marshal(v)
	want := `controlPlane:
  distro:
    k8s:
      image:
        tag: v1.34.2
      resources:
        limits:
          cpu: "1"
  proxy:
    extraSANs:
    - vcluster.vcluster-demo.svc
    - vcluster.vcluster-demo.svc.cluster.local
  statefulSet:
    labels:
      app.kubernetes.io/managed-by: kubectl-tenant
      tenant.kubectl-tenant.io/name: demo
      tenant.kubectl-tenant.io/workspace: project-x
    pods:
      labels:
        app.kubernetes.io/managed-by: kubectl-tenant
        tenant.kubectl-tenant.io/name: demo
        tenant.kubectl-tenant.io/workspace: project-x
    probes:
      startupProbe:
        failureThreshold: 1800
        periodSeconds: 1
    scheduling:
      nodeSelector:
        project: project-x
      tolerations:
      - effect: NoSchedule
        key: project
        operator: Equal
        value: project-x
sync:
  fromHost:
    nodes:
      enabled: true
      selector:
        labels:
          project: project-x
  toHost:
    pods:
      enforceTolerations:
      - project=project-x:NoSchedule
`
	if string(got) != want {
		t.Fatalf("values:\n%s\nwant:\n%s", got, want)
	}
}

func TestMergeFilesUserWins(t *testing.T) {
	base, err := For("demo", "p", "", false)
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "v.yaml")
	os.WriteFile(f, []byte("controlPlane:\n  statefulSet:\n    persistence:\n      volumeClaim:\n        enabled: false\n    scheduling:\n      nodeSelector:\n        project: other\n"), 0o644)
	m, err := MergeFiles(base, []string{f})
	if err != nil {
		t.Fatal(err)
	}
	sts := m["controlPlane"].(map[string]any)["statefulSet"].(map[string]any)
	if got := sts["scheduling"].(map[string]any)["nodeSelector"]; !reflect.DeepEqual(got, map[string]any{"project": "other"}) {
		t.Errorf("nodeSelector = %v, want the user's", got)
	}
	if _, ok := sts["scheduling"].(map[string]any)["tolerations"]; !ok {
		t.Error("deep merge lost the tolerations")
	}
	if got := sts["persistence"].(map[string]any)["volumeClaim"].(map[string]any)["enabled"]; got != false {
		t.Errorf("persistence.volumeClaim.enabled = %v, want false", got)
	}
	if _, err := MergeFiles(base, []string{filepath.Join(t.TempDir(), "missing.yaml")}); err == nil {
		t.Error("missing values file accepted")
	}
}

func TestMergeLeavesItsArgumentsAlone(t *testing.T) {
	dst := map[string]any{"a": map[string]any{"b": 1, "c": map[string]any{"d": 2}}, "l": []any{1}}
	src := map[string]any{"a": map[string]any{"c": map[string]any{"e": 3}}, "l": []any{2}, "n": map[string]any{"x": true}}
	got := Merge(dst, src)
	want := map[string]any{"a": map[string]any{"b": 1, "c": map[string]any{"d": 2, "e": 3}}, "l": []any{2}, "n": map[string]any{"x": true}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Merge = %v, want %v", got, want)
	}
	if !reflect.DeepEqual(dst, map[string]any{"a": map[string]any{"b": 1, "c": map[string]any{"d": 2}}, "l": []any{1}}) {
		t.Errorf("Merge modified dst: %v", dst)
	}
	got["n"].(map[string]any)["x"] = false
	if src["n"].(map[string]any)["x"] != true {
		t.Error("the result shares a map with src")
	}
	if m := Merge(nil, nil); m == nil || len(m) != 0 {
		t.Errorf("Merge(nil, nil) = %#v, want an empty map", m)
	}
}

func TestIsolationAddsPolicies(t *testing.T) {
	v, err := For("demo", "p", "", true)
	if err != nil {
		t.Fatal(err)
	}
	labels := map[string]any{
		"app.kubernetes.io/managed-by":       "kubectl-tenant",
		"tenant.kubectl-tenant.io/name":      "demo",
		"tenant.kubectl-tenant.io/workspace": "p",
	}
	want := map[string]any{}
	for _, k := range []string{"resourceQuota", "limitRange", "networkPolicy"} {
		want[k] = map[string]any{"enabled": true, "labels": labels}
	}
	if !reflect.DeepEqual(v["policies"], want) {
		t.Fatalf("policies = %v, want %v", v["policies"], want)
	}
}

// WithoutProbeTimings drops only the timings, keeps what else a user set
// on the probes, and leaves its argument alone.
func TestWithoutProbeTimingsKeepsTheRest(t *testing.T) {
	in, err := For("demo", "project-x", "", false)
	if err != nil {
		t.Fatal(err)
	}
	in = Merge(in, map[string]any{"controlPlane": map[string]any{"statefulSet": map[string]any{"probes": map[string]any{
		"livenessProbe": map[string]any{"enabled": false},
	}}}})
	before, _ := yaml.Marshal(in)
	out := WithoutProbeTimings(in)
	if after, _ := yaml.Marshal(in); string(after) != string(before) {
		t.Fatalf("WithoutProbeTimings changed its argument:\n%s", after)
	}
	probes := out["controlPlane"].(map[string]any)["statefulSet"].(map[string]any)["probes"]
	want := map[string]any{"livenessProbe": map[string]any{"enabled": false}}
	if !reflect.DeepEqual(probes, want) {
		t.Fatalf("probes after WithoutProbeTimings: %v, want %v", probes, want)
	}
	if _, ok := out["sync"]; !ok {
		t.Fatal("WithoutProbeTimings dropped more than the probes")
	}
	for v, want := range map[string]bool{"0.25.0": false, "v0.25.3": false, "0.26.0": true, "0.34.0": true, "": true, "~0.25": true, "0.26.0-rc.1": true} {
		if got := TakesProbeTimings(v); got != want {
			t.Errorf("TakesProbeTimings(%q) = %v, want %v", v, got, want)
		}
	}
}
