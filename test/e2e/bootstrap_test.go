package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
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
// the tenant (Synced; its pods Running on the kwok pools, where their
// running is simulated: TestBootstrapOnRealNode runs them and waits for
// Healthy); deregister removes it from the host at once, a new
// registration brings it back, delete removes it again.
//
// Healthy is not awaited here: on kwok the pods turn Ready within a second
// of the sync, while Argo CD restarts its watches for the CRDs the same
// sync applied, and twice (v3 and v2.14) its cache kept the StatefulSet at
// 0 ready replicas for minutes after the tenant's StatefulSet was ready.
func TestBootstrapInstallsArgoCD(t *testing.T) {
	argoCDMatrix(t, func(t *testing.T, w *world, suffix string) {
		name := "e2e-boot" + suffix
		w.createTenant(name, "project-x")
		t.Cleanup(func() {
			w.kubectl("delete", "applicationset", "-n", w.argoNS, "argocd", "--ignore-not-found")
		})
		w.mustRun("register", name, "--bootstrap", "--yes")
		app := w.waitApp(name+"-argocd", true, false)

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
		// Argo CD's workloads run in the tenant: their pods are synced to the
		// host namespace, where kwok reports them Running. (Not Ready: kwok
		// ran no readiness probe, and twice left these pods not Ready.)
		w.waitPodsRunning(tenant.NamespaceFor(name), "argocd-application-controller", "argocd-applicationset-controller", "argocd-redis", "argocd-repo-server")

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
		w.waitApp(name+"-argocd", true, false)
		w.mustRun("delete", name, "--yes")
		gone("after delete")
		if s := w.clusterSecrets(name); len(s) != 0 {
			t.Errorf("cluster secrets after delete: %v", s)
		}
	})
}

// waitPodsRunning waits until namespace ns has a Running pod whose name
// starts with each prefix.
func (w *world) waitPodsRunning(ns string, prefixes ...string) {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var missing, seen []string
	for {
		pods, err := w.clientset().CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err == nil {
			missing, seen = nil, nil
			for _, pod := range pods.Items {
				seen = append(seen, pod.Name+"="+string(pod.Status.Phase))
			}
			for _, p := range prefixes {
				running := false
				for _, pod := range pods.Items {
					running = running || strings.HasPrefix(pod.Name, p) && pod.Status.Phase == corev1.PodRunning
				}
				if !running {
					missing = append(missing, p)
				}
			}
			if len(missing) == 0 {
				return
			}
		}
		select {
		case <-ctx.Done():
			w.t.Fatalf("no Running pod in %s for %v (list error %v; pods %v)", ns, missing, err, seen)
		case <-time.After(time.Second):
		}
	}
}
