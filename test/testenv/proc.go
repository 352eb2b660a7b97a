package testenv

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/kubectl-tenant/kubectl-tenant/test/testenv/realnode"

	"github.com/kubectl-tenant/kubectl-tenant/test/testenv/vcrunner"

	"github.com/kubectl-tenant/kubectl-tenant/test/testenv/internal/procfs"
)

// Part is one process of the playground: what runs where.
type Part struct {
	Name string `json:"name"`
	// Address is what it serves (URL or host:port), empty if nothing.
	Address string `json:"address,omitempty"`
	PID     int    `json:"pid"`
	Log     string `json:"log"`
}

// proc is a started process. exited is closed once it has been reaped, so a
// dead child is never mistaken for a live one (an unreaped zombie still
// answers kill(pid, 0)).
type proc struct {
	Part
	exited chan struct{}
}

func pidDir(dir string) string { return filepath.Join(dir, "pids") }
func logDir(dir string) string { return filepath.Join(dir, "logs") }

// startProc starts bin in its own session (Setsid), so that Down can stop it
// with everything it spawned by signalling the process group, and records its
// pid in Dir/pids/<name>.pid. Output goes to Dir/logs/<name>.log.
func startProc(dir, name, bin string, args, env []string) (*proc, error) {
	for _, d := range []string{pidDir(dir), logDir(dir)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	logPath := filepath.Join(logDir(dir), name+".log")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer logf.Close() // the child has its own descriptor
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{Part: Part{Name: name, PID: cmd.Process.Pid, Log: logPath}, exited: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.exited) }()
	if err := os.WriteFile(filepath.Join(pidDir(dir), name+".pid"), []byte(strconv.Itoa(p.PID)+"\n"), 0o644); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *proc) alive() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// recordedPIDs reads Dir/pids: part name -> pid.
func recordedPIDs(dir string) map[string]int {
	out := map[string]int{}
	files, _ := filepath.Glob(filepath.Join(pidDir(dir), "*.pid"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 0 {
			out[strings.TrimSuffix(filepath.Base(f), ".pid")] = pid
		}
	}
	return out
}

// procStat returns the state and process group of pid from /proc.
func procStat(pid int) (state string, pgid int, ok bool) { return procfs.Stat(pid) }

// procAlive tells whether pid still runs as the leader of its own process
// group, as every part Up starts does (a recycled pid rarely is).
func procAlive(pid int) bool {
	state, pgid, ok := procStat(pid)
	return ok && state != "Z" && state != "X" && pgid == pid
}

// stopOrder groups part names into the batches Down stops one after the
// other: the vCluster runner and what it recorded (pids it wrote itself),
// while the host apiserver is still there for it to clean up against; then
// the apiserver's clients; then the apiserver, which shuts down slowly once
// etcd is gone; then etcd.
func stopOrder(names []string) [][]string {
	batches := make([][]string, 4)
	for _, n := range names {
		switch {
		case n == partEtcd:
			batches[3] = append(batches[3], n)
		case n == partAPIServer:
			batches[2] = append(batches[2], n)
		case n == partRunner || !slices.Contains(startOrder, n):
			batches[0] = append(batches[0], n)
		default:
			batches[1] = append(batches[1], n)
		}
	}
	return batches
}

// Down stops every process recorded under dir (SIGTERM to its process group,
// SIGKILL after a grace period), waits for them, and removes dir. It refuses
// to remove a directory that does not look like a playground.
func Down(dir string) error {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if !looksLikePlayground(dir) {
		return fmt.Errorf("%s does not look like a playground directory (no pids/ or env.json); not removing it", dir)
	}
	pids := recordedPIDs(dir)
	// env.json lists the parts too, in case a pid file went missing.
	if env, err := readEnv(dir); err == nil {
		for _, p := range env.Parts {
			if _, ok := pids[p.Name]; !ok && procAlive(p.PID) {
				pids[p.Name] = p.PID
			}
		}
	}
	names := make([]string, 0, len(pids))
	for n := range pids {
		names = append(names, n)
	}
	// Real nodes first: kubelets stop, then their containerds remove every
	// pod (containers, CNI, sandbox mounts) while they still run.
	pvDirs := hostPathVolumes(dir)
	errs := realnode.StopPods(dir, pids)
	for i, batch := range stopOrder(names) {
		var groups []int
		for _, n := range batch {
			groups = append(groups, pids[n])
		}
		// The runner gets longer: it stops vCluster control planes of its own.
		grace := 10 * time.Second
		if i == 0 {
			grace = 20 * time.Second
		}
		if err := procfs.StopGroups(groups, grace); err != nil {
			errs = append(errs, err)
		}
	}
	// Tenants a killed runner could not stop: processes, netns, veths.
	vcrunner.Cleanup(dir)
	// What real nodes leave: container processes, mounts, cgroups, netns.
	errs = append(errs, realnode.Cleanup(dir)...)
	errs = append(errs, realnode.RemoveHostPathVolumes(dir, pvDirs)...)
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("playground down: %w", err)
	}
	return os.RemoveAll(dir)
}

// hostPathVolumes lists, while the apiserver still runs, the directories of
// the PersistentVolumes the host-path provisioner made for the real nodes of
// the playground in dir, for Down to remove once nothing uses them.
func hostPathVolumes(dir string) []string {
	if !realnode.In(dir) {
		return nil
	}
	env, err := readEnv(dir)
	if err != nil {
		return nil
	}
	cs, err := env.Clientset()
	if err != nil {
		return nil
	}
	return realnode.HostPathVolumes(cs)
}

func looksLikePlayground(dir string) bool {
	for _, f := range []string{"pids", "env.json", "logs"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			return true
		}
	}
	entries, err := os.ReadDir(dir)
	return err == nil && len(entries) == 0
}
