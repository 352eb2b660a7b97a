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
	tenantLabels := tenant.Labels(name, pool)
	sts.Labels = tenantLabels
	sts.Pods.Labels = tenantLabels
	c.ControlPlane.Proxy.ExtraSANs = tenant.ServiceSANs(ns)
	pinWorkloads(&c, pool)
	if k8sVersion != "" {
		c.ControlPlane.Distro.K8S.Image.Tag = k8sVersion
	}
	return toMap(&c)
}

// pinWorkloads keeps what runs inside the tenant on its pool too, not only
// the control plane: every pod the syncer copies to the host gets the pool's
// toleration (sync.toHost.pods.enforceTolerations) and its node selector
// (vCluster sets a synced pod's nodeSelector to sync.fromHost.nodes'
// selector labels), and the tenant sees only its pool's nodes (real nodes
// synced from the host, selected by the same labels; not selector.all).
func pinWorkloads(c *vclusterconfig.Config, pool string) {
	c.Sync.ToHost.Pods.EnforceTolerations = []string{tenant.PoolLabel + "=" + pool + ":NoSchedule"}
	nodes := &c.Sync.FromHost.Nodes
	nodes.Enabled = true
	nodes.Selector.Labels = map[string]string{tenant.PoolLabel: pool}
}

// TenantValues are Values plus, when isolation is asked for, Isolation: the
// one place both create and render get a tenant's values from.
func TenantValues(name, pool, k8sVersion string, isolation bool) (map[string]any, error) {
	vals, err := Values(name, pool, k8sVersion)
	if err != nil || !isolation {
		return vals, err
	}
	iso, err := Isolation(name, pool)
	if err != nil {
		return nil, err
	}
	return merge(vals, iso), nil
}

// Isolation are the chart values that fence a tenant in on the host: the
// chart's ResourceQuota and LimitRange (its default sizes) and its
// NetworkPolicies, which admit workload traffic only from the same vCluster
// (pod selectors without a namespace selector match the tenant's own
// namespace only) while the API port stays reachable for kubectl and Argo CD.
// Users tune the limits with their own values files.
func Isolation(name, workspace string) (map[string]any, error) {
	labels := tenant.Labels(name, workspace)
	var p vclusterconfig.Policies
	p.ResourceQuota.Enabled = "true"
	p.ResourceQuota.Labels = labels
	p.LimitRange.Enabled = "true"
	p.LimitRange.Labels = labels
	p.NetworkPolicy.Enabled = true
	p.NetworkPolicy.Labels = labels
	m, err := toMap(&p)
	if err != nil {
		return nil, err
	}
	return map[string]any{"policies": m}, nil
}

func toMap(v any) (map[string]any, error) {
	b, err := json.Marshal(v)
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

// CopyValues deep-copies values (nil stays nil), so merging over the copy
// leaves the original alone.
func CopyValues(v map[string]any) map[string]any {
	if v == nil {
		return nil
	}
	out := map[string]any{}
	for k, x := range v {
		if m, ok := x.(map[string]any); ok {
			x = CopyValues(m)
		}
		out[k] = x
	}
	return out
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
