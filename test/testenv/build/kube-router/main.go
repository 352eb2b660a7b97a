// Command kube-router here is kube-router's network-policy controller
// alone (github.com/cloudnativelabs/kube-router/v2/pkg/controllers/netpol),
// run the way upstream's `kube-router --run-firewall=true --run-router=false
// --run-service-proxy=false` runs it (pkg/cmd.KubeRouter.Run's firewall
// path, with upstream's flags and health controller), as k3s embeds it.
// Upstream's command also links the BGP router and the IPVS service proxy
// (GoBGP, the AWS SDK, the Docker client): building only the controller
// the real nodes use keeps the harness's cold build short.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/cloudnativelabs/kube-router/v2/pkg/controllers/netpol"
	"github.com/cloudnativelabs/kube-router/v2/pkg/healthcheck"
	"github.com/cloudnativelabs/kube-router/v2/pkg/options"
	"github.com/cloudnativelabs/kube-router/v2/pkg/version"
	"github.com/spf13/pflag"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "kube-router:", err)
		os.Exit(1)
	}
}

func run() error {
	klog.InitFlags(nil)
	config := options.NewKubeRouterConfig()
	config.AddFlags(pflag.CommandLine)
	pflag.Parse()
	if err := flag.Set("logtostderr", "true"); err != nil {
		return err
	}
	if err := flag.Set("v", config.VLevel); err != nil {
		return err
	}
	if config.Version {
		version.PrintVersion(false)
		return nil
	}
	if !config.RunFirewall || config.RunRouter || config.RunServiceProxy {
		return errors.New("this build runs the network-policy firewall only: pass --run-firewall=true --run-router=false --run-service-proxy=false")
	}
	if config.Kubeconfig == "" {
		return errors.New("--kubeconfig is required")
	}
	version.PrintVersion(true)
	rc, err := clientcmd.BuildConfigFromFlags(config.Master, config.Kubeconfig)
	if err != nil {
		return fmt.Errorf("kubeconfig: %w", err)
	}
	client, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return err
	}

	var wg sync.WaitGroup
	var ipsetMutex sync.Mutex
	healthChan := make(chan *healthcheck.ControllerHeartbeat, 10)
	stopCh := make(chan struct{})
	hc, err := healthcheck.NewHealthController(config)
	if err != nil {
		return fmt.Errorf("health controller: %w", err)
	}
	wg.Add(1)
	go hc.RunServer(stopCh, &wg)

	factory := informers.NewSharedInformerFactory(client, 0)
	podInformer := factory.Core().V1().Pods().Informer()
	nsInformer := factory.Core().V1().Namespaces().Informer()
	npInformer := factory.Networking().V1().NetworkPolicies().Informer()
	factory.Start(stopCh)
	synced := make(chan struct{})
	go func() { factory.WaitForCacheSync(stopCh); close(synced) }()
	select {
	case <-synced:
	case <-time.After(config.CacheSyncTimeout):
		return fmt.Errorf("informer caches not synced after %s", config.CacheSyncTimeout)
	}
	hc.SetAlive()
	wg.Add(1)
	go hc.RunCheck(healthChan, stopCh, &wg)

	ipt, ipsets, err := netpol.NewIPTablesHandlers(config)
	if err != nil {
		return fmt.Errorf("iptables handlers: %w", err)
	}
	npc, err := netpol.NewNetworkPolicyController(client, config, podInformer, npInformer, nsInformer, &ipsetMutex, ipt, ipsets)
	if err != nil {
		return fmt.Errorf("network policy controller: %w", err)
	}
	for _, add := range []func() error{
		func() error { _, err := podInformer.AddEventHandler(npc.PodEventHandler); return err },
		func() error { _, err := nsInformer.AddEventHandler(npc.NamespaceEventHandler); return err },
		func() error { _, err := npInformer.AddEventHandler(npc.NetworkPolicyEventHandler); return err },
	} {
		if err := add(); err != nil {
			return err
		}
	}
	wg.Add(1)
	go npc.Run(healthChan, stopCh, &wg)

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
	klog.Info("shutting down the network policy controller")
	close(stopCh)
	wg.Wait()
	return nil
}
