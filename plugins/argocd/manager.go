package argocd

import (
	"context"
	"fmt"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
)

// What `argocd cluster add` creates in the target cluster (same names, so
// the result is the same as the manual flow's).
const (
	ManagerNamespace      = "kube-system"
	ManagerServiceAccount = "argocd-manager"
	ManagerRole           = "argocd-manager-role"
	ManagerRoleBinding    = "argocd-manager-role-binding"
	// ManagerTokenSecret is the long-lived token Secret registrations
	// before token lifetimes made (as `argocd cluster add` does); the next
	// registration or renewal deletes it.
	ManagerTokenSecret = ManagerServiceAccount + "-long-lived-token"

	labelComponent = "app.kubernetes.io/component"
	componentValue = "argocd-manager"
)

// managerSelector selects what this tool created inside a vCluster; it
// never deletes an argocd-manager it did not label.
var managerSelector = tenant.LabelManagedBy + "=" + tenant.ManagedByValue + "," + labelComponent + "=" + componentValue

func managerMeta(name, ns string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{
		tenant.LabelManagedBy: tenant.ManagedByValue, labelComponent: componentValue,
	}}
}

// Argo CD's own rules for argocd-manager (util/clusterauth).
var (
	clusterRules = []rbacv1.PolicyRule{
		{APIGroups: []string{"*"}, Resources: []string{"*"}, Verbs: []string{"*"}},
		{NonResourceURLs: []string{"*"}, Verbs: []string{"*"}},
	}
	namespaceRules = []rbacv1.PolicyRule{
		{APIGroups: []string{"*"}, Resources: []string{"*"}, Verbs: []string{"*"}},
	}
)

// installManager converges the argocd-manager ServiceAccount and its
// cluster-wide (or, with namespaces, per-namespace) role and binding inside
// the vCluster, and mints a new token of the given lifetime bound to a
// Secret of its own (mintToken). Earlier tokens stay valid: the caller
// revokes them once Argo CD has the new one. created says the
// ServiceAccount did not exist before (so a failed registration can remove
// what it made). Nothing is logged: the token is a credential.
func installManager(ctx context.Context, kc kubernetes.Interface, namespaces []string, lifetime time.Duration) (tok *boundToken, created bool, err error) {
	for _, ns := range namespaces {
		if _, err := kc.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); apierrors.IsNotFound(err) {
			return nil, false, tenant.NewUsageError(fmt.Sprintf("--namespaces: namespace %s does not exist in the vCluster", ns))
		} else if err != nil {
			return nil, false, err
		}
	}
	sa := &corev1.ServiceAccount{ObjectMeta: managerMeta(ManagerServiceAccount, ManagerNamespace)}
	_, err = kc.CoreV1().ServiceAccounts(ManagerNamespace).Create(ctx, sa, metav1.CreateOptions{})
	switch {
	case err == nil:
		created = true
	case apierrors.IsAlreadyExists(err):
		cur, err := kc.CoreV1().ServiceAccounts(ManagerNamespace).Get(ctx, ManagerServiceAccount, metav1.GetOptions{})
		if err != nil {
			return nil, false, err
		}
		cur.Labels = mergeLabels(cur.Labels, sa.Labels)
		if _, err := kc.CoreV1().ServiceAccounts(ManagerNamespace).Update(ctx, cur, metav1.UpdateOptions{}); err != nil {
			return nil, false, err
		}
	default:
		return nil, false, fmt.Errorf("ServiceAccount %s/%s: %w", ManagerNamespace, ManagerServiceAccount, err)
	}
	fail := func(err error) (*boundToken, bool, error) { return nil, created, err }
	subject := rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Name: ManagerServiceAccount, Namespace: ManagerNamespace}
	rbac := kc.RbacV1()
	if len(namespaces) == 0 {
		if err := upsert(ctx, "ClusterRole "+ManagerRole, func() error {
			_, err := rbac.ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: managerMeta(ManagerRole, ""), Rules: clusterRules}, metav1.CreateOptions{})
			return err
		}, func() error {
			cur, err := rbac.ClusterRoles().Get(ctx, ManagerRole, metav1.GetOptions{})
			if err != nil {
				return err
			}
			cur.Labels, cur.Rules = mergeLabels(cur.Labels, managerMeta("", "").Labels), clusterRules
			_, err = rbac.ClusterRoles().Update(ctx, cur, metav1.UpdateOptions{})
			return err
		}); err != nil {
			return fail(err)
		}
		crb := &rbacv1.ClusterRoleBinding{ObjectMeta: managerMeta(ManagerRoleBinding, ""), Subjects: []rbacv1.Subject{subject},
			RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: ManagerRole}}
		if err := upsert(ctx, "ClusterRoleBinding "+ManagerRoleBinding, func() error {
			_, err := rbac.ClusterRoleBindings().Create(ctx, crb, metav1.CreateOptions{})
			return err
		}, func() error {
			cur, err := rbac.ClusterRoleBindings().Get(ctx, ManagerRoleBinding, metav1.GetOptions{})
			if err != nil {
				return err
			}
			if cur.RoleRef != crb.RoleRef { // roleRef is immutable
				if err := rbac.ClusterRoleBindings().Delete(ctx, ManagerRoleBinding, metav1.DeleteOptions{}); err != nil {
					return err
				}
				_, err = rbac.ClusterRoleBindings().Create(ctx, crb, metav1.CreateOptions{})
				return err
			}
			cur.Labels, cur.Subjects = mergeLabels(cur.Labels, crb.Labels), crb.Subjects
			_, err = rbac.ClusterRoleBindings().Update(ctx, cur, metav1.UpdateOptions{})
			return err
		}); err != nil {
			return fail(err)
		}
	}
	for _, ns := range namespaces {
		if err := upsert(ctx, "Role "+ns+"/"+ManagerRole, func() error {
			_, err := rbac.Roles(ns).Create(ctx, &rbacv1.Role{ObjectMeta: managerMeta(ManagerRole, ns), Rules: namespaceRules}, metav1.CreateOptions{})
			return err
		}, func() error {
			cur, err := rbac.Roles(ns).Get(ctx, ManagerRole, metav1.GetOptions{})
			if err != nil {
				return err
			}
			cur.Labels, cur.Rules = mergeLabels(cur.Labels, managerMeta("", "").Labels), namespaceRules
			_, err = rbac.Roles(ns).Update(ctx, cur, metav1.UpdateOptions{})
			return err
		}); err != nil {
			return fail(err)
		}
		rb := &rbacv1.RoleBinding{ObjectMeta: managerMeta(ManagerRoleBinding, ns), Subjects: []rbacv1.Subject{subject},
			RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: ManagerRole}}
		if err := upsert(ctx, "RoleBinding "+ns+"/"+ManagerRoleBinding, func() error {
			_, err := rbac.RoleBindings(ns).Create(ctx, rb, metav1.CreateOptions{})
			return err
		}, func() error {
			cur, err := rbac.RoleBindings(ns).Get(ctx, ManagerRoleBinding, metav1.GetOptions{})
			if err != nil {
				return err
			}
			if cur.RoleRef != rb.RoleRef {
				if err := rbac.RoleBindings(ns).Delete(ctx, ManagerRoleBinding, metav1.DeleteOptions{}); err != nil {
					return err
				}
				_, err = rbac.RoleBindings(ns).Create(ctx, rb, metav1.CreateOptions{})
				return err
			}
			cur.Labels, cur.Subjects = mergeLabels(cur.Labels, rb.Labels), rb.Subjects
			_, err = rbac.RoleBindings(ns).Update(ctx, cur, metav1.UpdateOptions{})
			return err
		}); err != nil {
			return fail(err)
		}
	}
	// Drop the scope of an earlier registration that this one no longer has.
	if err := pruneManagerRBAC(ctx, kc, namespaces); err != nil {
		return fail(err)
	}
	tok, err = mintToken(ctx, kc, lifetime)
	if err != nil {
		return fail(err)
	}
	return tok, created, nil
}

// pruneManagerRBAC removes labelled manager roles and bindings outside the
// wanted scope: the cluster-wide pair when namespaces is set, and the Roles
// of namespaces not in it.
func pruneManagerRBAC(ctx context.Context, kc kubernetes.Interface, namespaces []string) error {
	rbac := kc.RbacV1()
	lo := metav1.ListOptions{LabelSelector: managerSelector}
	if len(namespaces) > 0 {
		if err := deleteIfLabelled(ctx, rbac.ClusterRoleBindings().Get, rbac.ClusterRoleBindings().Delete, ManagerRoleBinding); err != nil {
			return err
		}
		if err := deleteIfLabelled(ctx, rbac.ClusterRoles().Get, rbac.ClusterRoles().Delete, ManagerRole); err != nil {
			return err
		}
	}
	rbs, err := rbac.RoleBindings("").List(ctx, lo)
	if err != nil {
		return err
	}
	for _, rb := range rbs.Items {
		if !slices.Contains(namespaces, rb.Namespace) {
			if err := rbac.RoleBindings(rb.Namespace).Delete(ctx, rb.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
				return err
			}
		}
	}
	rs, err := rbac.Roles("").List(ctx, lo)
	if err != nil {
		return err
	}
	for _, r := range rs.Items {
		if !slices.Contains(namespaces, r.Namespace) {
			if err := rbac.Roles(r.Namespace).Delete(ctx, r.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
				return err
			}
		}
	}
	return nil
}

// uninstallManager removes everything installManager made (only objects
// carrying its labels); what is already gone is fine.
func uninstallManager(ctx context.Context, kc kubernetes.Interface) error {
	if err := pruneManagerRBAC(ctx, kc, nil); err != nil {
		return err
	}
	rbac := kc.RbacV1()
	for _, del := range []func() error{
		func() error {
			return deleteIfLabelled(ctx, rbac.ClusterRoleBindings().Get, rbac.ClusterRoleBindings().Delete, ManagerRoleBinding)
		},
		func() error {
			return deleteIfLabelled(ctx, rbac.ClusterRoles().Get, rbac.ClusterRoles().Delete, ManagerRole)
		},
		func() error { return revokeTokens(ctx, kc, "") },
		func() error {
			s := kc.CoreV1().ServiceAccounts(ManagerNamespace)
			return deleteIfLabelled(ctx, s.Get, s.Delete, ManagerServiceAccount)
		},
	} {
		if err := del(); err != nil {
			return err
		}
	}
	return nil
}

// managerLeft lists the labelled manager objects still in the vCluster
// (for tests and the deregister report).
func managerLeft(ctx context.Context, kc kubernetes.Interface) ([]string, error) {
	var left []string
	lo := metav1.ListOptions{LabelSelector: managerSelector}
	sas, err := kc.CoreV1().ServiceAccounts("").List(ctx, lo)
	if err != nil {
		return nil, err
	}
	for _, x := range sas.Items {
		left = append(left, "serviceaccount/"+x.Namespace+"/"+x.Name)
	}
	crs, err := kc.RbacV1().ClusterRoles().List(ctx, lo)
	if err != nil {
		return nil, err
	}
	for _, x := range crs.Items {
		left = append(left, "clusterrole/"+x.Name)
	}
	crbs, err := kc.RbacV1().ClusterRoleBindings().List(ctx, lo)
	if err != nil {
		return nil, err
	}
	for _, x := range crbs.Items {
		left = append(left, "clusterrolebinding/"+x.Name)
	}
	secs, err := kc.CoreV1().Secrets("").List(ctx, lo)
	if err != nil {
		return nil, err
	}
	for _, x := range secs.Items {
		left = append(left, "secret/"+x.Namespace+"/"+x.Name)
	}
	return left, nil
}

// ManagerLeft names the manager objects this tool made that are still in
// the vCluster reached through a (none after deregistration).
func ManagerLeft(ctx context.Context, a *tenant.Access) ([]string, error) {
	kc, err := kubernetes.NewForConfig(a.Config)
	if err != nil {
		return nil, err
	}
	return managerLeft(ctx, kc)
}

type labelled interface{ GetLabels() map[string]string }

func deleteIfLabelled[T labelled](ctx context.Context, get func(context.Context, string, metav1.GetOptions) (T, error),
	del func(context.Context, string, metav1.DeleteOptions) error, name string) error {
	cur, err := get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	l := cur.GetLabels()
	if l[tenant.LabelManagedBy] != tenant.ManagedByValue || l[labelComponent] != componentValue {
		return nil // not ours
	}
	if err := del(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	return nil
}

func upsert(ctx context.Context, what string, create, update func() error) error {
	err := create()
	if apierrors.IsAlreadyExists(err) {
		err = update()
	}
	if err != nil && ctx.Err() == nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return err
}

func mergeLabels(dst, src map[string]string) map[string]string {
	if dst == nil {
		dst = map[string]string{}
	}
	for k, v := range src {
		dst[k] = v
	}
	return dst
}
