package vcluster

import (
	"fmt"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/kubectl/pkg/polymorphichelpers"
)

// kubectlSays runs kubectl's own StatusViewer (linked into this test only).
func kubectlSays(t *testing.T, v polymorphichelpers.StatusViewer, obj any) rolloutStatus {
	t.Helper()
	u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		t.Fatal(err)
	}
	msg, done, err := v.Status(&unstructured.Unstructured{Object: u}, 0)
	return rolloutStatus{msg: msg, done: done, err: err}
}

func same(a, b rolloutStatus) bool {
	return a.msg == b.msg && a.done == b.done && fmt.Sprint(a.err) == fmt.Sprint(b.err)
}

func ptr[T any](v T) *T { return &v }

// TestRolloutStatusIsKubectls compares the ported rules with kubectl's over
// a grid of generations, replica counts, conditions, strategies,
// partitions and revisions.
func TestRolloutStatusIsKubectls(t *testing.T) {
	counts := []int32{0, 1, 2}
	n := 0
	for _, spec := range []*int32{nil, ptr[int32](2)} {
		for _, gen := range [][2]int64{{1, 1}, {2, 1}, {1, 0}} {
			for _, timedOut := range []bool{false, true} {
				for _, upd := range counts {
					for _, repl := range counts {
						for _, avail := range counts {
							d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "vcluster", Generation: gen[0]}}
							d.Spec.Replicas = spec
							d.Status = appsv1.DeploymentStatus{ObservedGeneration: gen[1], UpdatedReplicas: upd, Replicas: repl, AvailableReplicas: avail}
							if timedOut {
								d.Status.Conditions = []appsv1.DeploymentCondition{{Type: appsv1.DeploymentProgressing, Reason: "ProgressDeadlineExceeded"}}
							}
							got, want := deploymentStatus(d), kubectlSays(t, &polymorphichelpers.DeploymentStatusViewer{}, d)
							if !same(got, want) {
								t.Errorf("deployment %+v: got %+v, kubectl %+v", d.Status, got, want)
							}
							n++
						}
					}
				}
			}
		}
	}
	for _, strategy := range []appsv1.StatefulSetUpdateStrategyType{appsv1.RollingUpdateStatefulSetStrategyType, appsv1.OnDeleteStatefulSetStrategyType} {
		for _, ru := range []*appsv1.RollingUpdateStatefulSetStrategy{nil, {}, {Partition: ptr[int32](1)}} {
			for _, spec := range []*int32{nil, ptr[int32](2)} {
				for _, gen := range [][2]int64{{1, 1}, {2, 1}, {1, 0}} {
					for _, ready := range counts {
						for _, upd := range counts {
							for _, revs := range [][2]string{{"a", "a"}, {"a", "b"}} {
								s := &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: "vcluster", Generation: gen[0]}}
								s.Spec.Replicas = spec
								s.Spec.UpdateStrategy = appsv1.StatefulSetUpdateStrategy{Type: strategy, RollingUpdate: ru}
								s.Status = appsv1.StatefulSetStatus{ObservedGeneration: gen[1], ReadyReplicas: ready, UpdatedReplicas: upd, CurrentReplicas: 1,
									CurrentRevision: revs[0], UpdateRevision: revs[1]}
								got, want := statefulSetStatus(s), kubectlSays(t, &polymorphichelpers.StatefulSetStatusViewer{}, s)
								if !same(got, want) {
									t.Errorf("statefulset %+v %+v: got %+v, kubectl %+v", s.Spec.UpdateStrategy, s.Status, got, want)
								}
								n++
							}
						}
					}
				}
			}
		}
	}
	t.Logf("%d cases", n)
}
