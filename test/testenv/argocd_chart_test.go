package testenv

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"helm.sh/helm/v3/pkg/chartutil"
	"sigs.k8s.io/yaml"
)

// TestArgoCDChartRendersWithBootstrapValues renders chart argo-cd, assembled
// from the argo-cd module's core-install.yaml, with the host defaults'
// bootstrap values, as Argo CD's repo-server does (the built helm's
// `helm template --include-crds`): every container takes IfNotPresent, the
// requests and ARGOCD_GPG_ENABLED=false, and names an image the real nodes
// have; the three CRDs are in crds/.
func TestArgoCDChartRendersWithBootstrapValues(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	mods, err := resolveModuleDirs(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	ch, err := argoCDChart(mods.argocd)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(ch.CRDObjects()); n != 3 {
		t.Errorf("chart has %d CRDs, want 3", n)
	}
	var src struct {
		Chart, TargetRevision string
		Helm                  struct{ Values string }
	}
	if err := yaml.Unmarshal([]byte(BootstrapSource("http://127.0.0.1:1")), &src); err != nil {
		t.Fatal(err)
	}
	if src.Chart != ch.Name() || src.TargetRevision != ch.Metadata.Version {
		t.Errorf("bootstrapSource names %s %s, the chart is %s %s", src.Chart, src.TargetRevision, ch.Name(), ch.Metadata.Version)
	}
	bins, err := EnsureBinaries(ctx, t.Logf, Extras{})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	pkg, err := chartutil.Save(ch, dir)
	if err != nil {
		t.Fatal(err)
	}
	valuesFile := filepath.Join(dir, "values.yaml")
	if err := os.WriteFile(valuesFile, []byte(src.Helm.Values), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, bins["helm"], "template", "argocd", pkg, "--namespace", "argocd", "--include-crds", "-f", valuesFile)
	cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+dir, "HELM_CONFIG_HOME="+dir, "HELM_DATA_HOME="+dir)
	rendered, err := cmd.Output()
	if err != nil {
		t.Fatalf("helm template: %v", err)
	}
	have := map[string]bool{}
	for _, s := range imageSpecs(Binaries{}, map[string]string{}, nil) {
		for _, r := range s.refs {
			have[r] = true
		}
	}
	kinds := map[string]int{}
	for _, doc := range strings.Split(string(rendered), "\n---\n") {
		var obj struct {
			Kind     string
			Metadata struct{ Name string }
			Spec     struct {
				Template struct {
					Spec struct {
						InitContainers, Containers []struct {
							Name, Image, ImagePullPolicy string
							Resources                    struct{ Requests map[string]string }
							Env                          []struct{ Name, Value string }
						}
					}
				}
			}
		}
		if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
			t.Fatalf("%v\n%s", err, doc)
		}
		if obj.Kind == "" {
			continue
		}
		kinds[obj.Kind]++
		pod := obj.Spec.Template.Spec
		for _, c := range append(pod.InitContainers, pod.Containers...) {
			where := obj.Metadata.Name + "/" + c.Name
			if c.ImagePullPolicy != "IfNotPresent" || c.Resources.Requests["memory"] != "32Mi" {
				t.Errorf("%s: imagePullPolicy %q, requests %v", where, c.ImagePullPolicy, c.Resources.Requests)
			}
			if !have[c.Image] {
				t.Errorf("%s: image %s is not one the real nodes have", where, c.Image)
			}
			if n := len(c.Env); n == 0 || c.Env[n-1].Name != "ARGOCD_GPG_ENABLED" || c.Env[n-1].Value != "false" {
				t.Errorf("%s: env %v does not end in ARGOCD_GPG_ENABLED=false", where, c.Env)
			}
		}
	}
	if kinds["CustomResourceDefinition"] != 3 || kinds["Deployment"] != 3 || kinds["StatefulSet"] != 1 {
		t.Errorf("rendered %v, want 3 CRDs, 3 Deployments (applicationset-controller, redis, repo-server) and the controller's StatefulSet", kinds)
	}
}

// BenchmarkBootstrapParts times what the bootstrap adds to a cold
// real-node playground once the argocd binary is built: assembling the
// argo-cd chart from core-install.yaml and packaging it, and the argocd,
// redis and rewrite-hosts image archives (into a temporary directory, not
// the cache).
func BenchmarkBootstrapParts(b *testing.B) {
	ctx := context.Background()
	mods, err := resolveModuleDirs(ctx, false)
	if err != nil {
		b.Fatal(err)
	}
	bins, err := EnsureBinaries(ctx, b.Logf, Extras{RealNodes: true})
	if err != nil {
		b.Fatal(err)
	}
	redis, err := exec.LookPath("redis-server")
	if err != nil {
		b.Fatal(err)
	}
	redisFiles, err := redisImageFiles(redis)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		dir := b.TempDir()
		t0 := time.Now()
		ch, err := argoCDChart(mods.argocd)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := chartutil.Save(ch, dir); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(time.Since(t0).Seconds(), "chart-s")
		for _, s := range imageSpecs(bins, map[string]string{}, redisFiles) {
			if s.name != "argocd" && s.name != "argocd-redis" && s.name != "rewrite-hosts" {
				continue
			}
			t0 := time.Now()
			if err := writeImage(filepath.Join(dir, s.name+".tar"), s); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(time.Since(t0).Seconds(), s.name+"-s")
		}
	}
}
