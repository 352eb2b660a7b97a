package kubeconfig

import (
	"os"
	"path/filepath"
)

// WritePrivate writes data to path atomically, mode 0600, in a directory
// created 0700: a temp file beside it (tracked for Abort, so a second
// interrupt leaves no key behind), synced and renamed over path. It is for
// the exec credential cache, which holds a short-lived client key.
func WritePrivate(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	var f *os.File
	_, release, err := track(func() (string, error) {
		var err error
		f, err = os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-")
		if err != nil {
			return "", err
		}
		return f.Name(), nil
	})
	if err != nil {
		return err
	}
	defer release() // after the rename: nothing there
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
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
