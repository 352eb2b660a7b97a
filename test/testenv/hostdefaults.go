package testenv

import (
	"context"
	_ "embed"
	"fmt"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	applycorev1 "k8s.io/client-go/applyconfigurations/core/v1"
	applyrbacv1 "k8s.io/client-go/applyconfigurations/rbac/v1"
	"sigs.k8s.io/yaml"
)

// playgroundValues are the chart values the playground's host defaults
// carry on top of what kubectl-tenant sets: the images it has.
//
//go:embed playground-values.yaml
var playgroundValues string

// kwokValues are added when no pool has a real node: no PVC.
//
//go:embed playground-values-kwok.yaml
var kwokValues string

// PlaygroundValues are the chart values of the host defaults: with real
// nodes the chart's own persistence (a PVC the default StorageClass binds);
// without, none.
func PlaygroundValues(realNodes bool) (string, error) {
	if realNodes {
		return playgroundValues, nil
	}
	var base, extra map[string]any
	if err := yaml.Unmarshal([]byte(playgroundValues), &base); err != nil {
		return "", err
	}
	if err := yaml.Unmarshal([]byte(kwokValues), &extra); err != nil {
		return "", err
	}
	b, err := yaml.Marshal(mergeValues(base, extra))
	return string(b), err
}

// mergeValues merges b into a, maps key by key (b wins elsewhere).
func mergeValues(a, b map[string]any) map[string]any {
	for k, v := range b {
		am, aok := a[k].(map[string]any)
		bm, bok := v.(map[string]any)
		if aok && bok {
			a[k] = mergeValues(am, bm)
			continue
		}
		a[k] = v
	}
	return a
}

// Where kubectl-tenant reads a host cluster's defaults (pkg/hostconfig;
// this module does not import the main one).
const (
	HostDefaultsNamespace = "kube-public"
	HostDefaultsName      = "kubectl-tenant"
)

// HostDefaults are the defaults the playground writes, so that a plain
// `kubectl tenant create NAME` works with no environment variable and no
// values file: the local chart repository, the first tenant pool, the
// values above and Argo CD's namespace; and the source of the Argo CD
// `register --bootstrap` installs into a tenant (BootstrapSource).
//
// With real nodes the values also let the tenant's workloads reach the
// chart repository at the host's address (TenantChartRepoURL), as a
// platform team lets its tenants reach its mirror: the chart's workload
// NetworkPolicy admits public addresses only.
func HostDefaults(env *Env) (map[string]string, error) {
	values, err := PlaygroundValues(len(env.RealNodes) > 0)
	if err != nil {
		return nil, err
	}
	if len(env.RealNodes) > 0 {
		var v map[string]any
		if err := yaml.Unmarshal([]byte(values), &v); err != nil {
			return nil, err
		}
		var ips []any
		for _, n := range env.RealNodes {
			ips = append(ips, map[string]any{"ipBlock": map[string]any{"cidr": n.HostIP + "/32"}})
		}
		v = mergeValues(v, map[string]any{"policies": map[string]any{"networkPolicy": map[string]any{"workload": map[string]any{
			"egress": []any{map[string]any{"to": ips, "ports": []any{map[string]any{"port": env.Ports.ChartRepo, "protocol": "TCP"}}}},
		}}}})
		b, err := yaml.Marshal(v)
		if err != nil {
			return nil, err
		}
		values = string(b)
	}
	return map[string]string{
		"chartRepo":       env.ChartRepoURL,
		"chart":           "vcluster",
		"chartVersion":    VClusterChartVersion,
		"pool":            TenantPools[0],
		"values":          values,
		"argocdNamespace": ArgoCDNamespace,
		"bootstrapSource": BootstrapSource(env.ChartRepoURL),
	}, nil
}

// bootstrapValues are the values of chart argo-cd (argocd_chart.go) the
// playground's bootstrap gives: the images are on the nodes (never pulled),
// small requests (a tenant's LimitRange would request 128Mi, 100m and 3Gi
// of ephemeral storage per container), no gpg in the image.
const bootstrapValues = `imagePullPolicy: IfNotPresent
resources:
  requests:
    cpu: 10m
    memory: 32Mi
    ephemeral-storage: 16Mi
env:
- name: ARGOCD_GPG_ENABLED
  value: "false"
`

// BootstrapSource is the host default bootstrapSource: YAML of the Argo CD
// ApplicationSource of the Argo CD `register --bootstrap` installs into
// each tenant, chart ArgoCDChartName from the playground's Helm repository
// at repoURL.
func BootstrapSource(repoURL string) string {
	b, err := yaml.Marshal(map[string]any{
		"repoURL":        repoURL,
		"chart":          ArgoCDChartName,
		"targetRevision": ArgoCDChartVersion,
		"helm":           map[string]any{"values": bootstrapValues},
	})
	if err != nil {
		panic(err) // a map of strings always marshals
	}
	return string(b)
}

// writeHostDefaults applies ConfigMap kube-public/kubectl-tenant and lets
// every authenticated user read it (what a platform team does once).
func (u *upper) writeHostDefaults(ctx context.Context, env *Env) error {
	opts := metav1.ApplyOptions{FieldManager: fieldManager, Force: true}
	data, err := HostDefaults(env)
	if err != nil {
		return fmt.Errorf("host defaults: %w", err)
	}
	cm := applycorev1.ConfigMap(HostDefaultsName, HostDefaultsNamespace).WithData(data)
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
