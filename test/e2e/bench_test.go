package e2e

import (
	"context"
	"fmt"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-tenant/kubectl-tenant/internal/cmdutil"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
)

// engine builds the same engine the CLI uses, on the world's kubeconfig.
func (w *world) engine() *tenant.Engine {
	w.t.Helper()
	f := cmdutil.NewFactory(genericiooptions.NewTestIOStreamsDiscard())
	*f.ConfigFlags.KubeConfig = w.kubeconfig
	e, err := f.Engine()
	if err != nil {
		w.t.Fatal(err)
	}
	e.Report = nil
	e.Sessions.Dir = w.stateDir + "/sessions"
	return e
}

// BenchmarkList1000 lists 1,000 tenants (labelled namespaces plus Helm
// release Secrets, paused control-plane StatefulSets) from the real
// apiserver: four list calls, made concurrently, whatever the count.
func BenchmarkList1000(b *testing.B) {
	w := newWorldB(b, nil)
	cs, err := w.env.Clientset()
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	const n = 1000
	for i := range n {
		name := fmt.Sprintf("bench-%04d", i)
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: tenant.NamespaceFor(name),
			Labels: map[string]string{tenant.LabelName: name, tenant.LabelPool: "project-x"}}}
		if _, err := cs.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			b.Fatal(err)
		}
		sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "sh.helm.release.v1.vcluster.v1", Namespace: ns.Name,
			Labels: map[string]string{"owner": "helm", "name": "vcluster", "status": "deployed", "version": "1"}},
			Data: map[string][]byte{"release": make([]byte, 64<<10)}} // release payloads are tens of KiB
		if _, err := cs.CoreV1().Secrets(ns.Name).Create(ctx, sec, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			b.Fatal(err)
		}
		// The control plane list reads: a paused vCluster StatefulSet (0
		// replicas, so no pods), with the chart's labels.
		sts := &appsv1.StatefulSet{
			ObjectMeta: metav1.ObjectMeta{Name: "vcluster", Namespace: ns.Name,
				Labels:      map[string]string{"app": "vcluster", "release": "vcluster"},
				Annotations: map[string]string{"loft.sh/paused": "true", "loft.sh/paused-replicas": "1"}},
			Spec: appsv1.StatefulSetSpec{
				Replicas: ptrTo(int32(0)),
				Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "vcluster"}},
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "vcluster"}},
					Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "syncer", Image: "ghcr.io/loft-sh/vcluster-pro:0.34.0"}}},
				},
			},
		}
		if _, err := cs.AppsV1().StatefulSets(ns.Name).Create(ctx, sts, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			b.Fatal(err)
		}
	}
	b.Cleanup(func() {
		for i := range n {
			_ = cs.CoreV1().Namespaces().Delete(ctx, tenant.NamespaceFor(fmt.Sprintf("bench-%04d", i)), metav1.DeleteOptions{})
		}
	})
	e := w.engine()
	// without-workloads hides the backend's control-plane list: status
	// from the namespaces and releases only, as before the workload read.
	for _, c := range []struct {
		name    string
		backend tenant.Backend
	}{{"with-workloads", e.Backend}, {"without-workloads", struct{ tenant.Backend }{e.Backend}}} {
		b.Run(c.name, func(b *testing.B) {
			e := *e
			e.Backend = c.backend
			for b.Loop() {
				ts, err := e.List(ctx)
				if err != nil {
					b.Fatal(err)
				}
				if len(ts) < n {
					b.Fatalf("listed %d tenants, want >= %d", len(ts), n)
				}
			}
		})
	}
}

// BenchmarkConnect measures connect: read the credentials, open a
// port-forward to the real vCluster, write the kubeconfig context.
func BenchmarkConnect(b *testing.B) {
	w := newWorldB(b, nil)
	r := w.run(context.Background(), "create", "bench-connect", "--pool", "project-x", "--connect=false")
	if r.code != 0 {
		b.Fatalf("create: %s", r.stderr)
	}
	b.Cleanup(func() { w.run(context.Background(), "delete", "bench-connect", "--yes") })
	e := w.engine()
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		c, err := e.Connect(ctx, tenant.ConnectOptions{Name: "bench-connect", Activate: true})
		if err != nil {
			b.Fatal(err)
		}
		c.Close()
	}
}
