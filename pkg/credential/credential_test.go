package credential_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/credential"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/kubeconfig"
)

func testCA(t *testing.T) (credential.CA, *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "client-ca"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	cert, _ := x509.ParseCertificate(der)
	return credential.CA{
		Cert: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		Key:  pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}),
	}, cert
}

// TestMint: the certificate names the user and group, is a client
// certificate the CA verifies, and lives for the lifetime (backdated a
// minute for clock skew).
func TestMint(t *testing.T) {
	ca, caCert := testCA(t)
	now := time.Now()
	certPEM, keyPEM, notAfter, err := credential.Mint(ca, credential.Identity{User: "alice@example.com", Groups: []string{credential.AdminGroup}}, 2*time.Minute, now)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := pem.Decode(certPEM)
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if c.Subject.CommonName != "alice@example.com" || len(c.Subject.Organization) != 1 || c.Subject.Organization[0] != credential.AdminGroup {
		t.Errorf("subject %v", c.Subject)
	}
	if got := c.NotAfter.Sub(now); got > 2*time.Minute || got < 2*time.Minute-time.Second || !c.NotAfter.Equal(notAfter) {
		t.Errorf("NotAfter %v is %v after now, want 2m (returned %v)", c.NotAfter, got, notAfter)
	}
	pool := x509.NewCertPool()
	pool.AddCert(caCert)
	if _, err := c.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, CurrentTime: now}); err != nil {
		t.Errorf("the CA does not verify it as a client certificate: %v", err)
	}
	if kb, _ := pem.Decode(keyPEM); kb == nil {
		t.Error("key is not PEM")
	}
	if _, _, _, err := credential.Mint(ca, credential.Identity{User: "x"}, 0, now); err == nil {
		t.Error("a zero lifetime minted")
	}
	if _, _, _, err := credential.Mint(credential.CA{Cert: ca.Cert, Key: []byte("junk")}, credential.Identity{User: "x"}, time.Minute, now); err == nil {
		t.Error("a junk CA key minted")
	}
}

// TestCache: a stored credential is served until its expirationTimestamp
// (NotAfter less the margin), then removed; the file is 0600; a file
// others can read, or that is not an ExecCredential, is never served.
func TestCache(t *testing.T) {
	ca, _ := testCA(t)
	now := time.Now()
	const lifetime = 2 * time.Minute
	certPEM, keyPEM, notAfter, err := credential.Mint(ca, credential.Identity{User: "u"}, lifetime, now)
	if err != nil {
		t.Fatal(err)
	}
	cred := credential.ExecCredential(certPEM, keyPEM, notAfter, lifetime)
	exp, err := credential.Expiry(cred)
	if err != nil {
		t.Fatal(err)
	}
	if want := notAfter.Add(-credential.Margin(lifetime)); !exp.Equal(want) {
		t.Errorf("expirationTimestamp %v, want NotAfter less the margin %v", exp, want)
	}
	dir := filepath.Join(t.TempDir(), "state")
	c := credential.Cache{Path: filepath.Join(dir, "x.cred"), Write: kubeconfig.WritePrivate}
	if _, ok := c.Load(now); ok {
		t.Fatal("hit on an empty cache")
	}
	if err := c.Store(cred); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(c.Path)
	di, _ := os.Stat(dir)
	if fi.Mode().Perm() != 0o600 || di.Mode().Perm() != 0o700 {
		t.Errorf("cache file %v, dir %v; want 0600, 0700", fi.Mode().Perm(), di.Mode().Perm())
	}
	if got, ok := c.Load(now); !ok || string(got) != string(cred) {
		t.Fatal("miss right after Store")
	}
	if _, ok := c.Load(exp.Add(-time.Second)); !ok {
		t.Error("miss a second before expiry")
	}
	if _, ok := c.Load(exp); ok {
		t.Error("hit at expiry")
	}
	if _, err := os.Stat(c.Path); !os.IsNotExist(err) {
		t.Error("an expired credential stays on disk")
	}
	_ = c.Store(cred)
	_ = os.Chmod(c.Path, 0o644)
	if _, ok := c.Load(now); ok {
		t.Error("a cache file others can read was served")
	}
	_ = os.WriteFile(c.Path, []byte(`{"kind":"Other"}`), 0o600)
	if _, ok := c.Load(now); ok {
		t.Error("a foreign file was served")
	}
	if err := c.Remove(); err != nil || c.Remove() != nil {
		t.Error("Remove of a missing file failed")
	}
}

// TestCacheConcurrent: plugins writing and reading at once (two kubectl
// calls missing together) never see half a file, and leave no temp file.
func TestCacheConcurrent(t *testing.T) {
	ca, _ := testCA(t)
	now := time.Now()
	dir := t.TempDir()
	c := credential.Cache{Path: filepath.Join(dir, "x.cred"), Write: kubeconfig.WritePrivate}
	var creds [][]byte
	for range 4 {
		cp, kp, na, err := credential.Mint(ca, credential.Identity{User: "u"}, time.Hour, now)
		if err != nil {
			t.Fatal(err)
		}
		creds = append(creds, credential.ExecCredential(cp, kp, na, time.Hour))
	}
	_ = c.Store(creds[0])
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for range 50 {
				if err := c.Store(creds[i%len(creds)]); err != nil {
					t.Error(err)
					return
				}
			}
		}()
		go func() {
			defer wg.Done()
			for range 50 {
				if _, ok := c.Load(now); !ok {
					t.Error("a reader saw no valid credential while writers replaced it")
					return
				}
			}
		}()
	}
	wg.Wait()
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("files left: %v", entries)
	}
}
