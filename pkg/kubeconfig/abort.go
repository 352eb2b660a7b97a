package kubeconfig

import (
	"errors"
	"os"
	"path/filepath"
	"sort"
	"sync"
)

// The files this package leaves on disk only while it works — kubectl's
// "<kubeconfig>.lock", the temp file of an atomic write (every client key
// of the kubeconfig), a TempStore's directory (a tenant's admin key) — are
// tracked here, so a process that must exit at once (a second interrupt
// signal) removes them first: Abort.
var pending struct {
	sync.Mutex
	next    int
	paths   map[int]string
	aborted bool
}

// errAborted: the process is exiting (Abort ran); nothing new is created.
var errAborted = errors.New("exiting: not creating kubeconfig files")

// track runs create, which makes a file or directory and returns its
// path, and registers that path for Abort, as one step against Abort;
// release removes the path and unregisters it as one step, so Abort never
// removes a path another process made after release (a kubectl lock).
func track(create func() (string, error)) (path string, release func(), err error) {
	pending.Lock()
	defer pending.Unlock()
	if pending.aborted {
		return "", nil, errAborted
	}
	if path, err = create(); err != nil {
		return "", nil, err
	}
	if pending.paths == nil {
		pending.paths = map[int]string{}
	}
	id := pending.next
	pending.next++
	pending.paths[id] = path
	var once sync.Once
	return path, func() {
		once.Do(func() {
			pending.Lock()
			defer pending.Unlock()
			if _, ok := pending.paths[id]; !ok {
				return // Abort removed it
			}
			delete(pending.paths, id)
			_ = os.RemoveAll(path)
		})
	}, nil
}

// Abort removes every lock, temporary kubeconfig and TempStore directory
// this process holds, refuses to create new ones, and returns the paths it
// removed. It is for a process about to exit at once (os.Exit skips the
// deferred cleanups); the kubeconfig itself is never left half-written
// (writes are atomic renames).
func Abort() []string {
	pending.Lock()
	defer pending.Unlock()
	pending.aborted = true
	var removed []string
	for id, p := range pending.paths {
		if _, err := os.Lstat(p); err == nil && os.RemoveAll(p) == nil {
			removed = append(removed, p)
		}
		delete(pending.paths, id)
	}
	sort.Strings(removed)
	return removed
}

// TempStore is a Store for a throw-away kubeconfig (connect -- COMMAND):
// file "kubeconfig" in a new private directory (0700 under the system's
// temporary directory; the file is written 0600). remove deletes the
// directory; Abort does too.
func TempStore() (s Store, remove func(), err error) {
	dir, remove, err := track(func() (string, error) {
		dir, err := os.MkdirTemp("", "kubectl-tenant-")
		if err == nil {
			err = os.Chmod(dir, 0o700) // MkdirTemp's 0700, whatever the umask
		}
		return dir, err
	})
	if err != nil {
		return Store{}, nil, err
	}
	return Store{Path: filepath.Join(dir, "kubeconfig")}, remove, nil
}
