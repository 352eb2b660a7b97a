//go:build !windows

package session

import (
	"errors"
	"os"
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
