package argocd

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log"
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

// fakeArgo answers the endpoints the client uses the way Argo CD v3 does
// (its grpc-gateway error bodies, the 415 for a DELETE without
// Content-Type); v2 sets the extra "error" field, which v2 mode adds. The
// real server is exercised in test/e2e.
type fakeArgo struct {
	mu       sync.Mutex
	v2       bool
	password string
	token    string
	clusters map[string]Cluster
	requests []string // method + escaped path + query
	logins   int
	logouts  int
	revoked  bool // the session token was logged out
}

func newFakeArgo(t *testing.T) (*fakeArgo, *httptest.Server) {
	f := &fakeArgo{password: "pw", token: "tok-123", clusters: map[string]Cluster{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

func (f *fakeArgo) fail(w http.ResponseWriter, status, code int, msg string) {
	body := map[string]any{"code": code, "message": msg}
	if f.v2 {
		body["error"] = msg
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

func (f *fakeArgo) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, r.Method+" "+r.URL.EscapedPath()+"?"+r.URL.RawQuery)
	if r.Header.Get("Content-Type") != "application/json" {
		w.WriteHeader(http.StatusUnsupportedMediaType)
		_, _ = io.WriteString(w, "Invalid content type")
		return
	}
	p := r.URL.EscapedPath()
	switch {
	case p == "/api/version":
		_ = json.NewEncoder(w).Encode(map[string]string{"Version": "v3.2.11"})
		return
	case p == "/api/v1/session" && r.Method == http.MethodPost:
		var in map[string]string
		_ = json.NewDecoder(r.Body).Decode(&in)
		if in["username"] != "admin" || in["password"] != f.password {
			f.fail(w, http.StatusUnauthorized, 16, "Invalid username or password")
			return
		}
		f.logins++
		f.revoked = false
		_ = json.NewEncoder(w).Encode(map[string]string{"token": f.token})
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+f.token || f.revoked {
		f.fail(w, http.StatusUnauthorized, 16, "invalid session: token has invalid claims: token is expired")
		return
	}
	switch {
	case p == "/api/v1/session" && r.Method == http.MethodDelete:
		f.logouts++
		f.revoked = true // Argo CD revokes the token
		_, _ = io.WriteString(w, "{}")
	case strings.HasPrefix(p, "/api/v1/account/can-i/"):
		_ = json.NewEncoder(w).Encode(map[string]string{"value": "yes"})
	case p == "/api/v1/clusters" && r.Method == http.MethodGet:
		var l ClusterList
		for _, c := range f.clusters {
			c.Config = ClusterConfig{} // Argo CD never returns credentials
			c.Info = &ClusterInfo{ConnectionState: ConnectionState{Status: ConnectionSuccessful}}
			l.Items = append(l.Items, c)
		}
		_ = json.NewEncoder(w).Encode(l)
	case p == "/api/v1/clusters" && r.Method == http.MethodPost:
		var c Cluster
		if err := json.NewDecoder(r.Body).Decode(&c); err != nil {
			f.fail(w, http.StatusBadRequest, 3, err.Error())
			return
		}
		if _, ok := f.clusters[c.Server]; ok && r.URL.Query().Get("upsert") != "true" {
			f.fail(w, http.StatusBadRequest, 3, "existing cluster spec is different; use upsert flag to force update")
			return
		}
		f.clusters[c.Server] = c
		_ = json.NewEncoder(w).Encode(c)
	case strings.HasPrefix(p, "/api/v1/clusters/") && r.Method == http.MethodDelete:
		// grpc-gateway routes only a fully escaped server (':' too).
		seg := strings.TrimPrefix(p, "/api/v1/clusters/")
		if strings.ContainsAny(seg, ":/") {
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, "Not Found")
			return
		}
		server := r.URL.Path[len("/api/v1/clusters/"):]
		if _, ok := f.clusters[server]; !ok {
			f.fail(w, http.StatusForbidden, 7, "permission denied")
			return
		}
		delete(f.clusters, server)
		_, _ = io.WriteString(w, "{}")
	default:
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, "Not Found")
	}
}

func TestClientLoginUpsertListDelete(t *testing.T) {
	f, srv := newFakeArgo(t)
	ctx := context.Background()
	c, err := NewClient(srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := c.Version(ctx); err != nil || v != "v3.2.11" {
		t.Fatalf("Version = %q, %v", v, err)
	}
	if err := c.Login(ctx, "admin", "pw"); err != nil {
		t.Fatal(err)
	}
	server := "https://vcluster.vcluster-demo:8443"
	cl := &Cluster{Server: server, Name: "demo", Labels: map[string]string{"env": "vdev"},
		Config: ClusterConfig{BearerToken: "sa-token", TLSClientConfig: TLSClientConfig{CAData: []byte("PEM")}}}
	for range 2 { // the second is an upsert, not an error
		if _, err := c.UpsertCluster(ctx, cl); err != nil {
			t.Fatal(err)
		}
	}
	got := f.clusters[server]
	if got.Config.BearerToken != "sa-token" || string(got.Config.TLSClientConfig.CAData) != "PEM" || got.Labels["env"] != "vdev" {
		t.Errorf("server stored %+v", got)
	}
	items, err := c.ListClusters(ctx)
	if err != nil || len(items) != 1 || items[0].State().Status != ConnectionSuccessful {
		t.Fatalf("ListClusters = %+v, %v", items, err)
	}
	if err := c.DeleteCluster(ctx, server); err != nil {
		t.Fatalf("DeleteCluster of a server with a port: %v (requests %v)", err, f.requests)
	}
	if len(f.clusters) != 0 {
		t.Errorf("cluster left: %v", f.clusters)
	}
	last := f.requests[len(f.requests)-1]
	if want := "DELETE /api/v1/clusters/https%3A%2F%2Fvcluster.vcluster-demo%3A8443?id.type=server"; last != want {
		t.Errorf("delete request %q, want %q", last, want)
	}
	var ae *APIError
	if err := c.DeleteCluster(ctx, server); !errors.As(err, &ae) || !ae.PermissionDenied() {
		t.Errorf("deleting an unknown cluster: %v (Argo CD says permission denied)", err)
	}
}

func TestClusterJSONMatchesArgoCD(t *testing.T) {
	cl := Cluster{Server: "https://s", Name: "n", Config: ClusterConfig{BearerToken: "t", TLSClientConfig: TLSClientConfig{CAData: []byte("ca")}}}
	b, err := json.Marshal(cl)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"server":"https://s","name":"n","config":{"bearerToken":"t","tlsClientConfig":{"insecure":false,"caData":"` +
		base64.StdEncoding.EncodeToString([]byte("ca")) + `"}}}`
	if string(b) != want {
		t.Errorf("JSON\n got %s\nwant %s", b, want)
	}
	// v2.x servers fill only the deprecated top-level connectionState.
	var old Cluster
	if err := json.Unmarshal([]byte(`{"server":"x","connectionState":{"status":"Failed","message":"m"}}`), &old); err != nil {
		t.Fatal(err)
	}
	if s := old.State(); s.Status != "Failed" || s.Message != "m" {
		t.Errorf("State() of a v2 answer = %+v", s)
	}
}

func TestAPIErrorsAreOneLineAndTyped(t *testing.T) {
	for _, v2 := range []bool{false, true} {
		f, srv := newFakeArgo(t)
		f.v2 = v2
		c, _ := NewClient(srv.URL, nil)
		err := c.Login(context.Background(), "admin", "wrong")
		var ae *APIError
		if !errors.As(err, &ae) || !ae.Unauthenticated() || ae.Error() != "Invalid username or password" {
			t.Errorf("v2=%v: wrong password gives %#v", v2, err)
		}
		cerr := credentialError(err, "Argo CD rejected the admin password", "hint")
		var fe *tenant.ForbiddenError
		if !errors.As(cerr, &fe) || strings.Contains(cerr.Error(), "wrong") {
			t.Errorf("credentialError = %v: want a ForbiddenError that does not echo the password", cerr)
		}
		c.SetToken("expired")
		_, err = c.ListClusters(context.Background())
		if !errors.As(err, &ae) || !strings.Contains(err.Error(), "token is expired") {
			t.Errorf("v2=%v: expired token gives %v", v2, err)
		}
	}
}

func TestSelfSignedServerNamesInsecureFlag(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, `{"Version":"v3.2.11"}`)
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the rejected handshake is the point
	srv.StartTLS()
	defer srv.Close()
	c, _ := NewClient(srv.URL, tlsConfig(false, "example.com"))
	_, err := c.Version(context.Background())
	var te *TLSError
	if !errors.As(err, &te) || !te.SelfSigned {
		t.Fatalf("want a self-signed TLSError, got %v", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "self-signed") || !strings.Contains(msg, "--insecure") || strings.Contains(msg, "\n") {
		t.Errorf("error must say self-signed and name --insecure on one line: %q", msg)
	}
	c, _ = NewClient(srv.URL, tlsConfig(true, ""))
	if _, err := c.Version(context.Background()); err != nil {
		t.Errorf("with --insecure: %v", err)
	}
}

func TestRedirectIsNotFollowedWithCredentials(t *testing.T) {
	hit := false
	target := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hit = true }))
	defer target.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	defer srv.Close()
	c, _ := NewClient(srv.URL, nil)
	err := c.Login(context.Background(), "admin", "secret")
	if err == nil || hit || strings.Contains(err.Error(), "secret") {
		t.Errorf("login through a redirect: err=%v, followed=%v", err, hit)
	}
}

func TestUnreachable(t *testing.T) {
	c, _ := NewClient("http://127.0.0.1:1", nil)
	_, err := c.Version(context.Background())
	var ue *UnreachableError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "cannot reach Argo CD at 127.0.0.1:1") {
		t.Errorf("got %v", err)
	}
}

func TestRequireSkipsUnroutableObjects(t *testing.T) {
	f, srv := newFakeArgo(t)
	c, _ := NewClient(srv.URL, nil)
	c.SetToken(f.token)
	s := &Session{Client: c, User: "admin"}
	if err := s.Require(context.Background(), "create", "https://127.0.0.1:8443"); err != nil {
		t.Fatal(err)
	}
	if err := s.Require(context.Background(), "create", "https://vcluster.vcluster-x"); err != nil {
		t.Fatal(err)
	}
	var canI []string
	for _, r := range f.requests {
		if strings.Contains(r, "can-i") {
			canI = append(canI, r)
		}
	}
	if len(canI) != 1 || !strings.Contains(canI[0], "/can-i/clusters/create/https%3A%2F%2Fvcluster.vcluster-x") {
		t.Errorf("can-i requests %v: want one, for the port-less server, fully escaped", canI)
	}
}

func TestOptionsValidate(t *testing.T) {
	for _, o := range []Options{{Auth: "sso"}, {Server: "ftp://x"}, {Server: "https://"}} {
		var ue *tenant.UsageError
		if err := o.Validate(); !errors.As(err, &ue) {
			t.Errorf("%+v: want a usage error, got %v", o, err)
		}
	}
	u, err := serverURL("argocd.example.com", false)
	if err != nil || u.String() != "https://argocd.example.com" {
		t.Errorf("bare host: %v %v", u, err)
	}
	if u, _ := serverURL("https://argocd.example.com/", true); u.String() != "http://argocd.example.com" {
		t.Errorf("--plaintext: %v", u)
	}
}

// TestSelfSignedErrorNamesTheCommandsFlag: the advice names the flag of the
// command that failed: create's --argocd-insecure, the environment for the
// interactive app, register's --insecure by default (M12).
func TestSelfSignedErrorNamesTheCommandsFlag(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, `{"Version":"v3.2.11"}`)
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	defer srv.Close()
	for flags, want := range map[FlagNames]string{
		{}:            "pass --insecure to skip",
		PrefixedFlags: "pass --argocd-insecure to skip",
		EnvFlags:      "pass KUBECTL_TENANT_ARGOCD_INSECURE=true to skip",
	} {
		_, err := Login(context.Background(), nil, nil, Options{Server: srv.URL, Flags: flags})
		var te *TLSError
		if !errors.As(err, &te) || !strings.Contains(err.Error(), want) {
			t.Errorf("flags %+v: got %v; want a TLSError saying %q", flags, err, want)
		}
	}
	env := map[string]string{hostconfig.EnvArgoCDInsecure: "true", hostconfig.EnvArgoCDServer: srv.URL}
	o := OptionsFrom(hostconfig.Resolver{Getenv: envOf(env)}.ArgoCD(""), envOf(env))
	if !o.Insecure || o.Validate() != nil {
		t.Fatalf("%s=true: %+v", hostconfig.EnvArgoCDInsecure, o)
	}
	env[TokenEnv] = "tok"
	o.Auth = AuthToken
	s, err := Login(context.Background(), nil, nil, o)
	if err != nil {
		t.Fatalf("with %s=true: %v", hostconfig.EnvArgoCDInsecure, err)
	}
	s.Close()
	env[hostconfig.EnvArgoCDInsecure] = "yes please"
	var ue *tenant.UsageError
	if err := OptionsFrom(hostconfig.Resolver{Getenv: envOf(env)}.ArgoCD(""), envOf(env)).Validate(); !errors.As(err, &ue) {
		t.Errorf("malformed %s: %v, want a usage error", hostconfig.EnvArgoCDInsecure, err)
	}
}

// TestSessionCloseLogsOut: a session Login created with the admin password
// is logged out (DELETE /api/v1/session) by Close; a user's own token is
// never ended (L14).
func TestSessionCloseLogsOut(t *testing.T) {
	f, srv := newFakeArgo(t)
	kube := fake.NewClientset(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: InitialAdminSecret, Namespace: "argocd"},
		Data: map[string][]byte{"password": []byte("pw")}})
	s, err := Login(context.Background(), kube, nil, Options{Server: srv.URL, Insecure: true, Auth: AuthInitialAdmin})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if f.logins != 1 || f.logouts != 1 || !f.revoked {
		t.Errorf("logins %d, logouts %d: want the session ended", f.logins, f.logouts)
	}
	f.revoked = false
	s, err = Login(context.Background(), kube, nil, Options{Server: srv.URL, Insecure: true, Getenv: envOf(map[string]string{TokenEnv: f.token})})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if f.logouts != 1 || f.revoked {
		t.Errorf("the user's token from $%s was logged out", TokenEnv)
	}
}

// envOf is an environment of m, read when the function is called (so a
// test may change m between calls).
func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}
