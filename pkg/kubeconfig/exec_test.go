package kubeconfig

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// TestUpsertExecReplacesAKeyedContext: a context an older version wrote
// with the tenant's admin key is replaced whole by one with the exec
// plugin: no key, certificate or token stays in the file.
func TestUpsertExecReplacesAKeyedContext(t *testing.T) {
	p, _ := userConfig(t)
	s := Store{Path: p}
	if _, err := s.Upsert(Entry{Name: "alpha", Tenant: "alpha", Server: "https://127.0.0.1:40000", CA: []byte("tca"),
		ClientCert: []byte("OLD-CERT"), ClientKey: []byte("OLD-ADMIN-KEY")}, true); err != nil {
		t.Fatal(err)
	}
	exec := &clientcmdapi.ExecConfig{APIVersion: "client.authentication.k8s.io/v1", Command: "/bin/kubectl-tenant",
		Args: []string{"credential", "alpha"}, InteractiveMode: clientcmdapi.NeverExecInteractiveMode}
	if _, err := s.Upsert(Entry{Name: "alpha", Tenant: "alpha", Server: "https://127.0.0.1:40001", CA: []byte("tca"), Exec: exec}, true); err != nil {
		t.Fatal(err)
	}
	c, err := s.Load()
	if err != nil {
		t.Fatal(err)
	}
	au := c.AuthInfos[OwnedName("alpha")]
	if au == nil || au.Exec == nil || au.Exec.Command != exec.Command || len(au.ClientKeyData) != 0 || len(au.ClientCertificateData) != 0 || au.Token != "" {
		t.Fatalf("user entry %+v", au)
	}
	b, _ := os.ReadFile(filepath.Clean(p))
	if strings.Contains(string(b), "OLD-ADMIN-KEY") || strings.Contains(string(b), "T0xELUFETUlOLUtFWQ") { // base64 of it
		t.Errorf("the old key is still in the file:\n%s", b)
	}
}
