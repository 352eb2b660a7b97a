// Package vclustervalues holds the vCluster chart values kubectl-tenant sets
// for a tenant, the chart it installs by default, and the one deep-merge
// every layer of values goes through (host defaults, the tool's values, the
// user's -f files, GitOps valuesObject).
//
// It is a leaf: no Helm SDK, no vCluster Go module. The values are typed by
// the small structs below, which name only the fields the tool sets; a unit
// test checks them against the chart's own values.schema.json (which
// rejects unknown fields), so a renamed field fails a test rather than being
// silently ignored by the chart. Linking github.com/loft-sh/vcluster/config
// for this would bring k8s.io/apiserver, the etcd client, controller-runtime
// and cel-go into the binary (see docs/performance.md).
package vclustervalues

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
)

// The chart installed when the user and the host name none.
const (
	DefaultChart        = "vcluster"
	DefaultChartRepo    = "https://charts.loft.sh"
	DefaultChartVersion = "0.34.0"
	// OldestChartVersion is the oldest vcluster chart the values fit: the
	// schemas of 0.21-0.23 have no controlPlane.distro.k8s.image (the tenant's
	// Kubernetes version), 0.24 was never published as a Go module here,
	// 0.25 takes them (TestOldestChartIsWhereTheValuesStartToFit), all but
	// the probe timings (see TakesProbeTimings).
	OldestChartVersion = "0.25.0"
	// ProbeTimingsChartVersion is the first chart whose values take the
	// probes' periodSeconds and failureThreshold (loft-sh/vcluster#2855);
	// they are dropped for older ones (WithoutProbeTimings).
	ProbeTimingsChartVersion = "0.26.0"
)

// The control plane's startup probe: the chart probes /readyz every 6 s
// (300 times), so a control plane that serves a moment after a probe
// failed waits up to 6 s more before the pod is Ready, its Service has an
// endpoint and wake returns (issue #27's breakdown on the real node: from
// the API serving to the probe passing took a median 5.3 s per wake with
// the chart's 6 s, 2.5 s with 1 s; docs/performance.md). Every second, with
// the same 30 minutes before the kubelet gives up. The kubelet runs the readiness probe at once
// when the startup probe passes, so its period (2 s) is left as it is.
const (
	StartupProbePeriodSeconds    = 1
	StartupProbeFailureThreshold = 1800
)

// InitCPULimit is the CPU limit of the distro init container, which copies
// the Kubernetes binaries (256 MB in the playground's image) into the pod
// every time the control plane starts, a wake included. The chart limits it
// to 100m: the kernel time of the copy is then throttled to a tenth of a
// core (0.24 s unthrottled against 0.88 s at 100m on the development
// machine, the same files in a cgroup with each quota; docs/performance.md).
// One core is what a single
// cp can use; its request, the chart's 40m, is unchanged, so scheduling is
// not affected.
const InitCPULimit = "1"

// IsChartPath says a chart reference is a local directory or archive: only
// when written as a path (./x, ../x, /x, or .\x on Windows), never a bare
// name. Helm would take a bare "vcluster" from the working directory when a
// vcluster/ folder is there (a rendered platform repository has one, `helm
// pull --untar` makes one); a bare name is always a chart in a repository.
func IsChartPath(ref string) bool {
	if ref == "." || ref == ".." || filepath.IsAbs(ref) || strings.HasPrefix(ref, "/") {
		return true
	}
	for _, p := range []string{"./", "../", "." + string(filepath.Separator), ".." + string(filepath.Separator)} {
		if strings.HasPrefix(ref, p) {
			return true
		}
	}
	return false
}

// Values are the chart values the tool sets, a subset of the chart's
// values.yaml with its field names. Zero fields are left out.
type Values struct {
	ControlPlane ControlPlane `json:"controlPlane,omitzero"`
	Sync         Sync         `json:"sync,omitzero"`
	Policies     Policies     `json:"policies,omitzero"`
}

// ControlPlane is values.controlPlane.
type ControlPlane struct {
	Distro      Distro      `json:"distro,omitzero"`
	Proxy       Proxy       `json:"proxy,omitzero"`
	StatefulSet StatefulSet `json:"statefulSet,omitzero"`
}

// Distro is controlPlane.distro.
type Distro struct {
	K8S K8S `json:"k8s,omitzero"`
}

// K8S is controlPlane.distro.k8s.
type K8S struct {
	Image Image `json:"image,omitzero"`
	// Resources are the distro init container's (the chart's `cp -r` of
	// the Kubernetes binaries into the pod), not the control plane's.
	Resources Resources `json:"resources,omitzero"`
}

// Resources is a container's resources (the limits the tool sets).
type Resources struct {
	Limits map[string]string `json:"limits,omitempty"`
}

// Image is an image reference; the tool sets only the tag.
type Image struct {
	Tag string `json:"tag,omitempty"`
}

// Proxy is controlPlane.proxy.
type Proxy struct {
	ExtraSANs []string `json:"extraSANs,omitempty"`
}

// StatefulSet is controlPlane.statefulSet.
type StatefulSet struct {
	Labels     map[string]string `json:"labels,omitempty"`
	Pods       Pods              `json:"pods,omitzero"`
	Probes     Probes            `json:"probes,omitzero"`
	Scheduling Scheduling        `json:"scheduling,omitzero"`
}

// Probes is controlPlane.statefulSet.probes.
type Probes struct {
	StartupProbe Probe `json:"startupProbe,omitzero"`
}

// Probe is one of controlPlane.statefulSet.probes.* (the timings the tool
// sets; charts from ProbeTimingsChartVersion).
type Probe struct {
	PeriodSeconds    int `json:"periodSeconds,omitempty"`
	FailureThreshold int `json:"failureThreshold,omitempty"`
}

// Pods is controlPlane.statefulSet.pods.
type Pods struct {
	Labels map[string]string `json:"labels,omitempty"`
}

// Scheduling is controlPlane.statefulSet.scheduling.
type Scheduling struct {
	NodeSelector map[string]string `json:"nodeSelector,omitempty"`
	Tolerations  []Toleration      `json:"tolerations,omitempty"`
}

// Toleration is a core/v1 Toleration (the fields the tool sets).
type Toleration struct {
	Key      string `json:"key,omitempty"`
	Operator string `json:"operator,omitempty"`
	Value    string `json:"value,omitempty"`
	Effect   string `json:"effect,omitempty"`
}

// Sync is values.sync.
type Sync struct {
	ToHost   SyncToHost   `json:"toHost,omitzero"`
	FromHost SyncFromHost `json:"fromHost,omitzero"`
}

// SyncToHost is sync.toHost.
type SyncToHost struct {
	Pods SyncPods `json:"pods,omitzero"`
}

// SyncPods is sync.toHost.pods.
type SyncPods struct {
	EnforceTolerations []string `json:"enforceTolerations,omitempty"`
}

// SyncFromHost is sync.fromHost.
type SyncFromHost struct {
	Nodes SyncNodes `json:"nodes,omitzero"`
}

// SyncNodes is sync.fromHost.nodes.
type SyncNodes struct {
	Enabled  bool         `json:"enabled,omitempty"`
	Selector NodeSelector `json:"selector,omitzero"`
}

// NodeSelector is sync.fromHost.nodes.selector.
type NodeSelector struct {
	Labels map[string]string `json:"labels,omitempty"`
}

// Policies is values.policies.
type Policies struct {
	ResourceQuota Policy `json:"resourceQuota,omitzero"`
	LimitRange    Policy `json:"limitRange,omitzero"`
	NetworkPolicy Policy `json:"networkPolicy,omitzero"`
}

// Policy is one of policies.resourceQuota, .limitRange, .networkPolicy
// (the fields they share).
type Policy struct {
	Enabled bool              `json:"enabled,omitempty"`
	Labels  map[string]string `json:"labels,omitempty"`
}

// Tenant are the typed values of tenant name on pool: the control plane
// and, through pinWorkloads, the tenant's workloads stay on the pool's
// nodes; the API serves the in-cluster Service names; k8sVersion, when
// set, picks the control plane's image tag; isolation adds Isolation.
func Tenant(name, pool, k8sVersion string, isolation bool) Values {
	var v Values
	sts := &v.ControlPlane.StatefulSet
	sts.Scheduling.NodeSelector = map[string]string{tenant.PoolLabel: pool}
	sts.Scheduling.Tolerations = []Toleration{{
		Key: tenant.PoolLabel, Operator: "Equal", Value: pool, Effect: "NoSchedule",
	}}
	sts.Labels = tenant.Labels(name, pool)
	sts.Pods.Labels = tenant.Labels(name, pool)
	sts.Probes.StartupProbe = Probe{PeriodSeconds: StartupProbePeriodSeconds, FailureThreshold: StartupProbeFailureThreshold}
	v.ControlPlane.Proxy.ExtraSANs = tenant.ServiceSANs(tenant.NamespaceFor(name))
	v.ControlPlane.Distro.K8S.Image.Tag = k8sVersion
	v.ControlPlane.Distro.K8S.Resources.Limits = map[string]string{"cpu": InitCPULimit}
	pinWorkloads(&v, pool)
	if isolation {
		v.Policies = Isolation(name, pool)
	}
	return v
}

// pinWorkloads keeps what runs inside the tenant on its pool too, not only
// the control plane: every pod the syncer copies to the host gets the pool's
// toleration (sync.toHost.pods.enforceTolerations) and its node selector
// (vCluster sets a synced pod's nodeSelector to sync.fromHost.nodes'
// selector labels), and the tenant sees only its pool's nodes (real nodes
// synced from the host, selected by the same labels; not selector.all).
func pinWorkloads(v *Values, pool string) {
	v.Sync.ToHost.Pods.EnforceTolerations = []string{tenant.PoolLabel + "=" + pool + ":NoSchedule"}
	nodes := &v.Sync.FromHost.Nodes
	nodes.Enabled = true
	nodes.Selector.Labels = map[string]string{tenant.PoolLabel: pool}
}

// Isolation are the policies that fence a tenant in on the host: the
// chart's ResourceQuota and LimitRange (its default sizes) and its
// NetworkPolicies, which admit workload traffic only from the same vCluster
// (pod selectors without a namespace selector match the tenant's own
// namespace only) while the API port stays reachable for kubectl and Argo CD.
// Users tune the limits with their own values files.
func Isolation(name, workspace string) Policies {
	on := func() Policy { return Policy{Enabled: true, Labels: tenant.Labels(name, workspace)} }
	return Policies{ResourceQuota: on(), LimitRange: on(), NetworkPolicy: on()}
}

// TakesProbeTimings says whether the vcluster chart of version
// chartVersion takes the probes' periodSeconds and failureThreshold: from
// ProbeTimingsChartVersion on (older schemas allow only probes.*.enabled).
// A version that is not a plain x.y.z (a range, empty: the default chart)
// is taken as new enough.
func TakesProbeTimings(chartVersion string) bool {
	return !olderThan(chartVersion, ProbeTimingsChartVersion)
}

// WithoutProbeTimings returns vals without the probes' periodSeconds and
// failureThreshold, for a chart that refuses them (TakesProbeTimings):
// the tool's and a user's alike, as that chart's schema would refuse
// either. vals is not modified.
func WithoutProbeTimings(vals map[string]any) map[string]any {
	cp, _ := vals["controlPlane"].(map[string]any)
	sts, _ := cp["statefulSet"].(map[string]any)
	probes, _ := sts["probes"].(map[string]any)
	if probes == nil {
		return vals
	}
	fitted := map[string]any{}
	for name, p := range probes {
		pm, ok := p.(map[string]any)
		if !ok {
			fitted[name] = p
			continue
		}
		kept := map[string]any{}
		for k, v := range pm {
			if k != "periodSeconds" && k != "failureThreshold" {
				kept[k] = v
			}
		}
		if len(kept) > 0 {
			fitted[name] = kept
		}
	}
	outSTS := Merge(sts, nil)
	if len(fitted) > 0 {
		outSTS["probes"] = fitted
	} else {
		delete(outSTS, "probes")
	}
	outCP := Merge(cp, nil)
	outCP["statefulSet"] = outSTS
	out := Merge(vals, nil)
	out["controlPlane"] = outCP
	return out
}

// olderThan says whether version a (x.y.z, an optional leading v and any
// pre-release or build suffix ignored) is older than b; false when a does
// not parse.
func olderThan(a, b string) bool {
	pa, ok := semverCore(a)
	pb, okb := semverCore(b)
	if !ok || !okb {
		return false
	}
	for i := range pa {
		if pa[i] != pb[i] {
			return pa[i] < pb[i]
		}
	}
	return false
}

func semverCore(v string) ([3]int, bool) {
	var out [3]int
	v = strings.TrimPrefix(v, "v")
	if i := strings.IndexAny(v, "-+"); i >= 0 {
		v = v[:i]
	}
	parts := strings.Split(v, ".")
	if len(parts) != 3 {
		return out, false
	}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return out, false
		}
		out[i] = n
	}
	return out, true
}

// Map returns the values as the chart takes them: JSON types only
// (map[string]any, []any, string, float64, bool), zero fields left out.
func (v Values) Map() (map[string]any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	m := map[string]any{}
	return m, json.Unmarshal(b, &m)
}

// For are the values of tenant name as a map: Tenant(...).Map(). Create,
// upgrade, the GitOps Application and the rendered platform repository all
// take a tenant's values from here.
func For(name, pool, k8sVersion string, isolation bool) (map[string]any, error) {
	return Tenant(name, pool, k8sVersion, isolation).Map()
}

// Merge returns src over dst: maps merge key by key, recursively; anything
// else (lists included) in src replaces dst's. Neither argument is
// modified; maps of dst that src does not touch are shared with the result.
func Merge(dst, src map[string]any) map[string]any {
	out := make(map[string]any, len(dst)+len(src))
	for k, v := range dst {
		out[k] = v
	}
	for k, v := range src {
		if sv, ok := v.(map[string]any); ok {
			dv, _ := out[k].(map[string]any)
			out[k] = Merge(dv, sv)
			continue
		}
		out[k] = v
	}
	return out
}

// MergeFiles merges YAML values files over base in order (later files win)
// with Merge. Without files it returns base itself.
func MergeFiles(base map[string]any, files []string) (map[string]any, error) {
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("values file: %w", err)
		}
		var over map[string]any
		if err := yaml.Unmarshal(b, &over); err != nil {
			return nil, fmt.Errorf("values file %s: %w", f, err)
		}
		base = Merge(base, over)
	}
	return base, nil
}
