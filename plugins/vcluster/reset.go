package vcluster

import (
	"context"
	"fmt"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
)

var _ tenant.Resetter = (*Backend)(nil)

// certsSecret is where vCluster keeps its PKI (CA, client CA, the
// service-account signing key, ...): <name>-certs. It regenerates it at
// start when it is missing, from what is in /data/pki on the control
// plane's volume if anything is (kubeadm keeps existing files), so the
// volume goes too.
const certsSecret = tenant.ReleaseName + "-certs"

// Reset makes a stopped control plane start as a new one: its volumes
// (the virtual cluster's state and /data/pki), Secret vcluster-certs (CA
// and service-account key) and Secret vc-vcluster (the admin client
// certificate) are deleted, and Reset waits until the volume claims are
// gone, so the next start generates a new CA, admin certificate and
// service-account key and an empty state: every credential and object made
// before is gone. Its pods must be gone (the tenant asleep).
func (b *Backend) Reset(ctx context.Context, ns string) error {
	pods, err := b.Kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: b.PodSelector()})
	if err != nil {
		return err
	}
	if len(pods.Items) > 0 {
		return fmt.Errorf("reset of the control plane in %s: %d pod(s) still running", ns, len(pods.Items))
	}
	ws, err := b.Kube.AppsV1().StatefulSets(ns).List(ctx, metav1.ListOptions{LabelSelector: workloadSelector})
	if err != nil {
		return err
	}
	var prefixes []string
	for _, s := range ws.Items {
		for _, t := range s.Spec.VolumeClaimTemplates {
			prefixes = append(prefixes, t.Name+"-"+s.Name+"-")
		}
	}
	pvcs := b.Kube.CoreV1().PersistentVolumeClaims(ns)
	mine := func() ([]string, error) {
		if len(prefixes) == 0 {
			return nil, nil
		}
		l, err := pvcs.List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, err
		}
		var out []string
		for _, c := range l.Items {
			for _, p := range prefixes {
				if strings.HasPrefix(c.Name, p) {
					out = append(out, c.Name)
					break
				}
			}
		}
		return out, nil
	}
	names, err := mine()
	if err != nil {
		return err
	}
	for _, n := range names {
		if err := pvcs.Delete(ctx, n, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete PersistentVolumeClaim %s/%s: %w", ns, n, err)
		}
	}
	for _, s := range []string{certsSecret, "vc-" + tenant.ReleaseName} {
		if err := b.Kube.CoreV1().Secrets(ns).Delete(ctx, s, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete Secret %s/%s: %w", ns, s, err)
		}
	}
	// A claim still terminating would be used by the next pod as it is.
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		left, err := mine()
		if err != nil {
			return err
		}
		if len(left) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for PersistentVolumeClaims %s of %s to be gone: %w", strings.Join(left, ", "), ns, ctx.Err())
		case <-t.C:
		}
	}
}
