package e2e

import (
	"bytes"
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
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/kubeconfig"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/session"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
)

// These tests are about local processes and files (the forwarder, its
// signals, session state), so their host "cluster" is a loopback TLS server
// that records what it is sent and never answers: no playground needed.

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

// TestDisconnectLeavesAStalePIDAlone: the session's forwarder died long ago
// and its PID now belongs to an unrelated process; disconnect cleans the
// context and leaves that process alone (H1).
func TestDisconnectLeavesAStalePIDAlone(t *testing.T) {
	w := newLocalWorld(t, "https://127.0.0.1:1")
	victim := exec.Command("sleep", "300")
	if err := victim.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- victim.Wait() }()
	t.Cleanup(func() { _ = victim.Process.Kill() })
	before, _ := os.ReadFile(w.kubeconfig)
	if _, err := (kubeconfig.Store{Path: w.kubeconfig}).Upsert(kubeconfig.Entry{Name: "demo", Tenant: "demo", Host: "host", Server: "https://127.0.0.1:2"}, true); err != nil {
		t.Fatal(err)
	}
	if err := w.sessions().Save(session.Session{Tenant: "demo", Context: "demo", Kubeconfig: w.kubeconfig, PreviousContext: "host", HostContext: "host", PID: victim.Process.Pid}); err != nil {
		t.Fatal(err)
	}
	out, err := w.command("disconnect", "demo").CombinedOutput()
	if err != nil {
		t.Fatalf("disconnect: %v\n%s", err, out)
	}
	select {
	case err := <-exited:
		t.Fatalf("disconnect signalled the unrelated process %d: %v", victim.Process.Pid, err)
	case <-time.After(time.Second):
	}
	after, _ := os.ReadFile(w.kubeconfig)
	if c, _ := clientcmd.Load(after); c.CurrentContext != "host" || c.Contexts["demo"] != nil {
		t.Errorf("after disconnect:\n%s\nwant as before:\n%s", after, before)
	}
	if _, ok, _ := w.sessions().Get(w.kubeconfig, "demo"); ok {
		t.Error("session left")
	}
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

// TestBackgroundConnectKeepsIdentityAndCtrlCStopsIt: the forwarder acts
// with the user's --as/--as-group, TLS flags and token (M3), has no token in
// its environment or argv (L14), and Ctrl-C of the parent while it connects
// leaves no forwarder, session or context behind (M2).
func TestBackgroundConnectKeepsIdentityAndCtrlCStopsIt(t *testing.T) {
	api := newHangingAPI(t)
	w := newLocalWorld(t, api.URL) // no CA: only --insecure-skip-tls-verify reaches it
	before, _ := os.ReadFile(w.kubeconfig)
	const token = "E2E-SECRET-BEARER-TOKEN"
	parent := w.command("connect", "demo", "--background", "--token", token,
		"--as", "restricted-user", "--as-group", "viewers", "--insecure-skip-tls-verify")
	var stderr bytes.Buffer
	parent.Stderr = &stderr
	if err := parent.Start(); err != nil {
		t.Fatal(err)
	}
	parentDone := make(chan struct{})
	go func() { _ = parent.Wait(); close(parentDone) }()
	t.Cleanup(func() { _ = parent.Process.Kill() })
	select {
	case <-api.got:
	case <-parentDone:
		t.Fatalf("parent exited before the forwarder reached the API: %s", stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("the forwarder never reached the API (TLS flags dropped?); stderr: %s", stderr.String())
	}
	api.mu.Lock()
	h := api.seen[0]
	api.mu.Unlock()
	if h.Get("Impersonate-User") != "restricted-user" || h.Get("Impersonate-Group") != "viewers" || h.Get("Authorization") != "Bearer "+token {
		t.Errorf("the forwarder's request lacks the user's identity: %v", h)
	}
	child := childOf(parent.Process.Pid)
	if child == 0 {
		t.Fatal("no forwarder process found")
	}
	t.Cleanup(func() { _ = syscall.Kill(child, syscall.SIGKILL) })
	for _, f := range []string{"environ", "cmdline"} {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(child) + "/" + f)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(token)) {
			t.Errorf("the token is in the forwarder's %s", f)
		}
	}
	// Ctrl-C while it connects.
	_ = parent.Process.Signal(os.Interrupt)
	select {
	case <-parentDone:
	case <-time.After(30 * time.Second):
		t.Fatal("parent did not exit after Ctrl-C")
	}
	if code := parent.ProcessState.ExitCode(); code != 3 {
		t.Errorf("exit %d after Ctrl-C, want 3; stderr: %s", code, stderr.String())
	}
	deadline := time.Now().Add(10 * time.Second)
	for !gone(child) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if !gone(child) {
		t.Fatalf("forwarder %d still runs after the parent was interrupted", child)
	}
	if after, _ := os.ReadFile(w.kubeconfig); !bytes.Equal(after, before) {
		t.Errorf("kubeconfig changed:\n%s", after)
	}
	if ss, _ := w.sessions().List(); len(ss) != 0 {
		t.Errorf("sessions left: %+v", ss)
	}
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
	objs := map[string]any{
		"/api/v1/namespaces/vcluster-demo":                     ns,
		"/api/v1/namespaces/vcluster-demo/secrets/vc-vcluster": sec,
		"/api/v1/namespaces/vcluster-demo/services/vcluster":   svc,
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

// TestConcurrentBackgroundConnectsLeaveOneForwarder: two `connect
// --background` of one tenant at once (create plus the TUI, two terminals)
// end with exactly one forwarder, the one the session names; a third
// replaces it; disconnect leaves nothing (L12).
func TestConcurrentBackgroundConnectsLeaveOneForwarder(t *testing.T) {
	api := tenantAPI(t)
	w := newLocalWorld(t, api.URL)
	c, _ := clientcmd.LoadFromFile(w.kubeconfig)
	c.Clusters["host"].CertificateAuthorityData = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: api.Certificate().Raw})
	if err := clientcmd.WriteToFile(*c, w.kubeconfig); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(w.kubeconfig)
	t.Cleanup(func() {
		for _, pid := range w.forwarders() {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	for round := range 3 {
		var wg sync.WaitGroup
		outs := make([]string, 2)
		codes := make([]int, 2)
		for i := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				cmd := w.command("connect", "demo", "--background")
				out, _ := cmd.CombinedOutput()
				outs[i], codes[i] = string(out), cmd.ProcessState.ExitCode()
			}()
		}
		wg.Wait()
		if codes[0] != 0 && codes[1] != 0 {
			t.Fatalf("round %d: both connects failed:\n%s\n%s", round, outs[0], outs[1])
		}
		fw := w.forwarders()
		s, ok, _ := w.sessions().Get(w.kubeconfig, "demo")
		if len(fw) != 1 || !ok || s.Holder() != fw[0] {
			t.Fatalf("round %d: forwarders %v, session %+v (holder %d); want exactly one, the session's\n%s\n%s", round, fw, s, s.Holder(), outs[0], outs[1])
		}
		// A later connect replaces it.
		cmd := w.command("connect", "demo", "--background")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("third connect: %v\n%s", err, out)
		}
		if now := w.forwarders(); len(now) != 1 || now[0] == fw[0] {
			t.Fatalf("round %d: after a third connect forwarders %v (before %v)", round, now, fw)
		}
		if out, err := w.command("disconnect", "demo").CombinedOutput(); err != nil {
			t.Fatalf("disconnect: %v\n%s", err, out)
		}
		if fw := w.forwarders(); len(fw) != 0 {
			t.Fatalf("round %d: forwarders left after disconnect: %v", round, fw)
		}
		if after, _ := os.ReadFile(w.kubeconfig); !bytes.Equal(after, before) {
			t.Fatalf("round %d: kubeconfig after disconnect:\n%s", round, after)
		}
	}
}
