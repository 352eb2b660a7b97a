package e2e

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	kubefake "helm.sh/helm/v3/pkg/kube/fake"
	"helm.sh/helm/v3/pkg/storage"
	"helm.sh/helm/v3/pkg/storage/driver"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
	sigyaml "sigs.k8s.io/yaml"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
)

// revision is the tenant's latest Helm release revision, from the release
// Secrets' labels.
func (w *world) revision(name string) int {
	w.t.Helper()
	cs, err := w.env.Clientset()
	if err != nil {
		w.t.Fatal(err)
	}
	secs, err := cs.CoreV1().Secrets(tenant.NamespaceFor(name)).List(context.Background(), metav1.ListOptions{LabelSelector: "owner=helm,name=vcluster"})
	if err != nil {
		w.t.Fatal(err)
	}
	max := 0
	for _, s := range secs.Items {
		if v, _ := strconv.Atoi(s.Labels["version"]); v > max {
			max = v
		}
	}
	return max
}

// releaseValues decodes the user-supplied values of the tenant's latest Helm
// release (Helm stores them base64 + gzip JSON in its release Secret).
func (w *world) releaseValues(name string) map[string]any {
	w.t.Helper()
	cs, err := w.env.Clientset()
	if err != nil {
		w.t.Fatal(err)
	}
	rev := w.revision(name)
	s, err := cs.CoreV1().Secrets(tenant.NamespaceFor(name)).Get(context.Background(), fmt.Sprintf("sh.helm.release.v1.vcluster.v%d", rev), metav1.GetOptions{})
	if err != nil {
		w.t.Fatal(err)
	}
	raw, err := base64.StdEncoding.DecodeString(string(s.Data["release"]))
	if err != nil {
		w.t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		w.t.Fatal(err)
	}
	var rel struct {
		Config map[string]any `json:"config"`
	}
	if err := json.NewDecoder(zr).Decode(&rel); err != nil {
		w.t.Fatal(err)
	}
	return rel.Config
}

func extraSANsOf(vals map[string]any) any {
	cp, _ := vals["controlPlane"].(map[string]any)
	proxy, _ := cp["proxy"].(map[string]any)
	return proxy["extraSANs"]
}

func readValues(t *testing.T, path string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := yaml.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return v
}

func mergeValues(dst, src map[string]any) map[string]any {
	for k, v := range src {
		if sv, ok := v.(map[string]any); ok {
			if dv, ok := dst[k].(map[string]any); ok {
				dst[k] = mergeValues(dv, sv)
				continue
			}
		}
		dst[k] = v
	}
	return dst
}

// persistentValues turns the chart's volume claim back on (the playground
// values disable it): a StatefulSet whose claim the runner provisions, so
// the vCluster's etcd outlives its pod, as on a cluster with storage.
func persistentValues(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "persistent.yaml")
	v := "controlPlane:\n  statefulSet:\n    persistence:\n      volumeClaim:\n        enabled: true\n"
	if err := os.WriteFile(p, []byte(v), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// bumpedChart copies the playground chart (its Chart.yaml says 0.0.1, as in the
// vcluster module) with version 0.34.1-test and a pod
// annotation carrying the chart version, so upgrading really restarts the pod.
func bumpedChart(t *testing.T, src string) string {
	dst := filepath.Join(t.TempDir(), "vcluster")
	if out, err := exec.Command("cp", "-r", src, dst).CombinedOutput(); err != nil {
		t.Fatalf("copying the chart: %v: %s", err, out)
	}
	exec.Command("chmod", "-R", "u+w", dst).Run()
	edit := func(file, old, new string) {
		p := filepath.Join(dst, file)
		b, err := os.ReadFile(p)
		if err != nil || !strings.Contains(string(b), old) {
			t.Fatalf("%s: %v (or %q not found)", file, err, old)
		}
		if err := os.WriteFile(p, []byte(strings.Replace(string(b), old, new, 1)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	edit("Chart.yaml", "version: 0.0.1", "version: 0.34.1-test")
	edit("templates/statefulset.yaml", `vClusterConfigHash: {{ include "vcluster.vClusterConfigHash" . }}`,
		`vClusterConfigHash: {{ include "vcluster.vClusterConfigHash" . }}
        e2e-chart-version: {{ .Chart.Version | quote }}`)
	return dst
}

// renderedStatefulSet is the control-plane StatefulSet the real chart
// renders with its default values (client-side, as helm template).
func renderedStatefulSet(b *testing.B, chartDir string) *appsv1.StatefulSet {
	ch, err := loader.Load(chartDir)
	if err != nil {
		b.Fatal(err)
	}
	cfg := &action.Configuration{Releases: storage.Init(driver.NewMemory()), KubeClient: &kubefake.PrintingKubeClient{Out: io.Discard},
		Capabilities: chartutil.DefaultCapabilities, Log: func(string, ...any) {}}
	in := action.NewInstall(cfg)
	in.ReleaseName, in.Namespace, in.DryRun, in.ClientOnly = tenant.ReleaseName, "vcluster-bench", true, true
	rel, err := in.RunWithContext(context.Background(), ch, map[string]any{})
	if err != nil {
		b.Fatal(err)
	}
	for _, doc := range strings.Split(rel.Manifest, "\n---") {
		var s appsv1.StatefulSet
		if err := sigyaml.Unmarshal([]byte(doc), &s); err == nil && s.Kind == "StatefulSet" && s.Labels["app"] == "vcluster" {
			return &s
		}
	}
	b.Fatal("the chart rendered no control-plane StatefulSet")
	return nil
}
