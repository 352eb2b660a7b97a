package e2e

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
)

// The registration tests talk to the playground's real argocd-server
// (v3.2.11) through a port-forward of Service argocd/argocd-server, the way
// a user's `kubectl port-forward` would, and check Argo CD's own view with
// plain HTTP calls that share no code with kubectl-tenant.

// TestRegisterInCluster is the "done when": create --register puts
// the vCluster into Argo CD at its in-cluster Service address with labels,
// and Argo CD reaches it (connection Successful); a re-register is an
// upsert; deregister and delete leave no cluster entry and no manager
// objects. It needs argocd-server to reach https://vcluster.vcluster-NAME
// (the harness's service-network reachability).
func TestRegisterInCluster(t *testing.T) {
	argoCDMatrix(t, func(t *testing.T, w *world, suffix string) {
		a := w.argo()
		name := "e2e-reg" + suffix
		server := "https://vcluster." + tenant.NamespaceFor(name)

		t.Cleanup(func() { w.run(context.Background(), "delete", name, "--yes", "--ignore-not-found") })
		r := w.mustRun("create", name, "--pool", "project-x", "--connect=false", "--register", "-o", "json")
		if created := stdoutJSON[tenant.Tenant](t, r); created.Registered == nil || !*created.Registered {
			t.Fatalf("create --register -o json: %s", r.stdout)
		}
		token := w.managerToken(name)
		noSecrets(t, r, token, a.pw)
		got, ok := a.clusters()[server]
		if !ok {
			t.Fatalf("GET /api/v1/clusters has no %s: %v", server, a.clusters())
		}
		if got.Name != name || got.Labels["env"] != "vdev" || got.Labels[tenant.LabelName] != name {
			t.Errorf("cluster entry %+v", got)
		}
		// Argo CD reached the vCluster when it added the cluster: its answer,
		// which register reports. Later its controller may mark a cluster
		// without applications Unknown ("not being monitored"; seen when the
		// machine was busy), which says nothing about reachability.
		if !strings.Contains(r.stderr, "connection Successful") {
			t.Errorf("register did not report Argo CD's connection Successful:\n%s", r.stderr)
		}
		if st := got.Info.ConnectionState; st.Status != "Successful" &&
			(st.Status != "Unknown" || !strings.Contains(st.Message, "no applications and is not being monitored")) {
			t.Errorf("connection state %+v, want Successful (Argo CD reaches the vCluster)", st)
		}
		if objs := w.managerObjects(name); len(objs) != 4 { // sa, token secret, clusterrole, clusterrolebinding
			t.Errorf("manager objects in the vCluster: %v", objs)
		}
		if l := w.list()[name]; l.Registered == nil || !*l.Registered {
			t.Errorf("list: REGISTERED %v", l.Registered)
		}

		// Re-register with other labels: an upsert of the same entry.
		r = w.mustRun("register", name, "--label", "env=vdev", "--label", "team=e2e", "--yes", "-o", "json")
		noSecrets(t, r, token, a.pw)
		if out := stdoutJSON[registerOut](t, r); out.ConnectionState != "Successful" || out.Server != server {
			t.Errorf("register -o json: %s", r.stdout)
		}
		entries := a.entriesOf(name)
		if len(entries) != 1 || entries[0].Labels["team"] != "e2e" {
			t.Errorf("after re-register, entries %+v: want one, with team=e2e", entries)
		}

		// deregister keeps the tenant, removes the entry and the manager.
		w.mustRun("deregister", name)
		if e := a.entriesOf(name); len(e) != 0 {
			t.Errorf("entries after deregister: %+v", e)
		}
		if objs := w.managerObjects(name); len(objs) != 0 {
			t.Errorf("manager objects after deregister: %v", objs)
		}
		if l := w.list()[name]; l.Registered == nil || *l.Registered {
			t.Errorf("list after deregister: REGISTERED %v", l.Registered)
		}

		// delete deregisters first.
		w.mustRun("register", name, "--yes")
		r = w.mustRun("delete", name, "--yes")
		if !strings.Contains(r.stderr, tenant.StepDeregister) {
			t.Errorf("delete did not report a deregister step:\n%s", r.stderr)
		}
		if e := a.entriesOf(name); len(e) != 0 {
			t.Errorf("entries after delete: %+v", e)
		}
		if s := w.clusterSecrets(name); len(s) != 0 {
			t.Errorf("cluster secrets after delete: %v", s)
		}
		w.assertGone(name, nil)
	})
}

// TestRegisterForwarded runs the API path against the real server with the
// tenant's local forward as address (the playground's argocd-server is a
// local process, so it reaches 127.0.0.1): upsert, connection Successful,
// DELETE of a server URL with a port.
func TestRegisterForwarded(t *testing.T) {
	argoCDMatrix(t, func(t *testing.T, w *world, suffix string) {
		a := w.argo()
		name := "e2e-regfw" + suffix
		w.createTenant(name, "project-z")
		w.mustRun("connect", name, "--background")
		server := w.session(name).Server

		for range 2 { // the second run is an upsert
			r := w.mustRun("register", name, "--server-address", "forwarded", "--yes", "-o", "json")
			noSecrets(t, r, a.pw)
			if out := stdoutJSON[registerOut](t, r); out.Server != server || out.ConnectionState != "Successful" || out.Mode != "api" {
				t.Fatalf("register: %s\n%s", r.stdout, r.stderr)
			}
		}
		got := a.entriesOf(name)
		if len(got) != 1 || got[0].Server != server || got[0].Info.ConnectionState.Status != "Successful" || got[0].Labels["env"] != "vdev" {
			t.Fatalf("entries %+v", got)
		}
		noSecrets(t, w.mustRun("list"), w.managerToken(name))
		r := w.mustRun("deregister", name)
		if !strings.Contains(r.stdout, server) || strings.Contains(r.stderr, "warning") {
			t.Errorf("deregister (through the API, no fallback expected):\n%s\n%s", r.stdout, r.stderr)
		}
		if e := a.entriesOf(name); len(e) != 0 {
			t.Errorf("entries after deregister: %+v", e)
		}
		if objs := w.managerObjects(name); len(objs) != 0 {
			t.Errorf("manager objects after deregister: %v", objs)
		}

		// delete is never blocked by Argo CD: with the API refusing the login
		// it removes Argo CD's cluster Secret itself (Argo CD watches them) and
		// says so.
		w.mustRun("register", name, "--server-address", "forwarded", "--yes")
		r = w.runEnv([]string{"ARGOCD_AUTH_TOKEN=garbage"}, "delete", name, "--yes")
		if r.code != 0 || !strings.Contains(r.stderr, "deleting its cluster Secret") {
			t.Errorf("delete with the Argo CD API refusing: exit %d\n%s", r.code, r.stderr)
		}
		if e := a.entriesOf(name); len(e) != 0 {
			t.Errorf("entries after delete: %+v", e)
		}
		if s := w.clusterSecrets(name); len(s) != 0 {
			t.Errorf("cluster secrets after delete: %v", s)
		}
	})
}

// TestRegisterDeclarative writes the cluster Secret directly; Argo CD lists
// it with its labels, list shows it, delete removes it.
func TestRegisterDeclarative(t *testing.T) {
	argoCDMatrix(t, func(t *testing.T, w *world, suffix string) {
		a := w.argo()
		name := "e2e-regdecl" + suffix
		w.createTenant(name, "project-x")
		t.Cleanup(func() {
			w.kubectl("delete", "applicationset", "-n", w.argoNS, "argocd", "--ignore-not-found")
		})
		r := w.mustRun("register", name, "--mode", "declarative", "--namespaces", "default,kube-system", "--label", "env=vdev", "--label", "team=decl",
			"--bootstrap", "--yes", "-o", "json")
		if out := stdoutJSON[registerOut](t, r); out.Secret != w.argoNS+"/cluster-vcluster-"+name {
			t.Fatalf("register: %s", r.stdout)
		}
		noSecrets(t, r, w.managerToken(name), a.pw)
		got := a.entriesOf(name)
		if len(got) != 1 || got[0].Server != "https://vcluster."+tenant.NamespaceFor(name) || got[0].Labels["team"] != "decl" {
			t.Fatalf("Argo CD's view of the declarative Secret: %+v", got)
		}
		// --bootstrap applied the ApplicationSet selecting the same labels.
		sel, err := w.kubectl("get", "applicationset", "-n", w.argoNS, "argocd", "-o", "jsonpath={.spec.generators[0].clusters.selector.matchLabels}")
		if err != nil || !strings.Contains(sel, `"team":"decl"`) || !strings.Contains(sel, `"env":"vdev"`) {
			t.Errorf("bootstrap ApplicationSet selector: %v %s", err, sel)
		}
		objs := strings.Join(w.managerObjects(name), " ")
		if strings.Contains(objs, "clusterrole") || strings.Count(objs, "rolebinding") != 2 {
			t.Errorf("namespace-scoped manager: %s", objs)
		}
		if l := w.list()[name]; l.Registered == nil || !*l.Registered {
			t.Errorf("list: REGISTERED %v", l.Registered)
		}
		// Repository credentials a platform team labelled with the tenant are
		// not the tool's: delete (which deregisters) leaves them.
		cs := w.clientset()
		creds := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "repo-creds-" + name, Namespace: w.argoNS,
			Labels: map[string]string{"argocd.argoproj.io/secret-type": "repo-creds", tenant.LabelName: name}},
			StringData: map[string]string{"url": "https://git.example.com/" + name}}
		if _, err := cs.CoreV1().Secrets(creds.Namespace).Create(context.Background(), creds, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_ = cs.CoreV1().Secrets(creds.Namespace).Delete(context.Background(), creds.Name, metav1.DeleteOptions{})
		})
		w.mustRun("delete", name, "--yes")
		if s := w.clusterSecrets(name); len(s) != 0 {
			t.Errorf("secrets after delete: %v", s)
		}
		if e := a.entriesOf(name); len(e) != 0 {
			t.Errorf("entries after delete: %+v", e)
		}
		if _, err := cs.CoreV1().Secrets(creds.Namespace).Get(context.Background(), creds.Name, metav1.GetOptions{}); err != nil {
			t.Errorf("delete removed the tenant-labelled repository credentials: %v", err)
		}
	})
}

// TestRegisterFailures: every failure before the cluster is added is one
// line, exits ≠ 0 and leaves nothing behind: no manager objects in the
// vCluster, no cluster entry, no Secret, no password or token printed.
func TestRegisterFailures(t *testing.T) {
	w := newWorld(t)
	a := w.argo()
	const name = "e2e-regfail"
	w.createTenant(name, "project-z")
	ctx := context.Background()
	cs := w.clientset()
	ns := w.argoNS

	nothingLeft := func(what string) {
		t.Helper()
		if e := a.entriesOf(name); len(e) != 0 {
			t.Errorf("%s: cluster entry left: %+v", what, e)
		}
		if s := w.clusterSecrets(name); len(s) != 0 {
			t.Errorf("%s: secrets left: %v", what, s)
		}
		if objs := w.managerObjects(name); len(objs) != 0 {
			t.Errorf("%s: manager objects left in the vCluster: %v", what, objs)
		}
	}
	check := func(what string, r result, code int, want string, secrets ...string) {
		t.Helper()
		if r.code != code {
			t.Errorf("%s: exit %d, want %d\n%s", what, r.code, code, r.stderr)
			return
		}
		if line := oneLineError(t, r); !strings.Contains(line, want) {
			t.Errorf("%s: error line %q lacks %q", what, line, want)
		}
		noSecrets(t, r, append(secrets, a.pw)...)
		nothingLeft(what)
	}

	// Wrong password: the initial admin Secret says something else.
	sec, err := cs.CoreV1().Secrets(ns).Get(ctx, "argocd-initial-admin-secret", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	good := sec.Data["password"]
	sec.Data["password"] = []byte("not-the-password")
	if _, err := cs.CoreV1().Secrets(ns).Update(ctx, sec, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	restore := func() {
		s, err := cs.CoreV1().Secrets(ns).Get(ctx, "argocd-initial-admin-secret", metav1.GetOptions{})
		if err == nil {
			s.Data["password"] = good
			_, err = cs.CoreV1().Secrets(ns).Update(ctx, s, metav1.UpdateOptions{})
		}
		if err != nil {
			t.Errorf("restoring argocd-initial-admin-secret: %v", err)
		}
	}
	t.Cleanup(restore)
	check("wrong password", w.runEnv(nil, "register", name, "--yes"), 4, "rejected the admin password", "not-the-password")
	restore()

	check("garbage token", w.runEnv([]string{"ARGOCD_AUTH_TOKEN=garbage"}, "register", name, "--yes"), 4, "rejected the token from $ARGOCD_AUTH_TOKEN", "garbage")
	expired := w.expiredToken()
	check("expired token", w.runEnv([]string{"ARGOCD_AUTH_TOKEN=" + expired}, "register", name, "--yes"), 4, "token is expired", expired)

	check("no argocd namespace", w.runEnv(nil, "register", name, "--yes", "--argocd-namespace", "e2e-no-argocd"), 1, "Argo CD is not installed")
	check("no argocd namespace, declarative", w.runEnv(nil, "register", name, "--yes", "--mode", "declarative", "--argocd-namespace", "e2e-no-argocd"), 1, "Argo CD is not installed")

	// Argo CD down: its Service without a running pod, and a running pod
	// with nothing listening behind it.
	w.fakeArgoCD("e2e-argocd-nopod", false)
	check("no running argocd-server", w.runEnv(nil, "register", name, "--yes", "--argocd-namespace", "e2e-argocd-nopod"), 1, "Argo CD is down")
	w.fakeArgoCD("e2e-argocd-down", true)
	check("argocd-server not answering", w.runEnv(nil, "register", name, "--yes", "--argocd-namespace", "e2e-argocd-down"), 1, "cannot reach Argo CD")
	check("unreachable --argocd-server", w.runEnv(nil, "register", name, "--yes", "--argocd-server", "https://127.0.0.1:1"), 1, "cannot reach Argo CD at 127.0.0.1:1")

	// Another Argo CD cluster already has the tenant's name: refused in
	// both modes before anything is made, or destination.name would be
	// ambiguous for every Application that uses it.
	foreign := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "e2e-foreign-cluster", Namespace: ns,
		Labels: map[string]string{"argocd.argoproj.io/secret-type": "cluster"}},
		StringData: map[string]string{"name": name, "server": "https://foreign.example.com", "config": "{}"}}
	if _, err := cs.CoreV1().Secrets(ns).Create(ctx, foreign, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []string{"api", "declarative"} {
		r := w.runEnv(nil, "register", name, "--yes", "--mode", mode)
		if line := oneLineError(t, r); r.code != 1 || !strings.Contains(line, `Argo CD already has a cluster named "`+name+`"`) {
			t.Errorf("%s mode, name of another cluster: exit %d, %q", mode, r.code, line)
		}
		if e := a.entriesOf(name); len(e) != 1 || e[0].Server != "https://foreign.example.com" {
			t.Errorf("%s mode: entries %+v, want only the foreign cluster", mode, e)
		}
		if objs := w.managerObjects(name); len(objs) != 0 {
			t.Errorf("%s mode: manager objects made before the refusal: %v", mode, objs)
		}
	}
	if err := cs.CoreV1().Secrets(ns).Delete(ctx, foreign.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}

	// A name the vCluster certificate does not cover: say what to set.
	check("uncovered address", w.runEnv(nil, "register", name, "--yes", "--server-address", "https://vc.example.com"), 1, "controlPlane.proxy.extraSANs: [vc.example.com]")

	// Argo CD cannot reach the address (nothing serves it): refused, and
	// the manager objects made for it are removed again.
	check("unreachable cluster address", w.runEnv(nil, "register", name, "--yes", "--server-address", "https://127.0.0.1:9"), 1, "Argo CD refused the cluster")

	// list and delete without Argo CD are not errors.
	r := w.runEnv([]string{"KUBECTL_TENANT_ARGOCD_NAMESPACE=e2e-no-argocd"}, "list")
	if r.code != 0 || strings.Contains(r.stderr, "registration state unknown") {
		t.Errorf("list without Argo CD: exit %d\n%s", r.code, r.stderr)
	}
}
