package realnode

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/kubectl-tenant/kubectl-tenant/test/testenv/internal/procfs"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// StopPods runs before the playground's processes are stopped: it
// stops every kubelet (so nothing restarts pods), then asks each node's
// containerd through the CRI to stop and remove every pod sandbox, which
// kills the containers, runs CNI DEL (IP release, portmap rules) and
// unmounts the sandboxes' namespaces and /dev/shm.
func StopPods(dir string, pids map[string]int) []error {
	if _, err := os.Stat(nodesDir(dir)); err != nil {
		return nil // a playground without real nodes
	}
	var errs []error
	var kubelets []int
	for name, pid := range pids {
		if strings.HasPrefix(name, "kubelet-") {
			kubelets = append(kubelets, pid)
		}
	}
	if err := procfs.StopGroups(kubelets, 10*time.Second); err != nil {
		errs = append(errs, err)
	}
	socks, _ := filepath.Glob(filepath.Join(nodesDir(dir), "*", "containerd.sock"))
	for _, sock := range socks {
		if err := removeSandboxes(sock); err != nil {
			errs = append(errs, fmt.Errorf("pods on %s: %w", filepath.Base(filepath.Dir(sock)), err))
		}
	}
	return errs
}

func removeSandboxes(sock string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	conn, err := grpc.NewClient("unix://"+sock, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	rt := runtimeapi.NewRuntimeServiceClient(conn)
	list, err := rt.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{})
	if err != nil {
		return nil // containerd is not running: nothing to ask it
	}
	// On failure go on with the others: Cleanup kills and
	// unmounts whatever is left.
	var errs []error
	for _, sb := range list.Items {
		if _, err := rt.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: sb.Id}); err != nil {
			errs = append(errs, fmt.Errorf("stop pod sandbox %s (%s/%s): %w", sb.Id, sb.Metadata.GetNamespace(), sb.Metadata.GetName(), err))
			continue
		}
		if _, err := rt.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: sb.Id}); err != nil {
			errs = append(errs, fmt.Errorf("remove pod sandbox %s: %w", sb.Id, err))
		}
	}
	return errors.Join(errs...)
}

// Cleanup removes, after the processes Up started are gone, what
// real nodes leave behind: container processes and shims, mounts under
// Dir/nodes, the kubelets' cgroups, the network namespaces and veths (their
// iptables rules, bridge and routes go with them). Found by name (the
// playground's tag) and path, so it works without env.json.
func Cleanup(dir string) []error {
	if _, err := os.Stat(nodesDir(dir)); err != nil {
		return nil // a playground without real nodes (Up makes Dir/nodes first)
	}
	var errs []error
	tag := nodeTag(dir)
	nodes := nodesDir(dir)
	// Shims' sockets (a killed shim cannot remove its own), from the
	// address files containerd keeps in each task's bundle.
	addrs, _ := filepath.Glob(filepath.Join(nodes, "*", "containerd", "state", "io.containerd.runtime.v2.task", "*", "*", "address"))
	var shimSockets []string
	for _, a := range addrs {
		if b, err := os.ReadFile(a); err == nil {
			shimSockets = append(shimSockets, strings.TrimPrefix(strings.TrimSpace(string(b)), "unix://"))
		}
	}
	// Processes: everything in our cgroups (containers, pause), and shims
	// or anything else whose command line names our node directories.
	for range 3 {
		pids := procs(dir)
		if len(pids) == 0 {
			break
		}
		for _, pid := range pids {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(300 * time.Millisecond)
	}
	if left := procs(dir); len(left) > 0 {
		errs = append(errs, fmt.Errorf("processes %v of real nodes survived SIGKILL", left))
	}
	for _, m := range MountsUnder(nodes) {
		if err := syscall.Unmount(m, 0); err != nil {
			if err := syscall.Unmount(m, syscall.MNT_DETACH); err != nil {
				errs = append(errs, fmt.Errorf("unmount %s: %w", m, err))
			}
		}
	}
	for _, c := range cgroups(tag) {
		if err := os.Remove(c); err != nil && !os.IsNotExist(err) {
			errs = append(errs, fmt.Errorf("remove cgroup %s: %w", c, err))
		}
	}
	ctx := context.Background()
	for _, ns := range netNamespaces(tag) {
		if err := RunCmd(ctx, "ip", "netns", "del", ns); err != nil {
			errs = append(errs, err)
		}
	}
	for _, v := range veths(tag) {
		// The kernel removes a veth with its peer's namespace, after `ip
		// netns del` returned: gone by now is what we wanted.
		if err := RunCmd(ctx, "ip", "link", "del", v); err != nil && !strings.Contains(err.Error(), "Cannot find device") {
			errs = append(errs, err)
		}
	}
	for _, f := range append(append(cniCacheFiles(tag), containerLogLinks(nodes)...), shimSockets...) {
		if err := os.Remove(f); err != nil && !os.IsNotExist(err) {
			errs = append(errs, err)
		}
	}
	if _, err := os.Stat(filepath.Join(nodes, createdVarLogContainers)); err == nil {
		_ = os.Remove(varLogContainers) // only if empty: others' links stay
	}
	return errs
}

// In tells whether the playground in dir has (or had) real nodes: Prepare
// made Dir/nodes.
func In(dir string) bool {
	_, err := os.Stat(nodesDir(dir))
	return err == nil
}

// HostPathVolumes lists, while the apiserver cs talks to still runs, the
// directories of the PersistentVolumes the host-path provisioner made, for
// Down to remove (RemoveHostPathVolumes) once nothing uses them.
func HostPathVolumes(cs kubernetes.Interface) []string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	pvs, err := cs.CoreV1().PersistentVolumes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil
	}
	var out []string
	for _, pv := range pvs.Items {
		if hp := pv.Spec.HostPath; hp != nil && strings.HasPrefix(hp.Path, hostPathPVDir+"/") {
			out = append(out, filepath.Clean(hp.Path))
		}
	}
	return out
}

// RemoveHostPathVolumes removes the volume directories and, if the real
// nodes made it, the provisioner's base directory once empty.
func RemoveHostPathVolumes(dir string, vols []string) []error {
	var errs []error
	for _, v := range vols {
		if err := os.RemoveAll(v); err != nil {
			errs = append(errs, err)
		}
	}
	if _, err := os.Stat(filepath.Join(nodesDir(dir), createdHostPathPVDir)); err == nil {
		_ = os.Remove(hostPathPVDir) // only if empty
	}
	return errs
}

const (
	// hostPathPVDir is where kube-controller-manager's host-path
	// provisioner makes volumes (fixed in its code).
	hostPathPVDir        = "/tmp/hostpath_pv"
	createdHostPathPVDir = ".created-hostpath-pv"
	varLogContainers     = "/var/log/containers"
	// createdVarLogContainers marks (in Dir/nodes) that varLogContainers
	// did not exist before the real nodes' kubelets made it.
	createdVarLogContainers = ".created-var-log-containers"
)

// containerLogLinks are kubelet's /var/log/containers symlinks (a fixed
// path) that point into the real nodes' directory.
func containerLogLinks(nodes string) []string {
	var out []string
	entries, _ := os.ReadDir(varLogContainers)
	for _, e := range entries {
		p := filepath.Join(varLogContainers, e.Name())
		if target, err := os.Readlink(p); err == nil && strings.HasPrefix(target, nodes+"/") {
			out = append(out, p)
		}
	}
	return out
}

// cniCacheFiles are libcni's result cache entries (kept by containerd's CNI
// library under /var/lib/cni/results, named after the network, which is the
// node's netns name) that a CNI DEL did not remove.
func cniCacheFiles(tag string) []string {
	files, _ := filepath.Glob(filepath.Join("/var/lib/cni/results", netNSPrefix+tag+"-*"))
	return files
}

// Leftovers lists what real nodes of the playground in dir made and
// still exists: processes, mounts, cgroups, network namespaces, veths.
// Empty after Down.
func Leftovers(dir string) []string {
	dir, _ = filepath.Abs(dir)
	tag := nodeTag(dir)
	var out []string
	for _, pid := range procs(dir) {
		cmd, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
		out = append(out, fmt.Sprintf("process %d (%s)", pid, strings.TrimSpace(strings.ReplaceAll(string(cmd), "\x00", " "))))
	}
	for _, m := range MountsUnder(nodesDir(dir)) {
		out = append(out, "mount "+m)
	}
	for _, c := range cgroups(tag) {
		out = append(out, "cgroup "+c)
	}
	for _, ns := range netNamespaces(tag) {
		out = append(out, "netns "+ns)
	}
	for _, v := range veths(tag) {
		out = append(out, "veth "+v)
	}
	for _, f := range cniCacheFiles(tag) {
		out = append(out, "CNI cache "+f)
	}
	for _, f := range containerLogLinks(nodesDir(dir)) {
		out = append(out, "container log link "+f)
	}
	return out
}

// procs lists processes in the real nodes' cgroups or whose command
// line names a real node's directory (containerd, shims, kubelet).
func procs(dir string) []int {
	tag := nodeTag(dir)
	marker := nodesDir(dir) + "/"
	cgMarker := "/" + netNSPrefix + tag + "-"
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		cmd, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		cg, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cgroup"))
		if len(cmd) == 0 && len(cg) == 0 {
			continue
		}
		if strings.Contains(string(cmd), marker) || strings.Contains(string(cg), cgMarker) {
			if state, _, ok := procfs.Stat(pid); ok && state != "Z" {
				pids = append(pids, pid)
			}
		}
	}
	return pids
}

// MountsUnder lists mount points at or below root, deepest first.
func MountsUnder(root string) []string {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		mp := unescapeMount(fields[4])
		if mp == root || strings.HasPrefix(mp, root+"/") {
			out = append(out, mp)
		}
	}
	sort.Slice(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// cgroups lists the cgroup directories under the real nodes' cgroup
// roots in every hierarchy, deepest first (the order rmdir needs).
func cgroups(tag string) []string {
	var out []string
	for _, h := range cgroupHierarchies() {
		roots, _ := filepath.Glob(filepath.Join(h, netNSPrefix+tag+"-*"))
		for _, r := range roots {
			_ = filepath.WalkDir(r, func(p string, d os.DirEntry, err error) error {
				if err == nil && d.IsDir() {
					out = append(out, p)
				}
				return nil
			})
		}
	}
	sort.Slice(out, func(i, j int) bool { return strings.Count(out[i], "/") > strings.Count(out[j], "/") })
	return out
}

func netNamespaces(tag string) []string {
	var out []string
	entries, _ := os.ReadDir("/run/netns")
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), netNSPrefix+tag+"-") {
			out = append(out, e.Name())
		}
	}
	return out
}

func veths(tag string) []string {
	var out []string
	ifs, _ := net.Interfaces()
	for _, i := range ifs {
		if strings.HasPrefix(i.Name, vethPrefix+tag+"h") {
			out = append(out, i.Name)
		}
	}
	return out
}
