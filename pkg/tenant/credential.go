package tenant

import (
	"context"
	"errors"
	"fmt"
	"time"

	authnv1 "k8s.io/api/authentication/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/credential"
)

// ClientCAReader is an optional Backend capability: the tenant's client CA
// (certificate and key), read with the caller's own host rights. Reading
// it is the host RBAC gate of a tenant context's credential: the
// tenant-admin Role grants it (see gitops' role), and a user who lost
// that grant can mint nothing more. ErrNotFound before the control plane
// wrote it.
type ClientCAReader interface {
	ClientCA(ctx context.Context, namespace string) (credential.CA, error)
}

// ContextCredential makes Connect write a context that holds no key: its
// user runs Exec (the tool's `credential` command), which returns a client
// certificate valid for Lifetime, minted only while the caller may read the
// tenant's client CA on the host. Connect mints the first one itself and
// stores it in Cache, so the first request through the context needs no
// API call.
type ContextCredential struct {
	// Exec is the exec plugin; Connect appends --tenant-namespace.
	Exec     clientcmdapi.ExecConfig
	Cache    credential.Cache
	Lifetime time.Duration
}

// CredentialOptions are the inputs of MintCredential.
type CredentialOptions struct {
	Name string
	// Namespace is the tenant's namespace (a claimed spare keeps its
	// own); empty: NamespaceFor(Name).
	Namespace string
	Lifetime  time.Duration
}

// MintCredential returns an ExecCredential (client.authentication.k8s.io/v1)
// holding a new client certificate for the tenant, valid for o.Lifetime,
// whose user is the caller's host user name (SelfSubjectReview), so
// `kubectl auth whoami` in the tenant names the person, in the tenant's
// admin group. It is the gate: it reads the tenant's client CA with the
// caller's current host rights, and a caller who may not is refused
// (*ForbiddenError, exit 4) with nothing minted.
func (h *Host) MintCredential(ctx context.Context, o CredentialOptions) ([]byte, error) {
	if err := ValidateName(o.Name); err != nil {
		return nil, err
	}
	r, ok := h.Backend.(ClientCAReader)
	if !ok {
		return nil, errors.New("this backend cannot mint tenant credentials")
	}
	ns := o.Namespace
	if ns == "" {
		ns = NamespaceFor(o.Name)
	}
	type who struct {
		name string
		err  error
	}
	whoC := make(chan who, 1)
	go func() {
		n, err := h.whoAmI(ctx)
		whoC <- who{n, err}
	}()
	ca, err := r.ClientCA(ctx, ns)
	w := <-whoC
	switch {
	case errors.Is(err, ErrNotFound):
		return nil, fmt.Errorf("tenant %s has no client CA in namespace %s (is it ready? see `kubectl tenant status %s`)", o.Name, ns, o.Name)
	case apierrors.IsForbidden(err) || apierrors.IsUnauthorized(err):
		return nil, &ForbiddenError{msg: fmt.Sprintf("no credential for tenant %s: your host rights do not allow it now (reading Secret %s/%s, which the tenant-admin Role grants, was refused)",
			o.Name, ns, CertsSecret)}
	case err != nil:
		return nil, apiError(err)
	case w.err != nil:
		return nil, apiError(fmt.Errorf("who am I on the host (SelfSubjectReview): %w", w.err))
	}
	cert, key, notAfter, err := credential.Mint(ca, credential.Identity{User: w.name, Groups: []string{credential.AdminGroup}}, o.Lifetime, h.now())
	if err != nil {
		return nil, err
	}
	return credential.ExecCredential(cert, key, notAfter, o.Lifetime), nil
}

// CertsSecret is the Secret in the tenant namespace where vCluster keeps
// its certificate authorities (its client CA among them).
const CertsSecret = ReleaseName + "-certs"

// whoAmI is the caller's user name on the host.
func (h *Host) whoAmI(ctx context.Context) (string, error) {
	r, err := h.Kube.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authnv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		return "", err
	}
	if r.Status.UserInfo.Username == "" {
		return "", errors.New("the host's SelfSubjectReview names no user")
	}
	return r.Status.UserInfo.Username, nil
}
