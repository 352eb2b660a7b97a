package gitops

import (
	"fmt"
	"path"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/hostconfig"
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
	subjects := []obj{{"kind": "ServiceAccount", "name": gcName, "namespace": ns}}
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
				"subjects":   subjects,
			},
			gcArgoCDRole(c, labels),
			obj{
				"apiVersion": "rbac.authorization.k8s.io/v1",
				"kind":       "RoleBinding",
				"metadata":   meta(gcName, c.ArgoCDNamespace, labels),
				"roleRef":    obj{"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": gcName},
				"subjects":   subjects,
			},
		},
		path.Join(GCDir, "cronjob.yaml"): {gcCronJob(c, labels)},
		path.Join(GCDir, "admission.yaml"): {
			gcPolicy(c, labels),
			obj{
				"apiVersion": "admissionregistration.k8s.io/v1",
				"kind":       "ValidatingAdmissionPolicyBinding",
				"metadata":   meta(gcName, "", labels),
				"spec":       obj{"policyName": gcName, "validationActions": []string{"Deny"}},
			},
		},
	}
}

// gcPolicy fences what the ClusterRole cannot: RBAC has no label
// selectors, so the ServiceAccount may delete any namespace or Secret. This
// ValidatingAdmissionPolicy (Kubernetes 1.30+) lets its deletes and updates
// through only for tenant objects: a namespace or cluster-scoped object with
// the tenant label, anything inside a namespace with it, and in Argo CD's
// namespace an object with it (the tenant's Application and cluster Secrets).
// Reads are not admitted, so they are not fenced.
func gcPolicy(c *Config, labels map[string]string) obj {
	tenantLabel := func(o string) string {
		return fmt.Sprintf("(has(%[1]s.metadata.labels) && \"%[2]s\" in %[1]s.metadata.labels)", o, tenant.LabelName)
	}
	// request.namespace is absent (not empty) for cluster-scoped objects:
	// namespaceObject, null for them, tells them apart.
	expr := fmt.Sprintf(`request.resource.group == "" && request.resource.resource == "namespaces" ? %[1]s : `+
		`namespaceObject == null ? %[1]s : `+
		`%[2]s || (namespaceObject.metadata.name == "%[3]s" && %[1]s)`,
		tenantLabel("oldObject"), tenantLabel("namespaceObject"), c.ArgoCDNamespace)
	return obj{
		"apiVersion": "admissionregistration.k8s.io/v1",
		"kind":       "ValidatingAdmissionPolicy",
		"metadata":   meta(gcName, "", labels),
		"spec": obj{
			"failurePolicy": "Fail",
			"matchConstraints": obj{"resourceRules": []obj{{
				"apiGroups": []string{"*"}, "apiVersions": []string{"*"}, "resources": []string{"*"},
				"operations": []string{"DELETE", "UPDATE"},
			}}},
			"matchConditions": []obj{{
				"name":       "gc-service-account",
				"expression": fmt.Sprintf(`request.userInfo.username == "system:serviceaccount:%s:%s"`, c.GC.Namespace, gcName),
			}},
			"validations": []obj{{
				"expression": expr,
				"message":    "kubectl-tenant gc changes only tenant objects (label " + tenant.LabelName + ")",
			}},
		},
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

// gcClusterRole is what `kubectl tenant gc` needs in tenant namespaces:
// find them (by label) and delete them, and Helm's uninstall of the
// release: its records (Secrets: list, get, update, delete) and the kinds
// the vcluster chart installs (delete only). Tenants live in namespaces
// created on demand and RBAC cannot select namespaces by label, so these
// rules are cluster-wide; each is the fewest verbs that step uses. Putting
// an idle tenant to sleep (issue #27) patches its namespace's annotations
// and scales its control plane's workload to zero (list, patch), then
// deletes the pods it synced (list, delete). Nothing here creates anything
// but the tenant's Lease (held while deleting or sleeping) and the
// port-forward that renews Argo CD's token inside a vCluster. What gc
// touches in Argo CD's namespace is in gcArgoCDRole.
func gcClusterRole(labels map[string]string) obj {
	del := []string{"delete"}
	return obj{
		"apiVersion": "rbac.authorization.k8s.io/v1",
		"kind":       "ClusterRole",
		"metadata":   meta(gcName, "", labels),
		"rules": []obj{
			{"apiGroups": []string{""}, "resources": []string{"namespaces"}, "verbs": []string{"get", "list", "patch", "delete"}},
			{"apiGroups": []string{""}, "resources": []string{"pods"}, "verbs": []string{"list", "delete"}},
			{"apiGroups": []string{""}, "resources": []string{"secrets"}, "verbs": []string{"get", "list", "update", "delete"}},
			{"apiGroups": []string{""}, "resources": []string{"configmaps", "services", "serviceaccounts", "limitranges", "resourcequotas"}, "verbs": del},
			{"apiGroups": []string{"apps"}, "resources": []string{"statefulsets", "deployments"}, "verbs": []string{"list", "patch", "delete"}},
			{"apiGroups": []string{"rbac.authorization.k8s.io"}, "resources": []string{"roles", "rolebindings", "clusterroles", "clusterrolebindings"}, "verbs": del},
			{"apiGroups": []string{"networking.k8s.io"}, "resources": []string{"networkpolicies", "ingresses"}, "verbs": del},
			{"apiGroups": []string{"policy"}, "resources": []string{"poddisruptionbudgets"}, "verbs": del},
			// Renewing Argo CD's token (issue #25) reaches the vCluster's API
			// through a port-forward to its control-plane pod (with the
			// admin credentials of Secret vc-vcluster, read above) and
			// updates Argo CD's cluster Secret when its API cannot be used.
			{"apiGroups": []string{""}, "resources": []string{"pods/portforward"}, "verbs": []string{"create"}},
			// The tenant's lease, held while it is deleted (tenant.LeaseName).
			{"apiGroups": []string{"coordination.k8s.io"}, "resources": []string{"leases"}, "verbs": []string{"get", "create", "update", "delete"}},
		},
	}
}

// gcArgoCDRole is what gc needs in Argo CD's namespace, and only there: a
// GitOps tenant's Application (get it, add the resources finalizer, delete
// it and wait for it to go) and the tenant's cluster Secrets (list them by
// label, delete them: without Argo CD API access gc deregisters that way,
// which Argo CD treats the same).
func gcArgoCDRole(c *Config, labels map[string]string) obj {
	return obj{
		"apiVersion": "rbac.authorization.k8s.io/v1",
		"kind":       "Role",
		"metadata":   meta(gcName, c.ArgoCDNamespace, labels),
		"rules": []obj{
			{"apiGroups": []string{"argoproj.io"}, "resources": []string{"applications"}, "verbs": []string{"get", "patch", "delete"}},
			{"apiGroups": []string{""}, "resources": []string{"secrets"}, "verbs": []string{"list", "delete"}},
		},
	}
}

func gcCronJob(c *Config, labels map[string]string) obj {
	container := obj{
		"name":  "gc",
		"image": c.GC.Image,
		// --pools=false: its role may delete tenants, not install them;
		// warm pools are topped up by the creates that claim spares and
		// by an admin's `kubectl tenant gc` or `pool set`.
		"command": []string{"kubectl-tenant", "gc", "--pools=false"},
		// gc keeps no state in the cluster; HOME only has to be writable.
		"env": []obj{
			{"name": "HOME", "value": "/tmp"},
			{"name": hostconfig.EnvArgoCDNamespace, "value": c.ArgoCDNamespace},
		},
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
