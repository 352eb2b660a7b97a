package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-tenant/kubectl-tenant/internal/support"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
	"github.com/kubectl-tenant/kubectl-tenant/test/testenv"
)

// The real clients users already have agree with what kubectl-tenant did:
// helm sees the release, the vcluster CLI sees the vCluster, and the argocd
// CLI sees the registered cluster with its labels, connected. They share no
// code path with kubectl-tenant's output; each runs as its own binary, built
// by the harness from the same modules as the playground's parts.

// harnessBin is the path of the harness-built binary name; missing is a failure, never
// a skip (the harness builds every one of them).
func (w *world) harnessBin(name string) string {
	w.t.Helper()
	p := w.env.Bins[name]
	if p == "" {
		w.t.Fatalf("the playground has no %s binary (env.json bins: %v)", name, w.env.Bins)
	}
	if _, err := os.Stat(p); err != nil {
		w.t.Fatalf("the harness's %s binary: %v", name, err)
	}
	return p
}

// client runs a real client binary with the world's KUBECONFIG and a
// private HOME (no config of this machine's user is read or written).
func (w *world) client(bin string, extra []string, args ...string) (string, error) {
	w.t.Helper()
	home := filepath.Join(w.stateDir, "client-home")
	if err := os.MkdirAll(home, 0o700); err != nil {
		w.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(append(w.environ(), "HOME="+home, "XDG_CONFIG_HOME="+filepath.Join(home, ".config"),
		"XDG_CACHE_HOME="+filepath.Join(home, ".cache"), "XDG_DATA_HOME="+filepath.Join(home, ".local")), extra...)
	out, err := cmd.Output()
	if ee, ok := err.(*exec.ExitError); ok {
		err = fmt.Errorf("%w: %s", err, ee.Stderr)
	}
	return string(out), err
}

// argocdCLI is the argocd CLI logged in as admin to the playground's
// argocd-server, reached the way a user does: a port-forward of Service
// argocd/argocd-server. Argo CD's binary is multi-call; ARGOCD_BINARY_NAME
// picks the CLI.
type argocdCLI struct {
	w      *world
	bin    string
	config string
}

func (w *world) argocdLogin() *argocdCLI {
	w.t.Helper()
	c := &argocdCLI{w: w, bin: w.harnessBin(w.argoBin), config: filepath.Join(w.stateDir, "argocd-config")}
	addr, stop, err := w.env.ForwardService(context.Background(), w.argoNS, "argocd-server", 443)
	if err != nil {
		w.t.Fatalf("port-forward to argocd-server: %v", err)
	}
	w.t.Cleanup(stop)
	// --plaintext: the playground's argocd-server runs --insecure (plain
	// HTTP/gRPC behind the apiserver's TLS port-forward). --skip-test-tls:
	// login otherwise first probes the address with a TLS handshake, which
	// the plain server resets, and a port-forward (kubectl's too) ends on
	// a reset stream, so every later call hangs or is refused.
	if out, err := c.run("login", addr, "--username", "admin", "--password", w.adminPassword(), "--plaintext", "--skip-test-tls"); err != nil {
		w.t.Fatalf("argocd login: %v\n%s", err, out)
	}
	return c
}

func (c *argocdCLI) run(args ...string) (string, error) {
	c.w.t.Helper()
	return c.w.client(c.bin, []string{"ARGOCD_BINARY_NAME=argocd"}, append(args, "--config", c.config)...)
}

// cluster is server's item of `argocd cluster list -o json` (v1alpha1.Cluster,
// the same JSON as GET /api/v1/clusters).
func (c *argocdCLI) cluster(server string) (argoCluster, bool) {
	c.w.t.Helper()
	out, err := c.run("cluster", "list", "-o", "json")
	if err != nil {
		c.w.t.Fatalf("argocd cluster list: %v\n%s", err, out)
	}
	var l []argoCluster
	if err := json.Unmarshal([]byte(out), &l); err != nil {
		c.w.t.Fatalf("argocd cluster list -o json: %v\n%s", err, out)
	}
	for _, cl := range l {
		if cl.Server == server {
			return cl, true
		}
	}
	return argoCluster{}, false
}

// appInto applies an Application that deploys a ConfigMap from a local git
// repository into server, so that argocd-application-controller monitors
// that cluster: Argo CD keeps a cluster's connection state current only for
// clusters with applications ("Cluster has no applications and is not being
// monitored" otherwise).
func (w *world) appInto(name, server string) {
	w.t.Helper()
	repo := filepath.Join(w.t.TempDir(), "app")
	if err := os.MkdirAll(repo, 0o755); err != nil {
		w.t.Fatal(err)
	}
	cm := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: realclients\n  namespace: default\ndata:\n  from: argocd\n"
	if err := os.WriteFile(filepath.Join(repo, "cm.yaml"), []byte(cm), 0o644); err != nil {
		w.t.Fatal(err)
	}
	gitCommitAll(w.t, repo, "app")
	app := fmt.Sprintf(`apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: %s
  namespace: %s
spec:
  project: default
  source: {repoURL: "file://%s", targetRevision: main, path: .}
  destination: {server: %q, namespace: default}
  syncPolicy: {automated: {}}
`, name, w.argoNS, repo, server)
	f := filepath.Join(w.t.TempDir(), "app.yaml")
	if err := os.WriteFile(f, []byte(app), 0o644); err != nil {
		w.t.Fatal(err)
	}
	if out, err := w.kubectl("apply", "-f", f); err != nil {
		w.t.Fatalf("apply Application: %v\n%s", err, out)
	}
	w.t.Cleanup(func() {
		w.kubectl("delete", "-f", f, "--ignore-not-found", "--wait=true")
	})
}

// TestRealClients: after `create NAME` and `register NAME`, helm, the
// vcluster CLI and the argocd CLI agree with kubectl-tenant.
func TestRealClients(t *testing.T) {
	w := newWorld(t)
	helm := w.harnessBin("helm")
	vclusterCLI(t) // build (or find cached) before the tenant exists
	const name = "e2e-realcli"
	ns := tenant.NamespaceFor(name)
	server := "https://vcluster." + ns
	w.createTenant(name, "project-x")
	w.mustRun("register", name, "--yes")

	func() { // helm list
		out, err := w.client(helm, nil, "list", "-n", ns, "-o", "json")
		if err != nil {
			t.Errorf("helm list: %v\n%s", err, out)
			return
		}
		var rels []struct{ Name, Namespace, Status, Chart string }
		if err := json.Unmarshal([]byte(out), &rels); err != nil {
			t.Errorf("helm list -o json: %v\n%s", err, out)
			return
		}
		wantChart := "vcluster-" + strings.TrimPrefix(testenv.VClusterVersion, "v")
		if len(rels) != 1 || rels[0].Name != tenant.ReleaseName || rels[0].Namespace != ns ||
			rels[0].Status != "deployed" || rels[0].Chart != wantChart {
			t.Errorf("helm list -n %s: %+v, want one release %s (%s) deployed", ns, rels, tenant.ReleaseName, wantChart)
			return
		}
		t.Logf("helm list -n %s: %s %s %s", ns, rels[0].Name, rels[0].Chart, rels[0].Status)
	}()

	func() { // vcluster list
		out, err := w.vcluster("list", "--output", "json", "-n", ns)
		if err != nil {
			t.Errorf("vcluster list: %v\n%s", err, out)
			return
		}
		i := strings.Index(out, "[")
		if i < 0 {
			t.Errorf("vcluster list --output json printed no list:\n%s", out)
			return
		}
		var vcs []struct{ Name, Namespace, Status string }
		if err := json.Unmarshal([]byte(out[i:]), &vcs); err != nil {
			t.Errorf("vcluster list --output json: %v\n%s", err, out)
			return
		}
		if len(vcs) != 1 || vcs[0].Name != tenant.ReleaseName || vcs[0].Namespace != ns || vcs[0].Status != "Running" {
			t.Errorf("vcluster list -n %s: %+v, want %s Running", ns, vcs, tenant.ReleaseName)
			return
		}
		t.Logf("vcluster list -n %s: %s %s", ns, vcs[0].Name, vcs[0].Status)
	}()

	// argocd cluster list, with the CLI of each Argo CD version of the
	// matrix: this tenant in v3.2.11; a second one in v2.14.21.
	argocdClusterList(t, w, name, server)
	for _, v := range testenv.ArgoCDVersions[1:] {
		t.Run(v, func(t *testing.T) {
			w := newWorld(t)
			w.forArgoCD(v)
			name := name + argoSuffix(v)
			w.createTenant(name, "project-z")
			w.mustRun("register", name, "--yes")
			argocdClusterList(t, w, name, "https://vcluster."+tenant.NamespaceFor(name))
		})
	}
}

// argocdClusterList: `argocd cluster list` (the CLI of w's Argo CD) shows
// the registered tenant name at server with its labels, and Successful
// once the application-controller monitors it.
func argocdClusterList(t *testing.T, w *world, name, server string) {
	cli := w.argocdLogin()
	got, ok := cli.cluster(server)
	if !ok {
		t.Fatalf("argocd cluster list has no %s", server)
	}
	if got.Name != name || got.Labels["env"] != "vdev" || got.Labels[tenant.LabelName] != name {
		t.Errorf("argocd cluster list: %s has name %q labels %v, want %q with env=vdev and %s=%s",
			server, got.Name, got.Labels, name, tenant.LabelName, name)
	}
	// Successful from the application-controller's own connection
	// (its cache synced: lastCacheSyncTime set), not only from
	// argocd-server's check when the cluster was added.
	t.Logf("argocd cluster list right after register: %s %q labels %v, state %s (cache sync %v)", server, got.Name, got.Labels,
		got.Info.ConnectionState.Status, got.Info.CacheInfo.LastCacheSyncTime)
	w.appInto("realclients-"+name, server)
	start := time.Now()
	deadline := start.Add(3 * time.Minute)
	for {
		got, ok = cli.cluster(server)
		st := got.Info.ConnectionState
		if ok && st.Status == "Successful" && got.Info.CacheInfo.LastCacheSyncTime != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("argocd cluster list: %s never connected by the application-controller: present %v, state %s %q, last cache sync %v",
				server, ok, st.Status, st.Message, got.Info.CacheInfo.LastCacheSyncTime)
		}
		time.Sleep(2 * time.Second)
	}
	if got.Info.ServerVersion == "" {
		t.Errorf("argocd cluster list: %s connected but no server version: %+v", server, got.Info)
	}
	t.Logf("argocd cluster list: %s Successful, cache synced at %v, server version %s (%s after the Application)",
		server, got.Info.CacheInfo.LastCacheSyncTime, got.Info.ServerVersion, time.Since(start).Round(time.Second))
}

// TestSupportMatrixIsTheHarness: the matrix `kubectl tenant version` and
// README.md print (internal/support) is the versions this suite runs; for
// Argo CD, exactly testenv.ArgoCDVersions, the list argoCDMatrix runs the
// registration and GitOps tests over.
func TestSupportMatrixIsTheHarness(t *testing.T) {
	kubeMinor := strings.Join(strings.SplitN(strings.TrimPrefix(testenv.KubeVersion, "v"), ".", 3)[:2], ".")
	for name, want := range map[string]string{
		support.Kubernetes: kubeMinor,
		support.VCluster:   testenv.VClusterOldChartVersion + ", " + testenv.VClusterChartVersion,
		support.ArgoCD:     strings.Join(testenv.ArgoCDVersions, ", "),
	} {
		if got := support.Versions(name); got != want {
			t.Errorf("support matrix: %s %q, but e2e runs %q", name, got, want)
		}
	}
	if len(support.Matrix) != 3 {
		t.Errorf("support matrix lists %d components; e2e checks 3: %+v", len(support.Matrix), support.Matrix)
	}
}

// gitCommitAll makes dir a git repository (branch main) with one commit of
// everything in it.
func gitCommitAll(t testing.TB, dir, msg string) {
	t.Helper()
	for _, args := range [][]string{
		{"init", "-q", "-b", "main"},
		{"add", "-A"},
		{"-c", "user.name=e2e", "-c", "user.email=e2e@example.com", "commit", "-q", "-m", msg},
	} {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
}
