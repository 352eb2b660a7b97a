package application

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"

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
// NAME-argocd Applications that install source (the host defaults'
// bootstrapSource: a chart or a git directory, hostconfig.ParseBootstrapSource)
// into namespace argocd of every registered vCluster, project default.
// A chart is released as "argocd" unless the source names a release.
func ApplicationSet(namespace string, selector map[string]string, source map[string]any) map[string]any {
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
					"source":      templateSource(source),
					"syncPolicy": map[string]any{
						"automated":   map[string]any{"prune": true, "selfHeal": true},
						"syncOptions": []any{"CreateNamespace=true", "ServerSideApply=true"},
					},
				},
			},
		},
	}
}

// templateSource is a copy of source with, for a chart, the release name
// argocd (the platform flow's) unless it sets one.
func templateSource(source map[string]any) map[string]any {
	out := make(map[string]any, len(source)+1)
	for k, v := range source {
		out[k] = v
	}
	if c, _ := source["chart"].(string); c == "" {
		return out
	}
	helm := map[string]any{"releaseName": "argocd"}
	if h, ok := source["helm"].(map[string]any); ok {
		for k, v := range h {
			helm[k] = v
		}
	}
	out["helm"] = helm
	return out
}

func toAny(m map[string]string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// PrintApplicationSet writes the bootstrap ApplicationSet as YAML.
func PrintApplicationSet(w io.Writer, namespace string, selector map[string]string, source map[string]any) error {
	b, err := yaml.Marshal(ApplicationSet(namespace, selector, source))
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// Bootstrap applies the bootstrap ApplicationSet in Argo CD's namespace ns
// (server-side apply, field manager kubectl-tenant) through dyn and says
// what it did.
func Bootstrap(ctx context.Context, dyn dynamic.Interface, ns string, selector map[string]string, source map[string]any) (string, error) {
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
	body, err := json.Marshal(ApplicationSet(ns, selector, source))
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

// RemoveGenerated deletes the Applications in Argo CD's namespace ns that
// an ApplicationSet generated for tenant name, such as the bootstrap's
// NAME-argocd, and names them. Deregister calls it once the cluster entry
// is gone, so none is generated again and none waits for the
// applicationset-controller. An Application is the tenant's only if all
// hold: the tenant's label, a controlling ApplicationSet owner, and a
// destination among servers (the tenant's cluster addresses): a label
// alone anyone may set. The tenant's own Application (create --gitops) has
// no ApplicationSet owner and stays. No Application resource (Argo CD's
// CRDs missing) is nothing to remove.
func RemoveGenerated(ctx context.Context, dyn dynamic.Interface, ns, name string, servers []string) ([]string, error) {
	res := dyn.Resource(applicationGVR).Namespace(ns)
	list, err := res.List(ctx, metav1.ListOptions{LabelSelector: tenant.LabelName + "=" + name})
	switch {
	case meta.IsNoMatchError(err) || IsNoResource(err):
		return nil, nil
	case err != nil:
		return nil, tenant.APIError(err)
	}
	var removed []string
	for _, app := range list.Items {
		owner := metav1.GetControllerOf(&app)
		dest, _, _ := unstructured.NestedString(app.Object, "spec", "destination", "server")
		if owner == nil || owner.Kind != "ApplicationSet" || !slices.Contains(servers, strings.TrimRight(dest, "/")) {
			continue
		}
		if err := res.Delete(ctx, app.GetName(), metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: ptr(app.GetUID())}}); err != nil && !apierrors.IsNotFound(err) {
			return removed, tenant.APIError(err)
		}
		removed = append(removed, app.GetName())
	}
	return removed, nil
}

func ptr[T any](v T) *T { return &v }
