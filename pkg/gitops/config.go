// Package gitops renders the platform repository (Argo CD Applications,
// per-project manifests and vCluster values, Terraform node pools) from a
// declarative config.yaml, so that GitOps mode and `kubectl tenant create`
// produce the same tenant. It has no CLI dependencies; `kubectl tenant
// render` is a thin face over Load, Render and Write.
package gitops

import (
	"time"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/hostconfig"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/warmpool"
)

// Config is config.yaml: the projects of the platform and how to render them.
//
//	repoURL: https://git.example.com/platform.git   # this repository (required)
//	targetRevision: main
//	defaults:
//	  machineType: c1.2
//	  maxSize: 3
//	clusters:
//	  - project: project-x
//	    nodePools:
//	      - name: workload
//
// Settings resolve nodePools[] > clusters[] > defaults > built-in defaults.
type Config struct {
	// RepoURL is the Git URL of the platform repository the rendered files
	// live in: the Applications read the project folder and the values from it.
	RepoURL string `yaml:"repoURL"`
	// TargetRevision is the branch, tag or commit the Applications track (default main).
	TargetRevision string `yaml:"targetRevision"`
	// ArgoCDNamespace is the host Argo CD's namespace (default argocd).
	ArgoCDNamespace string `yaml:"argocdNamespace"`
	// VClusterChart is the vcluster chart the Applications install
	// (default: the chart `kubectl tenant create` installs).
	VClusterChart Chart `yaml:"vclusterChart"`
	// ArgoCDChart is the Argo CD chart installed into every vCluster by
	// the ApplicationSet.
	ArgoCDChart Chart `yaml:"argocdChart"`
	// Terraform configures the host cluster and its system node pool.
	Terraform Terraform `yaml:"terraform"`
	// GC is the CronJob running `kubectl tenant gc` in the host cluster.
	GC GC `yaml:"gc"`
	// Defaults apply to every cluster and node pool that does not set them.
	Defaults Settings `yaml:"defaults"`
	// Clusters are the projects, one vCluster each.
	Clusters []Cluster `yaml:"clusters"`
	// WarmPools keep spare tenants per node pool for `kubectl tenant
	// create` to claim (the host defaults' warmPools; gc tops them up).
	WarmPools map[string]warmpool.Config `yaml:"warmPools"`

	// File is the name errors are reported against.
	File string `yaml:"-"`
	// ToolVersion is the version of the kubectl-tenant rendering (set by
	// the caller, e.g. 1.2.0 or v1.2.0): the gc image's default tag.
	ToolVersion string `yaml:"-"`
}

// GCImage is the gc image for a kubectl-tenant version: DefaultGCImageRepo
// tagged vX.Y.Z, never a mutable tag like latest. A build without a release
// version ("dev", "") gets the tag dev: set gc.image for such builds.
func GCImage(version string) string {
	switch version {
	case "", "dev":
		return DefaultGCImageRepo + ":dev"
	}
	if version[0] != 'v' {
		version = "v" + version
	}
	return DefaultGCImageRepo + ":" + version
}

// GC configures system/tenant-gc/: a CronJob that deletes expired tenants
// with `kubectl tenant gc`, its ServiceAccount and the least RBAC gc needs,
// and the Application syncing them.
type GC struct {
	// Enabled defaults to true.
	Enabled *bool `yaml:"enabled"`
	// Image has kubectl-tenant on its PATH (default DefaultGCImageRepo
	// tagged with the rendering kubectl-tenant's version, see GCImage).
	// Pin it (a version tag or a digest): every Job pulls it.
	Image string `yaml:"image"`
	// Schedule is a cron schedule (default every 15 minutes).
	Schedule string `yaml:"schedule"`
	// Namespace the CronJob runs in (default kubectl-tenant-system).
	Namespace string `yaml:"namespace"`
}

// Chart references a Helm chart in a Helm repository.
type Chart struct {
	RepoURL string `yaml:"repoURL"`
	Chart   string `yaml:"chart"`
	Version string `yaml:"version"`
}

// Terraform configures terraform/: the SKE host cluster.
type Terraform struct {
	// ProjectID is the STACKIT project; when empty terraform.tfvars leaves
	// project_id to TF_VAR_project_id or a prompt.
	ProjectID string `yaml:"projectID"`
	// ClusterName is the SKE cluster name (default platform).
	ClusterName string `yaml:"clusterName"`
	// Region is the STACKIT region (default eu01).
	Region string `yaml:"region"`
	// KubernetesVersion is the minimum host Kubernetes version (major.minor);
	// empty lets SKE pick the latest.
	KubernetesVersion string `yaml:"kubernetesVersion"`
	// SystemPool is the untainted pool the platform itself (Argo CD) runs on.
	SystemPool SystemPool `yaml:"systemPool"`
}

// SystemPool is the host cluster's untainted node pool.
type SystemPool struct {
	// Name defaults to system.
	Name         string `yaml:"name"`
	PoolSettings `yaml:",inline"`
	Labels       map[string]string `yaml:"labels"`
}

// PoolSettings size and place a node pool. Unset fields inherit.
type PoolSettings struct {
	MachineType string `yaml:"machineType"`
	MinSize     *int   `yaml:"minSize"`
	MaxSize     *int   `yaml:"maxSize"`
	Zone        string `yaml:"zone"`
	VolumeSize  *int   `yaml:"volumeSize"`
	VolumeType  string `yaml:"volumeType"`
}

// Settings are what defaults and a cluster may set.
type Settings struct {
	PoolSettings `yaml:",inline"`
	// K8sVersion is the virtual cluster's Kubernetes version (the vCluster
	// distro image tag, e.g. v1.34.2); empty uses the chart's default.
	K8sVersion string `yaml:"k8sVersion"`
	// TTL is recorded on the tenant namespace (annotation
	// tenant.kubectl-tenant.io/ttl) for garbage collection.
	TTL Duration `yaml:"ttl"`
	// Isolation adds the vCluster chart's ResourceQuota, LimitRange and
	// NetworkPolicies (workload traffic only from the tenant itself), as
	// `create --isolation` does.
	Isolation *bool `yaml:"isolation"`
	// Labels go on the tenant's namespace, Application and AppProject and on
	// the nodes of its pools. Cluster labels are added to default labels.
	Labels map[string]string `yaml:"labels"`
	// ArgoCDValues are Helm values for the Argo CD inside the vCluster,
	// deep-merged over the defaults' values.
	ArgoCDValues map[string]any `yaml:"argocdValues"`
	// Groups are the user groups bound to the tenant-admin Role in the
	// tenant namespace, which can read the vCluster's admin credentials.
	// There is no default: with none, no RoleBinding is rendered and only
	// the platform's own admins reach the tenant. Groups every user is in
	// (system:authenticated and the like) are refused.
	Groups []string `yaml:"groups"`
	// LoadBalancer, when enabled, renders vcluster-loadbalancer.yaml: a
	// LoadBalancer Service in front of the vCluster API. A cluster's block
	// replaces the defaults' block.
	LoadBalancer *LoadBalancer `yaml:"loadBalancer"`
}

// LoadBalancer exposes a vCluster's API outside the host cluster.
type LoadBalancer struct {
	// Enabled defaults to true when the block is present.
	Enabled      *bool             `yaml:"enabled"`
	Annotations  map[string]string `yaml:"annotations"`
	SourceRanges []string          `yaml:"sourceRanges"`
}

// Cluster is one project: a vCluster in namespace vcluster-<project>,
// scheduled onto the node pools labelled and tainted project=<project>.
type Cluster struct {
	Project   string     `yaml:"project"`
	NodePools []NodePool `yaml:"nodePools"`
	Settings  `yaml:",inline"`
}

// NodePool is a host node pool of a project. Its nodes are labelled
// project=<project> and tainted project=<project>:NoSchedule.
type NodePool struct {
	Name         string `yaml:"name"`
	PoolSettings `yaml:",inline"`
	// Labels are added to this pool's nodes only.
	Labels map[string]string `yaml:"labels"`
}

// Duration is a Go duration in config.yaml (e.g. 72h).
type Duration struct{ time.Duration }

// Built-in defaults.
const (
	DefaultTargetRevision     = "main"
	DefaultArgoCDNamespace    = "argocd"
	DefaultArgoCDChartRepo    = hostconfig.BuiltInBootstrapRepo
	DefaultArgoCDChart        = hostconfig.BuiltInBootstrapChart
	DefaultArgoCDChartVersion = hostconfig.BuiltInBootstrapVersion
	DefaultClusterName        = "platform"
	DefaultRegion             = "eu01"
	DefaultSystemPool         = "system"
	DefaultMachineType        = "c1.2"
	DefaultMinSize            = 1
	DefaultMaxSize            = 3
	DefaultZone               = "eu01-1"
	DefaultVolumeSize         = 20
	DefaultVolumeType         = "storage_premium_perf1"
	DefaultGCImageRepo        = "ghcr.io/kubectl-tenant/kubectl-tenant"
	DefaultGCSchedule         = "*/15 * * * *"
	DefaultGCNamespace        = "kubectl-tenant-system"
)
