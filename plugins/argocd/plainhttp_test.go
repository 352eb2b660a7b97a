package argocd

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/hostconfig"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
)

// recorder is a plain-HTTP server that records every request it gets,
// with its Authorization header and body, and answers like Argo CD.
type recorder struct {
	mu   sync.Mutex
	reqs []string
}

func newRecorder(t *testing.T) (*recorder, *httptest.Server) {
	rec := &recorder{}
	f := &fakeArgo{password: "admin-pw", token: "tok-123", clusters: map[string]Cluster{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body := make([]byte, 4096)
		n, _ := r.Body.Read(body)
		rec.mu.Lock()
		rec.reqs = append(rec.reqs, r.Method+" "+r.URL.Path+" auth="+r.Header.Get("Authorization")+" body="+string(body[:n]))
		rec.mu.Unlock()
		r.Body = http.NoBody
		if n > 0 {
			r.Body = readCloser{strings.NewReader(string(body[:n]))}
		}
		f.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return rec, srv
}

type readCloser struct{ *strings.Reader }

func (readCloser) Close() error { return nil }

func (r *recorder) requests() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.reqs...)
}

// TestPlainHTTPServerIsRefused (audit N4, issue #25): an Argo CD address
// over plain HTTP — from the host defaults, the environment, a flag, or an
// https address with --plaintext — is refused with one line naming where
// it came from, before any request: neither the admin password nor
// $ARGOCD_AUTH_TOKEN reaches the server. --insecure (or its variable)
// allows it.
func TestPlainHTTPServerIsRefused(t *testing.T) {
	rec, srv := newRecorder(t)
	kube := fake.NewClientset(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: InitialAdminSecret, Namespace: "argocd"},
		Data: map[string][]byte{"password": []byte("admin-pw")}})
	host, err := hostconfig.Parse(map[string]string{hostconfig.KeyArgoCDServer: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	httpsAddr := "https://" + strings.TrimPrefix(srv.URL, "http://")
	for _, c := range []struct {
		name   string
		env    map[string]string
		host   *hostconfig.Defaults
		o      *Options // set: used as is (a command's flags)
		wantIn []string
	}{
		{name: "host defaults, admin password", host: host, wantIn: []string{"from host " + hostconfig.Ref, "KUBECTL_TENANT_ARGOCD_INSECURE=true"}},
		{name: "host defaults, token", host: host, env: map[string]string{TokenEnv: "tok-123"}, wantIn: []string{"from host " + hostconfig.Ref}},
		{name: "environment", env: map[string]string{hostconfig.EnvArgoCDServer: srv.URL, TokenEnv: "tok-123"}, wantIn: []string{"from env $" + hostconfig.EnvArgoCDServer}},
		{name: "flag", o: &Options{Server: srv.URL, ServerFrom: "flag --argocd-server", Flags: PrefixedFlags}, wantIn: []string{"from flag --argocd-server", "--argocd-insecure"}},
		{name: "https with --plaintext", o: &Options{Server: httpsAddr, ServerFrom: "flag --argocd-server", Plaintext: true}, wantIn: []string{"plain HTTP by --plaintext", "--insecure"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := OptionsFrom(hostconfig.Resolver{Getenv: envOf(c.env), Host: c.host}.ArgoCD(""), envOf(c.env))
			if c.o != nil {
				o = *c.o
				o.Getenv = envOf(map[string]string{TokenEnv: "tok-123"})
			}
			before := len(rec.requests())
			_, err := Login(context.Background(), kube, nil, o)
			var ue *tenant.UsageError
			if !errors.As(err, &ue) || !strings.Contains(err.Error(), "refusing Argo CD server http://") || strings.Contains(err.Error(), "\n") {
				t.Fatalf("got %v; want one usage-error line refusing the plain-HTTP server", err)
			}
			for _, w := range c.wantIn {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not say %q: %v", w, err)
				}
			}
			if strings.Contains(err.Error(), "admin-pw") || strings.Contains(err.Error(), "tok-123") {
				t.Errorf("the error carries a credential: %v", err)
			}
			if got := rec.requests()[before:]; len(got) != 0 {
				t.Errorf("requests reached the plain-HTTP server: %q", got)
			}
		})
	}
	// The opt-in: $KUBECTL_TENANT_ARGOCD_INSECURE=true with the host's
	// address logs in (over plain HTTP, knowingly).
	env := map[string]string{hostconfig.EnvArgoCDInsecure: "true"}
	o := OptionsFrom(hostconfig.Resolver{Getenv: envOf(env), Host: host}.ArgoCD(""), envOf(env))
	s, err := Login(context.Background(), kube, nil, o)
	if err != nil {
		t.Fatalf("with %s=true: %v", hostconfig.EnvArgoCDInsecure, err)
	}
	s.Close()
	if reqs := rec.requests(); len(reqs) == 0 || !strings.Contains(strings.Join(reqs, "\n"), "admin-pw") {
		t.Errorf("the opted-in login did not reach the server: %q", reqs)
	}
}
