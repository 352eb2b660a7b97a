package e2e

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	authnv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	certutil "k8s.io/client-go/util/cert"
	"k8s.io/client-go/util/keyutil"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/session"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
)

// localWorld is a kubeconfig whose host context "host" points at server,
// and a state directory.
type localWorld struct {
	t                    *testing.T
	bin, kubeconfig, dir string
}

func newLocalWorld(t *testing.T, server string) *localWorld {
	w := &localWorld{t: t, bin: binary(t), dir: t.TempDir()}
	w.kubeconfig = filepath.Join(t.TempDir(), "config")
	c := clientcmdapi.NewConfig()
	c.Clusters["host"] = &clientcmdapi.Cluster{Server: server}
	c.AuthInfos["host"] = &clientcmdapi.AuthInfo{}
	c.Contexts["host"] = &clientcmdapi.Context{Cluster: "host", AuthInfo: "host"}
	c.CurrentContext = "host"
	if err := clientcmd.WriteToFile(*c, w.kubeconfig); err != nil {
		t.Fatal(err)
	}
	return w
}

func (w *localWorld) command(args ...string) *exec.Cmd {
	cmd := exec.Command(w.bin, args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+w.kubeconfig, "KUBECTL_TENANT_STATE_DIR="+w.dir, "NO_COLOR=1")
	return cmd
}

func (w *localWorld) sessions() session.Store {
	return session.Store{Dir: filepath.Join(w.dir, "sessions")}
}

// forwarders lists the forwarder processes of this world.
func (w *localWorld) forwarders() []int {
	var out []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || gone(pid) {
			continue
		}
		cl, _ := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		env, _ := os.ReadFile("/proc/" + e.Name() + "/environ")
		if bytes.Contains(cl, []byte("--forwarder")) && bytes.Contains(env, []byte("KUBECTL_TENANT_STATE_DIR="+w.dir+"\x00")) {
			out = append(out, pid)
		}
	}
	return out
}

// gone reports whether pid has exited. A zombie counts as exited: a
// forwarder's parent has exited, and PID 1 of some sandboxes reaps late.
func gone(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i > 0 && len(s) > i+2 && s[i+2] == 'Z'
}

// childOf finds a process whose parent is ppid.
func childOf(ppid int) int {
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) > 1 && f[1] == strconv.Itoa(ppid) {
			return pid
		}
	}
	return 0
}

// hangingAPI is a TLS server that records each request's headers and never
// answers until the test ends.
type hangingAPI struct {
	*httptest.Server
	mu   sync.Mutex
	seen []http.Header
	got  chan struct{}
}

func newHangingAPI(t *testing.T) *hangingAPI {
	a := &hangingAPI{got: make(chan struct{}, 100)}
	done := make(chan struct{})
	a.Server = httptest.NewTLSServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		a.seen = append(a.seen, r.Header.Clone())
		a.mu.Unlock()
		a.got <- struct{}{}
		select {
		case <-done:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { close(done); a.Close() })
	return a
}

// tenantAPI is a TLS server that answers the few calls a connect makes for
// tenant "demo" exposed at a LoadBalancer address (no port-forward needed).
func tenantAPI(t *testing.T) *httptest.Server {
	ns := &corev1.Namespace{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"},
		ObjectMeta: metav1.ObjectMeta{Name: "vcluster-demo", Labels: map[string]string{tenant.LabelName: "demo"}}}
	sec := &corev1.Secret{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{Name: "vc-vcluster", Namespace: "vcluster-demo"},
		Data:       map[string][]byte{"certificate-authority": []byte("ca"), "client-certificate": []byte("c"), "client-key": []byte("k")}}
	svc := &corev1.Service{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: metav1.ObjectMeta{Name: "vcluster", Namespace: "vcluster-demo"},
		Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer},
		Status:     corev1.ServiceStatus{LoadBalancer: corev1.LoadBalancerStatus{Ingress: []corev1.LoadBalancerIngress{{IP: "127.0.0.1"}}}}}
	// connect mints the context's first credential (a client certificate
	// from the tenant's client CA, for the host user a SelfSubjectReview
	// names), so the fake host serves both.
	certs := &corev1.Secret{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{Name: tenant.CertsSecret, Namespace: "vcluster-demo"},
		Data:       clientCA(t)}
	review := &authnv1.SelfSubjectReview{TypeMeta: metav1.TypeMeta{APIVersion: "authentication.k8s.io/v1", Kind: "SelfSubjectReview"},
		Status: authnv1.SelfSubjectReviewStatus{UserInfo: authnv1.UserInfo{Username: "e2e-user"}}}
	objs := map[string]any{
		"/api/v1/namespaces/vcluster-demo":                               ns,
		"/api/v1/namespaces/vcluster-demo/secrets/vc-vcluster":           sec,
		"/api/v1/namespaces/vcluster-demo/secrets/" + tenant.CertsSecret: certs,
		"/api/v1/namespaces/vcluster-demo/services/vcluster":             svc,
		"/apis/authentication.k8s.io/v1/selfsubjectreviews":              review,
	}
	srv := httptest.NewTLSServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		rw.Header().Set("Content-Type", "application/json")
		o, ok := objs[r.URL.Path]
		if !ok {
			rw.WriteHeader(http.StatusNotFound)
			_ = json.NewEncoder(rw).Encode(metav1.Status{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Status"},
				Status: metav1.StatusFailure, Reason: metav1.StatusReasonNotFound, Code: http.StatusNotFound})
			return
		}
		_ = json.NewEncoder(rw).Encode(o)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// clientCA is the data of a vcluster-certs Secret holding a new client CA.
func clientCA(t *testing.T) map[string][]byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := certutil.NewSelfSignedCACert(certutil.Config{CommonName: "client-ca"}, key)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM, err := keyutil.MarshalPrivateKeyToPEM(key)
	if err != nil {
		t.Fatal(err)
	}
	return map[string][]byte{
		"client-ca.crt": pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Raw}),
		"client-ca.key": keyPEM,
	}
}
