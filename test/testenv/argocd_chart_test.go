package testenv

import (
	"context"
	"strings"
	"testing"
	"time"

	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"sigs.k8s.io/yaml"
)

// TestArgoCDChartRendersWithBootstrapValues renders chart argo-cd, assembled
// from the argo-cd module's core-install.yaml, with the host defaults'
// bootstrap values: every container takes IfNotPresent, the requests and
// ARGOCD_GPG_ENABLED=false, and names an image the real nodes have; the
// three CRDs are in crds/.
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
	user, err := chartutil.ReadValues([]byte(src.Helm.Values))
	if err != nil {
		t.Fatal(err)
	}
	vals, err := chartutil.ToRenderValues(ch, user, chartutil.ReleaseOptions{Name: "argocd", Namespace: "argocd"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	out, err := engine.Render(ch, vals)
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, s := range imageSpecs(Binaries{}, map[string]string{}, nil) {
		for _, r := range s.refs {
			have[r] = true
		}
	}
	kinds := map[string]int{}
	for _, doc := range strings.Split(out["argo-cd/templates/core-install.yaml"], "\n---\n") {
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
	if kinds["Deployment"] != 3 || kinds["StatefulSet"] != 1 {
		t.Errorf("rendered %v, want 3 Deployments (applicationset-controller, redis, repo-server) and the controller's StatefulSet", kinds)
	}
}
