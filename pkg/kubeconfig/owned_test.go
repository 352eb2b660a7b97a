//go:build !windows

package kubeconfig

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// TestUpsertRefusesAUsersContext: `create minikube` on host context
// minikube must not overwrite it (and a later disconnect must not delete
// it): refused with one line naming --context-name, file unchanged (H2).
func TestUpsertRefusesAUsersContext(t *testing.T) {
	c := clientcmdapi.NewConfig()
	c.Clusters["minikube"] = &clientcmdapi.Cluster{Server: "https://192.168.49.2:8443"}
	c.AuthInfos["minikube"] = &clientcmdapi.AuthInfo{Token: "t"}
	c.Contexts["minikube"] = &clientcmdapi.Context{Cluster: "minikube", AuthInfo: "minikube"}
	c.CurrentContext = "minikube"
	b, _ := clientcmd.Write(*c)
	p := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	s := Store{Path: p}
	_, err := s.Upsert(Entry{Name: "minikube", Tenant: "minikube", Host: "minikube", Server: "https://127.0.0.1:1"}, true)
	var ce *ConflictError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "--context-name") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("Upsert over the user's context: %v", err)
	}
	if after, _ := os.ReadFile(p); !bytes.Equal(after, b) {
		t.Fatalf("the refused Upsert changed the file:\n%s", after)
	}
	if removed, err := s.RemoveTenant("minikube", "minikube", ""); removed || err != nil {
		t.Fatalf("RemoveTenant of the user's context: %v %v", removed, err)
	}
	if removed, err := s.RemoveContext("minikube", ""); removed || err != nil {
		t.Fatalf("RemoveContext of the user's context: %v %v", removed, err)
	}
	// The way out: another name.
	if _, err := s.Upsert(Entry{Name: "minikube-tenant", Tenant: "minikube", Host: "minikube", Server: "https://127.0.0.1:1"}, true); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RemoveContext("minikube-tenant", ""); err != nil {
		t.Fatal(err)
	}
	if after, _ := os.ReadFile(p); !bytes.Equal(after, b) {
		t.Fatalf("connect + disconnect under another name left changes:\n%s", after)
	}
}

// TestContextsAreKeyedByHost: tenant demo of host a and of host b never
// share or replace each other's entries; removing b's leaves a's (M5).
func TestContextsAreKeyedByHost(t *testing.T) {
	p, _ := userConfig(t)
	s := Store{Path: p}
	if _, err := s.Upsert(Entry{Name: "web", Tenant: "web", Host: "a", Server: "https://127.0.0.1:1"}, true); err != nil {
		t.Fatal(err)
	}
	_, err := s.Upsert(Entry{Name: "web", Tenant: "web", Host: "b", Server: "https://127.0.0.1:2"}, true)
	if err == nil || !strings.Contains(err.Error(), `host context "a"`) {
		t.Fatalf("Upsert of b's web over a's: %v", err)
	}
	if _, err := s.Upsert(Entry{Name: "other", Tenant: "web2", Host: "a", Server: "https://127.0.0.1:1"}, false); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Upsert(Entry{Name: "other", Tenant: "web", Host: "a"}, false); err == nil || !strings.Contains(err.Error(), "tenant web2") {
		t.Fatalf("Upsert over another tenant's context: %v", err)
	}
	if _, err := s.Upsert(Entry{Name: "web-b", Tenant: "web", Host: "b", Server: "https://127.0.0.1:2"}, true); err != nil {
		t.Fatal(err)
	}
	if removed, err := s.RemoveTenant("web", "b", ""); !removed || err != nil {
		t.Fatalf("RemoveTenant(web, b) = %v, %v", removed, err)
	}
	c, _ := s.Load()
	if c.Contexts["web"] == nil || c.Clusters[OwnedName("web")].Server != "https://127.0.0.1:1" || c.Contexts["web-b"] != nil || c.Clusters[OwnedName("web-b")] != nil {
		t.Fatalf("after removing b's web: contexts %v clusters %v", c.Contexts, c.Clusters)
	}
	// web-b was current; it came from web.
	if c.CurrentContext != "web" {
		t.Errorf("current %q, want web", c.CurrentContext)
	}
}

// TestRemoveContextWithoutSessionRestores: the mark alone (no session file)
// is enough to remove the context and restore the one from before (M10).
func TestRemoveContextWithoutSessionRestores(t *testing.T) {
	p, orig := userConfig(t)
	s := Store{Path: p}
	if _, err := s.Upsert(Entry{Name: "t1", Tenant: "t1", Host: "prod", Server: "https://127.0.0.1:1"}, true); err != nil {
		t.Fatal(err)
	}
	// A reconnect keeps the context from before the first connect.
	if prev, err := s.Upsert(Entry{Name: "t1", Tenant: "t1", Host: "prod", Server: "https://127.0.0.1:2"}, true); err != nil || prev != "prod" {
		t.Fatalf("reconnect: previous %q, %v; want prod", prev, err)
	}
	m, ok := s.Owned("t1")
	if !ok || m.Tenant != "t1" || m.Host != "prod" || m.Previous != "prod" || m.Legacy {
		t.Fatalf("mark %+v %v", m, ok)
	}
	if removed, err := s.RemoveContext("t1", ""); !removed || err != nil {
		t.Fatal(removed, err)
	}
	if after, _ := os.ReadFile(p); !bytes.Equal(after, orig) {
		t.Fatalf("not restored:\n%s", after)
	}
}

// TestLegacyEntriesAreAdopted: contexts of older versions (no mark, entries
// named after the tenant) are recognised, replaced and removed.
func TestLegacyEntriesAreAdopted(t *testing.T) {
	p, orig := userConfig(t)
	c, _ := clientcmd.LoadFromFile(p)
	c.Clusters[OwnedName("demo")] = &clientcmdapi.Cluster{Server: "https://127.0.0.1:9"}
	c.AuthInfos[OwnedName("demo")] = &clientcmdapi.AuthInfo{}
	c.Contexts["demo-x"] = &clientcmdapi.Context{Cluster: OwnedName("demo"), AuthInfo: OwnedName("demo")}
	if err := clientcmd.WriteToFile(*c, p); err != nil {
		t.Fatal(err)
	}
	s := Store{Path: p}
	if m, ok := s.Owned("demo-x"); !ok || !m.Legacy || m.Tenant != "demo" {
		t.Fatalf("legacy mark %+v %v", m, ok)
	}
	if _, err := s.Upsert(Entry{Name: "demo-x", Tenant: "demo", Host: "prod", Server: "https://127.0.0.1:1"}, false); err != nil {
		t.Fatal(err)
	}
	c, _ = s.Load()
	if c.Clusters[OwnedName("demo")] != nil || c.Clusters[OwnedName("demo-x")] == nil {
		t.Errorf("old entries not replaced: %v", c.Clusters)
	}
	if removed, err := s.RemoveTenant("demo", "prod", ""); !removed || err != nil {
		t.Fatal(removed, err)
	}
	if after, _ := os.ReadFile(p); !bytes.Equal(after, orig) {
		t.Fatalf("left:\n%s", after)
	}
}

// TestWriteThroughSymlinkKeepsOwnerAndMode: a symlinked kubeconfig stays a
// symlink, its target gets the change, keeps its owner and a mode of at
// most 0600 (M9).
func TestWriteThroughSymlinkKeepsOwnerAndMode(t *testing.T) {
	p, _ := userConfig(t) // 0644
	dir := t.TempDir()
	link := filepath.Join(dir, "link")
	if err := os.Symlink(p, link); err != nil {
		t.Fatal(err)
	}
	chowned := os.Geteuid() == 0
	if chowned {
		if err := os.Chown(p, 65534, 65534); err != nil {
			t.Fatal(err)
		}
	}
	s := Store{Path: link}
	if _, err := s.Upsert(Entry{Name: "t1", Tenant: "t1", Server: "https://127.0.0.1:1"}, true); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("the symlink was replaced: %v %v", fi.Mode(), err)
	}
	c, err := clientcmd.LoadFromFile(p)
	if err != nil || c.CurrentContext != "t1" {
		t.Fatalf("target not written: %v %v", c, err)
	}
	fi, _ := os.Stat(p)
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600 (0644 tightened)", fi.Mode().Perm())
	}
	if st := fi.Sys().(*syscall.Stat_t); chowned && (st.Uid != 65534 || st.Gid != 65534) {
		t.Errorf("owner %d:%d, want 65534:65534 kept", st.Uid, st.Gid)
	} else if !chowned {
		t.Log("not root: the owner part is only checked as root (CI runs as root)")
	}
	if err := os.Chmod(p, 0o400); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RemoveContext("t1", ""); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o400 {
		t.Errorf("a tighter mode 0400 became %v", fi.Mode().Perm())
	}
	// A dangling symlink is written through too.
	dangling := filepath.Join(dir, "dangling")
	target := filepath.Join(dir, "sub", "real")
	if err := os.Symlink(target, dangling); err != nil {
		t.Fatal(err)
	}
	if _, err := (Store{Path: dangling}).Upsert(Entry{Name: "t2", Tenant: "t2"}, false); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(dangling); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Fatal("dangling symlink replaced")
	}
	if _, err := os.Stat(target); err != nil {
		t.Fatalf("target of the dangling link not written: %v", err)
	}
}
