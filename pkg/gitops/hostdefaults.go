package gitops

import (
	"path"
	"strconv"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/hostconfig"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
)

// HostDefaultsDir holds the host defaults ConfigMap (kube-public/
// kubectl-tenant) and the RBAC that lets every authenticated user read it.
var HostDefaultsDir = path.Join(SectionSystem, "host-defaults")

// HostDefaultsApplicationPath is the Application syncing HostDefaultsDir.
var HostDefaultsApplicationPath = path.Join(SectionApplications, "app-host-defaults.yaml")

// HostDefaults is the data of the host defaults ConfigMap config.yaml
// implies: its vcluster chart, Argo CD namespace, the Argo CD chart of
// the bootstrap, and the defaults' ttl and
// isolation when set; so `kubectl tenant create` on the host installs what
// the Applications install.
func HostDefaults(c *Config) map[string]string {
	r := c.withDefaults()
	d := map[string]string{
		hostconfig.KeyChartRepo:       r.VClusterChart.RepoURL,
		hostconfig.KeyChart:           r.VClusterChart.Chart,
		hostconfig.KeyChartVersion:    r.VClusterChart.Version,
		hostconfig.KeyArgoCDNamespace: r.ArgoCDNamespace,
		// register --bootstrap installs the Argo CD chart the rendered
		// ApplicationSet installs.
		hostconfig.KeyBootstrapSource: hostconfig.FormatBootstrapSource(r.ArgoCDChart.RepoURL, r.ArgoCDChart.Chart, r.ArgoCDChart.Version),
	}
	if c.Defaults.TTL.Duration > 0 {
		d[hostconfig.KeyTTL] = c.Defaults.TTL.Duration.String()
	}
	if len(c.WarmPools) > 0 {
		if s := hostconfig.FormatWarmPools(c.WarmPools); s != "" {
			d[hostconfig.KeyWarmPools] = s
		}
	}
	if c.Defaults.Isolation != nil {
		d[hostconfig.KeyIsolation] = strconv.FormatBool(*c.Defaults.Isolation)
	}
	return d
}

func hostDefaultsFiles(c *Config) map[string][]any {
	labels := map[string]string{tenant.LabelManagedBy: tenant.ManagedByValue}
	reader := hostconfig.Name + "-reader"
	cm := hostconfig.ConfigMap(HostDefaults(c))
	return map[string][]any{
		HostDefaultsApplicationPath: {obj{
			"apiVersion": argoAPIVersion,
			"kind":       "Application",
			"metadata":   meta("host-defaults", c.ArgoCDNamespace, labels),
			"spec": obj{
				"project":     "default",
				"destination": obj{"server": inClusterServer, "namespace": hostconfig.Namespace},
				"source":      obj{"repoURL": c.RepoURL, "targetRevision": c.TargetRevision, "path": HostDefaultsDir},
				"syncPolicy":  obj{"automated": obj{"prune": true, "selfHeal": true}},
			},
		}},
		path.Join(HostDefaultsDir, "configmap.yaml"): {
			obj{"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta(hostconfig.Name, hostconfig.Namespace, labels), "data": cm.Data},
			obj{
				"apiVersion": "rbac.authorization.k8s.io/v1",
				"kind":       "Role",
				"metadata":   meta(reader, hostconfig.Namespace, labels),
				"rules":      []obj{{"apiGroups": []string{""}, "resources": []string{"configmaps"}, "resourceNames": []string{hostconfig.Name}, "verbs": []string{"get"}}},
			},
			obj{
				"apiVersion": "rbac.authorization.k8s.io/v1",
				"kind":       "RoleBinding",
				"metadata":   meta(reader, hostconfig.Namespace, labels),
				"roleRef":    obj{"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": reader},
				"subjects":   []obj{{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "system:authenticated"}},
			},
		},
	}
}
