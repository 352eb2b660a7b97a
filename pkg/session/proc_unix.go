//go:build !windows

package session

import "syscall"

func processAlive(pid int) bool { return syscall.Kill(pid, 0) == nil }
func terminate(pid int)         { _ = syscall.Kill(pid, syscall.SIGTERM) }
func kill(pid int)              { _ = syscall.Kill(pid, syscall.SIGKILL) }
