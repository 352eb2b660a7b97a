//go:build !windows

package session

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// tryLock takes an flock on f without waiting; false when another open file
// holds a conflicting one. flock locks belong to the open file, so the
// holder keeps it until it exits (the kernel closes its files, even on
// SIGKILL), and an exec'd child does not inherit it (Go opens files
// close-on-exec).
func tryLock(f *os.File, exclusive bool) (bool, error) {
	how := syscall.LOCK_SH
	if exclusive {
		how = syscall.LOCK_EX
	}
	for {
		err := syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB)
		switch {
		case err == nil:
			return true, nil
		case errors.Is(err, syscall.EWOULDBLOCK):
			return false, nil
		case errors.Is(err, syscall.EINTR):
			continue
		}
		return false, err
	}
}

func unlock(f *os.File) { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN) }

func terminate(pid int) { _ = syscall.Kill(pid, syscall.SIGTERM) }
func kill(pid int)      { _ = syscall.Kill(pid, syscall.SIGKILL) }

// exited reports whether pid has ended; a zombie (not yet reaped by its
// parent, or by a slow init) has.
func exited(pid int) bool {
	if b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat"); err == nil {
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		return i > 0 && len(s) > i+2 && s[i+2] == 'Z'
	} else if _, serr := os.Stat("/proc/self/stat"); serr == nil {
		return true // /proc works and pid is not in it
	}
	return syscall.Kill(pid, 0) != nil
}
