package vcluster

import (
	"context"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

func sts(replicas int32, persistent bool) *appsv1.StatefulSet {
	s := &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: "vcluster-a", Name: "vcluster", Labels: map[string]string{"app": "vcluster", "release": "vcluster"}},
		Spec:       appsv1.StatefulSetSpec{Replicas: &replicas},
	}
	if persistent {
		s.Spec.VolumeClaimTemplates = []corev1.PersistentVolumeClaim{{ObjectMeta: metav1.ObjectMeta{Name: "data"}}}
	}
	return s
}

// TestSleepWakeVClusterAnnotations checks the pause state is the one
// `vcluster pause` writes and `vcluster resume` reads, and that both
// directions are idempotent.
func TestSleepWakeVClusterAnnotations(t *testing.T) {
	cs := fake.NewSimpleClientset(sts(3, true))
	b := &Backend{Kube: cs}
	ctx := context.Background()
	get := func() *appsv1.StatefulSet {
		s, err := cs.AppsV1().StatefulSets("vcluster-a").Get(ctx, "vcluster", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	res, err := b.Sleep(ctx, "vcluster-a")
	if err != nil || !res.Changed || res.Warning != "" {
		t.Fatalf("Sleep = %+v, %v", res, err)
	}
	s := get()
	if *s.Spec.Replicas != 0 || s.Annotations["loft.sh/paused"] != "true" || s.Annotations["loft.sh/paused-replicas"] != "3" || s.Annotations["loft.sh/paused-date"] == "" {
		t.Fatalf("after Sleep: replicas %d, annotations %v", *s.Spec.Replicas, s.Annotations)
	}
	if res, err := b.Sleep(ctx, "vcluster-a"); err != nil || res.Changed {
		t.Fatalf("second Sleep = %+v, %v", res, err)
	}
	if get().Annotations["loft.sh/paused-replicas"] != "3" {
		t.Fatal("second Sleep overwrote the recorded replicas")
	}
	if changed, err := b.Wake(ctx, "vcluster-a"); err != nil || !changed {
		t.Fatalf("Wake = %v, %v", changed, err)
	}
	s = get()
	if *s.Spec.Replicas != 3 || len(s.Annotations) != 0 {
		t.Fatalf("after Wake: replicas %d, annotations %v", *s.Spec.Replicas, s.Annotations)
	}
	if changed, err := b.Wake(ctx, "vcluster-a"); err != nil || changed {
		t.Fatalf("second Wake = %v, %v", changed, err)
	}
}

func TestSleepWarnsWithoutVolumeAndFailsWithoutControlPlane(t *testing.T) {
	b := &Backend{Kube: fake.NewSimpleClientset(sts(1, false))}
	if res, err := b.Sleep(context.Background(), "vcluster-a"); err != nil || !strings.Contains(res.Warning, "no persistent volume") {
		t.Fatalf("Sleep without a volume = %+v, %v", res, err)
	}
	b = &Backend{Kube: fake.NewSimpleClientset()}
	if _, err := b.Sleep(context.Background(), "vcluster-a"); err == nil || !strings.Contains(err.Error(), "no vCluster control plane") {
		t.Fatalf("Sleep without a control plane = %v", err)
	}
}
