package vcluster

import (
	"context"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

// Reset removes what a new control plane must not inherit: the volume
// claims of the StatefulSet's templates, the PKI Secret and the admin
// kubeconfig Secret; it leaves other claims and Secrets, and refuses while
// a control-plane pod runs.
func TestResetDropsStateAndCredentials(t *testing.T) {
	ns := "vcluster-spare-1"
	meta := func(name string) metav1.ObjectMeta { return metav1.ObjectMeta{Name: name, Namespace: ns} }
	sts := &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: "vcluster", Namespace: ns, Labels: map[string]string{"app": "vcluster", "release": "vcluster"}},
		Spec: appsv1.StatefulSetSpec{VolumeClaimTemplates: []corev1.PersistentVolumeClaim{{ObjectMeta: metav1.ObjectMeta{Name: "data"}}}}}
	cs := fake.NewClientset(sts,
		&corev1.PersistentVolumeClaim{ObjectMeta: meta("data-vcluster-0")},
		&corev1.PersistentVolumeClaim{ObjectMeta: meta("someone-elses")},
		&corev1.Secret{ObjectMeta: meta("vcluster-certs")}, &corev1.Secret{ObjectMeta: meta("vc-vcluster")},
		&corev1.Secret{ObjectMeta: meta("vc-config-vcluster")})
	b := &Backend{Kube: cs}
	ctx := context.Background()

	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "vcluster-0", Namespace: ns, Labels: map[string]string{"app": "vcluster", "release": "vcluster"}}}
	if _, err := cs.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := b.Reset(ctx, ns); err == nil || !strings.Contains(err.Error(), "still running") {
		t.Fatalf("reset of a running control plane: %v", err)
	}
	_ = cs.CoreV1().Pods(ns).Delete(ctx, pod.Name, metav1.DeleteOptions{})
	if err := b.Reset(ctx, ns); err != nil {
		t.Fatal(err)
	}
	for _, gone := range []error{
		get(cs.CoreV1().PersistentVolumeClaims(ns).Get(ctx, "data-vcluster-0", metav1.GetOptions{})),
		get(cs.CoreV1().Secrets(ns).Get(ctx, "vcluster-certs", metav1.GetOptions{})),
		get(cs.CoreV1().Secrets(ns).Get(ctx, "vc-vcluster", metav1.GetOptions{})),
	} {
		if !apierrors.IsNotFound(gone) {
			t.Errorf("left after reset: %v", gone)
		}
	}
	for _, kept := range []error{
		get(cs.CoreV1().PersistentVolumeClaims(ns).Get(ctx, "someone-elses", metav1.GetOptions{})),
		get(cs.CoreV1().Secrets(ns).Get(ctx, "vc-config-vcluster", metav1.GetOptions{})),
	} {
		if kept != nil {
			t.Errorf("reset removed what it does not own: %v", kept)
		}
	}
}

func get[T any](_ T, err error) error { return err }
