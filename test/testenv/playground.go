package testenv

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/kubectl-tenant/kubectl-tenant/test/testenv/realnode"

	"helm.sh/helm/v3/pkg/chart"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/kubectl-tenant/kubectl-tenant/test/testenv/internal/procfs"
	"github.com/kubectl-tenant/kubectl-tenant/test/testenv/vcrunner"
)

const (
	// SystemPool is the untainted node pool (node system-0, label pool=system)
	// where the playground's own pods (argocd-server) land.
	SystemPool = "system"
	// ArgoCDNamespace holds argocd-server's objects and its Service.
	ArgoCDNamespace = "argocd"
)

// TenantPools are the tainted node pools: node <pool>-0, label
// project=<pool>, taint project=<pool>:NoSchedule.
var TenantPools = []string{"project-x", "project-z"}

// Part names, also the names of their pid and log files.
const (
	partEtcd      = "etcd"
	partAPIServer = "kube-apiserver"
	partKCM       = "kube-controller-manager"
	partScheduler = "kube-scheduler"
	partRedis     = "redis-server"
	partKwok      = "kwok"
	partArgoCD    = "argocd-server"
	// Not "vcluster-…": the runner owns pids/vcluster-*.pid (one per
	// vCluster it runs) and clears those files itself.
	partRunner = "vcrunner"
)

// startOrder is the order Up starts parts in; Down stops them in reverse.
var startOrder = []string{partEtcd, partAPIServer, partKCM, partScheduler, partRedis, partKwok, partArgoCD,
	partArgoCD + "-v2", partRepoServer, partController, partRepoServer + "-v2", partController + "-v2",
	partAppSet, partAppSet + "-v2", partChartRepo, partRunner}

// Options configure Up.
type Options struct {
	// Dir holds all state (pids, logs, data, certificates, kubeconfig,
	// env.json). Required.
	Dir string
	// Logf receives progress lines; nil discards them.
	Logf func(format string, args ...any)
	// Ports fixes ports; zero fields get free ones.
	Ports Ports
	// RunnerExe is a binary whose "vcluster-runner" subcommand runs
	// vcrunner.Main (cmd/playground passes itself). Empty: Up builds
	// cmd/playground into Dir/bin.
	RunnerExe string
	// RealNodes replaces the kwok node of each pool in RealNodePools with a
	// real node (containerd, kubelet, kube-proxy in a network namespace of
	// its own) and runs CoreDNS as the host cluster's DNS on it. Off: the
	// playground is all kwok, as before.
	RealNodes bool
	// ArgoCDV2 also runs Argo CD ArgoCDV2Version (server, repo-server,
	// application-controller) in namespace ArgoCDV2Namespace, beside
	// ArgoCDVersion in ArgoCDNamespace, so tests can pick either
	// (Env.ArgoCDs). The e2e playground (Start) has it.
	ArgoCDV2 bool
	// VClusterOld also builds vCluster VClusterOldVersion and serves chart
	// VClusterOldChartVersion from the playground's Helm repository, so
	// tenants can be created with the oldest supported chart (the runner
	// runs that version's own `vcluster` for them). The e2e playground
	// (Start) has it.
	VClusterOld bool
}

// extras are the optional binaries a playground with these options runs.
func (o Options) extras() Extras {
	return Extras{RealNodes: o.RealNodes, ArgoCDV2: o.ArgoCDV2, VClusterOld: o.VClusterOld}
}

// Up starts the playground in opts.Dir and returns its description, which
// it also writes to Dir/env.json. If a playground is already running there,
// it returns that one. On failure it stops whatever it started (logs stay in
// Dir/logs) and returns an error whose first line says what went wrong.
func Up(ctx context.Context, opts Options) (*Env, error) {
	if opts.Dir == "" {
		return nil, errors.New("testenv.Up: Options.Dir is empty")
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, err
	}
	logf := opts.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	if env, err := readEnv(dir); err == nil {
		dead := deadParts(env)
		if len(dead) == 0 {
			if opts.RealNodes != (len(env.RealNodes) > 0) {
				return nil, fmt.Errorf("a playground %s real nodes is already running in %s: stop it first (playground down --dir %[2]s)",
					map[bool]string{true: "with", false: "without"}[len(env.RealNodes) > 0], dir)
			}
			if opts.ArgoCDV2 && env.ArgoCDNamespaceOf(ArgoCDV2Version) == "" {
				return nil, fmt.Errorf("a playground without Argo CD %s is already running in %s: stop it first (playground down --dir %[2]s)",
					ArgoCDV2Version, dir)
			}
			if opts.VClusterOld && env.Bins[VClusterBinary(VClusterOldChartVersion)] == "" {
				return nil, fmt.Errorf("a playground without vCluster %s is already running in %s: stop it first (playground down --dir %[2]s)",
					VClusterOldVersion, dir)
			}
			logf("playground in %s is already running", dir)
			return env, nil
		}
		logf("playground in %s is partly down (%v); starting it afresh", dir, dead)
	}
	// Clear what a stopped or failed earlier run left behind.
	if err := Down(dir); err != nil {
		return nil, err
	}
	if opts.RealNodes {
		if err := realnode.Preflight(); err != nil {
			return nil, err
		}
		if err := realnode.DiskPreflight(dir); err != nil {
			return nil, err
		}
	}
	bins, err := EnsureBinaries(ctx, BuildLogf(logf), opts.extras())
	if err != nil {
		return nil, err
	}
	var images Images
	if opts.RealNodes {
		if images, err = EnsureImages(ctx, bins, BuildLogf(logf)); err != nil {
			return nil, err
		}
	}
	redis, err := ensureRedis(ctx, logf)
	if err != nil {
		return nil, err
	}
	ports, err := resolvePorts(opts.Ports)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
		return nil, err
	}
	u := &upper{dir: dir, logf: logf, bins: bins, redis: redis, ports: ports, runnerExe: opts.RunnerExe, images: images,
		argos: argoInstances(ports, opts.ArgoCDV2)}
	u.t0 = time.Now()
	if opts.RealNodes {
		// Before the PKI: the apiserver's serving certificate names the
		// veth host addresses, which kubelets and pods reach it at.
		if err := u.realNodeNets(ctx); err != nil {
			u.abort()
			return nil, err
		}
	}
	env, err := u.run(ctx)
	if err != nil {
		u.abort()
		return nil, err
	}
	logf("playground up in %s", time.Since(u.t0).Round(100*time.Millisecond))
	return env, nil
}

// upper carries the state of one Up.
type upper struct {
	dir       string
	logf      func(string, ...any)
	bins      Binaries
	redis     string
	ports     Ports
	runnerExe string
	images    Images          // image archives for real nodes
	realNodes []realnode.Node // empty: all nodes are kwok's
	// argoListen is where the application-controller serves metrics
	// (argoNet.listen).
	argoListen string
	argos      []argoInstance
	t0         time.Time // start of Up, for progress lines
	pki        *pki
	procs      []*proc
	cs         *kubernetes.Clientset
	dyn        dynamic.Interface
}

func (u *upper) path(elem ...string) string {
	return filepath.Join(append([]string{u.dir}, elem...)...)
}

// start starts a part that serves addr (empty if nothing).
func (u *upper) start(name, addr, bin string, args []string, env ...string) (*proc, error) {
	p, err := startProc(u.dir, name, bin, args, env)
	if err != nil {
		return nil, err
	}
	p.Address = addr
	u.procs = append(u.procs, p)
	u.logf("started %s (pid %d) at +%s", name, p.PID, time.Since(u.t0).Round(100*time.Millisecond))
	return p, nil
}

// abort stops every process this Up started and drops the pid files and
// env.json; the logs stay for the error's reader.
func (u *upper) abort() {
	var groups []int
	for _, p := range u.procs {
		groups = append(groups, p.PID)
	}
	if len(u.realNodes) > 0 {
		for _, err := range realnode.StopPods(u.dir, recordedPIDs(u.dir)) {
			u.logf("stopping real-node pods after failure: %v", err)
		}
	}
	if err := procfs.StopGroups(groups, 5*time.Second); err != nil {
		u.logf("stopping after failure: %v", err)
	}
	if len(u.realNodes) > 0 {
		for _, err := range realnode.Cleanup(u.dir) {
			u.logf("cleaning up real nodes after failure: %v", err)
		}
	}
	_ = os.RemoveAll(pidDir(u.dir))
	_ = os.Remove(u.path("env.json"))
}

func (u *upper) run(ctx context.Context) (*Env, error) {
	// Slow lookups that need no cluster run meanwhile.
	_, vclusterOld := u.bins[VClusterBinary(VClusterOldChartVersion)]
	modsCh := goResult(func() (moduleDirs, error) { return resolveModuleDirs(ctx, vclusterOld) })
	runnerCh := goResult(func() (string, error) { return u.runnerBinary(ctx) })

	var err error
	if u.pki, err = makePKI(u.path("pki")); err != nil {
		return nil, err
	}
	apiURL := "https://127.0.0.1:" + strconv.Itoa(u.ports.APIServer)
	env := &Env{
		Dir:             u.dir,
		Kubeconfig:      u.path("kubeconfig"),
		Context:         ContextName,
		APIServerURL:    apiURL,
		Pools:           TenantPools,
		ArgoCDNamespace: ArgoCDNamespace,
		ArgoCDs:         argoCDs(u.argos),
		Bins:            u.bins,
		CAFile:          u.pki.caCert,
		Ports:           u.ports,
		RealNodes:       u.realNodes,
	}
	// Components get their own copy: users may edit Dir/kubeconfig.
	compKubeconfig := u.path("pki", "admin.kubeconfig")
	for _, f := range []string{env.Kubeconfig, compKubeconfig} {
		if err := writeKubeconfig(f, apiURL, u.pki); err != nil {
			return nil, err
		}
	}
	if err := u.controlPlane(ctx, compKubeconfig); err != nil {
		return nil, err
	}
	if u.cs, err = env.Clientset(); err != nil {
		return nil, err
	}
	rc, _ := env.RESTConfig()
	if u.dyn, err = dynamic.NewForConfig(rc); err != nil {
		return nil, err
	}
	// With real nodes Argo CD's server and controller reach redis from the
	// first node's network namespace (argoNet), at the veth's host address.
	// Redis's protected mode refuses clients from a non-loopback address
	// when no password is set; it listens on loopback and that address only.
	redisBind := []string{"127.0.0.1"}
	if len(u.realNodes) > 0 {
		redisBind = append(redisBind, u.realNodes[0].HostIP, "--protected-mode", "no")
	}
	redis, err := u.start(partRedis, "127.0.0.1:"+strconv.Itoa(u.ports.Redis), u.redis, append(append([]string{"--port", strconv.Itoa(u.ports.Redis), "--bind"}, redisBind...),
		"--save", "", "--appendonly", "no", "--dir", u.path("data")))
	if err != nil {
		return nil, err
	}
	mods, err := (<-modsCh).get()
	if err != nil {
		return nil, err
	}
	env.VClusterChart = filepath.Join(mods.vcluster, "chart")
	// kwok reads PortForward rules as CRs, so rules (the argocd-server one,
	// the vCluster runner's) can be added while it runs.
	kwokCRD := filepath.Join(mods.kwok, "kustomize", "crd", "bases", "kwok.x-k8s.io_portforwards.yaml")
	if err := applyCRDs(ctx, u.dyn, []string{kwokCRD}); err != nil {
		return nil, err
	}
	argoCRDs := goResult(func() (struct{}, error) {
		return struct{}{}, applyCRDs(ctx, u.dyn, argoCDCRDs(mods))
	})
	if err := u.nodes(ctx, compKubeconfig); err != nil {
		<-argoCRDs // let the apply end before Up stops the apiserver
		return nil, err
	}
	if err := u.startRealNodes(ctx); err != nil {
		<-argoCRDs
		return nil, err
	}
	if _, err := (<-argoCRDs).get(); err != nil {
		return nil, err
	}
	gitops := make([]gitopsParts, len(u.argos))
	for i, a := range u.argos {
		if err := u.argoCD(ctx, a, compKubeconfig, redis); err != nil {
			return nil, err
		}
		if gitops[i], err = u.startArgoCDGitOps(a, compKubeconfig); err != nil {
			return nil, err
		}
	}

	runnerBin, err := (<-runnerCh).get()
	if err != nil {
		return nil, err
	}
	charts := map[string]string{VClusterChartVersion: env.VClusterChart}
	if vclusterOld {
		charts[VClusterOldChartVersion] = filepath.Join(mods.vclusterOld, "chart")
	}
	argoChart, err := argoCDChart(mods.argocd)
	if err != nil {
		return nil, fmt.Errorf("chart %s: %w", ArgoCDChartName, err)
	}
	if env.ChartRepoURL, _, err = u.chartRepo(ctx, charts, []*chart.Chart{argoChart, helloChart()}, runnerBin); err != nil {
		return nil, err
	}
	if err := u.writeHostDefaults(ctx, env); err != nil {
		return nil, err
	}
	if err := writeEnv(env, u.procs); err != nil {
		return nil, err
	}
	runner, err := u.start(partRunner, "", runnerBin, []string{"vcluster-runner", "--env", u.path("env.json")},
		"KUBECONFIG="+compKubeconfig)
	if err != nil {
		return nil, err
	}
	// The runner creates its ready file once its informers have synced.
	if err := waitReady(ctx, runner, 30*time.Second, func() error {
		_, err := os.Stat(u.path(vcrunner.ReadyFile))
		return err
	}); err != nil {
		return nil, err
	}
	for i, a := range u.argos {
		if err := u.waitArgoCDGitOps(ctx, a, gitops[i]); err != nil {
			return nil, err
		}
	}
	if err := writeEnv(env, u.procs); err != nil {
		return nil, err
	}
	return env, nil
}

func argoCDs(as []argoInstance) []ArgoCD {
	out := make([]ArgoCD, len(as))
	for i, a := range as {
		out[i] = a.ArgoCD
	}
	return out
}

// result is a value computed in the background.
type result[T any] struct {
	v   T
	err error
}

func (r result[T]) get() (T, error) { return r.v, r.err }

func goResult[T any](f func() (T, error)) <-chan result[T] {
	ch := make(chan result[T], 1)
	go func() { v, err := f(); ch <- result[T]{v, err} }()
	return ch
}

// writeEnv writes Dir/env.json atomically: the vCluster runner may be
// reading it while Up adds the runner's own entry.
func writeEnv(env *Env, procs []*proc) error {
	env.Parts = env.Parts[:0]
	for _, p := range procs {
		env.Parts = append(env.Parts, p.Part)
	}
	return saveEnv(env)
}

// saveEnv writes env to Dir/env.json atomically.
func saveEnv(env *Env) error {
	b, err := json.MarshalIndent(env, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(env.Dir, "env.json.tmp")
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(env.Dir, "env.json"))
}

// ReadEnv loads the description of the playground running in dir.
func ReadEnv(dir string) (*Env, error) { return readEnv(dir) }

func readEnv(dir string) (*Env, error) {
	b, err := os.ReadFile(filepath.Join(dir, "env.json"))
	if err != nil {
		return nil, err
	}
	var env Env
	if err := json.Unmarshal(b, &env); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, "env.json"), err)
	}
	return &env, nil
}

// deadParts names the recorded parts of env whose process group is gone.
func deadParts(env *Env) []string {
	var dead []string
	if len(env.Parts) == 0 {
		return []string{"(no parts recorded)"}
	}
	for _, p := range env.Parts {
		if !procAlive(p.PID) {
			dead = append(dead, p.Name)
		}
	}
	return dead
}
