package vcrunner

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// A pod of an older chart runs that version's vcluster (by its syncer
// image's tag); any other runs the playground's own.
func TestVClusterBinForImageTag(t *testing.T) {
	bins := map[string]string{"vcluster": "/c/vcluster", "vcluster-0.25.0": "/c/old/vcluster-0.25.0"}
	pod := func(image string) *corev1.Pod {
		return &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "syncer", Image: image}}}}
	}
	for image, want := range map[string]string{
		"ghcr.io/loft-sh/vcluster-oss:0.25.0": "/c/old/vcluster-0.25.0",
		"ghcr.io/loft-sh/vcluster-pro:0.34.0": "/c/vcluster",
		"ghcr.io/loft-sh/vcluster-oss:0.99.0": "/c/vcluster",
	} {
		if got := vclusterBinFor(bins, pod(image)); got != want {
			t.Errorf("%s: %s, want %s", image, got, want)
		}
	}
}
