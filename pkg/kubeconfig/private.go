package kubeconfig

import (
	"os"
	"path/filepath"
)

// WritePrivate writes data to path atomically, mode 0600, in a directory
// created 0700. It is for the exec credential cache, which holds a
// short-lived client key.
func WritePrivate(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	return replaceFile(path, data, 0o600, nil)
}

// replaceFile writes data to a temp file beside path (tracked for Abort, so
// a second interrupt leaves no key behind) with mode (and old's owner when
// old is not nil), syncs it and renames it over path: readers see the old
// file or the new one, never half of one.
func replaceFile(path string, data []byte, mode os.FileMode, old os.FileInfo) error {
	var f *os.File
	_, release, err := track(func() (string, error) {
		var err error
		f, err = os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-")
		if err != nil {
			return "", err
		}
		return f.Name(), nil
	})
	if err != nil {
		return err
	}
	defer release() // after the rename: nothing there
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return err
	}
	if old != nil {
		keepOwner(f, old)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
