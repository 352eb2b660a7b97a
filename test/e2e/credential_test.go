package e2e

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/credential"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
)

// Issue #25: the tenant context connect writes holds no secret; an exec
// credential plugin (`kubectl tenant credential`) mints short-lived client
// certificates, only while the caller's host rights allow it.

// tenantKubectl runs the real kubectl through context ctxName of the
// world's kubeconfig, with only KUBECONFIG of the world's environment (as a
// user's shell would run it: no state directory variable).
func (w *world) tenantKubectl(ctxName string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "kubectl", append([]string{"--context", ctxName}, args...)...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+w.kubeconfig)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// secretFreeContext reads the world's kubeconfig file and fails unless the
// tenant context's user holds no key, token or password, only the exec
// plugin.
func secretFreeContext(t *testing.T, w *world, ctxName string) {
	t.Helper()
	cfg, err := clientcmd.LoadFromFile(w.kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	cx := cfg.Contexts[ctxName]
	if cx == nil {
		t.Fatalf("no context %q in %s", ctxName, w.kubeconfig)
	}
	au := cfg.AuthInfos[cx.AuthInfo]
	if au == nil {
		t.Fatalf("context %q names no user", ctxName)
	}
	if len(au.ClientKeyData) > 0 || au.ClientKey != "" || au.Token != "" || au.TokenFile != "" || au.Password != "" || au.Username != "" {
		t.Errorf("the tenant user %s in the kubeconfig holds a secret: %+v", cx.AuthInfo, au)
	}
	if au.Exec == nil || au.Exec.APIVersion != credential.APIVersion || len(au.Exec.Args) < 2 || au.Exec.Args[0] != "credential" {
		t.Errorf("the tenant user %s has no exec credential plugin: %+v", cx.AuthInfo, au.Exec)
	}
	raw, err := os.ReadFile(w.kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(string(raw), "client-key-data") > strings.Count(mustRead(t, w.env.Kubeconfig), "client-key-data") {
		t.Errorf("the kubeconfig gained a client-key-data:\n%s", raw)
	}
}

func mustRead(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestConnectContextHoldsNoSecret: after create and connect --background,
// the kubeconfig holds no client-key-data, token or password for the
// tenant; kubectl and helm work through the context (and so through the
// background forwarder, the context's server); `kubectl auth whoami` in
// the tenant names the host user; the credential cache is 0600 and goes
// with disconnect. `connect -- CMD`'s temporary kubeconfig holds no key
// either.
func TestConnectContextHoldsNoSecret(t *testing.T) {
	const name = "e2e-cred"
	w := newWorld(t)
	hostUser, err := w.kubectl("auth", "whoami", "-o", "jsonpath={.status.userInfo.username}")
	if err != nil || hostUser == "" {
		t.Fatalf("host whoami: %v %s", err, hostUser)
	}
	w.createTenant(name, "project-x")
	w.mustRun("connect", name, "--background")
	sess := w.session(name)
	secretFreeContext(t, w, name)

	if out, err := w.tenantKubectl(name, "get", "ns", "default", "-o", "name"); err != nil || strings.TrimSpace(out) != "namespace/default" {
		t.Fatalf("kubectl get ns through the context: %v\n%s\nforwarder log: %s", err, out, mustRead(t, strings.TrimSuffix(sessKeyFile(w, name), ".cred")+".log"))
	}
	if out, err := w.tenantKubectl(name, "auth", "whoami", "-o", "jsonpath={.status.userInfo.username}"); err != nil || out != hostUser {
		t.Errorf("kubectl auth whoami in the tenant: %q (%v), want the host user %q", out, err, hostUser)
	}
	helm := w.harnessBin("helm")
	if out, err := w.client(helm, nil, "list", "-A", "--kube-context", name); err != nil {
		t.Errorf("helm list through the context: %v\n%s", err, out)
	}
	cache := sessKeyFile(w, name)
	fi, err := os.Stat(cache)
	if err != nil {
		t.Fatalf("no credential cache: %v", err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("credential cache %s is %v, want 0600", cache, fi.Mode().Perm())
	}
	if gone(sess.PID) {
		t.Errorf("the background forwarder %d is gone", sess.PID)
	}

	// connect -- CMD: the temporary kubeconfig holds no key.
	r := w.mustRun("connect", name, "--context-name", name+"-cmd", "--", "sh", "-c",
		`cat "$KUBECONFIG"; kubectl get ns default -o name`)
	if strings.Contains(r.stdout, "client-key-data") || strings.Contains(r.stdout, "token:") || !strings.Contains(r.stdout, "namespace/default") {
		t.Errorf("connect -- CMD: the temporary kubeconfig holds a key or kubectl failed:\n%s\n%s", r.stdout, r.stderr)
	}

	w.mustRun("disconnect", name)
	if _, err := os.Stat(cache); !os.IsNotExist(err) {
		t.Errorf("disconnect left the credential cache %s (%v)", cache, err)
	}
	if _, err := os.Stat(sessKeyFileOf(w, name+"-cmd")); !os.IsNotExist(err) {
		t.Errorf("connect -- CMD left its credential cache (%v)", err)
	}
}

func sessKeyFile(w *world, ctxName string) string { return sessKeyFileOf(w, ctxName) }

func sessKeyFileOf(w *world, ctxName string) string {
	return w.engine().Sessions.CredentialPath(w.kubeconfig, ctxName)
}

// TestCredentialLifetimeAndHostRBAC: a user whose only host rights on the
// tenant are the tenant-admin Role's (bound by a RoleBinding) connects with
// a credential lifetime of 2 minutes; `kubectl get ns` through the context
// still works at minute 5 (the plugin renewed the certificate); after the
// RoleBinding is removed it stops working within one lifetime (polled, 30 s
// slack), with the plugin's refusal in kubectl's output.
func TestCredentialLifetimeAndHostRBAC(t *testing.T) {
	const name, user = "e2e-cred-rbac", "e2e-alice"
	w := newWorld(t)
	w.createTenant(name, "project-x")
	ns := tenant.NamespaceFor(name)
	// The rendered tenant-admin Role's rules (pkg/gitops role), bound to
	// the user; plus reading namespaces, which connect needs to find the
	// tenant.
	for _, args := range [][]string{
		{"create", "role", "tenant-admin", "-n", ns, "--verb=get,list,watch", "--resource=pods,services,events,statefulsets.apps"},
		{"create", "role", "tenant-admin-fw", "-n", ns, "--verb=get,create", "--resource=pods/portforward"},
		{"create", "role", "tenant-admin-secrets", "-n", ns, "--verb=get", "--resource=secrets", "--resource-name=vc-vcluster", "--resource-name=" + tenant.CertsSecret},
		{"create", "rolebinding", "tenant-admin", "-n", ns, "--role=tenant-admin", "--user=" + user},
		{"create", "rolebinding", "tenant-admin-fw", "-n", ns, "--role=tenant-admin-fw", "--user=" + user},
		{"create", "rolebinding", "tenant-admin-secrets", "-n", ns, "--role=tenant-admin-secrets", "--user=" + user},
		{"create", "clusterrole", "e2e-ns-reader", "--verb=get,list", "--resource=namespaces"},
		{"create", "clusterrolebinding", "e2e-ns-reader", "--clusterrole=e2e-ns-reader", "--user=" + user},
	} {
		if out, err := w.kubectl(args...); err != nil {
			t.Fatalf("kubectl %v: %v\n%s", args, err, out)
		}
	}
	hostCtx, err := w.kubectl("config", "current-context")
	if err != nil {
		t.Fatal(err)
	}
	hostCtx = strings.TrimSpace(hostCtx)
	t.Cleanup(func() {
		_, _ = w.kubectl("--context", hostCtx, "delete", "clusterrolebinding,clusterrole", "e2e-ns-reader", "--ignore-not-found")
	})
	w.mustRun("connect", name, "--background", "--as", user, "--credential-lifetime", "2m")
	secretFreeContext(t, w, name)
	if out, err := w.tenantKubectl(name, "auth", "whoami", "-o", "jsonpath={.status.userInfo.username}"); err != nil || out != user {
		t.Errorf("kubectl auth whoami in the tenant: %q (%v), want %q", out, err, user)
	}
	cache := sessKeyFile(w, name)
	expiries := map[time.Time]bool{}
	start := time.Now()
	for time.Since(start) < 5*time.Minute+10*time.Second {
		out, err := w.tenantKubectl(name, "get", "ns", "default", "-o", "name")
		if err != nil || strings.TrimSpace(out) != "namespace/default" {
			t.Fatalf("kubectl get ns at %s: %v\n%s", time.Since(start).Round(time.Second), err, out)
		}
		if b, err := os.ReadFile(cache); err == nil {
			if exp, err := credential.Expiry(b); err == nil {
				expiries[exp] = true
			}
		}
		time.Sleep(15 * time.Second)
	}
	t.Logf("kubectl get ns worked for %s through %d certificates", time.Since(start).Round(time.Second), len(expiries))
	if len(expiries) < 3 {
		t.Errorf("%d distinct certificates in 5 minutes with a 2-minute lifetime, want at least 3", len(expiries))
	}

	if out, err := w.kubectl("--context", hostCtx, "delete", "rolebinding", "-n", ns, "tenant-admin-secrets"); err != nil {
		t.Fatalf("removing the RoleBinding: %v\n%s", err, out)
	}
	revoked := time.Now()
	for {
		out, err := w.tenantKubectl(name, "get", "ns", "default", "-o", "name")
		if err != nil {
			t.Logf("refused %s after the RoleBinding was removed: %s", time.Since(revoked).Round(time.Second), strings.TrimSpace(out))
			if !strings.Contains(out, "host rights") {
				t.Errorf("the refusal does not say why:\n%s", out)
			}
			break
		}
		if time.Since(revoked) > 2*time.Minute+30*time.Second {
			t.Fatalf("kubectl get ns still works %s after the RoleBinding was removed (lifetime 2m)", time.Since(revoked).Round(time.Second))
		}
		time.Sleep(5 * time.Second)
	}
}
