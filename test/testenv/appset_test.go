package testenv_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kubectl-tenant/kubectl-tenant/test/testenv"
)

var (
	applicationGVR    = schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "applications"}
	applicationSetGVR = schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "applicationsets"}
)

// TestApplicationSetGeneratesApplication checks that each Argo CD of the
// playground runs a reconciling applicationset-controller: an ApplicationSet
// whose cluster generator selects env=vdev (as register --bootstrap's does)
// generates an Application for a cluster Secret with that label, and
// deleting the ApplicationSet deletes it (owner reference, garbage
// collector).
func TestApplicationSetGeneratesApplication(t *testing.T) {
	env := testenv.Start(t)
	cs, err := env.Clientset()
	if err != nil {
		t.Fatal(err)
	}
	dyn, err := env.Dynamic()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range env.ArgoCDs {
		t.Run(a.Version, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			ns := a.Namespace
			cluster := &corev1.Secret{
				ObjectMeta: metav1.ObjectMeta{Name: "cluster-appset-test", Namespace: ns, Labels: map[string]string{
					"argocd.argoproj.io/secret-type": "cluster", "env": "vdev"}},
				// The playground's own apiserver (the controllers' in-cluster
				// destination): the controller can then honour the generated
				// Application's resources finalizer when it is deleted.
				StringData: map[string]string{"name": "appset-test", "server": "https://kubernetes.default.svc", "config": "{}"},
			}
			if _, err := cs.CoreV1().Secrets(ns).Create(ctx, cluster, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			defer cs.CoreV1().Secrets(ns).Delete(context.Background(), cluster.Name, metav1.DeleteOptions{})
			set := &unstructured.Unstructured{Object: map[string]any{
				"apiVersion": "argoproj.io/v1alpha1", "kind": "ApplicationSet",
				"metadata": map[string]any{"name": "appset-test", "namespace": ns},
				"spec": map[string]any{
					"goTemplate": true,
					"generators": []any{map[string]any{"clusters": map[string]any{
						"selector": map[string]any{"matchLabels": map[string]any{"env": "vdev"}}}}},
					"template": map[string]any{
						"metadata": map[string]any{"name": "{{ .name }}-argocd"},
						"spec": map[string]any{
							"project":     "default",
							"source":      map[string]any{"repoURL": env.ChartRepoURL, "chart": "vcluster", "targetRevision": testenv.VClusterChartVersion},
							"destination": map[string]any{"server": "{{ .server }}", "namespace": "argocd"},
						},
					},
				},
			}}
			sets := dyn.Resource(applicationSetGVR).Namespace(ns)
			apps := dyn.Resource(applicationGVR).Namespace(ns)
			if _, err := sets.Create(ctx, set, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			var app *unstructured.Unstructured
			if err := pollUntil(ctx, func() error {
				app, err = apps.Get(ctx, "appset-test-argocd", metav1.GetOptions{})
				return err
			}); err != nil {
				t.Fatalf("Application appset-test-argocd not generated: %v", err)
			}
			t.Logf("Application generated %s after the ApplicationSet", time.Since(start).Round(10*time.Millisecond))
			if server, _, _ := unstructured.NestedString(app.Object, "spec", "destination", "server"); server != "https://kubernetes.default.svc" {
				t.Errorf("generated destination server %q, want the cluster Secret's", server)
			}
			if err := sets.Delete(ctx, "appset-test", metav1.DeleteOptions{}); err != nil {
				t.Fatal(err)
			}
			if err := pollUntil(ctx, func() error {
				_, err := apps.Get(ctx, "appset-test-argocd", metav1.GetOptions{})
				if apierrors.IsNotFound(err) {
					return nil
				}
				return fmt.Errorf("Application appset-test-argocd still there (%v)", err)
			}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// pollUntil calls f every 200 ms until it returns nil or ctx ends.
func pollUntil(ctx context.Context, f func() error) error {
	for {
		err := f()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(200 * time.Millisecond):
		}
	}
}
