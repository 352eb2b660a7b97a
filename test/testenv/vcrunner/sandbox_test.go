package vcrunner_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-tenant/kubectl-tenant/test/testenv"
	"github.com/kubectl-tenant/kubectl-tenant/test/testenv/vcrunner"
)

// fakeVCluster runs when this test binary is started as /binaries/vcluster
// inside a sandbox (see TestMain): it reports what it sees and stays up.
func fakeVCluster() int {
	fmt.Printf("args: %s\n", strings.Join(os.Args[1:], " "))
	env := os.Environ()
	sort.Strings(env)
	for _, e := range env {
		fmt.Println(e)
	}
	for _, d := range []string{"/data", "/binaries", "/conf", "/tmp", "/etcd"} {
		if st, err := os.Stat(d); err == nil && st.IsDir() {
			fmt.Println("dir", d)
		}
	}
	if _, err := os.Stat("/etc/os-release"); err == nil {
		fmt.Println("host /etc visible")
	}
	// etcd: TLS with client certificates on 127.0.0.1:2379.
	ca, _ := os.ReadFile("/conf/etcd/ca.crt")
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	cert, err := tls.LoadX509KeyPair("/conf/etcd/client.crt", "/conf/etcd/client.key")
	if err != nil {
		fmt.Println("client cert:", err)
	}
	for i := 0; i < 80; i++ {
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: time.Second}, "tcp", "127.0.0.1:2379",
			&tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}, ServerName: "127.0.0.1"})
		if err == nil {
			c.Close()
			fmt.Println("etcd TLS ok")
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		fmt.Println("addr", a.String())
	}
	kc, _ := os.ReadFile("/conf/host.kubeconfig")
	for _, l := range strings.Split(string(kc), "\n") {
		if strings.Contains(l, "server:") || strings.Contains(l, "tls-server-name:") {
			fmt.Println(strings.TrimSpace(l))
		}
	}
	if err := os.WriteFile("/data/marker", []byte("from-the-sandbox\n"), 0o644); err != nil {
		fmt.Println("write /data:", err)
	}
	fmt.Println("fake vcluster ready")
	time.Sleep(time.Hour)
	return 0
}

// TestSandbox checks the tenant sandbox without an apiserver: network
// namespace and veth, the private root with /data, /binaries, /conf, /etcd
// and /tmp, a TLS etcd on 127.0.0.1:2379 inside, the rewritten host
// kubeconfig, that the host root stays untouched, and that stopping removes
// everything. This test binary stands in for the vcluster binary.
func TestSandbox(t *testing.T) {
	if err := vcrunner.Preflight(); err != nil {
		t.Fatal(err)
	}
	bins, err := testenv.EnsureBinaries(t.Context(), t.Logf, testenv.Extras{})
	if err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir() // under /tmp, which the sandbox replaces: paths must still resolve
	kc := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(kc, []byte(`apiVersion: v1
kind: Config
clusters:
- name: playground
  cluster: {server: "https://127.0.0.1:6443"}
contexts:
- name: playground
  context: {cluster: playground, user: admin}
users:
- name: admin
  user: {token: secret}
current-context: playground
`), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	sb, err := vcrunner.StartSandbox(ctx, dir, kc, map[string]string{"vcluster": self, "etcd": bins["etcd"]}, "vcluster-demo", "vcluster-0")
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			_ = sb.Stop(ctx)
		}
	})
	var log string
	for start := time.Now(); time.Since(start) < 30*time.Second; time.Sleep(200 * time.Millisecond) {
		b, _ := os.ReadFile(sb.Log)
		if log = string(b); strings.Contains(log, "fake vcluster ready") {
			break
		}
	}
	for _, want := range []string{
		"args: start --config /conf/config.yaml",
		"POD_NAME=vcluster-0", "VCLUSTER_NAME=vcluster", "NAMESPACE=vcluster-demo", "POD_IP=10.0.0.9",
		"KUBECONFIG=/conf/host.kubeconfig",
		"dir /data", "dir /binaries", "dir /conf", "dir /tmp", "dir /etcd",
		"host /etc visible",
		"etcd TLS ok",
		"addr " + sb.NSIP + "/30",
		"server: https://" + sb.HostIP + ":6443",
		"tls-server-name: 127.0.0.1",
		"fake vcluster ready",
	} {
		if !strings.Contains(log, want) {
			t.Fatalf("sandbox output lacks %q:\n%s", want, log)
		}
	}
	if b, err := os.ReadFile(filepath.Join(sb.Dir, "data", "marker")); err != nil || strings.TrimSpace(string(b)) != "from-the-sandbox" {
		t.Fatalf("/data inside is not the tenant's data dir: %v %q", err, b)
	}
	for _, p := range []string{"/data", "/binaries", "/conf", "/etcd"} {
		if _, err := os.Stat(p); err == nil {
			t.Fatalf("%s exists on the host root", p)
		}
	}
	left := strings.Join(vcrunner.Leftovers(dir), "\n")
	for _, want := range []string{"process ", "netns " + sb.NetNS, "veth ", "state dir "} {
		if !strings.Contains(left, want) {
			t.Fatalf("while running, Leftovers lacks %q:\n%s", want, left)
		}
	}
	if err := sb.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	stopped = true
	if left := vcrunner.Leftovers(dir); len(left) > 0 {
		t.Fatalf("left after stop: %v", left)
	}
}
