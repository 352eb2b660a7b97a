package tenant

import (
	"context"
	"time"
)

// Spec is what gets installed for a tenant, whatever its name: the one
// description that create, a warm spare, upgrade and the spare hash
// (SpecHash) share, so a field added here reaches all of them.
type Spec struct {
	// Pool is the node pool (node label and taint project=<pool>); create
	// defaults it to the tenant's name.
	Pool string
	// K8sVersion, when set, pins the virtual cluster's Kubernetes version.
	K8sVersion string
	// Chart is a local path, an oci:// reference or a chart name in ChartRepo.
	Chart        string
	ChartRepo    string
	ChartVersion string
	// Values are defaults (the host's) merged over the tool's own values and
	// under the user's.
	Values map[string]any
	// ValuesFiles are user values, merged over the ones kept from earlier
	// runs and then over the tool's own values.
	ValuesFiles []string
	// Isolation asks for the backend's quota, limit range and network
	// policies (over the tool's values, under the user's).
	Isolation bool
}

// InstallRequest is what a Backend needs to install or converge a tenant's
// control plane.
type InstallRequest struct {
	Name      string
	Namespace string
	Spec
	// ReuseValues makes an empty ChartVersion keep the release's chart
	// version: what upgrade needs. (The user's earlier values are kept
	// either way.)
	ReuseValues bool
}

// Change is what installing a request over the existing release would do.
type Change struct {
	Revision int    // the release's current revision
	Status   string // its Helm status
	From, To string // chart versions
	// ValuesChanged says the computed values differ from the release's.
	ValuesChanged bool
	// ValuesDiff says how, one line per changed value path (credentials
	// and structured values are not printed).
	ValuesDiff []string
}

// Unchanged says the release is deployed at the target chart and values.
func (c Change) Unchanged() bool {
	return c.Status == "deployed" && c.From == c.To && !c.ValuesChanged
}

// Backend installs and removes tenant control planes. plugins/vcluster is
// the implementation; another virtual-cluster technology can be added behind
// the same interface.
type Backend interface {
	// Install installs the release, or upgrades it to the requested state
	// when it exists (so re-running create converges). Install and
	// Uninstall run under the tenant's lease: they check Fence(ctx) before
	// each write.
	Install(ctx context.Context, req InstallRequest) error
	// Inspect says what Install(req) would change, changing nothing;
	// ErrNotFound when there is no release. PlanUpgrade calls it for up
	// to PlanParallelism tenants at once.
	Inspect(ctx context.Context, req InstallRequest) (Change, error)
	// RolloutDone says whether the control plane runs its latest template
	// everywhere (after Install changed it); msg says what is left.
	RolloutDone(ctx context.Context, namespace string) (done bool, msg string, err error)
	// Uninstall removes the release; a missing release is not an error.
	Uninstall(ctx context.Context, namespace string) error
	// Releases returns the release of every tenant namespace (or of
	// s.Namespace) in one call.
	Releases(ctx context.Context, s Scope) (map[string]Release, error)
	// Credentials reads the tenant's admin credentials; ErrNotFound when the
	// control plane has not written them yet.
	Credentials(ctx context.Context, namespace string) (*Credentials, error)
	// PodSelector selects the control-plane pod(s) in the tenant namespace.
	PodSelector() string
	// APIPort is the pod port serving the virtual API.
	APIPort() int
	// Sleep scales the control plane to zero, recording on its workloads
	// what Wake restores. Sleeping a sleeping tenant changes nothing.
	Sleep(ctx context.Context, namespace string) (SleepResult, error)
	// Wake restores what Sleep recorded; waking an awake tenant changes
	// nothing. It reports whether anything was scaled up.
	Wake(ctx context.Context, namespace string) (bool, error)
	// WorkloadSelector selects the pods the control plane synced into the
	// tenant namespace (they lose their manager while it sleeps).
	WorkloadSelector() string
}

// Scope narrows a backend read.
type Scope struct {
	// Namespace is one tenant namespace; empty reads every tenant.
	Namespace string
	// Kinds are the control-plane workload kinds to read (ControlPlane.Kind
	// values); empty reads every kind the backend knows.
	Kinds []string
	// Cached lets the apiserver answer from its watch cache
	// (resourceVersion=0): possibly milliseconds stale, but without the
	// quorum read and wait of a consistent list (tens of ms a call). list
	// reads this way; status and the lifecycle read consistently.
	Cached bool
}

// ReadyProber is an optional Backend capability: a backend that reaches the
// tenant's API itself (a unit test's fake) instead of through a port-forward
// to the control-plane pod. ProbeReady says whether /readyz answers and
// returns the server's gitVersion.
type ReadyProber interface {
	ProbeReady(ctx context.Context, namespace, pod string, c *Credentials) (version string, err error)
}

// ChartChecker is an optional Backend capability: whether a requested chart
// version is one the backend supports, before anything is made (create
// and upgrade refuse an unsupported one with one line, a usage error). An
// empty version is left to the install.
type ChartChecker interface {
	CheckChartVersion(version string) error
}

// ControlPlaneLister is an optional Backend capability: the control-plane
// workloads of a Scope, one call per kind. list and status derive
// Ready/Sleeping/Stopped/Pending from them.
type ControlPlaneLister interface {
	ControlPlanes(ctx context.Context, s Scope) (map[string]ControlPlane, error)
	// ControlPlaneKinds are the kinds ControlPlanes reads when Scope.Kinds
	// is empty.
	ControlPlaneKinds() []string
}

// SleepResult says what Backend.Sleep did.
type SleepResult struct {
	// Changed is false when the tenant was already asleep.
	Changed bool
	// Warning, when set, is something the user should know (e.g. the
	// control plane keeps no state across a restart).
	Warning string
}

// Resetter is a Backend that can make a stopped control plane start as a
// new one: new CA, admin credentials and service-account key, empty state.
// A claim uses it so that nothing read from a warm spare before the claim
// works after it (audit N7).
type Resetter interface {
	Reset(ctx context.Context, ns string) error
}

// Registrar registers tenants with a GitOps controller (Argo CD).
type Registrar interface {
	// Deregister removes the tenant, reporting warnings on report; a
	// tenant not registered is not an error.
	Deregister(ctx context.Context, name string, report Reporter) error
	// Registered names every registered tenant, fetched once.
	Registered(ctx context.Context) (map[string]bool, error)
}

// GitOps installs tenants through a GitOps controller (an Argo CD
// Application) instead of the Backend; the Backend still finds the pods and
// reads the credentials of what the controller installs.
type GitOps interface {
	// Preflight checks the controller can take the tenant (its API and
	// namespace exist, the caller may write Applications) and returns the
	// Application (namespace/name) that will own it.
	Preflight(ctx context.Context, name string) (app string, err error)
	// Apply creates or converges the tenant's Application.
	Apply(ctx context.Context, req InstallRequest) error
	// Synced reports whether the controller has synced the Application, and
	// otherwise what it waits for; an error is a sync that failed.
	Synced(ctx context.Context, name string) (bool, string, error)
	// Remove deletes the tenant's Application so the controller prunes what
	// it installed, and waits up to wait for it to be gone (0: no wait). A
	// missing Application, or no Argo CD at all, is not an error.
	Remove(ctx context.Context, name string, wait time.Duration, report Reporter) error
}

// Opener reads a tenant and opens its API: what a plugin needs of the
// engine (*Engine implements it).
type Opener interface {
	Get(ctx context.Context, name string) (*Tenant, error)
	Open(ctx context.Context, name string) (*Access, error)
}

// Connector connects the user to a ready tenant (create's step "connect"):
// the CLI starts its background forwarder, which writes context NAME and
// makes it current.
type Connector interface {
	Connect(ctx context.Context, name string) error
}

// Registration registers a ready tenant with a GitOps controller (create's
// last steps, create --register), configured by its maker (where Argo CD
// is, the cluster labels).
type Registration interface {
	// Register registers tenant name, reporting the steps of Plan.
	Register(ctx context.Context, name string, report Reporter) error
	// Plan names the steps Register reports, in order.
	Plan() []string
}

var _ Opener = (*Engine)(nil)
