package tenant_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"testing"
	"time"

	authnv1 "k8s.io/api/authentication/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/credential"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant/tenanttest"
)

// caBackend is the fake backend whose client CA read answers as the host
// would for the caller: the CA, or err (Forbidden once the RoleBinding is
// gone).
type caBackend struct {
	*tenanttest.Backend
	ca  credential.CA
	err error
	ns  string
}

func (b *caBackend) ClientCA(_ context.Context, ns string) (credential.CA, error) {
	b.ns = ns
	return b.ca, b.err
}

func selfSignedCA(t *testing.T) credential.CA {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ca"}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour * 24), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	return credential.CA{Cert: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		Key: pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})}
}

// TestMintCredentialGate: the credential names the host user (from the
// SelfSubjectReview), in the admin group, for the lifetime; a caller the
// host refuses the client CA gets a ForbiddenError (exit 4) naming the
// host rights, and nothing.
func TestMintCredentialGate(t *testing.T) {
	e, cs, fb := tenanttest.NewEngine(t)
	cs.PrependReactor("create", "selfsubjectreviews", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, &authnv1.SelfSubjectReview{Status: authnv1.SelfSubjectReviewStatus{UserInfo: authnv1.UserInfo{Username: "alice"}}}, nil
	})
	b := &caBackend{Backend: fb, ca: selfSignedCA(t)}
	e.Backend = b
	out, err := e.MintCredential(context.Background(), tenant.CredentialOptions{Name: "demo", Lifetime: 2 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if b.ns != tenant.NamespaceFor("demo") {
		t.Errorf("read the CA in %q", b.ns)
	}
	var ec struct {
		APIVersion string
		Status     struct{ ClientCertificateData string }
	}
	if err := json.Unmarshal(out, &ec); err != nil || ec.APIVersion != credential.APIVersion {
		t.Fatalf("not an ExecCredential: %v %s", err, out)
	}
	blk, _ := pem.Decode([]byte(ec.Status.ClientCertificateData))
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if c.Subject.CommonName != "alice" || c.Subject.Organization[0] != credential.AdminGroup {
		t.Errorf("subject %v, want alice in %s", c.Subject, credential.AdminGroup)
	}

	b.err = apierrors.NewForbidden(schema.GroupResource{Resource: "secrets"}, tenant.CertsSecret, errors.New("RBAC"))
	out, err = e.MintCredential(context.Background(), tenant.CredentialOptions{Name: "demo", Namespace: "vcluster-spare-x", Lifetime: time.Minute})
	var fe *tenant.ForbiddenError
	if !errors.As(err, &fe) || out != nil {
		t.Fatalf("a refused CA read: %v (%T), %d bytes; want a ForbiddenError and nothing", err, err, len(out))
	}
	if b.ns != "vcluster-spare-x" {
		t.Errorf("the namespace given was not used: %q", b.ns)
	}
	t.Logf("refusal: %v", err)

	b.err = tenant.ErrNotFound
	if _, err := e.MintCredential(context.Background(), tenant.CredentialOptions{Name: "demo", Lifetime: time.Minute}); err == nil {
		t.Error("minted without a client CA")
	}
}
