package kubeconfig

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// userConfig is a kubeconfig as kubectl writes it, with entries the tool must
// never change.
func userConfig(t *testing.T) (string, []byte) {
	t.Helper()
	c := clientcmdapi.NewConfig()
	c.Clusters["prod"] = &clientcmdapi.Cluster{Server: "https://prod.example:6443", CertificateAuthorityData: []byte("ca")}
	c.AuthInfos["me"] = &clientcmdapi.AuthInfo{Token: "secret-token"}
	c.Contexts["prod"] = &clientcmdapi.Context{Cluster: "prod", AuthInfo: "me", Namespace: "web"}
	// A user context that happens to share a tenant's name.
	c.Contexts["demo"] = &clientcmdapi.Context{Cluster: "prod", AuthInfo: "me"}
	c.CurrentContext = "prod"
	b, err := clientcmd.Write(*c)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p, b
}

func TestUpsertRemoveKeepsUserEntriesByteForByte(t *testing.T) {
	p, orig := userConfig(t)
	s := Store{Path: p}
	prev, err := s.Upsert(Entry{Name: "alpha", Tenant: "alpha", Server: "https://127.0.0.1:40000", CA: []byte("tca"), ClientCert: []byte("c"), ClientKey: []byte("k")}, true)
	if err != nil {
		t.Fatal(err)
	}
	if prev != "prod" {
		t.Fatalf("previous context %q, want prod", prev)
	}
	c, err := s.Load()
	if err != nil {
		t.Fatal(err)
	}
	if c.CurrentContext != "alpha" || c.Clusters[OwnedName("alpha")].Server != "https://127.0.0.1:40000" {
		t.Fatalf("entry not written: current=%q clusters=%v", c.CurrentContext, c.Clusters)
	}
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, want 0600", fi.Mode().Perm())
	}
	removed, err := s.RemoveContext("alpha", "prod")
	if err != nil || !removed {
		t.Fatalf("Remove = %v, %v", removed, err)
	}
	after, _ := os.ReadFile(p)
	if !bytes.Equal(after, orig) {
		t.Fatalf("after connect+remove the file differs from the user's:\n--- before\n%s\n--- after\n%s", orig, after)
	}
	if _, err := os.Stat(p + ".lock"); !os.IsNotExist(err) {
		t.Fatalf("lock file left behind: %v", err)
	}
}

func TestRemoveNeverTouchesForeignContextOfSameName(t *testing.T) {
	p, orig := userConfig(t)
	for _, remove := range []func() (bool, error){
		func() (bool, error) { return Store{Path: p}.RemoveTenant("demo", "", "") },
		func() (bool, error) { return Store{Path: p}.RemoveContext("demo", "") },
	} {
		removed, err := remove()
		if err != nil {
			t.Fatal(err)
		}
		if removed {
			t.Fatal("Remove reported removing the user's own context named like the tenant")
		}
	}
	after, _ := os.ReadFile(p)
	if !bytes.Equal(after, orig) {
		t.Fatal("Remove changed the file")
	}
}

func TestConcurrentWritersDoNotLoseEntries(t *testing.T) {
	p, _ := userConfig(t)
	s := Store{Path: p}
	var wg sync.WaitGroup
	names := []string{"t1", "t2", "t3", "t4", "t5", "t6", "t7", "t8"}
	for _, n := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.Upsert(Entry{Name: n, Tenant: n, Server: "https://127.0.0.1:1"}, false); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	c, err := s.Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if _, ok := c.Contexts[n]; !ok {
			t.Errorf("context %s lost by a concurrent write", n)
		}
	}
	if c.CurrentContext != "prod" {
		t.Errorf("current context %q changed without activate", c.CurrentContext)
	}
}

func TestLockHeldTooLongIsOneLineError(t *testing.T) {
	if testing.Short() {
		t.Log("runs 5s: waits for the lock timeout")
	}
	p, _ := userConfig(t)
	if err := os.WriteFile(p+".lock", nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Store{Path: p}.Upsert(Entry{Name: "x", Tenant: "x"}, false)
	if err == nil || !strings.Contains(err.Error(), ".lock") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("err = %v, want one line naming the lock file", err)
	}
}
