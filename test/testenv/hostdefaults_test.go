package testenv

import (
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// TestPlaygroundValuesPinBuiltImages: the host defaults' values name the
// images real nodes have (VClusterImage, VClusterDistroImage at the built
// Kubernetes version), keep the chart's PVC on real nodes and drop it on
// kwok-only playgrounds.
func TestPlaygroundValuesPinBuiltImages(t *testing.T) {
	type values struct {
		ControlPlane struct {
			StatefulSet struct {
				Image       struct{ Repository string }
				Persistence struct {
					VolumeClaim struct{ Enabled *bool } `json:"volumeClaim"`
				}
			} `json:"statefulSet"`
			Distro struct {
				K8s struct {
					Image struct{ Tag string }
				} `json:"k8s"`
			}
		} `json:"controlPlane"`
	}
	for _, real := range []bool{true, false} {
		s, err := PlaygroundValues(real)
		if err != nil {
			t.Fatal(err)
		}
		var v values
		if err := yaml.UnmarshalStrict([]byte(s), &v); err != nil {
			t.Fatalf("realNodes=%v: %v\n%s", real, err, s)
		}
		cp := v.ControlPlane
		if want := "ghcr.io/" + cp.StatefulSet.Image.Repository + ":" + VClusterChartVersion; want != VClusterImage {
			t.Errorf("realNodes=%v: chart image %s, the playground builds %s", real, want, VClusterImage)
		}
		if cp.Distro.K8s.Image.Tag != KubeVersion || !strings.HasSuffix(VClusterDistroImage, ":"+KubeVersion) {
			t.Errorf("realNodes=%v: distro tag %q, image %s; the playground builds Kubernetes %s", real, cp.Distro.K8s.Image.Tag, VClusterDistroImage, KubeVersion)
		}
		pvc := cp.StatefulSet.Persistence.VolumeClaim.Enabled
		if real && pvc != nil {
			t.Errorf("real nodes: values set persistence.volumeClaim.enabled=%v; the chart's default PVC should stay", *pvc)
		}
		if !real && (pvc == nil || *pvc) {
			t.Errorf("kwok: values do not disable the PVC:\n%s", s)
		}
	}
}
