package tenant

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestStatusFromControlPlane(t *testing.T) {
	const nsName = "vcluster-a"
	ns := func(ann map[string]string) *corev1.Namespace {
		return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: nsName, Annotations: ann}}
	}
	deployed := Release{Status: "deployed", Version: 1}
	cp := func(c ControlPlane) map[string]ControlPlane { return map[string]ControlPlane{nsName: c} }
	for _, c := range []struct {
		name   string
		ns     *corev1.Namespace
		rel    Release
		hasRel bool
		cps    map[string]ControlPlane
		want   Status
		reason string
	}{
		{"ready", ns(nil), deployed, true, cp(ControlPlane{Replicas: 1, Ready: 1}), StatusReady, ""},
		// Paused by `vcluster pause`: the namespace knows nothing of it.
		{"paused by vcluster", ns(map[string]string{AnnotationReadyAt: "x"}), deployed, true, cp(ControlPlane{Paused: true}), StatusSleeping, ""},
		// Resumed by `vcluster resume`: the stale sleeping mark is ignored.
		{"resumed by vcluster", ns(map[string]string{AnnotationSleepingSince: "x"}), deployed, true, cp(ControlPlane{Replicas: 1, Ready: 1}), StatusReady, ""},
		{"waking", ns(nil), deployed, true, cp(ControlPlane{Replicas: 1}), StatusPending, "control plane 0/1 ready"},
		{"scaled by hand", ns(nil), deployed, true, cp(ControlPlane{}), StatusStopped, "control plane scaled to 0 without a pause"},
		{"release failed", ns(map[string]string{AnnotationInstallFailed: "values don't meet the chart's schema"}), Release{Status: "failed"}, true, nil, StatusFailed, "values don't meet the chart's schema"},
		{"failed before a release", ns(map[string]string{AnnotationInstallFailed: "boom"}), Release{}, false, map[string]ControlPlane{}, StatusFailed, "boom"},
		{"installing", ns(nil), Release{}, false, map[string]ControlPlane{}, StatusInstalling, ""},
		{"no workload yet", ns(nil), deployed, true, map[string]ControlPlane{}, StatusPending, "no control-plane workload yet"},
		// A backend without workload reads: the namespace's records.
		{"fallback ready", ns(map[string]string{AnnotationReadyAt: "x"}), deployed, true, nil, StatusReady, ""},
		{"fallback sleeping", ns(map[string]string{AnnotationSleepingSince: "x"}), deployed, true, nil, StatusSleeping, ""},
	} {
		got, reason := status(c.ns, c.rel, c.hasRel, c.cps)
		if got != c.want || reason != c.reason {
			t.Errorf("%s: %s (%q), want %s (%q)", c.name, got, reason, c.want, c.reason)
		}
	}
}
