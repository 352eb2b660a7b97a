package tenant

import (
	"fmt"
	"strings"
	"unicode"

	"k8s.io/apimachinery/pkg/util/validation"
)

const (
	// NamespacePrefix is prepended to a tenant's name to form its host namespace.
	NamespacePrefix = "vcluster-"
	// ReleaseName is the Helm release (and vCluster name) in every tenant namespace.
	ReleaseName = "vcluster"

	labelPrefix = "tenant.kubectl-tenant.io/"
	// LabelName marks a namespace as a tenant's and carries the tenant name.
	LabelName = labelPrefix + "name"
	// LabelPool records the node pool the vCluster is pinned to.
	LabelPool = labelPrefix + "pool"
	// LabelWorkspace carries the tenant's workspace: the project whose node
	// pool it runs on. Tenant and workspace label everything the tool creates
	// on the host, so fleet operations can be scoped by them.
	LabelWorkspace = labelPrefix + "workspace"
	// LabelSpare marks a warm spare's namespace; its value is the spare's
	// pool. Claiming the spare removes it (and sets LabelName to the
	// tenant's name), in one conditional update.
	LabelSpare = labelPrefix + "spare"
	// LabelManagedBy is set on everything the tool creates.
	LabelManagedBy = "app.kubernetes.io/managed-by"
	// ManagedByValue is the value of LabelManagedBy.
	ManagedByValue = "kubectl-tenant"

	AnnotationOwner       = labelPrefix + "owner"
	AnnotationCreatedAt   = labelPrefix + "created-at"
	AnnotationExpiresAt   = labelPrefix + "expires-at"
	AnnotationK8sVersion  = labelPrefix + "k8s-version"
	AnnotationReadyAt     = labelPrefix + "ready-at"
	AnnotationTimeToReady = labelPrefix + "time-to-ready"
	// AnnotationIsolation records that the tenant was created with isolation
	// policies, so later upgrades keep them.
	AnnotationIsolation = labelPrefix + "isolation"
	// AnnotationSleepingSince is set on the namespace while the tenant
	// sleeps, so list derives Sleeping from its one namespace list.
	AnnotationSleepingSince = labelPrefix + "sleeping-since"
	// AnnotationTTL is a time to live (Go duration) counted from the
	// namespace's creation; GitOps-rendered namespaces carry it instead of
	// expires-at. expires-at, when set, wins (extend writes it).
	AnnotationTTL = labelPrefix + "ttl"
	// AnnotationLastConnectedAt is when connect last opened the tenant
	// (throttled), for stats' idle tenants.
	AnnotationLastConnectedAt = labelPrefix + "last-connected-at"
	// AnnotationApplication names the Argo CD Application (namespace/name)
	// that installs a GitOps tenant; its namespace has no Helm release.
	AnnotationApplication = labelPrefix + "gitops-application"
	// AnnotationInstallFailed holds why the last install failed (one line),
	// so a chart that failed before Helm stored a release (a values file
	// the chart's schema rejects) shows Failed, not Installing for ever.
	// A successful install removes it.
	AnnotationInstallFailed = labelPrefix + "install-failed"
	// AnnotationServerVersion is the Kubernetes version the tenant's API
	// server reported the last time the tool saw it ready.
	AnnotationServerVersion = labelPrefix + "server-version"
	// AnnotationControlPlaneKind is the kind of the control plane's workload
	// (StatefulSet, Deployment) the last time the tool saw it ready, so list
	// reads only that kind: one workload call for all tenants.
	AnnotationControlPlaneKind = labelPrefix + "control-plane-kind"
	// AnnotationSpec is a warm spare's install spec hash (SpecHash): a
	// create claims only a spare installed as it would install.
	AnnotationSpec = labelPrefix + "spec"
	// AnnotationRemoving marks a spare gc or pool set is removing, so no
	// create claims it (set by a conditional update, like a claim).
	AnnotationRemoving = labelPrefix + "removing"
	// AnnotationClaimedAt is when a create claimed the tenant as a warm
	// spare (stats splits time to ready by it).
	AnnotationClaimedAt = labelPrefix + "claimed-at"
	// AnnotationClaiming marks a spare a create has reserved for its
	// tenant (name label set, spare label gone) but not yet bound: its
	// value is the spare's own name, which GiveBack restores.
	AnnotationClaiming = labelPrefix + "claiming"
	// AnnotationReservedAt is when a create reserved the spare: a
	// reservation its create never bound (killed in between) is given
	// back by the next top-up.
	AnnotationReservedAt = labelPrefix + "reserved-at"

	// PoolLabel is the node label (and taint key) that defines a node pool.
	PoolLabel = "project"
)

// Labels are the labels every host object of a tenant carries.
func Labels(name, workspace string) map[string]string {
	return map[string]string{LabelName: name, LabelWorkspace: workspace, LabelManagedBy: ManagedByValue}
}

// ValidateName checks that name is a DNS-1123 label, that the namespace
// derived from it still fits in 63 characters, and that it is not a warm
// spare's (names starting "spare-" are reserved: an unclaimed spare is not
// a tenant anyone may connect to, register, create over or delete; audit
// N7).
func ValidateName(name string) error {
	if err := validateName(name); err != nil {
		return err
	}
	if strings.HasPrefix(name, spareNamePrefix) {
		return usageErrorf("%q is reserved for warm spares, which are not tenants (names starting with %q are refused; `kubectl tenant pool status` shows spares)", name, spareNamePrefix)
	}
	return nil
}

// validateName is ValidateName that accepts a spare's name: for what the
// warm pool itself does to its spares.
func validateName(name string) error {
	if name == "" {
		return usageErrorf("tenant name is required")
	}
	if errs := validation.IsDNS1123Label(name); len(errs) > 0 {
		return usageErrorf("invalid tenant name %q: %s", name, strings.Join(errs, "; "))
	}
	if ns := NamespaceFor(name); len(ns) > validation.DNS1123LabelMaxLength {
		return usageErrorf("invalid tenant name %q: namespace %q would be %d characters, the limit is %d (use at most %d characters)",
			name, ns, len(ns), validation.DNS1123LabelMaxLength, validation.DNS1123LabelMaxLength-len(NamespacePrefix))
	}
	return nil
}

// NamespaceFor is the host namespace of tenant name.
func NamespaceFor(name string) string { return NamespacePrefix + name }

// InstallName is the name a tenant's control plane was installed under in
// namespace ns (labels, certificate names): the tenant's own name, or the
// spare's for a claimed warm spare, which keeps it so that a later converge
// or upgrade does not restart the control plane to relabel it.
func InstallName(ns string) string { return strings.TrimPrefix(ns, NamespacePrefix) }

// ContextFor is the default kubeconfig context name of a tenant.
func ContextFor(name string) string { return name }

// ValidateContextName checks a kubeconfig context name given with
// --context-name: any name kubectl accepts, but printable, on one line and
// of sane length (it is never used as a path; see session.Key).
func ValidateContextName(name string) error {
	if strings.TrimSpace(name) == "" {
		return usageErrorf("--context-name must not be empty")
	}
	if len(name) > 253 {
		return usageErrorf("--context-name is %d characters long, the limit is 253", len(name))
	}
	for _, r := range name {
		if unicode.IsControl(r) || !unicode.IsPrint(r) && r != ' ' {
			return usageErrorf("--context-name %q contains a control character", name)
		}
	}
	return nil
}

// serviceHost is the in-cluster DNS name of the vCluster Service.
func serviceHost(ns string) string { return fmt.Sprintf("%s.%s", ReleaseName, ns) }

// ServiceSANs are the names the vCluster serving certificate must cover so the
// host's Argo CD can reach it by Service DNS (vCluster signs <release> and
// <release>.<ns> by itself; the .svc forms need extraSANs).
func ServiceSANs(ns string) []string {
	h := serviceHost(ns)
	return []string{h + ".svc", h + ".svc.cluster.local"}
}

// ValidateLabels checks user labels for a tenant namespace: valid keys and
// values, none of the keys the tool or Kubernetes set themselves.
func ValidateLabels(l map[string]string) error {
	for k, v := range l {
		if errs := validation.IsQualifiedName(k); len(errs) > 0 {
			return usageErrorf("invalid label key %q: %s", k, strings.Join(errs, "; "))
		}
		if errs := validation.IsValidLabelValue(v); len(errs) > 0 {
			return usageErrorf("invalid label value %q: %s", v, strings.Join(errs, "; "))
		}
		if strings.HasPrefix(k, labelPrefix) || k == LabelManagedBy || strings.HasPrefix(k, "kubernetes.io/") {
			return usageErrorf("label %s is set by kubectl-tenant or Kubernetes, not by --label", k)
		}
	}
	return nil
}

func validationIsLabelValue(v string) []string { return validation.IsValidLabelValue(v) }
