// Package credential mints the short-lived client certificates a tenant
// context's exec credential plugin (`kubectl tenant credential`) returns,
// and caches them, 0600 in the state directory, until they expire. It is
// pure logic: who may mint (the host RBAC gate) is decided by pkg/tenant,
// which reads the tenant's client CA with the caller's own host rights.
package credential

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"time"

	"k8s.io/client-go/util/keyutil"
)

// CA is a tenant's client CA: the certificate and key its API server
// trusts for client certificates (PEM).
type CA struct {
	Cert []byte
	Key  []byte
}

// Identity is who a credential names inside the tenant.
type Identity struct {
	User   string
	Groups []string
}

// AdminGroup is the group a minted certificate carries: the tenant's
// cluster-admin, as the vCluster's own admin certificate has.
const AdminGroup = "system:masters"

// backdate covers clock skew between this machine and the tenant's API
// server (a certificate is not valid before NotBefore).
const backdate = time.Minute

// Mint signs a new client certificate for id with ca, valid from now
// (backdated by a minute for skew) for lifetime, with a fresh ECDSA P-256
// key. It returns both PEM-encoded and the certificate's NotAfter.
func Mint(ca CA, id Identity, lifetime time.Duration, now time.Time) (certPEM, keyPEM []byte, notAfter time.Time, err error) {
	if lifetime <= 0 {
		return nil, nil, time.Time{}, fmt.Errorf("credential lifetime %s is not positive", lifetime)
	}
	if id.User == "" {
		return nil, nil, time.Time{}, errors.New("no user name for the credential")
	}
	block, _ := pem.Decode(ca.Cert)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, nil, time.Time{}, errors.New("the tenant's client CA certificate is not PEM")
	}
	caCert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, nil, time.Time{}, fmt.Errorf("the tenant's client CA certificate: %w", err)
	}
	caKey, err := keyutil.ParsePrivateKeyPEM(ca.Key)
	if err != nil {
		return nil, nil, time.Time{}, errors.New("the tenant's client CA key is not a PEM private key")
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, time.Time{}, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, time.Time{}, err
	}
	notAfter = now.Add(lifetime).Truncate(time.Second)
	if caCert.NotAfter.Before(notAfter) {
		notAfter = caCert.NotAfter
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: id.User, Organization: id.Groups},
		NotBefore:    now.Add(-backdate).Truncate(time.Second),
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		return nil, nil, time.Time{}, fmt.Errorf("signing the credential: %w", err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, time.Time{}, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), notAfter, nil
}

// Margin is how long before a certificate's NotAfter the credential counts
// as expired: a tenth of its lifetime, at most 30 s, so a request never
// starts with a certificate about to lapse.
func Margin(lifetime time.Duration) time.Duration {
	return min(lifetime/10, 30*time.Second)
}

// APIVersion is the client.authentication.k8s.io version of the exec
// plugin's input and output.
const APIVersion = "client.authentication.k8s.io/v1"

// execCredential is client-go's ExecCredential (v1), with only the fields
// used here: the plugin's output and the cache's content.
type execCredential struct {
	APIVersion string     `json:"apiVersion"`
	Kind       string     `json:"kind"`
	Status     execStatus `json:"status"`
}

type execStatus struct {
	ExpirationTimestamp   time.Time `json:"expirationTimestamp"`
	ClientCertificateData string    `json:"clientCertificateData"`
	ClientKeyData         string    `json:"clientKeyData"`
}

// ExecCredential is the plugin's output for a certificate and key: an
// ExecCredential whose expirationTimestamp is the certificate's NotAfter
// less Margin(lifetime), after which client-go runs the plugin again.
func ExecCredential(certPEM, keyPEM []byte, notAfter time.Time, lifetime time.Duration) []byte {
	b, _ := json.Marshal(execCredential{
		APIVersion: APIVersion, Kind: "ExecCredential",
		Status: execStatus{
			ExpirationTimestamp:   notAfter.Add(-Margin(lifetime)).UTC(),
			ClientCertificateData: string(certPEM), ClientKeyData: string(keyPEM),
		},
	})
	return append(b, '\n')
}

// Expiry reads the expirationTimestamp of an ExecCredential.
func Expiry(cred []byte) (time.Time, error) {
	var c execCredential
	if err := json.Unmarshal(cred, &c); err != nil {
		return time.Time{}, err
	}
	if c.APIVersion != APIVersion || c.Kind != "ExecCredential" || c.Status.ClientKeyData == "" || c.Status.ExpirationTimestamp.IsZero() {
		return time.Time{}, errors.New("not an ExecCredential with a client certificate")
	}
	return c.Status.ExpirationTimestamp, nil
}

// Cache is one context's cached ExecCredential: file Path (in the state
// directory, 0700), written 0600 with Write (atomic: a temp file renamed
// over it, so concurrent plugins never read half a file).
type Cache struct {
	Path  string
	Write func(path string, data []byte) error
}

// Load returns the cached credential when it is still valid at now; a
// missing, unreadable, foreign or expired file is a miss (an expired one is
// removed).
func (c Cache) Load(now time.Time) ([]byte, bool) {
	if c.Path == "" {
		return nil, false
	}
	fi, err := os.Lstat(c.Path)
	if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm()&0o077 != 0 {
		return nil, false // not a plain file only its owner can read: never trust it
	}
	b, err := os.ReadFile(c.Path)
	if err != nil {
		return nil, false
	}
	exp, err := Expiry(b)
	if err != nil {
		return nil, false
	}
	if !now.Before(exp) {
		_ = os.Remove(c.Path)
		return nil, false
	}
	return b, true
}

// Store writes cred to the cache.
func (c Cache) Store(cred []byte) error {
	if c.Path == "" {
		return nil
	}
	return c.Write(c.Path, cred)
}

// Remove deletes the cached credential; a missing one is not an error.
func (c Cache) Remove() error {
	if c.Path == "" {
		return nil
	}
	if err := os.Remove(c.Path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}
