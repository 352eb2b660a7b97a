// Package kubeconfig edits a kubeconfig file the way kubectl does — under
// kubectl's own "<file>.lock" protocol so concurrent `kubectl config` calls
// serialise with us — but writes atomically (temp file + rename) so a crash
// never leaves a truncated file. A symlinked kubeconfig is written through to
// its target, which keeps its owner; its mode is kept, at most 0600.
//
// Every context the tool writes carries a Mark (a kubeconfig extension): the
// tenant, the host cluster's context it was reached through and the context
// that was current before. Only marked contexts are ever replaced or removed,
// so a user's own context named like a tenant is never touched.
package kubeconfig

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Entry is one tenant connection: context Name, with cluster and user named
// OwnedName(Name), reached through host context Host.
type Entry struct {
	Name       string
	Tenant     string
	Host       string
	Server     string
	CA         []byte
	ClientCert []byte
	ClientKey  []byte
	Token      string
	// Exec, when set, is the user's exec credential plugin (the tool's
	// own `credential` command): the entry then stores no key or token.
	Exec      *clientcmdapi.ExecConfig
	Namespace string
}

// ExtensionName is the kubeconfig extension that marks a context as written
// by kubectl-tenant.
const ExtensionName = "kubectl-tenant.io/connection"

// Mark is what a context written by the tool records about itself.
type Mark struct {
	Tenant string `json:"tenant"`
	// Host is the host cluster's context the tenant is reached through.
	Host string `json:"host,omitempty"`
	// Previous is the context that was current before the first connect.
	Previous string `json:"previous,omitempty"`
	// Legacy is set for a context of an older version: no extension, but a
	// cluster named with OwnedName's prefix. Its host is unknown.
	Legacy bool `json:"-"`
}

// MarkOf reads the mark of cx; ok is false for a context the tool did not
// write.
func MarkOf(cx *clientcmdapi.Context) (m Mark, ok bool) {
	if cx == nil {
		return m, false
	}
	if u, isU := cx.Extensions[ExtensionName].(*runtime.Unknown); isU {
		if json.Unmarshal(u.Raw, &m) == nil && m.Tenant != "" {
			return m, true
		}
	}
	if t, isOwned := strings.CutPrefix(cx.Cluster, ownedPrefix); isOwned && cx.AuthInfo == cx.Cluster {
		return Mark{Tenant: t, Legacy: true}, true
	}
	return m, false
}

func setMark(cx *clientcmdapi.Context, m Mark) {
	b, _ := json.Marshal(m)
	if cx.Extensions == nil {
		cx.Extensions = map[string]runtime.Object{}
	}
	cx.Extensions[ExtensionName] = &runtime.Unknown{Raw: b, ContentType: runtime.ContentTypeJSON}
}

// ConflictError refuses to write a context that exists and is not the same
// tenant connection of the same host.
type ConflictError struct {
	Context string
	// Owner describes who wrote it: "" when not kubectl-tenant.
	Owner string
}

func (e *ConflictError) Error() string {
	if e.Owner == "" {
		return fmt.Sprintf("kubeconfig context %q already exists and was not written by kubectl-tenant: pass --context-name to connect under another name", e.Context)
	}
	return fmt.Sprintf("kubeconfig context %q belongs to %s: disconnect it first or pass --context-name to connect under another name", e.Context, e.Owner)
}

// Store is one kubeconfig file.
type Store struct{ Path string }

const ownedPrefix = "kubectl-tenant-"

// OwnedName names the cluster and user entries of the tool's context name.
func OwnedName(context string) string { return ownedPrefix + context }

// Upsert writes e (replacing the tool's own entry of the same name, refusing
// any other context of that name with a *ConflictError) and, if activate,
// makes it the current context. It returns the context current before; when
// e was already current, the one recorded before the first connect.
func (s Store) Upsert(e Entry, activate bool) (previous string, err error) {
	err = s.modify(func(c *clientcmdapi.Config) error {
		previous = c.CurrentContext
		if err := conflict(c, e); err != nil {
			return err
		}
		m := Mark{Tenant: e.Tenant, Host: e.Host}
		if old, exists := c.Contexts[e.Name]; exists {
			om, _ := MarkOf(old)
			if previous == e.Name {
				previous = om.Previous
			}
			// An older version named the entries after the tenant.
			if old.Cluster != OwnedName(e.Name) {
				defer dropUnreferenced(c, old.Cluster)
			}
		}
		if previous == e.Name {
			previous = ""
		}
		m.Previous = previous
		cl := clientcmdapi.NewCluster()
		cl.Server = e.Server
		cl.CertificateAuthorityData = e.CA
		au := clientcmdapi.NewAuthInfo()
		au.ClientCertificateData, au.ClientKeyData, au.Token = e.ClientCert, e.ClientKey, e.Token
		au.Exec = e.Exec
		owned := OwnedName(e.Name)
		cx := clientcmdapi.NewContext()
		cx.Cluster, cx.AuthInfo, cx.Namespace = owned, owned, e.Namespace
		setMark(cx, m)
		c.Clusters[owned], c.AuthInfos[owned], c.Contexts[e.Name] = cl, au, cx
		if activate {
			c.CurrentContext = e.Name
		}
		return nil
	})
	return previous, err
}

// conflict refuses e when its context name is taken by a context the tool
// did not write, by another tenant's or another host's, or is the host
// context itself.
func conflict(c *clientcmdapi.Config, e Entry) error {
	if old, exists := c.Contexts[e.Name]; exists {
		om, ours := MarkOf(old)
		switch {
		case !ours:
			return &ConflictError{Context: e.Name}
		case om.Tenant != e.Tenant:
			return &ConflictError{Context: e.Name, Owner: "tenant " + om.Tenant}
		case !om.Legacy && om.Host != e.Host:
			return &ConflictError{Context: e.Name, Owner: fmt.Sprintf("tenant %s of host context %q", om.Tenant, om.Host)}
		}
	}
	if e.Name == e.Host {
		return &ConflictError{Context: e.Name, Owner: "the host cluster"}
	}
	return nil
}

// Check returns the *ConflictError Upsert(e) would fail with, without
// writing anything.
func (s Store) Check(e Entry) error {
	c, err := s.Load()
	if err != nil {
		return err
	}
	return conflict(c, e)
}

// dropUnreferenced removes the tool's cluster and user entries of name when
// no context uses them any more.
func dropUnreferenced(c *clientcmdapi.Config, names ...string) {
	for _, n := range names {
		if !strings.HasPrefix(n, ownedPrefix) {
			continue
		}
		used := false
		for _, cx := range c.Contexts {
			used = used || cx.Cluster == n || cx.AuthInfo == n
		}
		if !used {
			delete(c.Clusters, n)
			delete(c.AuthInfos, n)
		}
	}
}

// removeContext deletes the tool's context name and its entries; when it
// was current, restoreTo, else its recorded previous context, else its host
// context becomes current (the first that still exists).
func removeContext(c *clientcmdapi.Config, name, restoreTo string) bool {
	cx := c.Contexts[name]
	m, ours := MarkOf(cx)
	if !ours {
		return false
	}
	delete(c.Contexts, name)
	dropUnreferenced(c, cx.Cluster, cx.AuthInfo)
	if c.CurrentContext == name {
		c.CurrentContext = ""
		for _, r := range []string{restoreTo, m.Previous, m.Host} {
			if _, ok := c.Contexts[r]; ok && r != "" {
				c.CurrentContext = r
				break
			}
		}
	}
	return true
}

// RemoveContext deletes context name if the tool wrote it (see
// removeContext for the context made current). A context the tool did not
// write, or none, is left alone: removed is false.
func (s Store) RemoveContext(name, restoreTo string) (removed bool, err error) {
	err = s.modify(func(c *clientcmdapi.Config) error {
		removed = removeContext(c, name, restoreTo)
		if !removed {
			return errUnchanged
		}
		return nil
	})
	return removed, err
}

// RemoveTenant deletes every context of tenant reached through host (and
// those of older versions, whose host is unknown), as RemoveContext does.
func (s Store) RemoveTenant(tenant, host, restoreTo string) (removed bool, err error) {
	err = s.modify(func(c *clientcmdapi.Config) error {
		for name, cx := range c.Contexts {
			if m, ours := MarkOf(cx); ours && m.Tenant == tenant && (m.Legacy || m.Host == host) {
				removed = removeContext(c, name, restoreTo) || removed
			}
		}
		// Entries of an older version that no context uses any more.
		if _, ok := c.Clusters[OwnedName(tenant)]; ok {
			dropUnreferenced(c, OwnedName(tenant))
			_, still := c.Clusters[OwnedName(tenant)]
			removed = removed || !still
		}
		if !removed {
			return errUnchanged
		}
		return nil
	})
	return removed, err
}

// Owned returns the mark of context name when the tool wrote it.
func (s Store) Owned(name string) (Mark, bool) {
	c, err := s.Load()
	if err != nil {
		return Mark{}, false
	}
	return MarkOf(c.Contexts[name])
}

// SetCurrent switches to context name if it exists and the current context is
// still from; it never overrides a switch the user made meanwhile.
func (s Store) SetCurrent(name, from string) error {
	return s.modify(func(c *clientcmdapi.Config) error {
		if _, ok := c.Contexts[name]; ok && c.CurrentContext == from {
			c.CurrentContext = name
			return nil
		}
		return errUnchanged
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

// errUnchanged tells modify there is nothing to write.
var errUnchanged = errors.New("unchanged")

func (s Store) modify(fn func(*clientcmdapi.Config) error) error {
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
	if err := fn(c); errors.Is(err, errUnchanged) {
		return nil
	} else if err != nil {
		return err
	}
	data, err := clientcmd.Write(*c)
	if err != nil {
		return err
	}
	return writeAtomic(s.Path, data)
}

// resolve follows symlinks at path to the file they name (which may not
// exist yet), so a symlinked kubeconfig is written through, as kubectl does.
func resolve(path string) (string, error) {
	for range 40 {
		fi, err := os.Lstat(path)
		if errors.Is(err, os.ErrNotExist) {
			return path, nil
		}
		if err != nil {
			return "", err
		}
		if fi.Mode()&os.ModeSymlink == 0 {
			return path, nil
		}
		t, err := os.Readlink(path)
		if err != nil {
			return "", err
		}
		if !filepath.IsAbs(t) {
			t = filepath.Join(filepath.Dir(path), t)
		}
		path = t
	}
	return "", fmt.Errorf("kubeconfig %s: too many levels of symbolic links", path)
}

func writeAtomic(path string, data []byte) error {
	path, err := resolve(path)
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	// A new file is 0600; an existing one keeps its mode, at most 0600
	// (it holds the tenants' client keys), and its owner (under sudo).
	mode := os.FileMode(0o600)
	old, err := os.Stat(path)
	if err != nil {
		old = nil
	} else if m := old.Mode().Perm() & 0o600; m&0o400 != 0 {
		mode = m
	}
	return replaceFile(path, data, mode, old)
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
		_, release, err := track(func() (string, error) {
			f, err := os.OpenFile(lockPath, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
			if err != nil {
				return "", err
			}
			f.Close()
			return lockPath, nil
		})
		if err == nil {
			return release, nil
		}
		if errors.Is(err, errAborted) {
			return nil, err
		}
		if !errors.Is(err, os.ErrExist) || time.Now().After(deadline) {
			return nil, fmt.Errorf("cannot lock kubeconfig %s (remove %s if no kubectl is running): %w", path, lockPath, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
