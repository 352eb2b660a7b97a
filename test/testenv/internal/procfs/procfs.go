// Package procfs reads process state from /proc for the harness's
// process-group handling (the playground's parts and vcrunner's tenants).
package procfs

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Stat returns the state and process group of pid from /proc.
func Stat(pid int) (state string, pgid int, ok bool) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return "", 0, false
	}
	// Fields after "(comm)": state ppid pgrp ...; comm may hold spaces.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 3 {
		return "", 0, false
	}
	pgid, _ = strconv.Atoi(f[2])
	return f[0], pgid, true
}

// GroupMembers lists the live (non-zombie) processes whose process group
// is pgid. It reads /proc rather than trusting kill(-pgid, 0), because
// zombies whose parent does not reap them still count for kill.
func GroupMembers(pgid int) []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		state, g, ok := Stat(pid)
		if ok && state != "Z" && state != "X" && g == pgid {
			pids = append(pids, pid)
		}
	}
	return pids
}

// StopGroups sends SIGTERM to each process group, waits up to grace for all
// of them to go, then SIGKILLs what is left and waits for that too.
func StopGroups(pgids []int, grace time.Duration) error {
	signalAll := func(sig syscall.Signal) {
		for _, g := range pgids {
			_ = syscall.Kill(-g, sig)
		}
	}
	waitGone := func(d time.Duration) []int {
		deadline := time.Now().Add(d)
		for {
			var left []int
			for _, g := range pgids {
				if len(GroupMembers(g)) > 0 {
					left = append(left, g)
				}
			}
			if len(left) == 0 || time.Now().After(deadline) {
				return left
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	signalAll(syscall.SIGTERM)
	if len(waitGone(grace)) == 0 {
		return nil
	}
	signalAll(syscall.SIGKILL)
	if left := waitGone(5 * time.Second); len(left) > 0 {
		return fmt.Errorf("process groups %v survived SIGKILL", left)
	}
	return nil
}
