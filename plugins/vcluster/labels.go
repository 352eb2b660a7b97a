package vcluster

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// labeller is a Helm post-renderer that puts the tenant's labels on every
// object the chart renders. The chart only offers labels for some of its
// objects; this way everything the tool creates on the host (Services,
// Secrets, RBAC, policies, ...) can be selected by tenant and workspace.
type labeller map[string]string

func (l labeller) Run(in *bytes.Buffer) (*bytes.Buffer, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(in, 4096)
	out := new(bytes.Buffer)
	for {
		var obj map[string]any
		if err := dec.Decode(&obj); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, fmt.Errorf("labelling rendered chart: %w", err)
		}
		if len(obj) == 0 {
			continue // an empty document between separators
		}
		u := unstructured.Unstructured{Object: obj}
		labels := u.GetLabels()
		if labels == nil {
			labels = map[string]string{}
		}
		for k, v := range l {
			labels[k] = v
		}
		u.SetLabels(labels)
		b, err := yaml.Marshal(u.Object)
		if err != nil {
			return nil, err
		}
		out.WriteString("---\n")
		out.Write(b)
	}
	return out, nil
}
