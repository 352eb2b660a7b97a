package testenv

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/repo"
)

// Parts that let Argo CD install Applications (create --gitops, register
// --bootstrap): the real argocd-repo-server (which execs the built helm and
// the machine's git), argocd-application-controller and
// argocd-applicationset-controller, and a local Helm repository serving the
// vcluster chart, since the playground has no internet.
const (
	partRepoServer = "argocd-repo-server"
	partController = "argocd-application-controller"
	partAppSet     = "argocd-applicationset-controller"
	partChartRepo  = "chart-repo"
)

// gitopsParts are the processes startArgoCDGitOps starts for one Argo CD.
type gitopsParts struct{ repoServer, controller, appset *proc }

// startArgoCDGitOps starts repo-server, application-controller and
// applicationset-controller without waiting for them (waitArgoCDGitOps
// does, while the runner starts). argocd-server's objects (namespace,
// argocd-cm, argocd-secret) must exist.
func (u *upper) startArgoCDGitOps(a argoInstance, kubeconfig string) (parts gitopsParts, err error) {
	an, err := u.argoNet(kubeconfig)
	if err != nil {
		return parts, err
	}
	// The repo-server runs on the host (it reads the playground's git
	// repositories and chart repository on loopback) and listens where the
	// controller reaches it. With real nodes that is the veth's host address
	// besides loopback (its full health check dials loopback): all of the
	// host's addresses, as the apiserver listens.
	repoServerAddr := an.host + ":" + strconv.Itoa(a.repoServer)
	repoListen := "127.0.0.1"
	if an.node != nil {
		repoListen = "0.0.0.0"
	}
	tmp := u.path("data", "repo-server"+a.suffix)
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		return parts, err
	}
	parts.repoServer, err = u.start(partRepoServer+a.suffix, repoServerAddr, u.bins[a.bin], append([]string{
		"--address=" + repoListen, "--port=" + strconv.Itoa(a.repoServer),
		"--metrics-address=127.0.0.1", "--metrics-port=" + strconv.Itoa(a.repoServerMetrics),
		// Plain gRPC on loopback, as between argocd-server and repo-server
		// TLS is not what the playground tests.
		"--disable-tls",
		"--parallelismlimit=2",
	}, a.redisFlags("127.0.0.1", u.ports.Redis)...),
		"ARGOCD_BINARY_NAME=argocd-repo-server",
		// Argo CD execs helm (built from the Helm version the tool uses) and git.
		"PATH="+filepath.Dir(u.bins["helm"])+string(os.PathListSeparator)+os.Getenv("PATH"),
		"ARGOCD_GPG_ENABLED=false",
		// Checkouts and the git askpass socket default to fixed /tmp paths
		// that concurrent playgrounds would share.
		"TMPDIR="+tmp,
		"ARGOCD_ASK_PASS_SOCK="+filepath.Join(tmp, "askpass.sock"),
		"HOME="+tmp,
	)
	if err != nil {
		return parts, err
	}
	// The controller monitors registered clusters (connection state, live
	// cache) at their in-cluster addresses, https://vcluster.vcluster-NAME,
	// so it runs where argocd-server does (argoNet).
	bin, args := an.wrap(u.bins[a.bin], append([]string{
		"--kubeconfig=" + an.kubeconfig,
		"--namespace=" + a.Namespace,
		"--repo-server=" + repoServerAddr, "--repo-server-plaintext",
		"--metrics-port=" + strconv.Itoa(a.controllerMetrics),
		// Two cores shared with the apiserver and vClusters.
		"--status-processors=2", "--operation-processors=2",
	}, a.redisFlags(an.host, u.ports.Redis)...)...)
	parts.controller, err = u.start(partController+a.suffix, "", bin, args,
		"ARGOCD_BINARY_NAME=argocd-application-controller",
		// The in-cluster destination (https://kubernetes.default.svc) is the
		// playground apiserver, read from KUBECONFIG.
		"ARGOCD_FAKE_IN_CLUSTER=true", "KUBECONFIG="+an.kubeconfig,
	)
	if err != nil {
		return parts, err
	}
	u.argoListen = an.listen
	// The applicationset-controller only talks to the apiserver (its
	// cluster generator reads the cluster Secrets) and, for git
	// generators, to the repo-server: it runs on the host, on loopback,
	// with the components' kubeconfig.
	parts.appset, err = u.start(partAppSet+a.suffix, "", u.bins[a.bin], []string{
		"--kubeconfig=" + kubeconfig,
		"--namespace=" + a.Namespace,
		"--argocd-repo-server=127.0.0.1:" + strconv.Itoa(a.repoServer), "--repo-server-plaintext",
		"--metrics-addr=127.0.0.1:" + strconv.Itoa(a.appsetMetrics),
		"--probe-addr=127.0.0.1:" + strconv.Itoa(a.appsetProbe),
		"--webhook-addr=127.0.0.1:" + strconv.Itoa(a.appsetWebhook),
		"--concurrent-reconciliations=2",
		"--logformat=text",
	}, "ARGOCD_BINARY_NAME=argocd-applicationset-controller",
		// Some of its clients come from controller-runtime's config, which
		// reads KUBECONFIG, not --kubeconfig (else ~/.kube/config).
		"KUBECONFIG="+kubeconfig)
	return parts, err
}

// waitArgoCDGitOps waits for repo-server's, the controller's and the
// applicationset-controller's health endpoints.
func (u *upper) waitArgoCDGitOps(ctx context.Context, a argoInstance, parts gitopsParts) error {
	plain := &http.Client{Timeout: 2 * time.Second}
	if err := waitReady(ctx, parts.repoServer, partTimeout, func() error {
		return httpOK(plain, "http://127.0.0.1:"+strconv.Itoa(a.repoServerMetrics)+"/healthz?full=true", "")
	}); err != nil {
		return err
	}
	if err := waitReady(ctx, parts.controller, partTimeout, func() error {
		return httpOK(plain, "http://"+u.argoListen+":"+strconv.Itoa(a.controllerMetrics)+"/healthz", "")
	}); err != nil {
		return err
	}
	// Its probe server has no checks registered (404); the metrics server
	// answers once controller-runtime's manager runs.
	return waitReady(ctx, parts.appset, partTimeout, func() error {
		return httpOK(plain, "http://127.0.0.1:"+strconv.Itoa(a.appsetMetrics)+"/metrics", "")
	})
}

// chartRepo packages the vcluster charts (chart version -> the module's
// chart/ directory, whose Chart.yaml says 0.0.1) and the charts of extra
// into Dir/charts with an index.yaml and serves that directory over HTTP
// with the playground binary, on 127.0.0.1 and, with real nodes, on every
// address: pods reach it at their node's veth host address. The index's
// chart URLs are relative to the repository, so it serves either address.
func (u *upper) chartRepo(ctx context.Context, charts map[string]string, extra []*chart.Chart, playgroundBin string) (string, *proc, error) {
	dir := u.path("charts")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", nil, err
	}
	for version, chartDir := range charts {
		ch, err := loader.Load(chartDir)
		if err != nil {
			return "", nil, fmt.Errorf("load vcluster chart %s: %w", version, err)
		}
		ch.Metadata.Version = version
		extra = append(extra, ch)
	}
	for _, ch := range extra {
		if _, err := chartutil.Save(ch, dir); err != nil {
			return "", nil, fmt.Errorf("package chart %s %s: %w", ch.Name(), ch.Metadata.Version, err)
		}
	}
	idx, err := repo.IndexDirectory(dir, "")
	if err != nil {
		return "", nil, fmt.Errorf("index chart repository: %w", err)
	}
	idx.SortEntries()
	if err := idx.WriteFile(filepath.Join(dir, "index.yaml"), 0o644); err != nil {
		return "", nil, err
	}
	listen := "127.0.0.1"
	if len(u.realNodes) > 0 {
		listen = "0.0.0.0"
	}
	url := "http://127.0.0.1:" + strconv.Itoa(u.ports.ChartRepo)
	p, err := u.start(partChartRepo, url, playgroundBin, []string{"file-server", "--addr", listen + ":" + strconv.Itoa(u.ports.ChartRepo), "--dir", dir})
	if err != nil {
		return "", nil, err
	}
	plain := &http.Client{Timeout: 2 * time.Second}
	return url, p, waitReady(ctx, p, partTimeout, func() error { return httpOK(plain, url+"/index.yaml", "") })
}

// The chart the playground serves for Argo CDs inside tenants to sync: one
// ConfigMap, HelloChartName, whose data.message is the value message.
const (
	HelloChartName    = "hello"
	HelloChartVersion = "0.1.0"
)

func helloChart() *chart.Chart {
	values := "message: hello from the playground's chart repository\n"
	return &chart.Chart{
		Metadata: &chart.Metadata{APIVersion: chart.APIVersionV2, Name: HelloChartName, Version: HelloChartVersion,
			Description: "One ConfigMap: what the playground's tests have an Argo CD inside a tenant sync"},
		Values: map[string]any{"message": "hello from the playground's chart repository"},
		Raw:    []*chart.File{{Name: "values.yaml", Data: []byte(values)}},
		Templates: []*chart.File{{Name: "templates/configmap.yaml", Data: []byte(`apiVersion: v1
kind: ConfigMap
metadata:
  name: ` + HelloChartName + `
data:
  message: {{ .Values.message | quote }}
`)}},
	}
}
