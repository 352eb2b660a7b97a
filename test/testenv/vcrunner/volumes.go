package vcrunner

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The playground has no storage. So that the chart works with its default
// persistence (a StatefulSet with a volumeClaimTemplate "data"), the runner
// acts as a tiny provisioner for the chart's claims (labels app=vcluster,
// release=...): it creates a PersistentVolume pre-bound to each pending claim
// and backs it by a directory under <dir>/vcluster-volumes/<pv>, which the
// vCluster then gets as /data (and its etcd's data) across pod restarts,
// like a real volume. A Released volume is deleted with its directory.

const (
	managedByLabel = "app.kubernetes.io/managed-by"
	managedBy      = "playground-vcluster-runner"
)

// selectedNodeAnnotation is where the scheduler records the node of a
// WaitForFirstConsumer claim's pod.
const selectedNodeAnnotation = "volume.kubernetes.io/selected-node"

func volumesDir(dir string) string { return filepath.Join(dir, "vcluster-volumes") }

func pvName(pvc *corev1.PersistentVolumeClaim) string { return "vcluster-runner-" + string(pvc.UID) }

// reconcileClaim gives a pending chart claim a PersistentVolume.
func (r *runner) reconcileClaim(ctx context.Context, ns, name string) error {
	pvc, err := r.claims.PersistentVolumeClaims(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if pvc.Spec.VolumeName != "" || pvc.DeletionTimestamp != nil {
		return nil
	}
	if len(r.env.RealNodes) > 0 {
		// Where real nodes exist the default StorageClass binds when a pod
		// is scheduled (WaitForFirstConsumer): a claim for a real node's
		// pod is the real provisioner's; this runner serves kwok nodes'
		// only, once the scheduler has picked one.
		sel := pvc.Annotations[selectedNodeAnnotation]
		if sel == "" || r.env.realNode(sel) {
			return nil
		}
	}
	size := pvc.Spec.Resources.Requests[corev1.ResourceStorage]
	if size.IsZero() {
		size = resource.MustParse("1Gi")
	}
	modes := pvc.Spec.AccessModes
	if len(modes) == 0 {
		modes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}
	}
	path := filepath.Join(volumesDir(r.env.Dir), pvName(pvc))
	if err := os.MkdirAll(path, 0o755); err != nil {
		return err
	}
	hostPathType := corev1.HostPathDirectoryOrCreate
	pv := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{
			Name:   pvName(pvc),
			Labels: map[string]string{managedByLabel: managedBy},
		},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: size},
			AccessModes:                   modes,
			PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
			VolumeMode:                    pvc.Spec.VolumeMode,
			PersistentVolumeSource: corev1.PersistentVolumeSource{
				HostPath: &corev1.HostPathVolumeSource{Path: path, Type: &hostPathType},
			},
			ClaimRef: &corev1.ObjectReference{
				APIVersion: "v1", Kind: "PersistentVolumeClaim",
				Namespace: pvc.Namespace, Name: pvc.Name, UID: pvc.UID,
			},
		},
	}
	if pvc.Spec.StorageClassName != nil {
		pv.Spec.StorageClassName = *pvc.Spec.StorageClassName
	}
	_, err = r.client.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{})
	if err == nil {
		logf("%s/%s: created PersistentVolume %s (%s)", ns, name, pv.Name, path)
	}
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	return err
}

// reconcileVolume deletes a volume of ours once its claim is gone.
func (r *runner) reconcileVolume(ctx context.Context, name string) error {
	pv, err := r.volumes.Get(name)
	if apierrors.IsNotFound(err) {
		_ = os.RemoveAll(filepath.Join(volumesDir(r.env.Dir), name))
		return nil
	}
	if err != nil {
		return err
	}
	if pv.Labels[managedByLabel] != managedBy {
		return nil
	}
	gone := pv.Status.Phase == corev1.VolumeReleased || pv.Status.Phase == corev1.VolumeFailed
	if !gone && pv.Spec.ClaimRef != nil {
		c, err := r.client.CoreV1().PersistentVolumeClaims(pv.Spec.ClaimRef.Namespace).Get(ctx, pv.Spec.ClaimRef.Name, metav1.GetOptions{})
		gone = apierrors.IsNotFound(err) || err == nil && c.UID != pv.Spec.ClaimRef.UID
	}
	if !gone {
		return nil
	}
	if err := r.client.CoreV1().PersistentVolumes().Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete PersistentVolume %s: %w", name, err)
	}
	logf("deleted PersistentVolume %s (its claim is gone)", name)
	return os.RemoveAll(filepath.Join(volumesDir(r.env.Dir), name))
}

// dataVolume returns the directory of the host-path volume behind pod's
// "data" volume, or "" if the pod has none (persistence disabled: the data
// then lives and dies with the pod, like an emptyDir).
func (r *runner) dataVolume(pod *corev1.Pod) (string, error) {
	for _, v := range pod.Spec.Volumes {
		if v.Name != "data" || v.PersistentVolumeClaim == nil {
			continue
		}
		pvc, err := r.claims.PersistentVolumeClaims(pod.Namespace).Get(v.PersistentVolumeClaim.ClaimName)
		if err != nil {
			return "", fmt.Errorf("claim %s of pod %s: %w", v.PersistentVolumeClaim.ClaimName, pod.Name, err)
		}
		if pvc.Spec.VolumeName == "" {
			return "", fmt.Errorf("claim %s is not bound yet", pvc.Name)
		}
		pv, err := r.volumes.Get(pvc.Spec.VolumeName)
		if err != nil {
			return "", fmt.Errorf("volume %s: %w", pvc.Spec.VolumeName, err)
		}
		// Ours, or (with real nodes) kube-controller-manager's host-path
		// provisioner's, which may bind a kwok node's claim first: both
		// are directories on this host.
		if pv.Spec.HostPath == nil {
			return "", fmt.Errorf("volume %s of claim %s is not a host directory", pv.Name, pvc.Name)
		}
		return pv.Spec.HostPath.Path, nil
	}
	return "", nil
}
