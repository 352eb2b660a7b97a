// Command playground starts and stops the local playground: a real
// Kubernetes control plane with kwok nodes, Argo CD and the vCluster runner,
// all as local processes (see package testenv).
//
//	playground up [--dir .playground] [--real-nodes] [--argocd-v2] [--vcluster-old]
//	                                    start (or show) the playground
//	playground down [--dir .playground] stop it and remove its directory
//	playground build [--real-nodes] [--argocd-v2] [--vcluster-old]
//	                                    build and cache the binaries only
//
// --real-nodes (opt-in): pool project-x gets a real node (containerd,
// kubelet, kube-proxy in a network namespace) and CoreDNS runs on it.
// --argocd-v2 and --vcluster-old add what only the e2e suite's playground
// runs: Argo CD v2.14 beside v3, and vCluster 0.25.0 with its chart. `up`
// builds only what the playground it starts runs.
//
//	playground vcluster-runner ...      internal: run by `up`
//	playground file-server --addr A --dir D  internal: the local Helm repository
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"maps"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/kubectl-tenant/kubectl-tenant/test/testenv"
	"github.com/kubectl-tenant/kubectl-tenant/test/testenv/vcrunner"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "playground:", err)
		os.Exit(1)
	}
}

func usage() error {
	return fmt.Errorf("usage: playground up [--dir DIR] [--real-nodes] [--argocd-v2] [--vcluster-old] | down [--dir DIR] | build [--real-nodes] [--argocd-v2] [--vcluster-old] | vcluster-runner ARGS | file-server --addr ADDR --dir DIR")
}

func run(args []string) error {
	if len(args) == 0 {
		return usage()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	logf := func(f string, a ...any) { fmt.Fprintf(os.Stderr, f+"\n", a...) }
	switch args[0] {
	case "up":
		dir, x, err := dirFlag("up", args[1:], true)
		if err != nil {
			return err
		}
		self, err := os.Executable()
		if err != nil {
			return err
		}
		env, err := testenv.Up(ctx, testenv.Options{Dir: dir, Logf: logf, RunnerExe: self,
			RealNodes: x.RealNodes, ArgoCDV2: x.ArgoCDV2, VClusterOld: x.VClusterOld})
		if err != nil {
			return err
		}
		printEnv(env)
		return nil
	case "down":
		dir, _, err := dirFlag("down", args[1:], false)
		if err != nil {
			return err
		}
		return testenv.Down(dir)
	case "build":
		fs := flag.NewFlagSet("build", flag.ContinueOnError)
		var x testenv.Extras
		fs.BoolVar(&x.RealNodes, "real-nodes", false, "also build kubelet, kube-proxy, CoreDNS and the real nodes' images")
		fs.BoolVar(&x.ArgoCDV2, "argocd-v2", false, "also build Argo CD "+testenv.ArgoCDV2Version)
		fs.BoolVar(&x.VClusterOld, "vcluster-old", false, "also build vCluster "+testenv.VClusterOldVersion)
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		bins, err := testenv.EnsureBinaries(ctx, logf, x)
		if err != nil {
			return err
		}
		if x.RealNodes {
			images, err := testenv.EnsureImages(ctx, bins, logf)
			if err != nil {
				return err
			}
			for _, name := range slices.Sorted(maps.Keys(images)) {
				bins["image "+name] = images[name]
			}
		}
		for _, name := range slices.Sorted(maps.Keys(bins)) {
			fmt.Printf("%-24s %s\n", name, bins[name])
		}
		return nil
	case "vcluster-runner":
		return vcrunner.Main(args[1:])
	case "file-server":
		fs := flag.NewFlagSet("file-server", flag.ContinueOnError)
		addr := fs.String("addr", "127.0.0.1:0", "listen address")
		dir := fs.String("dir", ".", "directory to serve")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		srv := &http.Server{Addr: *addr, Handler: http.FileServer(http.Dir(*dir)), ReadHeaderTimeout: 10 * time.Second}
		go func() { <-ctx.Done(); _ = srv.Close() }()
		if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	}
	return usage()
}

func dirFlag(cmd string, args []string, up bool) (dir string, x testenv.Extras, err error) {
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.StringVar(&dir, "dir", ".playground", "state directory of the playground")
	if up {
		fs.BoolVar(&x.RealNodes, "real-nodes", false, "run pool project-x on a real node (containerd, kubelet, kube-proxy, CoreDNS)")
		fs.BoolVar(&x.ArgoCDV2, "argocd-v2", false, "also run Argo CD "+testenv.ArgoCDV2Version+" in namespace "+testenv.ArgoCDV2Namespace)
		fs.BoolVar(&x.VClusterOld, "vcluster-old", false, "also run vCluster "+testenv.VClusterOldVersion+" for tenants of chart "+testenv.VClusterOldChartVersion)
	}
	if err := fs.Parse(args); err != nil {
		return "", x, err
	}
	if fs.NArg() > 0 {
		return "", x, usage()
	}
	return dir, x, nil
}

// printEnv tells what runs where and how to use it.
func printEnv(env *testenv.Env) {
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "PART\tADDRESS\tPID\tLOG")
	for _, p := range env.Parts {
		fmt.Fprintf(w, "%s\t%s\t%d\t%s\n", p.Name, p.Address, p.PID, p.Log)
	}
	_ = w.Flush()
	fmt.Printf("\nnodes: %s-0 (untainted, pool=%[1]s)", testenv.SystemPool)
	for _, p := range env.Pools {
		real := ""
		for _, n := range env.RealNodes {
			if n.Pool == p {
				real = ", real node " + n.NodeIP + " in netns " + n.NetNS
			}
		}
		fmt.Printf(", %s-0 (project=%[1]s, tainted%s)", p, real)
	}
	fmt.Printf("\nargo cd: kubectl port-forward -n %s svc/argocd-server 8080:443, then http://localhost:8080 \n", env.ArgoCDNamespace)
	fmt.Printf("         user admin, password: kubectl -n %s get secret argocd-initial-admin-secret -o jsonpath='{.data.password}' | base64 -d\n", env.ArgoCDNamespace)
	for _, a := range env.ArgoCDs[1:] {
		fmt.Printf("         Argo CD %s: the same in namespace %s (kubectl tenant ... --argocd-namespace %[2]s)\n", a.Version, a.Namespace)
	}
	fmt.Printf("vcluster chart: %s (Helm repository for Argo CD: %s)\n", env.VClusterChart, env.ChartRepoURL)
	fmt.Printf("\nexport KUBECONFIG=%s\n", env.Kubeconfig)
}
