package gitops

import (
	"path"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
)

const gcName = "kubectl-tenant-gc"

// GCDir is where the gc CronJob and its RBAC are rendered.
var GCDir = path.Join(SectionSystem, "tenant-gc")

// GCApplicationPath is the Application syncing GCDir.
var GCApplicationPath = path.Join(SectionApplications, "app-tenant-gc.yaml")

// gcFiles renders the gc CronJob, its ServiceAccount and RBAC, and the
// Application that syncs them.
func gcFiles(c *Config) map[string][]any {
	labels := map[string]string{tenant.LabelManagedBy: tenant.ManagedByValue, "app.kubernetes.io/name": gcName}
	ns := c.GC.Namespace
	return map[string][]any{
		GCApplicationPath:                  {gcApplication(c, labels)},
		path.Join(GCDir, "namespace.yaml"): {obj{"apiVersion": "v1", "kind": "Namespace", "metadata": meta(ns, "", labels)}},
		path.Join(GCDir, "rbac.yaml"): {
			obj{"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta(gcName, ns, labels)},
			gcClusterRole(labels),
			obj{
				"apiVersion": "rbac.authorization.k8s.io/v1",
				"kind":       "ClusterRoleBinding",
				"metadata":   meta(gcName, "", labels),
				"roleRef":    obj{"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": gcName},
				"subjects":   []obj{{"kind": "ServiceAccount", "name": gcName, "namespace": ns}},
			},
		},
		path.Join(GCDir, "cronjob.yaml"): {gcCronJob(c, labels)},
	}
}

func gcApplication(c *Config, labels map[string]string) obj {
	return obj{
		"apiVersion": argoAPIVersion,
		"kind":       "Application",
		"metadata":   meta("tenant-gc", c.ArgoCDNamespace, labels),
		"spec": obj{
			"project":     "default",
			"destination": obj{"server": inClusterServer, "namespace": c.GC.Namespace},
			"source":      obj{"repoURL": c.RepoURL, "targetRevision": c.TargetRevision, "path": GCDir},
			"syncPolicy":  obj{"automated": obj{"prune": true, "selfHeal": true}},
		},
	}
}

// gcClusterRole is what `kubectl tenant gc` needs and no more: find tenant
// namespaces and delete them; Helm's release records (Secrets) and the
// kinds the vcluster chart installs, for the uninstall; Argo CD's cluster
// Secrets, for deregistering (without Argo CD API access gc deletes them,
// which Argo CD treats the same); the tenant's Lease, held while deleting. Tenants live in namespaces created on
// demand, so the rules are cluster-wide.
func gcClusterRole(labels map[string]string) obj {
	del := []string{"delete"}
	return obj{
		"apiVersion": "rbac.authorization.k8s.io/v1",
		"kind":       "ClusterRole",
		"metadata":   meta(gcName, "", labels),
		"rules": []obj{
			{"apiGroups": []string{""}, "resources": []string{"namespaces"}, "verbs": []string{"get", "list", "delete"}},
			{"apiGroups": []string{""}, "resources": []string{"secrets"}, "verbs": []string{"get", "list", "update", "delete"}},
			{"apiGroups": []string{""}, "resources": []string{"configmaps", "services", "serviceaccounts", "limitranges", "resourcequotas"}, "verbs": del},
			{"apiGroups": []string{"apps"}, "resources": []string{"statefulsets", "deployments"}, "verbs": del},
			{"apiGroups": []string{"rbac.authorization.k8s.io"}, "resources": []string{"roles", "rolebindings", "clusterroles", "clusterrolebindings"}, "verbs": del},
			{"apiGroups": []string{"networking.k8s.io"}, "resources": []string{"networkpolicies", "ingresses"}, "verbs": del},
			{"apiGroups": []string{"policy"}, "resources": []string{"poddisruptionbudgets"}, "verbs": del},
			// The tenant's lease, held while it is deleted (tenant.LeaseName).
			{"apiGroups": []string{"coordination.k8s.io"}, "resources": []string{"leases"}, "verbs": []string{"get", "create", "update", "delete"}},
		},
	}
}

func gcCronJob(c *Config, labels map[string]string) obj {
	container := obj{
		"name":    "gc",
		"image":   c.GC.Image,
		"command": []string{"kubectl-tenant", "gc"},
		// gc keeps no state in the cluster; HOME only has to be writable.
		"env":          []obj{{"name": "HOME", "value": "/tmp"}},
		"volumeMounts": []obj{{"name": "tmp", "mountPath": "/tmp"}},
		"resources": obj{
			"requests": obj{"cpu": "10m", "memory": "64Mi"},
			"limits":   obj{"memory": "256Mi"},
		},
		"securityContext": obj{
			"allowPrivilegeEscalation": false,
			"readOnlyRootFilesystem":   true,
			"capabilities":             obj{"drop": []string{"ALL"}},
		},
	}
	return obj{
		"apiVersion": "batch/v1",
		"kind":       "CronJob",
		"metadata":   meta(gcName, c.GC.Namespace, labels),
		"spec": obj{
			"schedule": c.GC.Schedule,
			// Overlapping runs are safe but pointless.
			"concurrencyPolicy":          "Forbid",
			"successfulJobsHistoryLimit": 3,
			"failedJobsHistoryLimit":     3,
			"jobTemplate": obj{
				"metadata": obj{"labels": labels},
				"spec": obj{
					"backoffLimit":          2,
					"activeDeadlineSeconds": 3600,
					"template": obj{
						"metadata": obj{"labels": labels},
						"spec": obj{
							"serviceAccountName": gcName,
							"restartPolicy":      "Never",
							"securityContext": obj{
								"runAsNonRoot":   true,
								"runAsUser":      65532,
								"seccompProfile": obj{"type": "RuntimeDefault"},
							},
							"containers": []obj{container},
							"volumes":    []obj{{"name": "tmp", "emptyDir": obj{}}},
						},
					},
				},
			},
		},
	}
}
