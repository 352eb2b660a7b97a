package application

import (
	"testing"

	"sigs.k8s.io/yaml"
)

func TestApplicationSet(t *testing.T) {
	as := ApplicationSet("argocd", nil)
	b, err := yaml.Marshal(as)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Kind     string `json:"kind"`
		Metadata struct {
			Name, Namespace string
			Annotations     map[string]string
		} `json:"metadata"`
		Spec struct {
			Generators []struct {
				Clusters struct {
					Selector struct {
						MatchLabels map[string]string `json:"matchLabels"`
					} `json:"selector"`
				} `json:"clusters"`
			} `json:"generators"`
			Template struct {
				Metadata struct{ Name string } `json:"metadata"`
				Spec     struct {
					Destination struct{ Server, Namespace string }              `json:"destination"`
					Source      struct{ Chart, RepoURL, TargetRevision string } `json:"source"`
				} `json:"spec"`
			} `json:"template"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got.Kind != "ApplicationSet" || got.Metadata.Name != "argocd" || got.Metadata.Namespace != "argocd" || got.Metadata.Annotations[bootstrapAnnotation] == "" {
		t.Errorf("metadata %+v", got.Metadata)
	}
	if sel := got.Spec.Generators[0].Clusters.Selector.MatchLabels; len(sel) != 1 || sel["env"] != "vdev" {
		t.Errorf("selector %v, want env=vdev", sel)
	}
	tm := got.Spec.Template
	if tm.Metadata.Name != "{{ .name }}-argocd" || tm.Spec.Destination.Server != "{{ .server }}" || tm.Spec.Destination.Namespace != "argocd" || tm.Spec.Source.Chart != "argo-cd" || tm.Spec.Source.TargetRevision == "" {
		t.Errorf("template %+v", tm)
	}
	if sel := ApplicationSet("argocd", map[string]string{"team": "a"})["spec"].(map[string]any)["generators"].([]any)[0].(map[string]any)["clusters"].(map[string]any)["selector"].(map[string]any)["matchLabels"].(map[string]any); sel["team"] != "a" || len(sel) != 1 {
		t.Errorf("selector with labels: %v", sel)
	}
}
