package testenv

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"
)

// Versions of the real parts. One Kubernetes minor for the whole harness.
const (
	KubeVersion     = "v1.34.2"
	EtcdVersion     = "v3.6.7"
	KwokVersion     = "v0.7.0"
	VClusterVersion = "v0.34.0"
	// VClusterChartVersion is the chart version the playground's repository
	// serves (the chart derives its control-plane image tag from it).
	VClusterChartVersion = "0.34.0"
	// VClusterOldVersion is the oldest vCluster line kubectl-tenant supports
	// (its values fit that chart's schema): a playground with
	// Options.VClusterOld (the e2e suite's, Start) also serves its chart, as
	// VClusterOldChartVersion, and the runner starts its own `vcluster` for
	// the pods it renders, so tenants can be created with it and upgraded to
	// VClusterVersion.
	VClusterOldVersion      = "v0.25.0"
	VClusterOldChartVersion = "0.25.0"
	ArgoCDVersion           = "v3.2.11"
	// ArgoCDV2Version is the Argo CD 2.x a playground with
	// Options.ArgoCDV2 runs beside ArgoCDVersion (namespace ArgoCDV2Namespace):
	// the newest v2.14 the module proxy serves (build/argocd-v2).
	ArgoCDV2Version = "v2.14.21"
	// HelmVersion is the helm CLI argocd-repo-server execs: the Helm SDK
	// version of the root module.
	HelmVersion = "v3.20.2"
	// KineVersion is the kine the playground's distro image carries as
	// /kubernetes/kine (vCluster's default backing store runs it).
	KineVersion = "v0.17.5"
	// CoreDNSVersion is the host cluster's DNS on real nodes and the image
	// vCluster v0.34 deploys inside a Kubernetes 1.34 tenant
	// (coredns/coredns:1.12.1, vcluster pkg/constants/coredns.go).
	CoreDNSVersion = "v1.12.1"
	// KubeRouterVersion is the NetworkPolicy enforcer of real nodes
	// (realnode.FirewallCommand): the only kube-router the module proxy
	// serves here (build/kube-router).
	KubeRouterVersion = "v2.1.0"
)

// ArgoCDVersions are the Argo CD versions the e2e suite runs its Argo CD
// tests against (test/e2e argoCDMatrix), newest first: the playground's
// default and, with Options.ArgoCDV2, the 2.x one.
var ArgoCDVersions = []string{ArgoCDVersion, ArgoCDV2Version}

// component is one wrapper module under build/ and the commands built from it.
type component struct {
	name    string
	version string
	cmds    map[string]string // binary name -> package path
	ldflags string
	// realNode parts are built only for playgrounds with real nodes.
	realNode bool
	// cgo parts link C (kine's SQLite) statically, with these build tags:
	// they run in images that have no libc.
	cgo  bool
	tags string
	// argoCDV2 parts are built only for playgrounds with Options.ArgoCDV2.
	argoCDV2 bool
	// vclusterOld parts are built only for playgrounds with
	// Options.VClusterOld.
	vclusterOld bool
}

// Extras says which optional parts a build includes besides the ones every
// playground runs (etcd, the control plane, kwok, vCluster, Argo CD, helm).
type Extras struct {
	// RealNodes: kubelet, kube-proxy, CoreDNS, kine and kube-router
	// (Options.RealNodes).
	RealNodes bool
	// ArgoCDV2: Argo CD ArgoCDV2Version, binary "argocd-v2"
	// (Options.ArgoCDV2).
	ArgoCDV2 bool
	// VClusterOld: vCluster VClusterOldVersion, binary
	// VClusterBinary(VClusterOldChartVersion) (Options.VClusterOld).
	VClusterOld bool
}

func (x Extras) has(c component) bool {
	return (!c.realNode || x.RealNodes) && (!c.argoCDV2 || x.ArgoCDV2) && (!c.vclusterOld || x.VClusterOld)
}

// VClusterBinary names the built `vcluster` of a chart version other than
// VClusterChartVersion in Binaries (the runner picks it by the pod's image
// tag).
func VClusterBinary(chartVersion string) string { return "vcluster-" + chartVersion }

func kubeVersionFlags() string {
	minor := strings.Split(strings.TrimPrefix(KubeVersion, "v"), ".")[1]
	var b strings.Builder
	for _, pkg := range []string{"k8s.io/component-base/version", "k8s.io/client-go/pkg/version"} {
		fmt.Fprintf(&b, " -X %[1]s.gitVersion=%[2]s -X %[1]s.gitMajor=1 -X %[1]s.gitMinor=%[3]s"+
			" -X %[1]s.gitTreeState=clean -X %[1]s.gitCommit=0000000000000000000000000000000000000000"+
			" -X %[1]s.buildDate=1970-01-01T00:00:00Z", pkg, KubeVersion, minor)
	}
	return b.String()
}

func components() []component {
	return []component{
		{name: "etcd", version: EtcdVersion, cmds: map[string]string{"etcd": "."}},
		{name: "kube", version: KubeVersion, ldflags: kubeVersionFlags(), cmds: map[string]string{
			"kube-apiserver":          "k8s.io/kubernetes/cmd/kube-apiserver",
			"kube-controller-manager": "k8s.io/kubernetes/cmd/kube-controller-manager",
			"kube-scheduler":          "k8s.io/kubernetes/cmd/kube-scheduler",
		}},
		{name: "kwok", version: KwokVersion, cmds: map[string]string{"kwok": "sigs.k8s.io/kwok/cmd/kwok"}},
		{name: "vcluster", version: VClusterVersion, cmds: map[string]string{"vcluster": "github.com/loft-sh/vcluster/cmd/vcluster"}},
		{name: "vcluster-old", version: VClusterOldVersion, vclusterOld: true, cmds: map[string]string{
			VClusterBinary(VClusterOldChartVersion): "github.com/loft-sh/vcluster/cmd/vcluster"}},
		{name: "argocd", version: ArgoCDVersion,
			ldflags: " -X github.com/argoproj/argo-cd/v3/common.version=" + strings.TrimPrefix(ArgoCDVersion, "v"),
			cmds:    map[string]string{"argocd": "github.com/argoproj/argo-cd/v3/cmd"}},
		// Argo CD 2.x: its own wrapper module (its replace directives pin
		// k8s.io 0.31) and its own binary name; unset ARGOCD_BINARY_NAME
		// and an unknown argv[0] give the CLI, as for "argocd".
		{name: "argocd-v2", version: ArgoCDV2Version, argoCDV2: true,
			ldflags: " -X github.com/argoproj/argo-cd/v2/common.version=" + strings.TrimPrefix(ArgoCDV2Version, "v"),
			cmds:    map[string]string{"argocd-v2": "github.com/argoproj/argo-cd/v2/cmd"}},
		{name: "helm", version: HelmVersion,
			ldflags: " -X helm.sh/helm/v3/internal/version.version=" + HelmVersion,
			cmds:    map[string]string{"helm": "helm.sh/helm/v3/cmd/helm"}},
		// Real nodes: kubelet and kube-proxy at the control plane's version,
		// from build/kube-node: build/kube's go.mod (same k8s.io/kubernetes,
		// same staging replaces) tidied for them. Adding them to build/kube
		// would change its go.sum and so rebuild the cached control plane.
		{name: "kube-node", version: KubeVersion, ldflags: kubeVersionFlags(), realNode: true,
			cmds: map[string]string{
				"kubelet":    "k8s.io/kubernetes/cmd/kubelet",
				"kube-proxy": "k8s.io/kubernetes/cmd/kube-proxy",
			}},
		// CoreDNS with only the plugins its two Corefiles use (build/coredns's
		// main): upstream's main links every plugin and three cloud SDKs.
		{name: "coredns", version: CoreDNSVersion, realNode: true,
			cmds: map[string]string{"coredns": "."}},
		{name: "kine", version: KineVersion, realNode: true, cgo: true,
			tags: "netgo osusergo sqlite_omit_load_extension",
			cmds: map[string]string{"kine": "github.com/k3s-io/kine"}},
		// The real nodes' NetworkPolicy enforcer: kube-router's
		// network-policy controller alone, run by build/kube-router's main
		// as upstream's firewall-only mode runs it (upstream's command also
		// links GoBGP, the AWS SDK and the Docker client: 962 packages
		// against 696).
		{name: "kube-router", version: KubeRouterVersion, realNode: true,
			ldflags: " -X github.com/cloudnativelabs/kube-router/v2/pkg/version.Version=" + KubeRouterVersion,
			cmds:    map[string]string{"kube-router": "."}},
	}
}

// CacheRoot is where built binaries live between runs.
func CacheRoot() string {
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "kubectl-tenant", "testenv")
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".cache", "kubectl-tenant", "testenv")
}

// Binaries maps a binary name to its built path.
type Binaries map[string]string

// BuildLogf receives progress lines of a build.
type BuildLogf func(format string, args ...any)

// EnsureBinaries builds every missing part every playground runs, plus the
// extras asked for (cold: ~15 min on 2 cores without extras), and returns
// their paths. The cache key holds the component version, the Go version,
// the wrapper module's go.mod/go.sum and the flags, so changing any of them
// rebuilds that part only.
func EnsureBinaries(ctx context.Context, logf BuildLogf, extras Extras) (Binaries, error) {
	src, err := moduleDir()
	if err != nil {
		return nil, err
	}
	// Test binaries of several packages start at once: one builds, the
	// others wait and then find the cache warm.
	if err := os.MkdirAll(CacheRoot(), 0o755); err != nil {
		return nil, err
	}
	lock, err := os.OpenFile(filepath.Join(CacheRoot(), ".build.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return nil, fmt.Errorf("locking the build cache: %w", err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	out := Binaries{}
	for _, c := range components() {
		if !extras.has(c) {
			continue
		}
		dir, err := ensureComponent(ctx, filepath.Join(src, "build", c.name), c, logf)
		if err != nil {
			return nil, err
		}
		for bin := range c.cmds {
			out[bin] = filepath.Join(dir, bin)
		}
	}
	return out, nil
}

func ensureComponent(ctx context.Context, wrapper string, c component, logf BuildLogf) (string, error) {
	h := sha256.New()
	fmt.Fprintln(h, c.version, runtime.Version(), c.ldflags)
	if c.cgo { // (only then: the other parts' cache keys stay as they were)
		fmt.Fprintln(h, "cgo", c.tags)
	}
	for _, f := range []string{"go.mod", "go.sum"} {
		b, err := os.ReadFile(filepath.Join(wrapper, f))
		if err != nil {
			return "", fmt.Errorf("wrapper module %s: %w", c.name, err)
		}
		h.Write(b)
	}
	key := fmt.Sprintf("%s-%s-%s-%s", c.name, c.version, runtime.Version(), hex.EncodeToString(h.Sum(nil))[:12])
	dir := filepath.Join(CacheRoot(), key)
	if _, err := os.Stat(filepath.Join(dir, ".complete")); err == nil {
		return dir, nil
	}
	if err := os.MkdirAll(CacheRoot(), 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(CacheRoot(), key+".tmp-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	for bin, pkg := range c.cmds {
		start := time.Now()
		typical := ""
		if d, ok := coldBuild[bin]; ok {
			typical = fmt.Sprintf(", cold on 2 cores about %s", d)
		}
		logf("building %s %s (%s%s) ...", bin, c.version, pkg, typical)
		stop := heartbeat(logf, 30*time.Second, "still building "+bin, start)
		ldflags, cgo := "-s -w"+c.ldflags, "CGO_ENABLED=0"
		if c.cgo {
			ldflags, cgo = ldflags+" -linkmode external -extldflags -static", "CGO_ENABLED=1"
		}
		cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-tags", c.tags, "-ldflags", ldflags, "-o", filepath.Join(tmp, bin), pkg)
		cmd.Dir = wrapper
		cmd.Env = append(os.Environ(), cgo, "GOFLAGS=-mod=readonly", "GOTOOLCHAIN=local")
		outb, err := cmd.CombinedOutput()
		stop()
		if err != nil {
			return "", fmt.Errorf("build of %s failed: %v: %s", bin, err, tail(string(outb), 20))
		}
		logf("built %s in %s", bin, time.Since(start).Round(time.Second))
	}
	if err := os.WriteFile(filepath.Join(tmp, ".complete"), []byte(key+"\n"), 0o644); err != nil {
		return "", err
	}
	_ = os.RemoveAll(dir)
	if err := os.Rename(tmp, dir); err != nil {
		return "", err
	}
	return dir, nil
}

// coldBuild is how long each binary's build took from an empty Go build
// cache on a quiet 2-core machine, in the order EnsureBinaries builds them
// (later ones reuse packages the earlier ones compiled): the "built X in"
// lines of a clean clone's `make demo` and then `make test` (2026-12-07,
// docs/performance.md). Only printed, so a newcomer knows what to expect;
// not part of any cache key. Under load they take two to four times longer.
var coldBuild = map[string]time.Duration{
	"etcd":                    28 * time.Second,
	"kube-apiserver":          186 * time.Second,
	"kube-controller-manager": 55 * time.Second,
	"kube-scheduler":          5 * time.Second,
	"kwok":                    75 * time.Second,
	"vcluster":                221 * time.Second,
	"argocd":                  211 * time.Second,
	"helm":                    56 * time.Second,
	"kubelet":                 19 * time.Second,
	"kube-proxy":              7 * time.Second,
	"coredns":                 54 * time.Second, // the slim main
	"kine":                    104 * time.Second,
	"kube-router":             58 * time.Second,
	// Built by `make test` (testenv-build) only.
	"argocd-v2":                             200 * time.Second,
	VClusterBinary(VClusterOldChartVersion): 201 * time.Second,
}

// heartbeat logs "what (1m30s so far)" every interval until stop is called:
// a cold build is one silent `go build` of up to 4 minutes on a quiet machine
// (vCluster, Argo CD), far longer under load, and
// a line every 30 s tells the user it is still working.
func heartbeat(logf BuildLogf, interval time.Duration, what string, start time.Time) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				logf("%s (%s so far) ...", what, time.Since(start).Round(time.Second))
			}
		}
	}()
	// Wait for the goroutine: a test's t.Logf must not run after it returns.
	return func() { close(done); <-finished }
}

// moduleDir finds the testenv module's source directory (for build/ and
// assets) from the working directory upwards, or TESTENV_DIR.
func moduleDir() (string, error) {
	if d := os.Getenv("TESTENV_DIR"); d != "" {
		return d, nil
	}
	_, file, _, ok := runtime.Caller(0)
	if ok {
		if _, err := os.Stat(filepath.Join(filepath.Dir(file), "build", "kube", "go.mod")); err == nil {
			return filepath.Dir(file), nil
		}
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		for _, cand := range []string{d, filepath.Join(d, "test", "testenv")} {
			if _, err := os.Stat(filepath.Join(cand, "build", "kube", "go.mod")); err == nil {
				return cand, nil
			}
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("cannot find test/testenv (set TESTENV_DIR)")
		}
	}
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
