package e2e

import (
	"context"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
)

// TestBootstrapInstallsArgoCD: register --bootstrap's ApplicationSet, run
// by the real applicationset-controller, generates NAME-argocd from the
// host defaults' bootstrapSource (the playground's own Argo CD chart, since
// the playground is offline); the real application-controller syncs it into
// the tenant (Synced, Healthy: on the kwok pools the pods' running is
// simulated; TestBootstrapOnRealNode runs them); deregister removes it from
// the host at once, a new registration brings it back, delete removes it
// again.
func TestBootstrapInstallsArgoCD(t *testing.T) {
	argoCDMatrix(t, func(t *testing.T, w *world, suffix string) {
		name := "e2e-boot" + suffix
		w.createTenant(name, "project-x")
		t.Cleanup(func() {
			w.kubectl("delete", "applicationset", "-n", w.argoNS, "argocd", "--ignore-not-found")
		})
		w.mustRun("register", name, "--bootstrap", "--yes")
		app := w.waitApp(name+"-argocd", true)

		// The generated source is the host defaults' bootstrapSource.
		cm, err := w.clientset().CoreV1().ConfigMaps("kube-public").Get(context.Background(), "kubectl-tenant", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var want map[string]any
		if err := yaml.Unmarshal([]byte(cm.Data["bootstrapSource"]), &want); err != nil || want["repoURL"] == nil {
			t.Fatalf("host defaults' bootstrapSource %q: %v", cm.Data["bootstrapSource"], err)
		}
		for _, k := range []string{"repoURL", "chart", "path", "targetRevision"} {
			got, _, _ := unstructured.NestedString(app.Object, "spec", "source", k)
			if wk, _ := want[k].(string); got != wk {
				t.Errorf("generated source %s = %q, host default %q", k, got, wk)
			}
		}
		if dest, _, _ := unstructured.NestedString(app.Object, "spec", "destination", "namespace"); dest != "argocd" {
			t.Errorf("destination namespace %q", dest)
		}
		// Argo CD's workloads run in the tenant: its Deployments are Available
		// (Healthy says so) and their pods are synced to the host namespace.
		if out, err := w.kubectl("get", "pods", "-n", tenant.NamespaceFor(name), "-o", "name"); err != nil || !strings.Contains(out, "argocd-repo-server") || !strings.Contains(out, "argocd-application-controller") {
			t.Errorf("Argo CD pods of %s on the host: %v\n%s", name, err, out)
		}

		apps := w.dynamic().Resource(applicationGVR).Namespace(w.argoNS)
		gone := func(when string) {
			t.Helper()
			if _, err := apps.Get(context.Background(), name+"-argocd", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				t.Errorf("%s: Application %s-argocd still on the host (err=%v)", when, name, err)
			}
		}
		w.mustRun("deregister", name)
		gone("after deregister")
		w.mustRun("register", name, "--yes")
		w.waitApp(name+"-argocd", true)
		w.mustRun("delete", name, "--yes")
		gone("after delete")
		if s := w.clusterSecrets(name); len(s) != 0 {
			t.Errorf("cluster secrets after delete: %v", s)
		}
	})
}
