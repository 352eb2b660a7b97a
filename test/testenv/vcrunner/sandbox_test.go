package vcrunner_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-tenant/kubectl-tenant/test/testenv"
	"github.com/kubectl-tenant/kubectl-tenant/test/testenv/vcrunner"
)

// fakeVCluster stands in for the vcluster binary: it reports what it sees
// inside the sandbox and stays up.
const fakeVCluster = `#!/bin/sh
echo "args: $*"
echo "cwd: $(pwd)"
env | sort
for d in /data /binaries /conf /tmp /etcd; do test -d $d && echo "dir $d"; done
ls /binaries
test -r /etc/os-release && echo "host /etc visible"
for i in $(seq 1 40); do
  if curl -sS --cacert /conf/etcd/ca.crt --cert /conf/etcd/client.crt --key /conf/etcd/client.key https://127.0.0.1:2379/health; then echo; echo "etcd healthy"; break; fi
  sleep 0.25
done
ip -4 -o addr
grep -E 'server:|tls-server-name:' /conf/host.kubeconfig
echo from-the-sandbox > /data/marker
exec sleep 1000
`

// TestSandbox checks the tenant sandbox without an apiserver: network
// namespace and veth, the private root with /data, /binaries, /conf and /tmp,
// a TLS etcd on 127.0.0.1:2379 inside, the rewritten host kubeconfig, that the
// host root stays untouched, and that stopping removes everything.
func TestSandbox(t *testing.T) {
	if err := vcrunner.Preflight(); err != nil {
		t.Fatal(err)
	}
	bins, err := testenv.EnsureBinaries(t.Context(), t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir() // under /tmp, which the sandbox replaces: paths must still resolve
	fake := filepath.Join(dir, "fake-vcluster")
	if err := os.WriteFile(fake, []byte(fakeVCluster), 0o755); err != nil {
		t.Fatal(err)
	}
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
	sb, err := vcrunner.StartSandbox(ctx, dir, kc, map[string]string{"vcluster": fake, "etcd": bins["etcd"]}, "vcluster-demo", "vcluster-0")
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
		if log = string(b); strings.Contains(log, "tls-server-name") {
			break
		}
	}
	for _, want := range []string{
		"args: start --config /conf/config.yaml",
		"POD_NAME=vcluster-0", "VCLUSTER_NAME=vcluster", "NAMESPACE=vcluster-demo", "POD_IP=10.0.0.9",
		"KUBECONFIG=/conf/host.kubeconfig",
		"dir /data", "dir /binaries", "dir /conf", "dir /tmp", "dir /etcd",
		"host /etc visible",
		"etcd healthy",
		sb.NSIP + "/30",
		"server: https://" + sb.HostIP + ":6443",
		"tls-server-name: 127.0.0.1",
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
	if left := vcrunner.Leftovers(dir); len(left) < 4 {
		t.Fatalf("expected processes, netns, veth and state dir while running, got %v", left)
	}
	if err := sb.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	stopped = true
	if left := vcrunner.Leftovers(dir); len(left) > 0 {
		t.Fatalf("left after stop: %v", left)
	}
}
