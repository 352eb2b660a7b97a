package testenv

import (
	"context"
	_ "embed"
	"fmt"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	applycorev1 "k8s.io/client-go/applyconfigurations/core/v1"
	applyrbacv1 "k8s.io/client-go/applyconfigurations/rbac/v1"
)

// playgroundValues are the chart values the playground needs on top of
// what kubectl-tenant sets (no storage provisioner: no PVC).
//
//go:embed playground-values.yaml
var playgroundValues string

// Where kubectl-tenant reads a host cluster's defaults (pkg/hostconfig;
// this module does not import the main one).
const (
	HostDefaultsNamespace = "kube-public"
	HostDefaultsName      = "kubectl-tenant"
)

// HostDefaults are the defaults the playground writes, so that a plain
// `kubectl tenant create NAME` works with no environment variable and no
// values file: the local chart repository, the first tenant pool, the
// values above and Argo CD's namespace.
func HostDefaults(env *Env) map[string]string {
	return map[string]string{
		"chartRepo":       env.ChartRepoURL,
		"chart":           "vcluster",
		"chartVersion":    strings.TrimPrefix(VClusterVersion, "v"),
		"pool":            TenantPools[0],
		"values":          playgroundValues,
		"argocdNamespace": ArgoCDNamespace,
	}
}

// writeHostDefaults applies ConfigMap kube-public/kubectl-tenant and lets
// every authenticated user read it (what a platform team does once).
func (u *upper) writeHostDefaults(ctx context.Context, env *Env) error {
	opts := metav1.ApplyOptions{FieldManager: fieldManager, Force: true}
	cm := applycorev1.ConfigMap(HostDefaultsName, HostDefaultsNamespace).WithData(HostDefaults(env))
	if _, err := u.cs.CoreV1().ConfigMaps(HostDefaultsNamespace).Apply(ctx, cm, opts); err != nil {
		return fmt.Errorf("host defaults: %w", err)
	}
	role := applyrbacv1.Role(HostDefaultsName+"-reader", HostDefaultsNamespace).WithRules(
		applyrbacv1.PolicyRule().WithAPIGroups("").WithResources("configmaps").
			WithResourceNames(HostDefaultsName).WithVerbs("get"))
	if _, err := u.cs.RbacV1().Roles(HostDefaultsNamespace).Apply(ctx, role, opts); err != nil {
		return fmt.Errorf("host defaults reader role: %w", err)
	}
	rb := applyrbacv1.RoleBinding(HostDefaultsName+"-reader", HostDefaultsNamespace).
		WithRoleRef(applyrbacv1.RoleRef().WithAPIGroup(rbacv1.GroupName).WithKind("Role").WithName(HostDefaultsName + "-reader")).
		WithSubjects(applyrbacv1.Subject().WithKind(rbacv1.GroupKind).WithAPIGroup(rbacv1.GroupName).WithName("system:authenticated"))
	if _, err := u.cs.RbacV1().RoleBindings(HostDefaultsNamespace).Apply(ctx, rb, opts); err != nil {
		return fmt.Errorf("host defaults reader binding: %w", err)
	}
	return nil
}
