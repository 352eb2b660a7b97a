package tenant

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/rest"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/portforward"
)

// Access is a live connection to a tenant's virtual API server: an
// in-process port-forward to its control-plane pod and the vCluster admin
// credentials. Plugins (the Argo CD registrar) use it to act inside the
// tenant without writing a kubeconfig. Close it when done.
type Access struct {
	// Config reaches the virtual API through the forward. TLS is verified
	// with the tenant CA under the name localhost, which the vCluster
	// serving certificate always covers.
	Config *rest.Config
	// CA is the tenant CA (PEM), the trust anchor of its serving certificate.
	CA []byte
	// Addr is the local end of the forward, 127.0.0.1:PORT.
	Addr    string
	forward *portforward.Forward
}

// Close ends the port-forward.
func (a *Access) Close() {
	if a != nil && a.forward != nil {
		a.forward.Close()
	}
}

// Open connects to a running tenant's virtual API (same path as Connect,
// without touching the kubeconfig).
func (e *Engine) Open(ctx context.Context, name string) (*Access, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	nsObj, err := e.awakeNamespace(ctx, name)
	if err != nil {
		return nil, err
	}
	ns := nsObj.Name
	creds, err := e.Backend.Credentials(ctx, ns)
	if errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("tenant %s has no credentials yet (is it ready? see `kubectl tenant status %s`)", name, name)
	}
	if err != nil {
		return nil, apiError(err)
	}
	pod, msg, err := e.controlPlanePod(ctx, ns)
	if err != nil {
		return nil, err
	}
	if pod == nil || pod.Status.Phase != corev1.PodRunning {
		return nil, e.notRunning(ctx, name, ns, pod, msg)
	}
	fw, err := portforward.Start(ctx, e.REST, ns, pod.Name, 0, e.Backend.APIPort())
	if err != nil {
		return nil, apiError(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", fw.LocalPort)
	cfg := &rest.Config{
		Host: "https://" + addr,
		TLSClientConfig: rest.TLSClientConfig{
			CAData: creds.CA, CertData: creds.ClientCert, KeyData: creds.ClientKey, ServerName: "localhost",
		},
		QPS: 50, Burst: 100,
	}
	if len(creds.ClientCert) == 0 {
		cfg.BearerToken = creds.Token
	}
	return &Access{Config: cfg, CA: creds.CA, Addr: addr, forward: fw}, nil
}
