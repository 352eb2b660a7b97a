package kubeconfig

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// resetPending undoes Abort for the next test (a process aborts once).
func resetPending(t *testing.T) {
	t.Cleanup(func() {
		pending.Lock()
		defer pending.Unlock()
		pending.aborted, pending.paths = false, nil
	})
}

// TestTempStoreIsPrivate: connect -- COMMAND's kubeconfig (a tenant's admin
// key) is a 0600 file in a new 0700 directory, which remove deletes.
func TestTempStoreIsPrivate(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	s, remove, err := TempStore()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Dir(s.Path)
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("directory %s: %v %v, want 0700", dir, fi.Mode(), err)
	}
	if err := writeAtomic(s.Path, []byte("apiVersion: v1\nkind: Config\n")); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(s.Path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("kubeconfig %s: %v %v, want 0600", s.Path, fi.Mode(), err)
	}
	remove()
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("%s is still there after remove: %v", dir, err)
	}
}

// TestAbortRemovesLocksAndTempStores (audit N14): what a second interrupt
// would leave behind through os.Exit — kubectl's "<kubeconfig>.lock" and a
// TempStore with a key — Abort removes, and nothing new is created after
// it. A lock released before Abort and taken since by another process
// (kubectl) is not touched.
func TestAbortRemovesLocksAndTempStores(t *testing.T) {
	resetPending(t)
	t.Setenv("TMPDIR", t.TempDir())
	home := t.TempDir()
	held, released := filepath.Join(home, "config"), filepath.Join(home, "other")
	unlock, err := lock(held)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	unlockOther, err := lock(released)
	if err != nil {
		t.Fatal(err)
	}
	unlockOther()
	if err := os.WriteFile(released+".lock", nil, 0o600); err != nil { // kubectl takes it now
		t.Fatal(err)
	}
	s, remove, err := TempStore()
	if err != nil {
		t.Fatal(err)
	}
	defer remove()
	if err := writeAtomic(s.Path, []byte("users: [{name: x, user: {client-key-data: c2VjcmV0}}]\n")); err != nil {
		t.Fatal(err)
	}

	removed := Abort()
	want := []string{held + ".lock", filepath.Dir(s.Path)}
	slices.Sort(want)
	if !slices.Equal(removed, want) {
		t.Errorf("Abort removed %q, want %q", removed, want)
	}
	for _, p := range want {
		if _, err := os.Lstat(p); !os.IsNotExist(err) {
			t.Errorf("%s is still there: %v", p, err)
		}
	}
	if _, err := os.Stat(released + ".lock"); err != nil {
		t.Errorf("another process's lock was removed: %v", err)
	}
	if _, err := lock(held); !errors.Is(err, errAborted) {
		t.Errorf("lock after Abort: %v, want errAborted", err)
	}
	if _, _, err := TempStore(); !errors.Is(err, errAborted) {
		t.Errorf("TempStore after Abort: %v, want errAborted", err)
	}
	unlock() // the deferred cleanups that still run do not fail
	remove()
}
