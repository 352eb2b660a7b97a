package vcrunner

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Cleanup removes whatever vCluster tenants of the playground in dir left
// behind without a runner to stop them (e.g. after the runner was killed):
// their process groups, network namespaces, veth devices, pid files and
// state directories. It needs no apiserver. It returns what it removed.
func Cleanup(dir string) []string {
	dir, _ = filepath.Abs(dir)
	ctx := context.Background()
	var removed []string
	states, _ := filepath.Glob(filepath.Join(tenantsDir(dir), "*", "state.json"))
	for _, f := range states {
		var st tenantState
		if b, err := os.ReadFile(f); err == nil && json.Unmarshal(b, &st) == nil && st.PID > 0 && ownProcess(st.PID) {
			if err := stopGroup(st.PID, 5*time.Second); err == nil {
				removed = append(removed, fmt.Sprintf("process group %d (%s/%s)", st.PID, st.Namespace, st.Pod))
			}
		}
	}
	removed = append(removed, cleanupTagged(ctx, tag(dir))...)
	pidFiles, _ := filepath.Glob(filepath.Join(dir, "pids", "vcluster-*.pid"))
	for _, f := range pidFiles {
		_ = os.Remove(f)
	}
	entries, _ := os.ReadDir(tenantsDir(dir))
	for _, e := range entries {
		if os.RemoveAll(filepath.Join(tenantsDir(dir), e.Name())) == nil {
			removed = append(removed, filepath.Join(tenantsDir(dir), e.Name()))
		}
	}
	return removed
}

// ownProcess guards against pid reuse: the recorded pid must still be one of
// ours (ip netns exec / unshare / sh run.sh / vcluster start).
func ownProcess(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return false
	}
	c := string(b)
	return strings.Contains(c, "vcluster") || strings.Contains(c, "netns")
}

// Leftovers lists what the runner made for the playground in dir and that
// still exists: processes chrooted into (or running the start script of) a
// tenant directory, network namespaces, veth devices, tenant state
// directories and tenant pid files. Empty once every vCluster is stopped.
func Leftovers(dir string) []string {
	dir, _ = filepath.Abs(dir)
	td := tenantsDir(dir)
	var out []string
	procs, _ := os.ReadDir("/proc")
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		root, _ := os.Readlink(filepath.Join("/proc", p.Name(), "root"))
		cmd, _ := os.ReadFile(filepath.Join("/proc", p.Name(), "cmdline"))
		if strings.HasPrefix(root, td+"/") || strings.Contains(string(cmd), td+"/") {
			out = append(out, fmt.Sprintf("process %d (%s) root %s", pid, strings.TrimSpace(strings.ReplaceAll(string(cmd), "\x00", " ")), root))
		}
	}
	t := tag(dir)
	if entries, err := os.ReadDir("/run/netns"); err == nil {
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), "kt-"+t+"-") {
				out = append(out, "netns "+e.Name())
			}
		}
	}
	ifs, _ := net.Interfaces()
	for _, i := range ifs {
		if strings.HasPrefix(i.Name, "kt"+t+"h") {
			out = append(out, "veth "+i.Name)
		}
	}
	if entries, err := os.ReadDir(td); err == nil {
		for _, e := range entries {
			out = append(out, "state dir "+filepath.Join(td, e.Name()))
		}
	}
	pidFiles, _ := filepath.Glob(filepath.Join(dir, "pids", "vcluster-*.pid"))
	for _, f := range pidFiles {
		out = append(out, "pid file "+f)
	}
	if entries, err := os.ReadDir(volumesDir(dir)); err == nil {
		for _, e := range entries {
			out = append(out, "volume dir "+filepath.Join(volumesDir(dir), e.Name()))
		}
	}
	return out
}
