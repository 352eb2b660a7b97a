package e2e

import (
	"context"
	"io"
	"log"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart/loader"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/cli-runtime/pkg/genericclioptions"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
)

// gitopsConfig renders one project per playground pool: project-x is
// installed for real, project-z (with a load balancer) is dry-run only.
const gitopsConfig = `repoURL: https://git.example.com/platform/platform.git
defaults:
  ttl: 8h
  labels:
    e2e: gitops
  argocdValues:
    configs:
      params:
        server.insecure: true
clusters:
  - project: project-x
    isolation: true
    nodePools:
      - name: workload
  - project: project-z
    groups: [team-z]
    loadBalancer:
      sourceRanges: [10.0.0.0/8]
    nodePools:
      - name: workload-2
`

// TestGitOpsRenderedManifestsAndValues renders a config with the real
// binary, applies every rendered Kubernetes and Argo CD manifest to the
// playground apiserver with server-side dry-run and strict field validation
// (the Argo CD CRDs validate Application, ApplicationSet and AppProject),
// then installs the rendered vCluster values with the real vcluster chart
// and waits for the vCluster on the project's pool.
func TestGitOpsRenderedManifestsAndValues(t *testing.T) {
	w := newWorld(t)
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()

	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgPath, []byte(gitopsConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	repo := filepath.Join(dir, "repo")
	w.mustRun("render", "-f", cfgPath, "--out", repo)
	if r := w.mustRun("render", "-f", cfgPath, "--out", repo, "--check"); !strings.Contains(r.stdout, "up to date") {
		t.Fatalf("check after render: %s", r.stdout)
	}

	cs, dyn, mapper := w.clients()

	manifests := renderedManifests(t, repo)
	var namespaces, others []*unstructured.Unstructured
	for _, m := range manifests {
		if m.obj.GetKind() == "Namespace" {
			namespaces = append(namespaces, m.obj)
		} else {
			others = append(others, m.obj)
		}
	}
	kinds := map[string]int{}
	for _, m := range manifests {
		kinds[m.obj.GetKind()]++
	}
	// Roles: tenant-admin per project, gc's in Argo CD's namespace and the
	// host defaults' reader; RoleBindings: only project-z names groups, plus
	// gc's and the host defaults' reader; Applications: two projects, gc and
	// the host defaults.
	for kind, n := range map[string]int{"Application": 4, "ApplicationSet": 1, "AppProject": 2, "Namespace": 3, "Role": 4, "RoleBinding": 3, "ConfigMap": 1, "Service": 1,
		"ServiceAccount": 1, "ClusterRole": 1, "ClusterRoleBinding": 1, "CronJob": 1, "ValidatingAdmissionPolicy": 1, "ValidatingAdmissionPolicyBinding": 1} {
		if kinds[kind] != n {
			t.Errorf("rendered %d %s, want %d (all: %v)", kinds[kind], kind, n, kinds)
		}
	}

	// Namespaced objects need their namespace: the namespaces are applied
	// for real (as Argo CD would first), and removed at the end.
	for _, ns := range namespaces {
		t.Cleanup(func() { deleteNamespace(t, cs.CoreV1().Namespaces(), ns.GetName()) })
		if err := apply(ctx, dyn, mapper, ns, false); err != nil {
			t.Fatalf("apply %s: %v", ns.GetName(), err)
		}
	}
	for _, m := range manifests {
		if err := apply(ctx, dyn, mapper, m.obj, true); err != nil {
			t.Errorf("%s: server-side dry-run of %s %s/%s: %v", m.path, m.obj.GetKind(), m.obj.GetNamespace(), m.obj.GetName(), err)
		}
	}
	if t.Failed() {
		return
	}

	// The rendered values install the real chart (plus the playground's
	// no-PVC values, since the playground has no storage provisioner).
	const project = "project-x"
	ns := tenant.NamespaceFor(project)
	vals := readValues(t, filepath.Join(repo, "vcluster", project, "helm", "values.yaml"))
	vals = mergeValues(vals, readValues(t, w.values))
	getter := genericclioptions.NewConfigFlags(false)
	getter.KubeConfig, getter.Namespace = &w.kubeconfig, &ns
	hcfg := new(action.Configuration)
	if err := hcfg.Init(getter, ns, "secret", log.New(io.Discard, "", 0).Printf); err != nil {
		t.Fatal(err)
	}
	ch, err := loader.Load(w.env.VClusterChart)
	if err != nil {
		t.Fatal(err)
	}
	in := action.NewInstall(hcfg)
	in.ReleaseName, in.Namespace = tenant.ReleaseName, ns
	t.Cleanup(func() { _, _ = action.NewUninstall(hcfg).Run(tenant.ReleaseName) })
	if _, err := in.RunWithContext(ctx, ch, vals); err != nil {
		t.Fatalf("helm install of the rendered values: %v", err)
	}

	// The vCluster lands on the project's pool and its control plane writes
	// the kubeconfig Secret.
	var pod *corev1.Pod
	for {
		pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=vcluster,release=" + tenant.ReleaseName})
		if err == nil && len(pods.Items) > 0 {
			pod = &pods.Items[0]
			_, serr := cs.CoreV1().Secrets(ns).Get(ctx, "vc-"+tenant.ReleaseName, metav1.GetOptions{})
			if pod.Status.Phase == corev1.PodRunning && serr == nil {
				break
			}
		}
		select {
		case <-ctx.Done():
			if pod != nil {
				t.Fatalf("vCluster pod %s not Running with Secret vc-%s: phase %s, node %q, conditions %v", pod.Name, tenant.ReleaseName, pod.Status.Phase, pod.Spec.NodeName, pod.Status.Conditions)
			}
			t.Fatalf("no vCluster pod in %s: %v", ns, err)
		case <-time.After(time.Second):
		}
	}
	if pod.Spec.NodeName != project+"-0" {
		t.Errorf("vCluster pod on node %q, want %s-0 (pool %s)", pod.Spec.NodeName, project, project)
	}
	// isolation: true rendered the chart's quota, limit range and policies.
	if q, err := cs.CoreV1().ResourceQuotas(ns).List(ctx, metav1.ListOptions{LabelSelector: tenant.LabelName + "=" + project}); err != nil || len(q.Items) != 1 {
		t.Errorf("resource quotas labelled for %s: %v (err %v)", project, q, err)
	}
	if l, err := cs.CoreV1().LimitRanges(ns).List(ctx, metav1.ListOptions{LabelSelector: tenant.LabelName + "=" + project}); err != nil || len(l.Items) != 1 {
		t.Errorf("limit ranges labelled for %s: %v (err %v)", project, l, err)
	}
	if np, err := cs.NetworkingV1().NetworkPolicies(ns).List(ctx, metav1.ListOptions{}); err != nil || len(np.Items) == 0 {
		t.Errorf("no network policies in %s (err %v)", ns, err)
	}

	// kubectl tenant sees the GitOps tenant through the rendered namespace.
	got, ok := w.list()[project]
	if !ok {
		t.Fatalf("kubectl tenant list does not show %s", project)
	}
	if got.Pool != project || got.Namespace != ns {
		t.Errorf("list shows %+v", got)
	}
}
