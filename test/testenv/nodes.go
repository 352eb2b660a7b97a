package testenv

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"time"

	"github.com/kubectl-tenant/kubectl-tenant/test/testenv/realnode"

	"github.com/kubectl-tenant/kubectl-tenant/test/testenv/internal/kubeutil"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// nodes starts kwok and creates the node pools: system-0 and one node per
// tenant pool, all Ready when this returns.
// The PortForward CRD must be established before.
func (u *upper) nodes(ctx context.Context, kubeconfig string) error {
	kwokAddr := "127.0.0.1:" + strconv.Itoa(u.ports.Kwok)
	kwok, err := u.start(partKwok, kwokAddr+" (kubelet API of all nodes)", u.bins["kwok"], []string{
		"--kubeconfig=" + kubeconfig,
		"--manage-nodes-with-annotation-selector=" + kwokNodeAnnotation + "=fake",
		// Nodes get InternalIP 127.0.0.1 and kubelet port = kwok's server, so
		// the apiserver's port-forward and logs requests reach kwok.
		"--node-ip=127.0.0.1",
		"--node-port=" + strconv.Itoa(u.ports.Kwok),
		"--server-address=" + kwokAddr,
		"--enable-crds=PortForward",
		// Node leases renewed every 10s, as kubelet (and kwokctl) do. Run
		// bare, kwok only posts node status about once a minute, past
		// kube-controller-manager's grace period: every node flapped
		// NotReady and its pods lost their Ready condition for good (kwok
		// does not restore it), so Deployments never became Available.
		"--node-lease-duration-seconds=40",
	},
		// kwok also loads ~/.kwok/kwok.yaml; keep a user's file out of it.
		"HOME="+u.path("kwok-home"))
	if err != nil {
		return err
	}
	plain := &http.Client{Timeout: 2 * time.Second}
	if err := waitReady(ctx, kwok, partTimeout, func() error { return httpOK(plain, "http://"+kwokAddr+"/healthz", "") }); err != nil {
		return err
	}
	var pools []string
	for _, pool := range append([]string{SystemPool}, TenantPools...) {
		if !u.realPool(pool) {
			pools = append(pools, pool)
		}
	}
	for _, pool := range pools {
		if err := kubeutil.Create(ctx, u.cs.CoreV1().Nodes().Create, nodeFor(pool)); err != nil {
			return fmt.Errorf("create node for pool %s: %w", pool, err)
		}
	}
	return waitReady(ctx, kwok, partTimeout, func() error {
		for _, pool := range pools {
			n, err := u.cs.CoreV1().Nodes().Get(ctx, pool+"-0", metav1.GetOptions{})
			if err != nil {
				return err
			}
			if !kubeutil.NodeReady(n) {
				return fmt.Errorf("node %s is not Ready", n.Name)
			}
		}
		return nil
	})
}

// realPool tells whether pool has a real node instead of a kwok one.
func (u *upper) realPool(pool string) bool {
	for _, n := range u.realNodes {
		if n.Pool == pool {
			return true
		}
	}
	return false
}

// realNodeNets plans the real nodes and makes their network namespaces
// (before the PKI and the apiserver, which use the veth host addresses).
func (u *upper) realNodeNets(ctx context.Context) error {
	nodes, err := realnode.Prepare(ctx, u.dir, serviceCIDR)
	u.realNodes = nodes // also on failure: abort cleans up what was made
	return err
}

// startRealNodes starts every real node, waits until each is Ready, and
// deploys CoreDNS on the first one's pool.
func (u *upper) startRealNodes(ctx context.Context) error {
	if len(u.realNodes) == 0 {
		return nil
	}
	if err := realnode.CreateFirewallRBAC(ctx, u.cs); err != nil {
		return err
	}
	for _, n := range u.realNodes {
		if err := realnode.WriteConfigs(n, u.pki.caCert, PauseImage); err != nil {
			return fmt.Errorf("real node %s: %w", n.Name, err)
		}
		if err := u.nodeCerts(n); err != nil {
			return fmt.Errorf("real node %s: %w", n.Name, err)
		}
		if err := u.startRealNode(ctx, n, u.images); err != nil {
			return fmt.Errorf("real node %s: %w", n.Name, err)
		}
		u.logf("real node %s Ready at +%s", n.Name, time.Since(u.t0).Round(100*time.Millisecond))
	}
	if err := realnode.CreateStorageClass(ctx, u.cs); err != nil {
		return err
	}
	pool := u.realNodes[0].Pool
	if err := realnode.DeployCoreDNS(ctx, u.cs, pool, CoreDNSImage); err != nil {
		return err
	}
	if err := waitReady(ctx, u.proc("kubelet-"+pool+"-0"), 2*partTimeout, func() error {
		return realnode.CoreDNSAvailable(ctx, u.cs)
	}); err != nil {
		return err
	}
	u.logf("coredns available at +%s", time.Since(u.t0).Round(100*time.Millisecond))
	return nil
}

// nodeCerts issues node n's kubelet (client and serving), kube-proxy and
// kube-router certificates and writes their kubeconfigs, next to realnode.WriteConfigs'
// files.
func (u *upper) nodeCerts(n realnode.Node) error {
	p := func(elem ...string) string { return filepath.Join(append([]string{n.Dir}, elem...)...) }
	server := "https://" + n.HostIP + ":" + strconv.Itoa(u.ports.APIServer)
	if err := u.pki.issueCert(p("pki", "kubelet"), "system:node:"+n.Name, []string{"system:nodes"}, nil, true); err != nil {
		return err
	}
	if err := u.pki.issueCert(p("pki", "kubelet-serving"), "system:node:"+n.Name, []string{"system:nodes"},
		[]net.IP{net.ParseIP(n.NodeIP)}, false); err != nil {
		return err
	}
	if err := u.pki.issueCert(p("pki", "kube-proxy"), "system:kube-proxy", nil, nil, true); err != nil {
		return err
	}
	if err := u.pki.issueCert(p("pki", "kube-router"), realnode.FirewallUser, nil, nil, true); err != nil {
		return err
	}
	if err := writeCertKubeconfig(p("kubelet.kubeconfig"), server, u.pki, p("pki", "kubelet")); err != nil {
		return err
	}
	if err := writeCertKubeconfig(realnode.FirewallKubeconfig(n), server, u.pki, p("pki", "kube-router")); err != nil {
		return err
	}
	return writeCertKubeconfig(p("kube-proxy.kubeconfig"), server, u.pki, p("pki", "kube-proxy"))
}

// startRealNode starts containerd, imports the images, then kubelet and
// kube-proxy of node n, and once the node is Ready its NetworkPolicy
// enforcer (kube-router's firewall), all in its network namespace.
func (u *upper) startRealNode(ctx context.Context, n realnode.Node, images Images) error {
	p := func(elem ...string) string { return filepath.Join(append([]string{n.Dir}, elem...)...) }
	bin, args := realnode.InNetNS(n.NetNS, "containerd", "--config", p("containerd", "config.toml"))
	ctrd, err := u.start("containerd-"+n.Name, n.ContainerdSocket, bin, args)
	if err != nil {
		return err
	}
	if err := waitReady(ctx, ctrd, partTimeout, func() error {
		return realnode.RunCmd(ctx, "ctr", "--address", n.ContainerdSocket, "version")
	}); err != nil {
		return err
	}
	start := time.Now()
	for _, img := range images {
		if err := realnode.RunCmd(ctx, "ctr", "--address", n.ContainerdSocket, "-n", "k8s.io", "images", "import", img); err != nil {
			return err
		}
	}
	u.logf("imported %d images into %s's containerd in %s", len(images), n.Name, time.Since(start).Round(100*time.Millisecond))

	labels := "project=" + n.Pool + ",type=real"
	bin, args = realnode.InNetNS(n.NetNS, u.bins["kubelet"],
		"--config="+p("kubelet-config.yaml"),
		"--kubeconfig="+p("kubelet.kubeconfig"),
		"--hostname-override="+n.Name,
		"--node-ip="+n.NodeIP,
		"--node-labels="+labels,
		"--root-dir="+p("kubelet"),
		"--cert-dir="+p("pki"),
	)
	kubelet, err := u.start("kubelet-"+n.Name, "https://"+n.NodeIP+":10250", bin, args)
	if err != nil {
		return err
	}
	bin, args = realnode.InNetNS(n.NetNS, u.bins["kube-proxy"], "--config="+p("kube-proxy-config.yaml"))
	if _, err := u.start("kube-proxy-"+n.Name, "", bin, args); err != nil {
		return err
	}
	if err := waitReady(ctx, kubelet, 2*partTimeout, func() error {
		node, err := u.cs.CoreV1().Nodes().Get(ctx, n.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if !kubeutil.NodeReady(node) {
			return fmt.Errorf("node %s is not Ready", n.Name)
		}
		return nil
	}); err != nil {
		return err
	}
	// The NetworkPolicy enforcer, once the node object exists (kube-router
	// reads its addresses), enforcing before any tenant pod starts.
	bin, args = realnode.FirewallCommand(n, u.bins["kube-router"], serviceCIDR)
	fw, err := u.start("kube-router-"+n.Name, "", bin, args)
	if err != nil {
		return err
	}
	if err := waitReady(ctx, fw, partTimeout, func() error { return realnode.FirewallReady(ctx, n) }); err != nil {
		return err
	}
	u.logf("kube-router enforcing NetworkPolicies on %s at +%s", n.Name, time.Since(u.t0).Round(100*time.Millisecond))
	return nil
}
