package session

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// Lock is a held session lock: while it is held the session is alive.
type Lock struct {
	f    *os.File
	path string
}

// HeldError says another live process holds the connection.
type HeldError struct {
	Context string
	PID     int
}

func (e *HeldError) Error() string {
	return fmt.Sprintf("context %q is held by another kubectl-tenant process (pid %d): disconnect it first", e.Context, e.PID)
}

// lockWait is how long Lock tries: probes (Alive) hold the lock for an
// instant, and a replaced holder may still be exiting.
const lockWait = 2 * time.Second

// Lock takes the lock of context in kubeconfig for this process and writes
// this process's PID into it. It fails with a *HeldError when another
// process keeps holding it.
func (st Store) Lock(kubeconfig, context string) (*Lock, error) {
	if err := st.MkDir(); err != nil {
		return nil, err
	}
	path := st.LockPath(kubeconfig, context)
	deadline := time.Now().Add(lockWait)
	for {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return nil, err
		}
		ok, err := tryLock(f, true)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		if ok {
			// The file may have been removed (Delete, Release) between
			// open and lock: then this lock guards nothing; start over.
			if sameFile(f, path) {
				if err := writePID(f); err != nil {
					f.Close()
					return nil, err
				}
				return &Lock{f: f, path: path}, nil
			}
			f.Close()
			continue
		}
		f.Close()
		if time.Now().After(deadline) {
			return nil, &HeldError{Context: context, PID: holderPID(path)}
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Release gives the lock up and removes its file.
func (l *Lock) Release() {
	if l == nil || l.f == nil {
		return
	}
	_ = os.Remove(l.path)
	l.f.Close() // closing releases the lock
	l.f = nil
}

func writePID(f *os.File) error {
	if err := f.Truncate(0); err != nil {
		return err
	}
	_, err := f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return err
}

func sameFile(f *os.File, path string) bool {
	a, err := f.Stat()
	if err != nil {
		return false
	}
	b, err := os.Stat(path)
	return err == nil && os.SameFile(a, b)
}

// held reports whether some process holds the lock at path.
func held(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	ok, err := tryLock(f, false)
	if err != nil {
		return false
	}
	if ok {
		unlock(f)
		return false
	}
	return true
}

// holderPID is the PID the holder of the lock at path wrote into it, 0 when
// nobody holds it. A holder writes its PID right after locking, so an empty
// file is read again for a moment.
func holderPID(path string) int {
	deadline := time.Now().Add(time.Second)
	for held(path) {
		b, err := os.ReadFile(path)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return 0
		}
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 0 {
			if held(path) {
				return pid
			}
			return 0
		}
		if time.Now().After(deadline) {
			return 0
		}
		time.Sleep(10 * time.Millisecond)
	}
	return 0
}

// removeUnheld removes the lock file at path unless a process holds it.
func removeUnheld(path string) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return
	}
	defer f.Close()
	if ok, err := tryLock(f, true); err == nil && ok {
		_ = os.Remove(path)
	}
}
