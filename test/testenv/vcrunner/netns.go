package vcrunner

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// Addresses: tenant N gets 10.213.N.0/30, host side .1, namespace side .2.
const netPrefix = "10.213."

// netSlot is one tenant's network namespace and veth pair.
type netSlot struct {
	Index    int    `json:"index"`
	NetNS    string `json:"netns"`
	VethHost string `json:"vethHost"`
	VethNS   string `json:"vethNS"`
	HostIP   string `json:"hostIP"`
	NSIP     string `json:"nsIP"`
}

func newSlot(tag string, n int) netSlot {
	return netSlot{
		Index:    n,
		NetNS:    fmt.Sprintf("kt-%s-%d", tag, n),
		VethHost: fmt.Sprintf("kt%sh%d", tag, n), // <= 15 bytes: IFNAMSIZ
		VethNS:   fmt.Sprintf("kt%sn%d", tag, n),
		HostIP:   fmt.Sprintf("%s%d.1", netPrefix, n),
		NSIP:     fmt.Sprintf("%s%d.2", netPrefix, n),
	}
}

// run runs a command and returns its combined output in the error.
func run(ctx context.Context, name string, args ...string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, strings.TrimSpace(out.String()))
	}
	return nil
}

// Preflight checks, once, that this machine lets the runner make network
// namespaces and private mount namespaces. The error is one clear line.
func Preflight() error {
	ctx := context.Background()
	for _, bin := range []string{"ip", "unshare", "chroot", "mount"} {
		if _, err := exec.LookPath(bin); err != nil {
			return fmt.Errorf("vcluster-runner: %s not found in PATH (Debian: apt-get install iproute2 util-linux coreutils mount)", bin)
		}
	}
	probe := fmt.Sprintf("kt-probe-%d", os.Getpid())
	if err := run(ctx, "ip", "netns", "add", probe); err != nil {
		return fmt.Errorf("vcluster-runner: network namespaces not permitted (needs root with CAP_SYS_ADMIN and CAP_NET_ADMIN): %v", err)
	}
	err := run(ctx, "ip", "netns", "exec", probe, "unshare", "-m", "--propagation", "private", "true")
	_ = run(ctx, "ip", "netns", "del", probe)
	if err != nil {
		return fmt.Errorf("vcluster-runner: unshare -m (private mount namespace) not permitted: %v", err)
	}
	return nil
}

// usedIndexes lists the 10.213.N.1 host addresses present on this machine
// (from any playground).
func usedIndexes() map[int]bool {
	used := map[int]bool{}
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		ipn, ok := a.(*net.IPNet)
		if !ok || ipn.IP.To4() == nil {
			continue
		}
		s := ipn.IP.To4().String()
		if !strings.HasPrefix(s, netPrefix) {
			continue
		}
		parts := strings.Split(s, ".")
		if n, err := strconv.Atoi(parts[2]); err == nil {
			used[n] = true
		}
	}
	return used
}

// setupNet creates the network namespace and veth pair of s.
func setupNet(ctx context.Context, s netSlot) error {
	steps := [][]string{
		{"netns", "add", s.NetNS},
		{"link", "add", s.VethHost, "type", "veth", "peer", "name", s.VethNS},
		{"link", "set", s.VethNS, "netns", s.NetNS},
		{"addr", "add", s.HostIP + "/30", "dev", s.VethHost},
		{"link", "set", s.VethHost, "up"},
		{"-n", s.NetNS, "addr", "add", s.NSIP + "/30", "dev", s.VethNS},
		{"-n", s.NetNS, "link", "set", s.VethNS, "up"},
		{"-n", s.NetNS, "link", "set", "lo", "up"},
	}
	for _, st := range steps {
		if err := run(ctx, "ip", st...); err != nil {
			teardownNet(ctx, s)
			return err
		}
	}
	return nil
}

// teardownNet removes the veth pair and network namespace; missing parts are
// not an error.
func teardownNet(ctx context.Context, s netSlot) error {
	var errs []error
	if _, err := net.InterfaceByName(s.VethHost); err == nil {
		if err := run(ctx, "ip", "link", "del", s.VethHost); err != nil {
			errs = append(errs, err)
		}
	}
	if netnsExists(s.NetNS) {
		if err := run(ctx, "ip", "netns", "del", s.NetNS); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func netnsExists(name string) bool {
	_, err := os.Stat("/run/netns/" + name)
	return err == nil
}

// cleanupTagged removes every network namespace and veth of this playground
// (by name prefix), e.g. those left by a runner that was SIGKILLed.
func cleanupTagged(ctx context.Context, tag string) []string {
	var removed []string
	entries, _ := os.ReadDir("/run/netns")
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "kt-"+tag+"-") {
			if run(ctx, "ip", "netns", "del", e.Name()) == nil {
				removed = append(removed, e.Name())
			}
		}
	}
	ifs, _ := net.Interfaces()
	for _, i := range ifs {
		if strings.HasPrefix(i.Name, "kt"+tag+"h") {
			if run(ctx, "ip", "link", "del", i.Name) == nil {
				removed = append(removed, i.Name)
			}
		}
	}
	return removed
}
