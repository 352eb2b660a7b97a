package e2e

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
)

// The registration tests talk to the playground's real argocd-server
// (v3.2.11) through a port-forward of Service argocd/argocd-server, the way
// a user's `kubectl port-forward` would, and check Argo CD's own view with
// plain HTTP calls that share no code with kubectl-tenant.

// argo is an admin session with the playground's Argo CD API.
type argo struct {
	t     testing.TB
	base  string
	token string
	pw    string
	stop  func()
}

func (w *world) argo() *argo {
	w.t.Helper()
	ctx := context.Background()
	addr, stop, err := w.env.ForwardService(ctx, w.argoNS, "argocd-server", 443)
	if err != nil {
		w.t.Fatalf("port-forward to argocd-server: %v", err)
	}
	w.t.Cleanup(stop)
	a := &argo{t: w.t, base: "http://" + addr, stop: stop} // the playground's argocd-server runs --insecure
	a.pw = w.adminPassword()
	var out struct{ Token string }
	if err := a.call(http.MethodPost, "/api/v1/session", map[string]string{"username": "admin", "password": a.pw}, &out); err != nil {
		w.t.Fatalf("Argo CD login: %v", err)
	}
	a.token = out.Token
	return a
}

func (w *world) clientset() *kubernetes.Clientset {
	w.t.Helper()
	cs, err := w.env.Clientset()
	if err != nil {
		w.t.Fatal(err)
	}
	return cs
}

func (w *world) adminPassword() string {
	w.t.Helper()
	s, err := w.clientset().CoreV1().Secrets(w.argoNS).Get(context.Background(), "argocd-initial-admin-secret", metav1.GetOptions{})
	if err != nil {
		w.t.Fatal(err)
	}
	return string(s.Data["password"])
}

func (a *argo) call(method, path string, in, out any) error {
	var body bytes.Buffer
	if in != nil {
		_ = json.NewEncoder(&body).Encode(in)
	}
	req, _ := http.NewRequest(method, a.base+path, &body)
	req.Header.Set("Content-Type", "application/json")
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var e struct{ Message string }
		_ = json.NewDecoder(resp.Body).Decode(&e)
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, e.Message)
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

type argoCluster struct {
	Server string            `json:"server"`
	Name   string            `json:"name"`
	Labels map[string]string `json:"labels"`
	Info   struct {
		ConnectionState struct{ Status, Message string } `json:"connectionState"`
		CacheInfo       struct {
			LastCacheSyncTime *time.Time `json:"lastCacheSyncTime"`
		} `json:"cacheInfo"`
		ServerVersion string `json:"serverVersion"`
	} `json:"info"`
}

// clusters is GET /api/v1/clusters, by server.
func (a *argo) clusters() map[string]argoCluster {
	a.t.Helper()
	var l struct{ Items []argoCluster }
	if err := a.call(http.MethodGet, "/api/v1/clusters", nil, &l); err != nil {
		a.t.Fatal(err)
	}
	out := map[string]argoCluster{}
	for _, c := range l.Items {
		out[c.Server] = c
	}
	return out
}

// entriesOf are the Argo CD clusters named name or labelled with the tenant.
func (a *argo) entriesOf(name string) []argoCluster {
	var out []argoCluster
	for _, c := range a.clusters() {
		if c.Name == name || c.Labels[tenant.LabelName] == name {
			out = append(out, c)
		}
	}
	return out
}

// runEnv is w.run with extra environment variables and a 5-minute bound.
func (w *world) runEnv(extra []string, args ...string) result {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	return w.runWith(ctx, extra, args...)
}

// managerObjects lists the argocd-manager objects inside the tenant's
// vCluster, through `kubectl tenant connect NAME -- kubectl ...`.
func (w *world) managerObjects(name string) []string {
	w.t.Helper()
	r := w.mustRun("connect", name, "--", "kubectl", "get",
		"serviceaccounts,secrets,clusterroles,clusterrolebindings,roles,rolebindings", "-A",
		"-l", "app.kubernetes.io/component=argocd-manager", "-o", "name")
	return strings.Fields(r.stdout)
}

// managerToken reads the argocd-manager token inside the vCluster.
func (w *world) managerToken(name string) string {
	w.t.Helper()
	r := w.mustRun("connect", name, "--", "kubectl", "get", "secret", "-n", "kube-system",
		"argocd-manager-long-lived-token", "-o", "jsonpath={.data.token}")
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(r.stdout))
	if err != nil || len(b) == 0 {
		w.t.Fatalf("manager token: %v %q", err, r.stdout)
	}
	return string(b)
}

// clusterSecrets are the Secrets of tenant name in the Argo CD namespace.
func (w *world) clusterSecrets(name string) []string {
	w.t.Helper()
	l, err := w.clientset().CoreV1().Secrets(w.argoNS).List(context.Background(),
		metav1.ListOptions{LabelSelector: "argocd.argoproj.io/secret-type=cluster," + tenant.LabelName + "=" + name})
	if err != nil {
		w.t.Fatal(err)
	}
	var out []string
	for _, s := range l.Items {
		out = append(out, s.Name)
	}
	return out
}

func noSecrets(t testing.TB, r result, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if s != "" && strings.Contains(r.stdout+r.stderr, s) {
			t.Errorf("a password or token was printed:\nstdout: %s\nstderr: %s", r.stdout, r.stderr)
		}
	}
}

func (w *world) createTenant(name, pool string, extra ...string) {
	w.t.Helper()
	w.mustRun(append([]string{"create", name, "--pool", pool, "--connect=false"}, extra...)...)
	w.t.Cleanup(func() {
		w.run(context.Background(), "delete", name, "--yes", "--ignore-not-found")
	})
}

type registerOut struct {
	Name, Server, Mode, Secret string
	Labels                     map[string]string
	ConnectionState            string `json:"connectionState"`
}

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
		var created tenant.Tenant
		if err := json.Unmarshal([]byte(r.stdout), &created); err != nil || created.Registered == nil || !*created.Registered {
			t.Fatalf("create --register -o json: %v %s", err, r.stdout)
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
		var out registerOut
		if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || out.ConnectionState != "Successful" || out.Server != server {
			t.Errorf("register -o json: %v %s", err, r.stdout)
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
			var out registerOut
			if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || out.Server != server || out.ConnectionState != "Successful" || out.Mode != "api" {
				t.Fatalf("register: %v %s\n%s", err, r.stdout, r.stderr)
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
		var out registerOut
		if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || out.Secret != w.argoNS+"/cluster-vcluster-"+name {
			t.Fatalf("register: %v %s", err, r.stdout)
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

// fakeArgoCD makes namespace ns with a Service argocd-server and, when
// withPod, a kwok-run Pod behind it whose port 8080 forwards to a closed
// local port: an Argo CD that is down.
func (w *world) fakeArgoCD(ns string, withPod bool) {
	w.t.Helper()
	ctx := context.Background()
	cs := w.clientset()
	labels := map[string]string{"app.kubernetes.io/name": "argocd-server"}
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		w.t.Fatal(err)
	}
	w.t.Cleanup(func() { _ = cs.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "argocd-server", Namespace: ns}, Spec: corev1.ServiceSpec{
		Selector: labels, Ports: []corev1.ServicePort{{Name: "https", Port: 443, TargetPort: intstr.FromInt32(8080)}}}}
	if _, err := cs.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		w.t.Fatal(err)
	}
	if !withPod {
		return
	}
	rc, err := w.env.RESTConfig()
	if err != nil {
		w.t.Fatal(err)
	}
	dyn, err := dynamic.NewForConfig(rc)
	if err != nil {
		w.t.Fatal(err)
	}
	pf := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "kwok.x-k8s.io/v1alpha1", "kind": "PortForward",
		"metadata": map[string]any{"name": "argocd-server", "namespace": ns},
		"spec": map[string]any{"forwards": []any{map[string]any{
			"ports": []any{int64(8080)}, "target": map[string]any{"address": "127.0.0.1", "port": int64(1)},
		}}},
	}}
	gvr := schema.GroupVersionResource{Group: "kwok.x-k8s.io", Version: "v1alpha1", Resource: "portforwards"}
	if _, err := dyn.Resource(gvr).Namespace(ns).Create(ctx, pf, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		w.t.Fatal(err)
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "argocd-server", Namespace: ns, Labels: labels}, Spec: corev1.PodSpec{
		NodeSelector: map[string]string{"pool": "system"},
		Containers:   []corev1.Container{{Name: "argocd-server", Image: "quay.io/argoproj/argocd", Ports: []corev1.ContainerPort{{ContainerPort: 8080}}}},
	}}
	// The namespace's default ServiceAccount comes from the controller-manager.
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err = cs.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{})
		if err == nil || apierrors.IsAlreadyExists(err) || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err != nil && !apierrors.IsAlreadyExists(err) {
		w.t.Fatal(err)
	}
	for {
		p, err := cs.CoreV1().Pods(ns).Get(ctx, pod.Name, metav1.GetOptions{})
		if err == nil && p.Status.Phase == corev1.PodRunning {
			return
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("fake argocd-server pod not Running: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// expiredToken is a real Argo CD session token for admin, signed with the
// server's key (argocd-secret server.secretkey), that expired an hour ago.
func (w *world) expiredToken() string {
	w.t.Helper()
	s, err := w.clientset().CoreV1().Secrets(w.argoNS).Get(context.Background(), "argocd-secret", metav1.GetOptions{})
	if err != nil {
		w.t.Fatal(err)
	}
	key := s.Data["server.secretkey"]
	if len(key) == 0 {
		w.t.Fatal("argocd-secret has no server.secretkey")
	}
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	now := time.Now().Unix()
	unsigned := enc(map[string]string{"alg": "HS256", "typ": "JWT"}) + "." +
		enc(map[string]any{"iss": "argocd", "sub": "admin:login", "iat": now - 7200, "nbf": now - 7200, "exp": now - 3600, "jti": "e2e-expired"})
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(unsigned))
	return unsigned + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}
