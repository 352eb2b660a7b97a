// Package vcluster installs tenants as vClusters with the Helm SDK, in
// process: no helm or vcluster binary is needed.
package vcluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/Masterminds/semver/v3"
	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/cli"
	"helm.sh/helm/v3/pkg/registry"
	"helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/storage/driver"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/credential"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/vclustervalues"
)

// Backend implements tenant.Backend with the vcluster Helm chart.
type Backend struct {
	Getter genericclioptions.RESTClientGetter
	Kube   kubernetes.Interface
	Meta   metadata.Interface
	// Debug receives Helm's debug log; nil discards it.
	Debug io.Writer
	// helmConfig, when set, replaces the Helm configuration of a namespace
	// (unit tests use Helm's in-memory storage).
	helmConfig func(ns string) (*action.Configuration, error)
	// registryOpts configure the OCI registry client (unit tests: plain
	// HTTP).
	registryOpts []registry.ClientOption

	// pins are the floating chart versions resolved so far (see pin).
	pinMu sync.Mutex
	pins  map[chartSource]pinned
}

var _ tenant.Backend = (*Backend)(nil)
var _ tenant.ClientCAReader = (*Backend)(nil)

func (b *Backend) PodSelector() string { return "app=vcluster,release=" + tenant.ReleaseName }
func (b *Backend) APIPort() int        { return 8443 }

func (b *Backend) config(ns string) (*action.Configuration, error) {
	if b.helmConfig != nil {
		return b.helmConfig(ns)
	}
	cfg := new(action.Configuration)
	w := b.Debug
	if w == nil {
		w = io.Discard
	}
	logger := log.New(w, "helm: ", 0)
	if err := cfg.Init(nsGetter{b.Getter, ns}, ns, "secret", logger.Printf); err != nil {
		return nil, err
	}
	return cfg, nil
}

// Install installs the release or converges it: a release stuck in a pending
// state by an interrupted run is rolled back or removed first. The caller
// holds the tenant's lease (Engine does), so a pending release is never
// another live run's: that run would hold the lease.
func (b *Backend) Install(ctx context.Context, req tenant.InstallRequest) error {
	cfg, err := b.config(req.Namespace)
	if err != nil {
		return err
	}
	last, err := cfg.Releases.Last(tenant.ReleaseName)
	if err != nil && !errors.Is(err, driver.ErrReleaseNotFound) {
		return err
	}
	r, err := b.resolve(ctx, cfg, req, last)
	if err != nil {
		return err
	}
	// Each write first checks the caller still holds the tenant's lease: a
	// run that lost it must not remove or roll back the new holder's release.
	if err := tenant.Fence(ctx); err != nil {
		return err
	}
	// The user's values are kept first: a run interrupted after this point
	// and re-run without -f still installs them.
	if r.saveUser {
		if err := b.saveUserValues(ctx, req, r.user); err != nil {
			return fmt.Errorf("keeping the user's values: %w", err)
		}
	}
	ch, vals := r.chart, r.vals
	if err := tenant.Fence(ctx); err != nil {
		return err
	}
	switch {
	case last == nil:
		return b.install(ctx, cfg, req, ch, vals)
	case last.Info.Status.IsPending() && last.Version == 1, last.Info.Status == "failed" && last.Version == 1, last.Info.Status == "uninstalling":
		// Never deployed: start over.
		if _, err := action.NewUninstall(cfg).Run(tenant.ReleaseName); err != nil && !errors.Is(err, driver.ErrReleaseNotFound) {
			return fmt.Errorf("removing the unfinished release: %w", err)
		}
		if err := tenant.Fence(ctx); err != nil {
			return err
		}
		return b.install(ctx, cfg, req, ch, vals)
	case last.Info.Status.IsPending():
		rb := action.NewRollback(cfg)
		if err := rb.Run(tenant.ReleaseName); err != nil {
			return fmt.Errorf("rolling back the unfinished upgrade: %w", err)
		}
		if err := tenant.Fence(ctx); err != nil {
			return err
		}
	}
	up := action.NewUpgrade(cfg)
	up.Namespace = req.Namespace
	up.PostRenderer = labeller(tenant.Labels(req.Name, req.Pool))
	up.Labels = tenant.Labels(req.Name, req.Pool) // on the release Secrets too
	_, err = up.RunWithContext(ctx, tenant.ReleaseName, ch, vals)
	return err
}

// Inspect compares the release with what Install(req) would deploy.
func (b *Backend) Inspect(ctx context.Context, req tenant.InstallRequest) (tenant.Change, error) {
	cfg, err := b.config(req.Namespace)
	if err != nil {
		return tenant.Change{}, err
	}
	last, err := cfg.Releases.Last(tenant.ReleaseName)
	if errors.Is(err, driver.ErrReleaseNotFound) {
		return tenant.Change{}, tenant.ErrNotFound
	}
	if err != nil {
		return tenant.Change{}, err
	}
	r, err := b.resolve(ctx, cfg, req, last)
	if err != nil {
		return tenant.Change{}, err
	}
	c := tenant.Change{Revision: last.Version, Status: last.Info.Status.String(), To: r.chart.Metadata.Version}
	if last.Chart != nil && last.Chart.Metadata != nil {
		c.From = last.Chart.Metadata.Version
	}
	c.ValuesChanged = !sameValues(last.Config, r.vals)
	if c.ValuesChanged {
		old, err := copyValues(last.Config)
		if err != nil {
			return tenant.Change{}, err
		}
		c.ValuesDiff = DiffValues(old, r.vals)
	}
	return c, nil
}

// resolved is what an install of a request deploys.
type resolved struct {
	chart *chart.Chart
	// vals are the tool's values with the user's over them.
	vals map[string]any
	// user are the user's values: the kept ones with req.ValuesFiles over
	// them; saveUser says they differ from what is kept.
	user     map[string]any
	saveUser bool
}

// resolve loads the chart and computes the values to install: the tool's
// values, computed afresh (pool, Kubernetes version, isolation), with the
// user's values over them, as at the first create. The user's values are
// the ones kept from earlier runs (see userValues) with req.ValuesFiles over
// them, so neither upgrade nor a re-run of create drops what an earlier -f
// set; the tool's service SANs stay in controlPlane.proxy.extraSANs beside
// the user's.
func (b *Backend) resolve(ctx context.Context, cfg *action.Configuration, req tenant.InstallRequest, last *release.Release) (*resolved, error) {
	tool, err := vclustervalues.For(req.Name, req.Pool, req.K8sVersion, req.Isolation)
	if err != nil {
		return nil, err
	}
	// The host's defaults go over the tool's values and under the user's.
	tool = vclustervalues.Merge(tool, req.Values)
	if req.Isolation {
		// The isolated control plane must still reach the host's API,
		// wherever it listens (hostAPIEgress), beside any egress the host's
		// defaults add.
		rules, err := b.hostAPIEgress(ctx)
		if err != nil {
			return nil, err
		}
		if len(rules) > 0 {
			setPath(tool, append(slices.Clone(controlPlaneEgress(tool)), rules...), "policies", "networkPolicy", "controlPlane", "egress")
		}
	}
	kept, stored, err := b.userValues(ctx, req.Namespace, last, tool)
	if err != nil {
		return nil, err
	}
	user, err := vclustervalues.MergeFiles(kept, req.ValuesFiles)
	if err != nil {
		return nil, err
	}
	r := &resolved{user: user, saveUser: !stored || len(req.ValuesFiles) > 0}
	userCopy, err := copyValues(user)
	if err != nil {
		return nil, err
	}
	toolSANs := extraSANs(tool)
	r.vals = vclustervalues.Merge(tool, userCopy)
	if sans := union(toolSANs, extraSANs(user)); len(sans) > 0 {
		setPath(r.vals, sans, "controlPlane", "proxy", "extraSANs")
	}
	if r.vals, err = copyValues(r.vals); err != nil {
		return nil, err
	}
	// A repository chart stays at the release's version unless asked; a
	// local chart has only its own.
	if _, local := localChart(req); req.ReuseValues && !local && req.ChartVersion == "" &&
		last != nil && last.Chart != nil && last.Chart.Metadata != nil {
		req.ChartVersion = last.Chart.Metadata.Version
	}
	if r.chart, err = b.loadChart(cfg, req); err != nil {
		return nil, err
	}
	if !takesProbeTimings(r.chart) {
		r.vals = vclustervalues.WithoutProbeTimings(r.vals)
	}
	// A local chart (the module's chart/ says 0.0.1) is the user's choice.
	if _, local := localChart(req); !local && r.chart.Metadata != nil && r.chart.Metadata.Name == vclustervalues.DefaultChart {
		if err := supportedChart(r.chart.Metadata.Version); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// takesProbeTimings says whether the chart's own values have the startup
// probe's periodSeconds (vcluster charts from
// vclustervalues.ProbeTimingsChartVersion): older schemas refuse the
// timings the tool sets. Read from the chart loaded, so a local chart
// (whose Chart.yaml may say 0.0.1) is judged by what it is.
func takesProbeTimings(ch *chart.Chart) bool {
	if ch == nil {
		return true
	}
	cp, _ := ch.Values["controlPlane"].(map[string]any)
	sts, _ := cp["statefulSet"].(map[string]any)
	probes, _ := sts["probes"].(map[string]any)
	startup, _ := probes["startupProbe"].(map[string]any)
	_, ok := startup["periodSeconds"]
	return ok
}

// CheckChartVersion implements tenant.ChartChecker: create and upgrade ask
// before anything is made; the chart actually loaded is checked again.
func (b *Backend) CheckChartVersion(version string) error { return supportedChart(version) }

// supportedChart refuses a vcluster chart version older than the values
// fit (a usage error: nothing is installed). An empty or non-semver
// version (a range, a local chart's own) is left to Helm.
func supportedChart(version string) error {
	v, err := semver.StrictNewVersion(strings.TrimPrefix(version, "v"))
	if err != nil {
		return nil
	}
	oldest := semver.MustParse(vclustervalues.OldestChartVersion)
	if v.LessThan(oldest) {
		return tenant.NewUsageError(fmt.Sprintf("vcluster chart %s is not supported: kubectl-tenant needs %s or newer (its values layout; upgrade the chart or pass --chart-version)",
			version, vclustervalues.OldestChartVersion))
	}
	return nil
}

// copyValues deep-copies values through JSON, which also gives them the
// types a stored release decodes to, so sameValues compares like with like.
func copyValues(v map[string]any) (map[string]any, error) {
	out := map[string]any{}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return out, json.Unmarshal(b, &out)
}

func sameValues(a, b map[string]any) bool {
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	if len(a) == 0 && len(b) == 0 {
		return true
	}
	return errA == nil && errB == nil && string(ja) == string(jb)
}

func (b *Backend) install(ctx context.Context, cfg *action.Configuration, req tenant.InstallRequest, ch *chart.Chart, vals map[string]any) error {
	in := action.NewInstall(cfg)
	in.ReleaseName, in.Namespace = tenant.ReleaseName, req.Namespace
	in.PostRenderer = labeller(tenant.Labels(req.Name, req.Pool))
	in.Labels = tenant.Labels(req.Name, req.Pool) // on the release Secrets too
	_, err := in.RunWithContext(ctx, ch, vals)
	return err
}

// loadChart resolves a local chart path, an oci:// reference or a chart in a
// repository (downloaded to Helm's cache). A floating version (empty, a
// range) is the one SpecFingerprint resolved for the spare hash, when it
// did so within pinKeep: the install and the hash agree.
func (b *Backend) loadChart(cfg *action.Configuration, req tenant.InstallRequest) (*chart.Chart, error) {
	// req.Chart is resolved by the caller (hostconfig.Resolver.Chart);
	// empty is the built-in chart.
	src := sourceOf(req.Spec)
	if src.path != "" {
		ch, err := loader.Load(src.path)
		if err != nil {
			return nil, fmt.Errorf("chart %s: %w", src.path, err)
		}
		// A local chart has one version: refuse to install it as another.
		if req.ChartVersion != "" && ch.Metadata.Version != req.ChartVersion {
			return nil, tenant.NewUsageError(fmt.Sprintf("chart %s is version %s, not the requested --chart-version %s", src.path, ch.Metadata.Version, req.ChartVersion))
		}
		return ch, nil
	}
	in := action.NewInstall(cfg)
	in.Version = src.version
	name := src.ref
	if registry.IsOCI(src.ref) {
		rc, err := b.registryClient()
		if err != nil {
			return nil, err
		}
		cfg.RegistryClient = rc
		in.SetRegistryClient(rc)
		if src.floating() {
			p, err := b.pin(src, pinKeep)
			if err != nil {
				return nil, err
			}
			in.Version = p.version
		}
	} else {
		// Helm's LocateChart tries the name as a path in the working
		// directory before the repository: resolve the chart's URL here
		// so a ./vcluster folder is never taken for the repository chart.
		p, err := b.pin(src, pinKeep)
		if err != nil {
			return nil, err
		}
		name, in.Version = p.url, p.version
	}
	path, err := in.LocateChart(name, cli.New())
	if err != nil {
		return nil, fmt.Errorf("chart %s: %w", src.ref, err)
	}
	ch, err := loader.Load(path)
	if err != nil {
		return nil, fmt.Errorf("chart %s: %w", src.ref, err)
	}
	if src.floating() && ch.Metadata != nil && in.Version != "" && ch.Metadata.Version != strings.TrimPrefix(in.Version, "v") && ch.Metadata.Version != in.Version {
		return nil, fmt.Errorf("chart %s: the repository lists version %s, but its archive is version %s", src.ref, in.Version, ch.Metadata.Version)
	}
	return ch, nil
}

// RolloutDone says whether the control plane's Deployment or StatefulSet
// (the chart picks the kind) runs its latest template on every replica, with
// kubectl's rollout status rules (rollout.go); msg says what is left.
func (b *Backend) RolloutDone(ctx context.Context, ns string) (bool, string, error) {
	opts := metav1.ListOptions{LabelSelector: "app=vcluster,release=" + tenant.ReleaseName}
	deps, err := b.Kube.AppsV1().Deployments(ns).List(ctx, opts)
	if err != nil {
		return false, "", err
	}
	sts, err := b.Kube.AppsV1().StatefulSets(ns).List(ctx, opts)
	if err != nil {
		return false, "", err
	}
	var st []rolloutStatus
	for i := range deps.Items {
		st = append(st, deploymentStatus(&deps.Items[i]))
	}
	for i := range sts.Items {
		st = append(st, statefulSetStatus(&sts.Items[i]))
	}
	for _, s := range st {
		if s.err != nil || !s.done {
			return false, strings.TrimSpace(s.msg), s.err
		}
	}
	return true, "", nil
}

// Uninstall removes the release; a missing release is fine.
func (b *Backend) Uninstall(ctx context.Context, ns string) error {
	cfg, err := b.config(ns)
	if err != nil {
		return err
	}
	if err := tenant.Fence(ctx); err != nil {
		return err
	}
	un := action.NewUninstall(cfg)
	un.IgnoreNotFound = true
	_, err = un.Run(tenant.ReleaseName)
	if err == nil || errors.Is(err, driver.ErrReleaseNotFound) {
		return nil
	}
	// Two uninstalls at once (concurrent gc runs): the loser fails to purge
	// records the winner already removed. No records left is success.
	if _, herr := cfg.Releases.History(tenant.ReleaseName); errors.Is(herr, driver.ErrReleaseNotFound) {
		return nil
	}
	return err
}

// Releases reads the state of every vcluster release from the labels of
// Helm's release Secrets in one metadata-only list call (release payloads
// are large; only the labels are needed).
func (b *Backend) Releases(ctx context.Context, s tenant.Scope) (map[string]tenant.Release, error) {
	list, err := b.Meta.Resource(schema.GroupVersionResource{Version: "v1", Resource: "secrets"}).Namespace(s.Namespace).
		List(ctx, listOptions("owner=helm,name="+tenant.ReleaseName, s))
	if err != nil {
		return nil, err
	}
	out := map[string]tenant.Release{}
	for _, s := range list.Items {
		v, _ := strconv.Atoi(s.Labels["version"])
		if cur, ok := out[s.Namespace]; ok && cur.Version > v {
			continue
		}
		out[s.Namespace] = tenant.Release{Status: s.Labels["status"], Version: v}
	}
	return out, nil
}

// Credentials reads the vc-<release> Secret vCluster writes once its API
// server runs.
func (b *Backend) Credentials(ctx context.Context, ns string) (*tenant.Credentials, error) {
	s, err := b.Kube.CoreV1().Secrets(ns).Get(ctx, "vc-"+tenant.ReleaseName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, tenant.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	return &tenant.Credentials{
		CA:         s.Data["certificate-authority"],
		ClientCert: s.Data["client-certificate"],
		ClientKey:  s.Data["client-key"],
		Token:      string(s.Data["token"]),
	}, nil
}

// ClientCA reads the client CA from the <release>-certs Secret vCluster
// keeps its certificate authorities in (keys client-ca.crt, client-ca.key),
// with the caller's own rights: the host RBAC gate of a tenant credential.
func (b *Backend) ClientCA(ctx context.Context, ns string) (credential.CA, error) {
	s, err := b.Kube.CoreV1().Secrets(ns).Get(ctx, tenant.CertsSecret, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return credential.CA{}, tenant.ErrNotFound
	}
	if err != nil {
		return credential.CA{}, err
	}
	ca := credential.CA{Cert: s.Data["client-ca.crt"], Key: s.Data["client-ca.key"]}
	if len(ca.Cert) == 0 || len(ca.Key) == 0 {
		return credential.CA{}, tenant.ErrNotFound
	}
	return ca, nil
}

// nsGetter pins Helm's kube client to the tenant namespace whatever the
// kubeconfig context's namespace is.
type nsGetter struct {
	genericclioptions.RESTClientGetter
	ns string
}

func (g nsGetter) ToRawKubeConfigLoader() clientcmd.ClientConfig {
	return nsClientConfig{g.RESTClientGetter.ToRawKubeConfigLoader(), g.ns}
}

// baseConfig lets nsClientConfig embed the interface without its field name
// colliding with the interface's ClientConfig method.
type baseConfig = clientcmd.ClientConfig

type nsClientConfig struct {
	baseConfig
	ns string
}

func (c nsClientConfig) Namespace() (string, bool, error) { return c.ns, true, nil }

// localChart says whether the request names a local chart, and its path:
// only a reference written as a path (vclustervalues.IsChartPath). A bare
// name, the default "vcluster" above all, is never looked up in the working
// directory, where a rendered platform repository has a vcluster/ folder
// and `helm pull --untar` leaves one.
func localChart(req tenant.InstallRequest) (string, bool) {
	ref := req.Chart
	if !vclustervalues.IsChartPath(ref) {
		return "", false
	}
	return ref, true
}
