package vcrunner

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kubectl-tenant/kubectl-tenant/test/testenv/internal/procfs"
)

// tenantState is what a tenant records in <state dir>/state.json, so that a
// later runner (or Cleanup) can remove what a killed runner left behind.
type tenantState struct {
	Namespace string    `json:"namespace"`
	Pod       string    `json:"pod"`
	UID       types.UID `json:"uid"`
	Release   string    `json:"release"`
	PID       int       `json:"pid"`
	Net       netSlot   `json:"net"`
	Started   time.Time `json:"started"`
}

// tenant is one vCluster pod with a real `vcluster start` behind it.
type tenant struct {
	// vclusterBin is the `vcluster` this pod's chart version runs.
	vclusterBin string
	r           *runner
	key         string
	ns          string
	pod         string
	release     string
	uid         types.UID
	podIP       string
	node        string
	hostIP      string
	net         netSlot
	svc         *serviceProxy // simulated Service (see service.go); guarded by runner.mu
	dir         string        // state dir
	dataDir     string        // /data inside
	etcdDir     string        // the etcd's data (/etcd inside)
	log         string        // vCluster's log
	etcdLog     string

	mu      sync.Mutex
	pid     int
	stopCh  chan struct{}
	stopped chan struct{}
	once    sync.Once
}

func stateDirName(ns, pod string) string { return ns + "_" + pod }

// pidFile is where the tenant's process group is recorded next to the
// playground's own parts, so that testenv.Down stops it even if the runner
// itself was killed.
func (t *tenant) pidFile() string {
	return filepath.Join(t.r.env.Dir, "pids", "vcluster-"+t.ns+"_"+t.pod+".pid")
}

// vclusterBinFor is the `vcluster` the pod's chart version runs: the
// syncer image's tag names it (Bins["vcluster-<tag>"], an older line the
// playground also builds) or it is the playground's own vCluster.
func vclusterBinFor(bins map[string]string, pod *corev1.Pod) string {
	for _, c := range pod.Spec.Containers {
		if c.Name != "syncer" {
			continue
		}
		if i := strings.LastIndex(c.Image, ":"); i >= 0 {
			if p := bins["vcluster-"+c.Image[i+1:]]; p != "" {
				return p
			}
		}
	}
	return bins["vcluster"]
}

// newTenant describes the vCluster for pod. vol is the directory of the
// pod's data volume, or "" for data that lives as long as the pod.
func newTenant(r *runner, pod *corev1.Pod, slot netSlot, vol string) *tenant {
	logs := filepath.Join(r.env.Dir, "logs")
	dir := filepath.Join(tenantsDir(r.env.Dir), stateDirName(pod.Namespace, pod.Name))
	if vol == "" {
		vol = dir
	}
	return &tenant{
		vclusterBin: vclusterBinFor(r.env.Bins, pod),
		dataDir:     filepath.Join(vol, "data"),
		etcdDir:     filepath.Join(vol, "etcd"),
		r:           r,
		key:         pod.Namespace + "/" + pod.Name,
		ns:          pod.Namespace,
		pod:         pod.Name,
		release:     pod.Labels["release"],
		uid:         pod.UID,
		podIP:       pod.Status.PodIP,
		node:        pod.Spec.NodeName,
		hostIP:      pod.Status.HostIP,
		net:         slot,
		dir:         dir,
		log:         filepath.Join(logs, "vcluster-"+pod.Namespace+".log"),
		etcdLog:     filepath.Join(logs, "vcluster-"+pod.Namespace+"-etcd.log"),
		stopCh:      make(chan struct{}),
		stopped:     make(chan struct{}),
	}
}

// prepare writes the tenant's directories, certificates, config and start
// script, and makes its network namespace.
func (t *tenant) prepare(ctx context.Context, chartValues []byte) error {
	_ = os.RemoveAll(t.dir)
	for _, d := range []string{filepath.Join(t.dir, "root"), filepath.Join(t.dir, "tmp"), filepath.Join(t.dir, "conf"), t.dataDir, t.etcdDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(filepath.Dir(t.log), 0o755); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(t.pidFile()), 0o755); err != nil {
		return err
	}
	cfg, err := tenantConfig(chartValues)
	if err != nil {
		return err
	}
	kube, err := hostKubeconfig(t.r.env.Kubeconfig, t.r.env.Context, t.net.HostIP)
	if err != nil {
		return err
	}
	conf := filepath.Join(t.dir, "conf")
	if err := os.WriteFile(filepath.Join(conf, "config.yaml"), cfg, 0o600); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(conf, "host.kubeconfig"), kube, 0o600); err != nil {
		return err
	}
	if err := writeEtcdPKI(filepath.Join(conf, "etcd")); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(t.dir, "run.sh"), []byte(t.script()), 0o755); err != nil {
		return err
	}
	if err := setupNet(ctx, t.net); err != nil {
		return err
	}
	return t.saveState()
}

func shq(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// script is run as `ip netns exec NS unshare -m --propagation private sh
// run.sh`: in its private mount namespace it builds a root (a tmpfs with
// recursive binds of the host's top-level directories, plus the tenant's own
// /data, /tmp, /conf, /etcd and /binaries), starts etcd in the background and
// execs `vcluster start` chrooted there. Nothing is mounted or created on the
// host's root.
func (t *tenant) script() string {
	bins := map[string]string{}
	for _, b := range []string{"vcluster", "etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"} {
		if p := t.r.env.Bins[b]; p != "" {
			bins[b] = p
		}
	}
	bins["vcluster"] = t.vclusterBin
	names := make([]string, 0, len(bins))
	for b := range bins {
		names = append(names, b)
	}
	sort.Strings(names)
	var s strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&s, format+"\n", a...) }
	w("#!/bin/sh")
	w("# generated by the playground's vcluster-runner for pod %s", t.key)
	w("set -eu")
	w("S=%s", shq(t.dir))
	w(`R="$S/root"`)
	w("D=%s", shq(t.dataDir))
	w("E=%s", shq(t.etcdDir))
	w(`mount -t tmpfs -o mode=0755 vcluster-root "$R"`)
	w(`for e in /*; do`)
	w(`  n="${e#/}"`)
	w(`  case "$n" in data|binaries|tmp|conf|etcd|lost+found) continue ;; esac`)
	w(`  if [ -L "$e" ]; then ln -s "$(readlink "$e")" "$R/$n"`)
	w(`  elif [ -d "$e" ]; then mkdir "$R/$n"; mount --rbind "$e" "$R/$n"`)
	w(`  elif [ -e "$e" ]; then : > "$R/$n"; mount --bind "$e" "$R/$n"; fi`)
	w(`done`)
	w(`for d in data binaries tmp conf etcd; do mkdir "$R/$d"; done`)
	w(`mount --bind "$D" "$R/data"; mount --bind "$E" "$R/etcd"`)
	w(`for d in tmp conf; do mount --bind "$S/$d" "$R/$d"; done`)
	w(`chmod 1777 "$S/tmp"`)
	for _, b := range names {
		w(`: > "$R/binaries/%s"; mount --bind %s "$R/binaries/%s"`, b, shq(bins[b]), b)
	}
	w(`chroot "$R" /binaries/etcd --name default --data-dir /etcd/data \`)
	w(`  --listen-client-urls https://%[1]s --advertise-client-urls https://%[1]s \`, etcdEndpoint)
	w(`  --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \`)
	w(`  --initial-cluster default=http://127.0.0.1:2380 \`)
	w(`  --cert-file %[1]s/server.crt --key-file %[1]s/server.key --trusted-ca-file %[1]s/ca.crt --client-cert-auth \`, chrootEtcdPKI)
	w(`  --unsafe-no-fsync --snapshot-count 10000 --log-level warn >> %s 2>&1 &`, shq(t.etcdLog))
	env := []string{
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/binaries",
		"HOME=/tmp",
		"KUBECONFIG=" + chrootHostKube,
		"POD_NAME=" + t.pod,
		"POD_IP=" + t.podIP,
		"NODE_NAME=" + t.node,
		"NODE_IP=" + t.hostIP,
		"VCLUSTER_NAME=" + t.release,
		"NAMESPACE=" + t.ns,
	}
	var envq []string
	for _, e := range env {
		envq = append(envq, shq(e))
	}
	w(`exec chroot "$R" /usr/bin/env -i %s /binaries/vcluster start --config %s`, strings.Join(envq, " "), chrootConfig)
	return s.String()
}

func (t *tenant) saveState() error {
	t.mu.Lock()
	st := tenantState{Namespace: t.ns, Pod: t.pod, UID: t.uid, Release: t.release, PID: t.pid, Net: t.net, Started: time.Now()}
	t.mu.Unlock()
	b, _ := json.MarshalIndent(st, "", "  ")
	return os.WriteFile(filepath.Join(t.dir, "state.json"), b, 0o644)
}

// spawn starts the process group: ip netns exec -> unshare -> sh -> chroot
// -> vcluster (each execs the next, so the pid stays the same), in its own
// session so that the whole group (vcluster, etcd, kube-apiserver,
// kube-controller-manager) can be signalled at once.
func (t *tenant) spawn() (*exec.Cmd, error) {
	logf, err := os.OpenFile(t.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	fmt.Fprintf(logf, "=== %s vcluster-runner: starting vcluster start for pod %s (netns %s, %s)\n",
		time.Now().Format(time.RFC3339), t.key, t.net.NetNS, t.net.NSIP)
	cmd := exec.Command("ip", "netns", "exec", t.net.NetNS,
		"unshare", "-m", "--propagation", "private", "/bin/sh", filepath.Join(t.dir, "run.sh"))
	cmd.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	t.mu.Lock()
	t.pid = cmd.Process.Pid
	t.mu.Unlock()
	_ = t.saveState()
	_ = os.WriteFile(t.pidFile(), []byte(strconv.Itoa(cmd.Process.Pid)+"\n"), 0o644)
	return cmd, nil
}

// loop keeps the vCluster running until stop: like a container restart, a
// vCluster that exits on its own is started again (same network namespace
// and data) after a growing back-off.
func (t *tenant) loop() {
	defer close(t.stopped)
	backoff := 2 * time.Second
	for {
		start := time.Now()
		cmd, err := t.spawn()
		if err != nil {
			logf("%s: start failed: %v", t.key, err)
		} else {
			logf("%s: started vcluster (pid %d, netns %s, %s)", t.key, cmd.Process.Pid, t.net.NetNS, t.net.NSIP)
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			select {
			case err := <-exited:
				logf("%s: vcluster exited after %s: %v (log %s)", t.key, time.Since(start).Round(time.Millisecond), err, t.log)
				stopGroup(cmd.Process.Pid, 0) // its apiserver, controller-manager and etcd
			case <-t.stopCh:
				if err := stopGroup(cmd.Process.Pid, 10*time.Second); err != nil {
					logf("%s: %v", t.key, err)
				}
				<-exited
				return
			}
		}
		if time.Since(start) > 5*time.Minute {
			backoff = 2 * time.Second
		}
		select {
		case <-t.stopCh:
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 30*time.Second)
	}
}

// stop ends the process group and removes the network namespace, veth pair
// and state directory. The PortForward rule is removed by the runner.
func (t *tenant) stop(ctx context.Context) error {
	t.once.Do(func() { close(t.stopCh) })
	<-t.stopped
	_ = os.Remove(t.pidFile())
	var errs []string
	if err := teardownNet(ctx, t.net); err != nil {
		errs = append(errs, err.Error())
	}
	if err := os.RemoveAll(t.dir); err != nil {
		errs = append(errs, err.Error())
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s: cleanup: %s", t.key, strings.Join(errs, "; "))
	}
	return nil
}

// groupMembers lists the live processes of process group pgid.
func groupMembers(pgid int) []int { return procfs.GroupMembers(pgid) }

// stopGroup sends SIGTERM to process group pgid, waits up to grace for it to
// go, then SIGKILLs what is left (at once if grace is 0).
func stopGroup(pgid int, grace time.Duration) error {
	if pgid <= 0 {
		return nil
	}
	wait := func(d time.Duration) bool {
		deadline := time.Now().Add(d)
		for {
			if len(groupMembers(pgid)) == 0 {
				return true
			}
			if time.Now().After(deadline) {
				return false
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	if grace > 0 {
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		if wait(grace) {
			return nil
		}
	}
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	if !wait(5 * time.Second) {
		return fmt.Errorf("process group %d survived SIGKILL: %v", pgid, groupMembers(pgid))
	}
	return nil
}
