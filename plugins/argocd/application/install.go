// Package application is the Argo CD plugin's Application side: the
// engine's GitOps installer (a tenant's Application, applied and removed)
// and the bootstrap ApplicationSet of register --bootstrap. Cluster
// registration is the parent package's.
package application

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	authzv1 "k8s.io/api/authorization/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/gitops"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/hostconfig"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/vclustervalues"
)

// DefaultNamespace is Argo CD's namespace in its manifests.
const DefaultNamespace = "argocd"

// DefaultLabels are the cluster labels when none are given: what the
// bootstrap ApplicationSet's cluster generator selects.
func DefaultLabels() map[string]string { return map[string]string{"env": "vdev"} }

var applicationGVR = schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "applications"}

// resourcesFinalizer makes Argo CD delete an Application's resources before
// the Application (any of its variants: /foreground, /background).
const resourcesFinalizer = "resources-finalizer.argocd.argoproj.io"

// Installer is the engine's tenant.GitOps: it server-side-applies the
// tenant's Application, rendered by pkg/gitops, into Argo CD's namespace, and
// deletes it with the resources finalizer so the controller prunes the
// vCluster.
type Installer struct {
	Kube    kubernetes.Interface
	Dynamic dynamic.Interface
	// Namespace is Argo CD's namespace (default argocd).
	Namespace string
	// Config is the platform config.yaml; nil builds the Application from
	// the request alone.
	Config *gitops.Config
}

var _ tenant.GitOps = (*Installer)(nil)

func (i *Installer) ns() string { return cmp.Or(i.Namespace, DefaultNamespace) }

func (i *Installer) apps() dynamic.ResourceInterface {
	return i.Dynamic.Resource(applicationGVR).Namespace(i.ns())
}

// Preflight checks Argo CD's namespace and Application API exist and the
// caller may apply Applications there, and that an Application of the same
// name, if any, is the tenant's.
func (i *Installer) Preflight(ctx context.Context, name string) (string, error) {
	ns := i.ns()
	if _, err := i.Kube.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); apierrors.IsNotFound(err) {
		return "", fmt.Errorf("Argo CD namespace %q does not exist: install Argo CD or set its namespace ($%s, --argocd-namespace or the host defaults' %s)", ns, hostconfig.EnvArgoCDNamespace, hostconfig.KeyArgoCDNamespace)
	} else if err != nil {
		return "", tenant.APIError(err)
	}
	app, err := i.get(ctx, name)
	if err != nil {
		return "", err
	}
	if app != nil && app.GetLabels()[tenant.LabelName] != name {
		return "", fmt.Errorf("Application %s/%s exists and is not tenant %s's (no %s=%s label): refusing to change it", ns, app.GetName(), name, tenant.LabelName, name)
	}
	for _, verb := range []string{"create", "patch", "delete"} {
		r, err := i.Kube.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, &authzv1.SelfSubjectAccessReview{
			Spec: authzv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &authzv1.ResourceAttributes{
				Verb: verb, Group: applicationGVR.Group, Resource: applicationGVR.Resource, Namespace: ns,
			}},
		}, metav1.CreateOptions{})
		if err != nil {
			return "", tenant.APIError(err)
		}
		if !r.Status.Allowed {
			return "", tenant.NewForbiddenError(fmt.Sprintf("not allowed to %s applications.argoproj.io in namespace %s (ask for a role that grants it)", verb, ns))
		}
	}
	return gitops.ApplicationRef(ns, name), nil
}

// get returns the tenant's Application, nil when there is none, and
// errNoApplicationAPI when Argo CD's CRDs are not installed.
func (i *Installer) get(ctx context.Context, name string) (*unstructured.Unstructured, error) {
	app, err := i.apps().Get(ctx, gitops.ApplicationName(name), metav1.GetOptions{})
	switch {
	case err == nil:
		return app, nil
	case meta.IsNoMatchError(err) || IsNoResource(err):
		return nil, errNoApplicationAPI
	case apierrors.IsNotFound(err):
		return nil, nil
	}
	return nil, tenant.APIError(err)
}

var errNoApplicationAPI = fmt.Errorf("the host cluster has no Application resource (Argo CD's CRDs are not installed)")

// Application is the tenant's Application as Apply applies it.
func (i *Installer) Application(req tenant.InstallRequest) (map[string]any, error) {
	vals, err := vclustervalues.MergeFiles(req.Values, req.ValuesFiles)
	if err != nil {
		return nil, err
	}
	app, _, err := gitops.TenantApplication(i.Config, gitops.TenantRequest{
		Name: req.Name, Pool: req.Pool, K8sVersion: req.K8sVersion, Isolation: req.Isolation, Values: vals,
		Chart: gitops.Chart{RepoURL: req.ChartRepo, Chart: req.Chart, Version: req.ChartVersion},
	})
	if err != nil {
		return nil, err
	}
	app["metadata"].(map[string]any)["namespace"] = i.ns()
	return app, nil
}

// Apply server-side-applies the Application (field manager kubectl-tenant,
// taking over fields others set), so a re-run converges it.
func (i *Installer) Apply(ctx context.Context, req tenant.InstallRequest) error {
	app, err := i.Application(req)
	if err != nil {
		return err
	}
	body, err := json.Marshal(app)
	if err != nil {
		return err
	}
	force := true
	_, err = i.apps().Patch(ctx, gitops.ApplicationName(req.Name), types.ApplyPatchType, body,
		metav1.PatchOptions{FieldManager: tenant.ManagedByValue, Force: &force})
	if meta.IsNoMatchError(err) || IsNoResource(err) {
		return errNoApplicationAPI
	}
	return tenant.APIError(err)
}

// Synced is true once the Application's automated sync succeeded for its
// current revision; until then it reports the sync status and conditions
// (e.g. a ComparisonError for an unreachable repository).
func (i *Installer) Synced(ctx context.Context, name string) (bool, string, error) {
	app, err := i.get(ctx, name)
	if err != nil {
		return false, "", err
	}
	if app == nil {
		return false, "", fmt.Errorf("Application %s is gone", gitops.ApplicationRef(i.ns(), name))
	}
	sync, _, _ := unstructured.NestedString(app.Object, "status", "sync", "status")
	phase, _, _ := unstructured.NestedString(app.Object, "status", "operationState", "phase")
	opMsg, _, _ := unstructured.NestedString(app.Object, "status", "operationState", "message")
	switch phase {
	case "Failed", "Error":
		return false, "", fmt.Errorf("Argo CD sync of Application %s %s: %s", gitops.ApplicationRef(i.ns(), name), strings.ToLower(phase), tenant.FirstLine(opMsg))
	case "Succeeded":
		if sync == "Synced" {
			return true, "", nil
		}
	}
	msg := "waiting for Argo CD to sync Application " + gitops.ApplicationRef(i.ns(), name)
	if sync != "" {
		msg += " (" + sync + ")"
	}
	if c := conditions(app); c != "" {
		msg += ": " + c
	} else if phase != "" && opMsg != "" {
		msg += ": " + tenant.FirstLine(opMsg)
	}
	return false, msg, nil
}

// Remove deletes the tenant's Application with the resources finalizer and
// waits for the controller to prune and release it.
func (i *Installer) Remove(ctx context.Context, name string, wait time.Duration, report tenant.Reporter) error {
	app, err := i.get(ctx, name)
	if err == errNoApplicationAPI || app == nil && err == nil {
		return nil
	}
	if err != nil {
		return err
	}
	ref := gitops.ApplicationRef(i.ns(), name)
	if app.GetLabels()[tenant.LabelName] != name {
		return fmt.Errorf("Application %s is not tenant %s's (no %s=%s label): refusing to delete it", ref, name, tenant.LabelName, name)
	}
	if app.GetDeletionTimestamp() == nil && !hasResourcesFinalizer(app.GetFinalizers()) {
		// Without it Argo CD deletes only the Application and leaves the
		// vCluster running.
		patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{
			"finalizers":      append(app.GetFinalizers(), resourcesFinalizer),
			"resourceVersion": app.GetResourceVersion(),
		}})
		if _, err := i.apps().Patch(ctx, app.GetName(), types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
			return tenant.APIError(err)
		}
	}
	err = i.apps().Delete(ctx, app.GetName(), metav1.DeleteOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil || wait <= 0 {
		return tenant.APIError(err)
	}
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	last := ""
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for {
		cur, err := i.get(ctx, name)
		if cur == nil && err == nil {
			return nil
		}
		msg := "waiting for Argo CD to prune the resources of Application " + ref
		if cur != nil {
			if c := conditions(cur); c != "" {
				msg += ": " + c
			}
		}
		if msg != last {
			report.Emit(tenant.StepDeleteApp, tenant.PhaseWaiting, msg, nil)
			last = msg
		}
		select {
		case <-ctx.Done():
			if ctx.Err() == context.DeadlineExceeded {
				return fmt.Errorf("timed out: %s (is argocd-application-controller running?)", last)
			}
			return ctx.Err()
		case <-t.C:
		}
	}
}

func hasResourcesFinalizer(fs []string) bool {
	for _, f := range fs {
		if f == resourcesFinalizer || strings.HasPrefix(f, resourcesFinalizer+"/") {
			return true
		}
	}
	return false
}

// conditions joins the Application's status conditions (e.g.
// ComparisonError, DeletionError) into one line.
func conditions(app *unstructured.Unstructured) string {
	cs, _, _ := unstructured.NestedSlice(app.Object, "status", "conditions")
	var out []string
	for _, c := range cs {
		m, _ := c.(map[string]any)
		typ, _ := m["type"].(string)
		msg, _ := m["message"].(string)
		if typ != "" {
			out = append(out, strings.TrimSpace(typ+" "+tenant.FirstLine(msg)))
		}
	}
	return strings.Join(out, "; ")
}
