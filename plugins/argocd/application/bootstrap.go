package application

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/gitops"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
)

// ApplicationSetName is the bootstrap ApplicationSet, as in the platform flow.
const ApplicationSetName = "argocd"

// bootstrapAnnotation marks the ApplicationSet register --bootstrap owns;
// one without it (e.g. applied from `kubectl tenant render` output) is left
// alone.
const bootstrapAnnotation = "tenant.kubectl-tenant.io/bootstrap"

var applicationSetGVR = schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "applicationsets"}

// ApplicationSet is the bootstrap ApplicationSet: a cluster generator on
// selector (the registration labels, env=vdev by default) generating
// NAME-argocd Applications that install the Argo CD chart (the version
// `kubectl tenant render` pins) into namespace argocd of every registered
// vCluster. Unlike the rendered GitOps one it needs no values repository:
// the chart's defaults, project default.
func ApplicationSet(namespace string, selector map[string]string) map[string]any {
	if len(selector) == 0 {
		selector = DefaultLabels()
	}
	managed := map[string]any{tenant.LabelManagedBy: tenant.ManagedByValue}
	return map[string]any{
		"apiVersion": "argoproj.io/v1alpha1",
		"kind":       "ApplicationSet",
		"metadata": map[string]any{
			"name": ApplicationSetName, "namespace": namespace, "labels": managed,
			"annotations": map[string]any{bootstrapAnnotation: "register"},
		},
		"spec": map[string]any{
			"goTemplate":        true,
			"goTemplateOptions": []any{"missingkey=error"},
			"generators": []any{map[string]any{
				"clusters": map[string]any{"selector": map[string]any{"matchLabels": toAny(selector)}},
			}},
			"template": map[string]any{
				"metadata": map[string]any{
					"name":   "{{ .name }}-argocd",
					"labels": map[string]any{tenant.LabelName: "{{ .name }}", tenant.LabelManagedBy: tenant.ManagedByValue},
				},
				"spec": map[string]any{
					"project":     "default",
					"destination": map[string]any{"server": "{{ .server }}", "namespace": "argocd"},
					"source": map[string]any{
						"repoURL": gitops.DefaultArgoCDChartRepo, "chart": gitops.DefaultArgoCDChart,
						"targetRevision": gitops.DefaultArgoCDChartVersion,
						"helm":           map[string]any{"releaseName": "argocd"},
					},
					"syncPolicy": map[string]any{
						"automated":   map[string]any{"prune": true, "selfHeal": true},
						"syncOptions": []any{"CreateNamespace=true", "ServerSideApply=true"},
					},
				},
			},
		},
	}
}

func toAny(m map[string]string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// PrintApplicationSet writes the bootstrap ApplicationSet as YAML.
func PrintApplicationSet(w io.Writer, namespace string, selector map[string]string) error {
	b, err := yaml.Marshal(ApplicationSet(namespace, selector))
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// Bootstrap applies the bootstrap ApplicationSet in Argo CD's namespace ns
// (server-side apply, field manager kubectl-tenant) through dyn and says
// what it did.
func Bootstrap(ctx context.Context, dyn dynamic.Interface, ns string, selector map[string]string) (string, error) {
	res := dyn.Resource(applicationSetGVR).Namespace(ns)
	cur, err := res.Get(ctx, ApplicationSetName, metav1.GetOptions{})
	switch {
	case err == nil:
		if cur.GetAnnotations()[bootstrapAnnotation] == "" {
			return fmt.Sprintf("ApplicationSet %s/%s exists and was not made by register --bootstrap: left unchanged", ns, ApplicationSetName), nil
		}
	case meta.IsNoMatchError(err) || IsNoResource(err):
		return "", fmt.Errorf("the host cluster has no ApplicationSet resource (Argo CD's CRDs are not installed)")
	case !apierrors.IsNotFound(err):
		return "", tenant.APIError(err)
	}
	body, err := json.Marshal(ApplicationSet(ns, selector))
	if err != nil {
		return "", err
	}
	force := true
	_, err = res.Patch(ctx, ApplicationSetName, types.ApplyPatchType, body, metav1.PatchOptions{FieldManager: tenant.ManagedByValue, Force: &force})
	if err != nil {
		return "", tenant.APIError(err)
	}
	return fmt.Sprintf("ApplicationSet %s/%s applied", ns, ApplicationSetName), nil
}

// IsNoResource is the 404 the API answers for a resource type it does not
// serve (the CRD is missing), as opposed to a missing object.
func IsNoResource(err error) bool {
	var se *apierrors.StatusError
	if !apierrors.IsNotFound(err) || !errors.As(err, &se) {
		return false
	}
	d := se.ErrStatus.Details
	return d == nil || d.Name == ""
}
