// Package kubeconfig edits a kubeconfig file the way kubectl does — under
// kubectl's own "<file>.lock" protocol so concurrent `kubectl config` calls
// serialise with us — but writes atomically (temp file + rename, mode 0600)
// so a crash never leaves a truncated file.
package kubeconfig

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Entry is one tenant's context Name, with cluster and user named
// OwnedName(Tenant): the prefix marks them as ours so Remove never deletes a
// user's own context that happens to share a tenant's name.
type Entry struct {
	Name       string
	Tenant     string
	Server     string
	CA         []byte
	ClientCert []byte
	ClientKey  []byte
	Token      string
	Namespace  string
}

// Store is one kubeconfig file.
type Store struct{ Path string }

// Upsert writes e (replacing an entry of the same name) and, if activate, makes
// it the current context. It returns the current context from before.
func (s Store) Upsert(e Entry, activate bool) (previous string, err error) {
	err = s.modify(func(c *clientcmdapi.Config) {
		previous = c.CurrentContext
		cl := clientcmdapi.NewCluster()
		cl.Server = e.Server
		cl.CertificateAuthorityData = e.CA
		au := clientcmdapi.NewAuthInfo()
		au.ClientCertificateData, au.ClientKeyData, au.Token = e.ClientCert, e.ClientKey, e.Token
		owned := OwnedName(e.Tenant)
		cx := clientcmdapi.NewContext()
		cx.Cluster, cx.AuthInfo, cx.Namespace = owned, owned, e.Namespace
		c.Clusters[owned], c.AuthInfos[owned], c.Contexts[e.Name] = cl, au, cx
		if activate {
			c.CurrentContext = e.Name
		}
	})
	return previous, err
}

// OwnedName names the cluster and user entries of a tenant.
func OwnedName(tenant string) string { return "kubectl-tenant-" + tenant }

// Remove deletes the tenant's cluster and user and every context that uses
// them. If one of them was current, restoreTo (when it still exists) becomes
// current. Removing what is not there is not an error; it reports whether
// anything was removed.
func (s Store) Remove(tenant, restoreTo string) (removed bool, err error) {
	owned := OwnedName(tenant)
	err = s.modify(func(c *clientcmdapi.Config) {
		_, b := c.Clusters[owned]
		_, d := c.AuthInfos[owned]
		removed = b || d
		delete(c.Clusters, owned)
		delete(c.AuthInfos, owned)
		for name, cx := range c.Contexts {
			if cx.Cluster != owned && cx.AuthInfo != owned {
				continue
			}
			removed = true
			delete(c.Contexts, name)
			if c.CurrentContext == name {
				c.CurrentContext = ""
				if _, ok := c.Contexts[restoreTo]; ok {
					c.CurrentContext = restoreTo
				}
			}
		}
	})
	return removed, err
}

// Has reports whether the file holds entries of tenant.
func (s Store) Has(tenant string) bool {
	c, err := s.Load()
	if err != nil {
		return false
	}
	_, ok := c.Clusters[OwnedName(tenant)]
	return ok
}

// SetCurrent switches to context name if it exists and the current context is
// still from; it never overrides a switch the user made meanwhile.
func (s Store) SetCurrent(name, from string) error {
	return s.modify(func(c *clientcmdapi.Config) {
		if _, ok := c.Contexts[name]; ok && c.CurrentContext == from {
			c.CurrentContext = name
		}
	})
}

// Load reads the file; a missing file is an empty config.
func (s Store) Load() (*clientcmdapi.Config, error) {
	c, err := clientcmd.LoadFromFile(s.Path)
	if errors.Is(err, os.ErrNotExist) {
		return clientcmdapi.NewConfig(), nil
	}
	return c, err
}

func (s Store) modify(fn func(*clientcmdapi.Config)) error {
	if s.Path == "" {
		return fmt.Errorf("no kubeconfig file to write")
	}
	unlock, err := lock(s.Path)
	if err != nil {
		return err
	}
	defer unlock()
	c, err := s.Load()
	if err != nil {
		return err
	}
	fn(c)
	data, err := clientcmd.Write(*c)
	if err != nil {
		return err
	}
	return writeAtomic(s.Path, data)
}

func writeAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
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

// lock takes kubectl's lock on path (an exclusively created path+".lock"),
// retrying briefly as another writer usually holds it for milliseconds.
func lock(path string) (func(), error) {
	lockPath := path + ".lock"
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		f, err := os.OpenFile(lockPath, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err == nil {
			f.Close()
			return func() { os.Remove(lockPath) }, nil
		}
		if !errors.Is(err, os.ErrExist) || time.Now().After(deadline) {
			return nil, fmt.Errorf("cannot lock kubeconfig %s (remove %s if no kubectl is running): %w", path, lockPath, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
