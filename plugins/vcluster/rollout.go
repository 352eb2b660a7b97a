package vcluster

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
)

// rolloutStatus is what `kubectl rollout status` says of a workload: msg,
// whether the rollout is done, or why it cannot finish.
type rolloutStatus struct {
	msg  string
	done bool
	err  error
}

// deploymentStatus and statefulSetStatus are kubectl's rollout status rules
// (k8s.io/kubectl/pkg/polymorphichelpers, rollout_status.go, v0.35), for
// the two kinds the chart deploys, on typed objects. Importing that package
// for them links kubectl's describers and most of its utilities into the
// binary (about 0.4 MB stripped); TestRolloutStatusIsKubectls checks these
// give kubectl's answers.
func deploymentStatus(d *appsv1.Deployment) rolloutStatus {
	if d.Generation > d.Status.ObservedGeneration {
		return rolloutStatus{msg: "Waiting for deployment spec update to be observed...\n"}
	}
	for _, c := range d.Status.Conditions {
		if c.Type == appsv1.DeploymentProgressing && c.Reason == "ProgressDeadlineExceeded" {
			return rolloutStatus{err: fmt.Errorf("deployment %q exceeded its progress deadline", d.Name)}
		}
	}
	st := d.Status
	switch {
	case d.Spec.Replicas != nil && st.UpdatedReplicas < *d.Spec.Replicas:
		return rolloutStatus{msg: fmt.Sprintf("Waiting for deployment %q rollout to finish: %d out of %d new replicas have been updated...\n", d.Name, st.UpdatedReplicas, *d.Spec.Replicas)}
	case st.Replicas > st.UpdatedReplicas:
		return rolloutStatus{msg: fmt.Sprintf("Waiting for deployment %q rollout to finish: %d old replicas are pending termination...\n", d.Name, st.Replicas-st.UpdatedReplicas)}
	case st.AvailableReplicas < st.UpdatedReplicas:
		return rolloutStatus{msg: fmt.Sprintf("Waiting for deployment %q rollout to finish: %d of %d updated replicas are available...\n", d.Name, st.AvailableReplicas, st.UpdatedReplicas)}
	}
	return rolloutStatus{msg: fmt.Sprintf("deployment %q successfully rolled out\n", d.Name), done: true}
}

func statefulSetStatus(s *appsv1.StatefulSet) rolloutStatus {
	if s.Spec.UpdateStrategy.Type != appsv1.RollingUpdateStatefulSetStrategyType {
		return rolloutStatus{done: true, err: fmt.Errorf("rollout status is only available for %s strategy type", appsv1.RollingUpdateStatefulSetStrategyType)}
	}
	st := s.Status
	if st.ObservedGeneration == 0 || s.Generation > st.ObservedGeneration {
		return rolloutStatus{msg: "Waiting for statefulset spec update to be observed...\n"}
	}
	if s.Spec.Replicas != nil && st.ReadyReplicas < *s.Spec.Replicas {
		return rolloutStatus{msg: fmt.Sprintf("Waiting for %d pods to be ready...\n", *s.Spec.Replicas-st.ReadyReplicas)}
	}
	if ru := s.Spec.UpdateStrategy.RollingUpdate; ru != nil {
		if s.Spec.Replicas != nil && ru.Partition != nil && st.UpdatedReplicas < *s.Spec.Replicas-*ru.Partition {
			return rolloutStatus{msg: fmt.Sprintf("Waiting for partitioned roll out to finish: %d out of %d new pods have been updated...\n", st.UpdatedReplicas, *s.Spec.Replicas-*ru.Partition)}
		}
		return rolloutStatus{msg: fmt.Sprintf("partitioned roll out complete: %d new pods have been updated...\n", st.UpdatedReplicas), done: true}
	}
	if st.UpdateRevision != st.CurrentRevision {
		return rolloutStatus{msg: fmt.Sprintf("waiting for statefulset rolling update to complete %d pods at revision %s...\n", st.UpdatedReplicas, st.UpdateRevision)}
	}
	return rolloutStatus{msg: fmt.Sprintf("statefulset rolling update complete %d pods at revision %s...\n", st.CurrentReplicas, st.CurrentRevision), done: true}
}
