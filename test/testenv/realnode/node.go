// Package realnode is the playground's real nodes (testenv.Options.Nodes):
// their plan (network namespace, veth, addresses, directories, cgroup
// root), the host set-up before the apiserver starts, their configuration
// files, the host cluster's DNS and default StorageClass on them, and their
// teardown and leftovers. testenv starts their processes as it starts every
// other part.
package realnode

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"sigs.k8s.io/yaml"
)

// Real nodes: one network namespace per node, with containerd, kubelet and
// kube-proxy inside, started by Up when Options.Nodes is set. Addresses
// exist only in those namespaces and on their veth pairs:
//
//	node i: veth 10.214.i.0/30 (host side .1, node side .2 = InternalIP),
//	        pod CIDR 10.215.i.0/24 on bridge cni0 inside the namespace.
//
// The Service CIDR (Prepare's serviceCIDR) is programmed by kube-proxy inside the
// namespaces only. Pods leave their node masqueraded to the node's address
// (the bridge plugin's ipMasq), so the host needs no route to a pod CIDR and
// forwards nothing: a packet from a pod can reach the host only at the veth
// host address, where the apiserver listens.
const (
	netPrefix = "10.214."
	podPrefix = "10.215."
	// clusterCIDR covers every real node's pod CIDR.
	clusterCIDR = "10.215.0.0/16"
	// ClusterDNSIP is the kube-dns Service's ClusterIP, the kubelets'
	// clusterDNS (in testenv's Service CIDR).
	ClusterDNSIP = "10.96.0.10"
	// netNSPrefix and vethPrefix name what Up makes, with
	// the playground's tag (so Down and leftovers checks find them by name).
	netNSPrefix = "kr-"
	vethPrefix  = "kr"
)

// Pools are the pools that get a real node instead of a kwok one
// when Options.Nodes is set.
var Pools = []string{"project-x"}

// Node is one real node of the playground.
type Node struct {
	Name string `json:"name"` // <pool>-0, as the kwok node it replaces
	Pool string `json:"pool"`
	// NetNS is the network namespace (ip netns) everything of the node runs in.
	NetNS    string `json:"netns"`
	VethHost string `json:"vethHost"`
	// HostIP is the host end of the veth pair; NodeIP the node's InternalIP.
	HostIP  string `json:"hostIP"`
	NodeIP  string `json:"nodeIP"`
	PodCIDR string `json:"podCIDR"`
	// Dir holds the node's state: containerd root/state/socket, kubelet
	// root, CNI config and IPAM data, configs and certificates.
	Dir string `json:"dir"`
	// CgroupRoot is the kubelet's cgroup root (made in every cgroup v1
	// hierarchy); every pod's cgroup lives under it.
	CgroupRoot string `json:"cgroupRoot"`
	// ContainerdSocket is the node's containerd (ctr --address, CRI).
	ContainerdSocket string `json:"containerdSocket"`
}

// nodeTag is a short hash of the playground directory that names the
// playground's namespaces, veths and cgroups.
func nodeTag(dir string) string {
	h := sha256.Sum256([]byte("real-nodes:" + dir))
	return hex.EncodeToString(h[:])[:6]
}

func nodesDir(dir string) string { return filepath.Join(dir, "nodes") }

// planNodes picks free 10.214.N indexes (not on this host yet) for the
// real node pools.
func planNodes(dir string) ([]Node, error) {
	used := map[int]bool{}
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() != nil && strings.HasPrefix(ipn.IP.String(), netPrefix) {
			if n, err := strconv.Atoi(strings.Split(ipn.IP.String(), ".")[2]); err == nil {
				used[n] = true
			}
		}
	}
	tag := nodeTag(dir)
	var nodes []Node
	i := 0
	for _, pool := range Pools {
		for used[i] {
			i++
		}
		if i > 254 {
			return nil, fmt.Errorf("no free %s0.0/16 slot for a real node", netPrefix)
		}
		name := pool + "-0"
		nodes = append(nodes, Node{
			Name: name, Pool: pool,
			NetNS:            fmt.Sprintf("%s%s-%d", netNSPrefix, tag, i),
			VethHost:         fmt.Sprintf("%s%sh%d", vethPrefix, tag, i),
			HostIP:           fmt.Sprintf("%s%d.1", netPrefix, i),
			NodeIP:           fmt.Sprintf("%s%d.2", netPrefix, i),
			PodCIDR:          fmt.Sprintf("%s%d.0/24", podPrefix, i),
			Dir:              filepath.Join(nodesDir(dir), name),
			CgroupRoot:       fmt.Sprintf("/%s%s-%s", netNSPrefix, tag, name),
			ContainerdSocket: filepath.Join(nodesDir(dir), name, "containerd.sock"),
		})
		used[i] = true
	}
	return nodes, nil
}

// RunCmd runs a command (30 s at most) and puts its output in the error.
func RunCmd(ctx context.Context, name string, args ...string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// Preflight names, in one line, what this machine lacks for real
// nodes.
func Preflight() error {
	var missing []string
	for _, bin := range []string{"containerd", "containerd-shim-runc-v2", "runc", "ctr", "ip", "nsenter", "iptables", "ipset", "conntrack", "gcc"} {
		if _, err := exec.LookPath(bin); err != nil {
			missing = append(missing, bin)
		}
	}
	for _, f := range []string{"/usr/lib/cni/bridge", "/usr/lib/cni/host-local", "/usr/lib/cni/loopback", "/usr/lib/cni/portmap", "/bin/busybox", "/usr/include/stdio.h"} {
		if _, err := os.Stat(f); err != nil {
			missing = append(missing, f)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("real nodes need %s (run hack/deps.sh: Debian containerd runc containernetworking-plugins iptables ipset conntrack busybox-static gcc libc6-dev)", strings.Join(missing, ", "))
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("real nodes need root (network namespaces, mounts, cgroups)")
	}
	if _, err := os.Stat("/proc/sys/net/bridge/bridge-nf-call-iptables"); err != nil {
		return fmt.Errorf("real nodes need the br_netfilter kernel module (kube-proxy's rules must see bridged pod traffic): modprobe br_netfilter")
	}
	if _, err := os.Stat("/sys/fs/cgroup/memory"); err != nil {
		return fmt.Errorf("real nodes need cgroup v1 hierarchies under /sys/fs/cgroup (found no memory hierarchy)")
	}
	return nil
}

// minNodeDisk is the free space real nodes need where the playground
// lives: the node's containerd unpacks about 1.5 GB of images there, each
// tenant adds its binaries and data, and below the kubelet's eviction
// threshold the node turns disk-pressure and schedules nothing.
const minNodeDisk = 3 << 30

// DiskPreflight says in one line when dir's file system has too
// little free space for real nodes.
func DiskPreflight(dir string) error {
	for { // the nearest existing directory (Down may have removed dir)
		if _, err := os.Stat(dir); err == nil || filepath.Dir(dir) == dir {
			break
		}
		dir = filepath.Dir(dir)
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return fmt.Errorf("free space of %s: %w", dir, err)
	}
	if free := st.Bavail * uint64(st.Bsize); free < minNodeDisk {
		return fmt.Errorf("real nodes need %d GiB free where the playground lives (%s has %.1f GiB): the node unpacks its images there", minNodeDisk>>30, dir, float64(free)/(1<<30))
	}
	return nil
}

// setupNet makes the node's network namespace and veth pair and sets the
// namespace's sysctls: forwarding (pods <-> veth), bridged traffic through
// iptables (kube-proxy's DNAT for pod-to-pod Service traffic on one bridge).
// Routes in the namespace: its /30, the Service CIDR and the apiserver's
// advertise address, both via the host end. No default route.
func setupNet(ctx context.Context, n Node, advertise, serviceCIDR string) error {
	ns := func(args ...string) []string { return append([]string{"-n", n.NetNS}, args...) }
	steps := [][]string{
		{"netns", "add", n.NetNS},
		{"link", "add", n.VethHost, "type", "veth", "peer", "name", "eth0", "netns", n.NetNS},
		{"addr", "add", n.HostIP + "/30", "dev", n.VethHost},
		{"link", "set", n.VethHost, "up"},
		ns("addr", "add", n.NodeIP+"/30", "dev", "eth0"),
		ns("link", "set", "eth0", "up"),
		ns("link", "set", "lo", "up"),
		ns("route", "add", serviceCIDR, "via", n.HostIP),
	}
	if advertise != n.HostIP {
		steps = append(steps, ns("route", "add", advertise+"/32", "via", n.HostIP))
	}
	for _, st := range steps {
		if err := RunCmd(ctx, "ip", st...); err != nil {
			return err
		}
	}
	for _, kv := range []string{"net.ipv4.ip_forward=1", "net.bridge.bridge-nf-call-iptables=1", "net.ipv4.conf.all.route_localnet=1"} {
		if err := RunCmd(ctx, "ip", "netns", "exec", n.NetNS, "sysctl", "-qw", kv); err != nil {
			return err
		}
	}
	return nil
}

// cgroupHierarchies lists the mounted cgroup hierarchies: the v1 ones and,
// on a hybrid machine, the v2 one under unified/ (runc mirrors v1 cgroups
// there).
func cgroupHierarchies() []string {
	entries, _ := os.ReadDir("/sys/fs/cgroup")
	var out []string
	for _, e := range entries {
		if e.IsDir() {
			out = append(out, filepath.Join("/sys/fs/cgroup", e.Name()))
		}
	}
	return out
}

// makeCgroupRoot creates the kubelet's cgroup root in every hierarchy
// (kubelet refuses a root that does not exist), with the cpuset of its
// parent (a new v1 cpuset is empty, and its children copy it).
func makeCgroupRoot(root string) error {
	for _, h := range cgroupHierarchies() {
		d := filepath.Join(h, root)
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
		if filepath.Base(h) == "cpuset" {
			for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
				b, err := os.ReadFile(filepath.Join(h, f))
				if err != nil {
					return err
				}
				if err := os.WriteFile(filepath.Join(d, f), b, 0o644); err != nil {
					return fmt.Errorf("cgroup %s: %w", filepath.Join(d, f), err)
				}
			}
		}
	}
	return nil
}

// nodeResolvConf is the real nodes' resolv.conf, what pods with dnsPolicy
// Default (a vCluster's own CoreDNS, whose Corefile forwards to it) get as
// their upstream: the host cluster's DNS, which serves cluster.local only
// (no forward plugin), so names outside the clusters do not resolve and no
// query leaves the playground. An empty one stopped the tenant's CoreDNS:
// "plugin/forward: no nameservers found".
const nodeResolvConf = "# real nodes: the host cluster's DNS only (no outside resolver)\nnameserver " + ClusterDNSIP + "\noptions ndots:5\n"

// InNetNS prefixes a command so it runs in network namespace ns only (not
// `ip netns exec`, which also makes a mount namespace: kubelet's volume
// mounts must be visible to containerd).
func InNetNS(ns string, bin string, args ...string) (string, []string) {
	return "nsenter", append([]string{"--net=/run/netns/" + ns, "--", bin}, args...)
}

// WriteConfigs writes the containerd config (sandbox image pauseImage), the
// CNI conflist and the kubelet's and kube-proxy's configs of node n; the
// kubelet trusts clients of the CA in caCert. Their certificates and
// kubeconfigs are the caller's (pki/, kubelet.kubeconfig,
// kube-proxy.kubeconfig under n.Dir).
func WriteConfigs(n Node, caCert, pauseImage string) error {
	for _, d := range []string{"cni", "kubelet", "pki", "containerd"} {
		if err := os.MkdirAll(filepath.Join(n.Dir, d), 0o755); err != nil {
			return err
		}
	}
	p := func(elem ...string) string { return filepath.Join(append([]string{n.Dir}, elem...)...) }
	containerd := fmt.Sprintf(`version = 2
root = %[1]q
state = %[2]q
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.devmapper"]

[grpc]
  address = %[3]q

[ttrpc]
  address = %[4]q

[plugins."io.containerd.internal.v1.opt"]
  path = %[5]q

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = %[6]q
  disable_apparmor = true
  # No CAP_SYS_RESOURCE here (measured: runc failed "failed to update
  # /proc/self/oom_score_adj: Permission denied" for the sandbox's -998):
  # scores below containerd's own are raised to it.
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  stream_server_address = "127.0.0.1"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = %[7]q
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = %[8]q
`, p("containerd", "root"), p("containerd", "state"), n.ContainerdSocket, n.ContainerdSocket+".ttrpc",
		p("containerd", "opt"), pauseImage, p("containerd", "runc"), p("cni"))
	cni := map[string]any{
		"cniVersion": "1.0.0",
		"name":       n.NetNS,
		"plugins": []any{
			map[string]any{
				"type": "bridge", "bridge": "cni0", "isGateway": true, "ipMasq": true, "hairpinMode": true,
				"ipam": map[string]any{
					"type":    "host-local",
					"dataDir": p("cni-ipam"),
					"ranges":  []any{[]any{map[string]any{"subnet": n.PodCIDR}}},
					"routes":  []any{map[string]any{"dst": "0.0.0.0/0"}},
				},
			},
			map[string]any{"type": "portmap", "capabilities": map[string]any{"portMappings": true}},
		},
	}
	cniJSON, _ := json.MarshalIndent(cni, "", "  ")
	loopback := []byte(`{"cniVersion": "1.0.0", "name": "lo", "type": "loopback"}` + "\n")
	kubelet := map[string]any{
		"apiVersion":               "kubelet.config.k8s.io/v1beta1",
		"kind":                     "KubeletConfiguration",
		"cgroupDriver":             "cgroupfs",
		"cgroupRoot":               n.CgroupRoot,
		"containerRuntimeEndpoint": "unix://" + n.ContainerdSocket,
		"address":                  n.NodeIP,
		"port":                     10250,
		"readOnlyPort":             0,
		"healthzBindAddress":       "127.0.0.1",
		"healthzPort":              10248,
		"authentication": map[string]any{
			"anonymous": map[string]any{"enabled": false},
			"x509":      map[string]any{"clientCAFile": caCert},
			"webhook":   map[string]any{"enabled": false},
		},
		// Only the CA's clients get in (the apiserver's kubelet client
		// certificate), and they may do anything.
		"authorization":     map[string]any{"mode": "AlwaysAllow"},
		"tlsCertFile":       p("pki", "kubelet-serving.crt"),
		"tlsPrivateKeyFile": p("pki", "kubelet-serving.key"),
		"clusterDNS":        []string{ClusterDNSIP},
		"clusterDomain":     "cluster.local",
		// The node's resolver is the host cluster's DNS (nodeResolvConf),
		// never the machine's: nothing goes to an outside resolver.
		"resolvConf": p("resolv.conf"),
		// Container logs under the node's directory, not /var/log/pods
		// (kubelet's /var/log/containers links are a fixed path: Down
		// removes those pointing here).
		"podLogsDir":                  p("pod-logs"),
		"failSwapOn":                  false,
		"registerWithTaints":          []any{map[string]any{"key": "project", "value": n.Pool, "effect": "NoSchedule"}},
		"imageGCHighThresholdPercent": 100,
		"imageGCLowThresholdPercent":  99,
		// Absolute thresholds: the node shares the machine's disk, and 2%
		// of a 252 GB disk is 5 GB, so a machine with 6 GB free tainted the
		// node disk-pressure mid-test and no tenant was scheduled.
		"evictionHard": map[string]string{"memory.available": "100Mi", "nodefs.available": "512Mi",
			"imagefs.available": "512Mi", "nodefs.inodesFree": "1%"},
		"serializeImagePulls":       false,
		"nodeStatusReportFrequency": "10s",
		"fileCheckFrequency":        "5s",
		"syncFrequency":             "10s",
		"rotateCertificates":        false,
		"serverTLSBootstrap":        false,
		"protectKernelDefaults":     false,
		"makeIPTablesUtilChains":    true,
	}
	proxy := map[string]any{
		"apiVersion":         "kubeproxy.config.k8s.io/v1alpha1",
		"kind":               "KubeProxyConfiguration",
		"mode":               "iptables",
		"clientConnection":   map[string]any{"kubeconfig": p("kube-proxy.kubeconfig")},
		"hostnameOverride":   n.Name,
		"bindAddress":        n.NodeIP,
		"clusterCIDR":        clusterCIDR,
		"metricsBindAddress": "127.0.0.1:10249",
		"healthzBindAddress": "127.0.0.1:10256",
		// Leave the (global) conntrack table size and timeouts alone.
		"conntrack": map[string]any{"maxPerCore": 0, "min": 0,
			"tcpEstablishedTimeout": "0s", "tcpCloseWaitTimeout": "0s"},
	}
	kubeletYAML, err := yaml.Marshal(kubelet)
	if err != nil {
		return err
	}
	proxyYAML, err := yaml.Marshal(proxy)
	if err != nil {
		return err
	}
	files := map[string][]byte{
		p("containerd", "config.toml"): []byte(containerd),
		p("cni", "10-bridge.conflist"): append(cniJSON, '\n'),
		p("cni", "99-loopback.conf"):   loopback,
		p("kubelet-config.yaml"):       kubeletYAML,
		p("kube-proxy-config.yaml"):    proxyYAML,
		p("resolv.conf"):               []byte(nodeResolvConf),
	}
	for f, b := range files {
		if err := os.WriteFile(f, b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// Prepare plans the real nodes of the playground in dir and makes their
// network namespaces, veths and cgroup roots, before the PKI and the
// apiserver, which use the veth host addresses. serviceCIDR is routed from
// each namespace to its veth's host end. On failure it still returns the
// planned nodes once it has started making them, for the caller's clean-up
// (Cleanup finds what was made by name).
func Prepare(ctx context.Context, dir, serviceCIDR string) ([]Node, error) {
	nodes, err := planNodes(dir)
	if err != nil {
		return nil, err
	}
	// kubelet makes /var/log/containers and the host-path provisioner
	// /tmp/hostpath_pv (fixed paths) if missing; Down removes them again
	// then, once empty.
	if err := os.MkdirAll(nodesDir(dir), 0o755); err != nil {
		return nodes, err
	}
	for marker, path := range map[string]string{createdVarLogContainers: varLogContainers, createdHostPathPVDir: hostPathPVDir} {
		if _, err := os.Stat(path); os.IsNotExist(err) {
			if err := os.WriteFile(filepath.Join(nodesDir(dir), marker), nil, 0o644); err != nil {
				return nodes, err
			}
		}
	}
	for _, n := range nodes {
		if err := setupNet(ctx, n, nodes[0].HostIP, serviceCIDR); err != nil {
			return nodes, fmt.Errorf("real node %s: %w", n.Name, err)
		}
		if err := makeCgroupRoot(n.CgroupRoot); err != nil {
			return nodes, fmt.Errorf("real node %s: %w", n.Name, err)
		}
	}
	return nodes, nil
}
