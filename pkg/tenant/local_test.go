package tenant

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/kubeconfig"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/session"
)

// credBackend hands out credentials, so Connect gets past them.
type credBackend struct{ *fakeBackend }

func (credBackend) Credentials(context.Context, string) (*Credentials, error) {
	return &Credentials{CA: []byte("ca"), ClientCert: []byte("c"), ClientKey: []byte("k")}, nil
}

// exposed is a tenant whose Service is a LoadBalancer with an address, so
// Connect needs no port-forward.
func exposed(name string) []runtime.Object {
	return []runtime.Object{tenantNS(name, nil), &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: ReleaseName, Namespace: NamespaceFor(name)},
		Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer},
		Status:     corev1.ServiceStatus{LoadBalancer: corev1.LoadBalancerStatus{Ingress: []corev1.LoadBalancerIngress{{IP: "10.0.0.1"}}}},
	}}
}

// userKubeconfig writes a kubeconfig with the user's context host (current).
func userKubeconfig(t *testing.T, e *Engine, host string) []byte {
	t.Helper()
	c := clientcmdapi.NewConfig()
	c.Clusters[host] = &clientcmdapi.Cluster{Server: "https://192.168.49.2:8443"}
	c.AuthInfos[host] = &clientcmdapi.AuthInfo{Token: "t"}
	c.Contexts[host] = &clientcmdapi.Context{Cluster: host, AuthInfo: host}
	c.CurrentContext = host
	b, _ := clientcmd.Write(*c)
	if err := os.WriteFile(e.Kubeconfig.Path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	e.HostContext = host
	return b
}

// TestConnectRefusesTheUsersContext: `create minikube` on host context
// minikube: connect refuses (usage error naming --context-name) and changes
// nothing; another --context-name works (H2).
func TestConnectRefusesTheUsersContext(t *testing.T) {
	e, _, b := newEngine(t, exposed("minikube")...)
	e.Backend = credBackend{b}
	before := userKubeconfig(t, e, "minikube")
	ctx := context.Background()
	_, err := e.Connect(ctx, ConnectOptions{Name: "minikube", Activate: true, Record: true})
	var ue *UsageError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "--context-name") {
		t.Fatalf("Connect over the user's context: %v", err)
	}
	if after, _ := os.ReadFile(e.Kubeconfig.Path); !bytes.Equal(after, before) {
		t.Fatalf("kubeconfig changed:\n%s", after)
	}
	if ss, _ := e.Sessions.List(); len(ss) != 0 {
		t.Fatalf("sessions recorded: %v", ss)
	}
	c, err := e.Connect(ctx, ConnectOptions{Name: "minikube", ContextName: "minikube-t", Activate: true, Record: true})
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if _, err := e.Disconnect(ctx, "minikube-t"); err != nil {
		t.Fatal(err)
	}
	if after, _ := os.ReadFile(e.Kubeconfig.Path); !bytes.Equal(after, before) {
		t.Fatalf("connect + disconnect under another name left:\n%s", after)
	}
}

// TestDeleteLeavesAnotherHostsConnection: delete of tenant "gone" through
// host cluster-a must not stop or remove cluster-b's connection of a tenant
// with the same name, and reports not found (M5).
func TestDeleteLeavesAnotherHostsConnection(t *testing.T) {
	e, _, _ := newEngine(t)
	userKubeconfig(t, e, "cluster-b")
	if _, err := e.Kubeconfig.Upsert(kubeconfig.Entry{Name: "gone", Tenant: "gone", Host: "cluster-b", Server: "https://127.0.0.1:1"}, true); err != nil {
		t.Fatal(err)
	}
	l, err := e.Sessions.Lock(e.Kubeconfig.Path, "gone") // cluster-b's forwarder, alive
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release()
	if err := e.Sessions.Save(session.Session{Tenant: "gone", Context: "gone", Kubeconfig: e.Kubeconfig.Path, HostContext: "cluster-b", PreviousContext: "cluster-b"}); err != nil {
		t.Fatal(err)
	}
	e.HostContext = "cluster-a"
	err = e.Delete(context.Background(), DeleteOptions{Name: "gone"})
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("delete of a tenant cluster-a does not have: %v", err)
	}
	s, ok, _ := e.Sessions.Get(e.Kubeconfig.Path, "gone")
	if !ok || !s.Alive() {
		t.Fatalf("cluster-b's session was removed or stopped: %+v %v", s, ok)
	}
	if _, ok := e.Kubeconfig.Owned("gone"); !ok {
		t.Fatal("cluster-b's context was removed")
	}
	if e.connectedSet()["gone"] {
		t.Error("list through cluster-a shows cluster-b's connection as connected")
	}
}

// TestDisconnectWithoutSession: a context the tool wrote whose session is
// lost is removed by disconnect, restoring the context from before (M10).
func TestDisconnectWithoutSession(t *testing.T) {
	e, _, _ := newEngine(t)
	before := userKubeconfig(t, e, "prod")
	if _, err := e.Kubeconfig.Upsert(kubeconfig.Entry{Name: "demo", Tenant: "demo", Host: "prod", Server: "https://127.0.0.1:1"}, true); err != nil {
		t.Fatal(err)
	}
	if name, err := e.CurrentSession(); err != nil || name != "demo" {
		t.Fatalf("CurrentSession = %q, %v", name, err)
	}
	s, err := e.Disconnect(context.Background(), "demo")
	if err != nil || s.PreviousContext != "prod" {
		t.Fatalf("Disconnect = %+v, %v", s, err)
	}
	if after, _ := os.ReadFile(e.Kubeconfig.Path); !bytes.Equal(after, before) {
		t.Fatalf("left:\n%s", after)
	}
	if _, err := e.Disconnect(context.Background(), "prod"); err == nil {
		t.Fatal("disconnect of the user's own context succeeded")
	}
}

// TestConnectUndoesTheSwitchWhenRecordingFails: a late failure (the session
// cannot be saved) leaves neither the tenant context nor the switch (M10).
func TestConnectUndoesTheSwitchWhenRecordingFails(t *testing.T) {
	e, _, b := newEngine(t, exposed("demo")...)
	e.Backend = credBackend{b}
	before := userKubeconfig(t, e, "prod")
	// A directory where the session file goes: the rename fails.
	if err := os.MkdirAll(filepath.Join(e.Sessions.Dir, session.Key(e.Kubeconfig.Path, "demo")+".json", "x"), 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Connect(context.Background(), ConnectOptions{Name: "demo", Activate: true, Record: true}); err == nil {
		t.Fatal("Connect succeeded without recording")
	}
	if after, _ := os.ReadFile(e.Kubeconfig.Path); !bytes.Equal(after, before) {
		t.Fatalf("a failed connect left:\n%s", after)
	}
	if s, _, _ := e.Sessions.Get(e.Kubeconfig.Path, "demo"); s.Alive() {
		t.Error("the failed connect still holds the session lock")
	}
}

func TestValidateContextName(t *testing.T) {
	for _, ok := range []string{"demo", "arn:aws:eks:eu-west-1:123:cluster/demo", "../../x", "gke_p_z_c"} {
		if err := ValidateContextName(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "  ", "a\nb", "a\x1b[31m", strings.Repeat("x", 254)} {
		if err := ValidateContextName(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
