package vcluster

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"sigs.k8s.io/yaml"
)

func TestValuesPinToPoolAndAddSANs(t *testing.T) {
	v, err := Values("demo", "project-x", "v1.34.2")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := yaml.Marshal(v)
	want := `controlPlane:
  distro:
    k8s:
      image:
        tag: v1.34.2
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

func TestMergeValuesUserWins(t *testing.T) {
	base, err := Values("demo", "p", "")
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "v.yaml")
	os.WriteFile(f, []byte("controlPlane:\n  statefulSet:\n    persistence:\n      volumeClaim:\n        enabled: false\n    scheduling:\n      nodeSelector:\n        project: other\n"), 0o644)
	m, err := MergeValues(base, []string{f})
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
	if _, err := MergeValues(base, []string{filepath.Join(t.TempDir(), "missing.yaml")}); err == nil {
		t.Error("missing values file accepted")
	}
}
