package testenv

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
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
		if err := create(ctx, u.cs.CoreV1().Nodes().Create, nodeFor(pool)); err != nil {
			return fmt.Errorf("create node for pool %s: %w", pool, err)
		}
	}
	return waitReady(ctx, kwok, partTimeout, func() error {
		for _, pool := range pools {
			n, err := u.cs.CoreV1().Nodes().Get(ctx, pool+"-0", metav1.GetOptions{})
			if err != nil {
				return err
			}
			if !nodeReady(n) {
				return fmt.Errorf("node %s is not Ready", n.Name)
			}
		}
		return nil
	})
}

// StorageClassName is the default StorageClass of playgrounds with real
// nodes: kube-controller-manager's built-in host-path provisioner, a real
// dynamic provisioner in a binary the playground already builds (no image
// or build of its own; it serves one host, and the playground is one).
const StorageClassName = "standard"

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
	nodes, err := planRealNodes(u.dir)
	if err != nil {
		return err
	}
	u.realNodes = nodes
	// kubelet makes /var/log/containers and the host-path provisioner
	// /tmp/hostpath_pv (fixed paths) if missing; Down removes them again
	// then, once empty.
	if err := os.MkdirAll(realNodesDir(u.dir), 0o755); err != nil {
		return err
	}
	for marker, path := range map[string]string{createdVarLogContainers: varLogContainers, createdHostPathPVDir: hostPathPVDir} {
		if _, err := os.Stat(path); os.IsNotExist(err) {
			if err := os.WriteFile(filepath.Join(realNodesDir(u.dir), marker), nil, 0o644); err != nil {
				return err
			}
		}
	}
	for _, n := range nodes {
		if err := setupNodeNet(ctx, n, nodes[0].HostIP); err != nil {
			return fmt.Errorf("real node %s: %w", n.Name, err)
		}
		if err := makeCgroupRoot(n.CgroupRoot); err != nil {
			return fmt.Errorf("real node %s: %w", n.Name, err)
		}
	}
	return nil
}

// startRealNodes starts every real node, waits until each is Ready, and
// deploys CoreDNS on the first one's pool.
func (u *upper) startRealNodes(ctx context.Context) error {
	if len(u.realNodes) == 0 {
		return nil
	}
	for _, n := range u.realNodes {
		if err := u.writeNodeFiles(n); err != nil {
			return fmt.Errorf("real node %s: %w", n.Name, err)
		}
		if err := u.startRealNode(ctx, n, u.images); err != nil {
			return fmt.Errorf("real node %s: %w", n.Name, err)
		}
		u.logf("real node %s Ready at +%s", n.Name, time.Since(u.t0).Round(100*time.Millisecond))
	}
	if err := create(ctx, u.cs.StorageV1().StorageClasses().Create, &storagev1.StorageClass{
		ObjectMeta: metav1.ObjectMeta{Name: StorageClassName,
			Annotations: map[string]string{"storageclass.kubernetes.io/is-default-class": "true"}},
		Provisioner: "kubernetes.io/host-path",
		// Provision once a pod is scheduled: the vCluster runner's volumes
		// for chart claims of kwok pools, pre-bound at once, keep winning.
		VolumeBindingMode: ptr.To(storagev1.VolumeBindingWaitForFirstConsumer),
	}); err != nil {
		return fmt.Errorf("default StorageClass: %w", err)
	}
	if err := u.deployCoreDNS(ctx, u.realNodes[0].Pool); err != nil {
		return err
	}
	u.logf("coredns available at +%s", time.Since(u.t0).Round(100*time.Millisecond))
	return nil
}
