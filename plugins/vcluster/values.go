package vcluster

import (
	"encoding/json"
	"fmt"
	"os"

	vclusterconfig "github.com/loft-sh/vcluster/config"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
)

// Values are the chart values kubectl-tenant sets for a tenant, built from
// vCluster's own config types so a renamed field fails to compile rather than
// being silently ignored by the chart. GitOps rendering uses the same function.
func Values(name, pool, k8sVersion string) (map[string]any, error) {
	ns := tenant.NamespaceFor(name)
	var c vclusterconfig.Config
	sts := &c.ControlPlane.StatefulSet
	sts.Scheduling.NodeSelector = map[string]any{tenant.PoolLabel: pool}
	sts.Scheduling.Tolerations = []map[string]any{{
		"key": tenant.PoolLabel, "operator": "Equal", "value": pool, "effect": "NoSchedule",
	}}
	tenantLabels := map[string]string{tenant.LabelName: name, tenant.LabelManagedBy: tenant.ManagedByValue}
	sts.Labels = tenantLabels
	sts.Pods.Labels = tenantLabels
	c.ControlPlane.Proxy.ExtraSANs = tenant.ServiceSANs(ns)
	if k8sVersion != "" {
		c.ControlPlane.Distro.K8S.Image.Tag = k8sVersion
	}
	b, err := json.Marshal(&c)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	prune(m)
	return m, nil
}

// prune drops empty maps, which the typed config marshals for every unset
// struct; left in, they would hide nothing but clutter rendered values.
func prune(m map[string]any) {
	for k, v := range m {
		if sub, ok := v.(map[string]any); ok {
			prune(sub)
			if len(sub) == 0 {
				delete(m, k)
			}
		}
	}
}

// MergeValues merges user values files over base; later files win, maps
// merge deeply, other values replace.
func MergeValues(base map[string]any, files []string) (map[string]any, error) {
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("values file: %w", err)
		}
		var over map[string]any
		if err := yaml.Unmarshal(b, &over); err != nil {
			return nil, fmt.Errorf("values file %s: %w", f, err)
		}
		base = merge(base, over)
	}
	return base, nil
}

func merge(dst, src map[string]any) map[string]any {
	if dst == nil {
		dst = map[string]any{}
	}
	for k, v := range src {
		if sv, ok := v.(map[string]any); ok {
			if dv, ok := dst[k].(map[string]any); ok {
				dst[k] = merge(dv, sv)
				continue
			}
		}
		dst[k] = v
	}
	return dst
}
