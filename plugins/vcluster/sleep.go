package vcluster

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
)

// The annotations `vcluster pause` and `vcluster resume` use (loft-sh/vcluster
// v0.34.0, pkg/constants/annotation.go and pkg/lifecycle), mirrored rather
// than imported: pkg/lifecycle drags controller-runtime and vCluster's CLI
// into the binary. Sharing them means `vcluster resume` wakes what
// `kubectl tenant sleep` put to sleep, and `kubectl tenant wake` what
// `vcluster pause` paused.
const (
	pausedAnnotation         = "loft.sh/paused"
	pausedReplicasAnnotation = "loft.sh/paused-replicas"
	pausedDateAnnotation     = "loft.sh/paused-date"
	pausedDateFormat         = "2006-01-02T15:04:05.000Z"
	// markerLabel is set by vCluster on every object it syncs to the host
	// (translate.MarkerLabel), with the vCluster's name.
	markerLabel = "vcluster.loft.sh/managed-by"
)

// workloadSelector selects the control plane's StatefulSets and Deployments:
// the vCluster itself and, with a deployed etcd or the legacy split
// distros, the parts `vcluster pause` scales too.
const workloadSelector = "release=" + tenant.ReleaseName + ",app in (vcluster,vcluster-api,vcluster-controller,vcluster-etcd)"

func (b *Backend) WorkloadSelector() string { return markerLabel + "=" + tenant.ReleaseName }

// workload is a StatefulSet or Deployment of the control plane.
type workload struct {
	kind, name  string
	replicas    *int32
	annotations map[string]string
	persistent  bool // has a volume claim template: state survives the pods
	patch       func(ctx context.Context, data []byte) error
}

func (b *Backend) workloads(ctx context.Context, ns string) ([]workload, error) {
	opts := metav1.ListOptions{LabelSelector: workloadSelector}
	stsc, depc := b.Kube.AppsV1().StatefulSets(ns), b.Kube.AppsV1().Deployments(ns)
	sts, err := stsc.List(ctx, opts)
	if err != nil {
		return nil, err
	}
	deps, err := depc.List(ctx, opts)
	if err != nil {
		return nil, err
	}
	var out []workload
	for _, s := range sts.Items {
		out = append(out, workload{kind: "StatefulSet", name: s.Name, replicas: s.Spec.Replicas, annotations: s.Annotations,
			persistent: len(s.Spec.VolumeClaimTemplates) > 0,
			patch: func(ctx context.Context, data []byte) error {
				_, err := stsc.Patch(ctx, s.Name, types.MergePatchType, data, metav1.PatchOptions{})
				return err
			}})
	}
	for _, d := range deps.Items {
		out = append(out, workload{kind: "Deployment", name: d.Name, replicas: d.Spec.Replicas, annotations: d.Annotations,
			patch: func(ctx context.Context, data []byte) error {
				_, err := depc.Patch(ctx, d.Name, types.MergePatchType, data, metav1.PatchOptions{})
				return err
			}})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no vCluster control plane (StatefulSet or Deployment with app=vcluster,release=%s) in namespace %s: is the tenant installed?", tenant.ReleaseName, ns)
	}
	return out, nil
}

func scalePatch(replicas int32, annotations map[string]any) []byte {
	b, _ := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": annotations}, "spec": map[string]any{"replicas": replicas}})
	return b
}

// Sleep scales every control-plane workload to zero, recording its replica
// count as `vcluster pause` does; paused workloads are left alone.
func (b *Backend) Sleep(ctx context.Context, ns string) (tenant.SleepResult, error) {
	var res tenant.SleepResult
	ws, err := b.workloads(ctx, ns)
	if err != nil {
		return res, err
	}
	persistent := false
	for _, w := range ws {
		persistent = persistent || w.persistent
		if w.annotations[pausedAnnotation] == "true" {
			continue
		}
		// A workload someone scaled to 0 by hand comes back with one
		// replica (vcluster pause reads the HA count from the config).
		replicas := int32(1)
		if w.replicas != nil && *w.replicas > 0 {
			replicas = *w.replicas
		}
		err := w.patch(ctx, scalePatch(0, map[string]any{
			pausedAnnotation:         "true",
			pausedReplicasAnnotation: strconv.Itoa(int(replicas)),
			pausedDateAnnotation:     time.Now().UTC().Format(pausedDateFormat),
		}))
		if err != nil {
			return res, fmt.Errorf("scale %s %s to 0: %w", w.kind, w.name, err)
		}
		res.Changed = true
	}
	if res.Changed && !persistent {
		res.Warning = "the control plane has no persistent volume (chart value controlPlane.statefulSet.persistence.volumeClaim.enabled): unless its backing store is external, the virtual cluster's state is lost while it sleeps"
	}
	return res, nil
}

// Wake restores the replica counts Sleep (or `vcluster pause`) recorded and
// removes the pause annotations.
func (b *Backend) Wake(ctx context.Context, ns string) (bool, error) {
	ws, err := b.workloads(ctx, ns)
	if err != nil {
		return false, err
	}
	changed := false
	for _, w := range ws {
		if w.annotations[pausedAnnotation] != "true" {
			continue
		}
		replicas := int32(1)
		if n, err := strconv.Atoi(w.annotations[pausedReplicasAnnotation]); err == nil && n > 0 {
			replicas = int32(n)
		}
		err := w.patch(ctx, scalePatch(replicas, map[string]any{
			pausedAnnotation: nil, pausedReplicasAnnotation: nil, pausedDateAnnotation: nil,
		}))
		if err != nil {
			return changed, fmt.Errorf("scale %s %s to %d: %w", w.kind, w.name, replicas, err)
		}
		changed = true
	}
	return changed, nil
}
