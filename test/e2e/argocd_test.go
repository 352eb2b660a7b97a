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
	"os"
	"path/filepath"
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

	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
	"github.com/kubectl-tenant/kubectl-tenant/test/testenv"
)

// argoCDMatrix runs f once per Argo CD version of the e2e matrix,
// testenv.ArgoCDVersions (which internal/support's matrix must equal, see
// TestSupportMatrixIsTheHarness), as a subtest named by the version, with a
// world whose kubectl-tenant, Argo CD API calls and argocd CLI target the
// playground's Argo CD of that version. The subtests run one after the
// other; suffix ("" for ArgoCDVersion, "-v2" for ArgoCDV2Version) keeps
// tenant names apart where a test wants that.
func argoCDMatrix(t *testing.T, f func(t *testing.T, w *world, suffix string)) {
	for _, v := range testenv.ArgoCDVersions {
		t.Run(v, func(t *testing.T) {
			w := newWorld(t)
			w.forArgoCD(v)
			f(t, w, argoSuffix(v))
		})
	}
}

// forArgoCD points w at the playground's Argo CD of version.
func (w *world) forArgoCD(version string) {
	w.t.Helper()
	ns := w.env.ArgoCDNamespaceOf(version)
	if ns == "" {
		w.t.Fatalf("the playground runs no Argo CD %s (env.json argocds: %+v)", version, w.env.ArgoCDs)
	}
	w.argoNS = ns
	w.argoBin = "argocd"
	if version != testenv.ArgoCDVersion {
		w.argoBin = "argocd-v2"
	}
	// The server behind Service NS/argocd-server is that version
	// (GET /api/version answers e.g. "v2.14.21+unknown").
	a := &argo{t: w.t}
	addr, stop, err := w.env.ForwardService(context.Background(), ns, "argocd-server", 443)
	if err != nil {
		w.t.Fatalf("port-forward to %s/argocd-server: %v", ns, err)
	}
	defer stop()
	a.base = "http://" + addr
	var v struct{ Version string }
	if err := a.call(http.MethodGet, "/api/version", nil, &v); err != nil || !strings.HasPrefix(v.Version, version+"+") {
		w.t.Fatalf("Argo CD in %s answers version %q (err %v), want %s", ns, v.Version, err, version)
	}
}

func argoSuffix(version string) string {
	if version == testenv.ArgoCDVersion {
		return ""
	}
	return "-" + strings.SplitN(version, ".", 2)[0]
}

var applicationGVR = schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "applications"}

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

// managerObjects lists the argocd-manager objects inside the tenant's
// vCluster, through `kubectl tenant connect NAME -- kubectl ...`.
func (w *world) managerObjects(name string) []string {
	w.t.Helper()
	r := w.mustRun("connect", name, "--", "kubectl", "get",
		"serviceaccounts,secrets,clusterroles,clusterrolebindings,roles,rolebindings", "-A",
		"-l", "app.kubernetes.io/component=argocd-manager", "-o", "name")
	return strings.Fields(r.stdout)
}

// managerToken is the argocd-manager token Argo CD holds for the tenant:
// the bearerToken of its cluster Secret (the token itself is bound to a
// Secret argocd-manager-token-* inside the vCluster).
func (w *world) managerToken(name string) string {
	w.t.Helper()
	tok, _ := w.argoToken(name)
	return tok
}

// argoToken is the token in the tenant's (single) Argo CD cluster Secret
// and that Secret's annotations.
func (w *world) argoToken(name string) (string, map[string]string) {
	w.t.Helper()
	l, err := w.clientset().CoreV1().Secrets(w.argoNS).List(context.Background(),
		metav1.ListOptions{LabelSelector: "argocd.argoproj.io/secret-type=cluster," + tenant.LabelName + "=" + name})
	if err != nil || len(l.Items) != 1 {
		w.t.Fatalf("cluster Secrets of %s: %d, %v", name, len(l.Items), err)
	}
	var cfg struct{ BearerToken string }
	if err := json.Unmarshal(l.Items[0].Data["config"], &cfg); err != nil || cfg.BearerToken == "" {
		w.t.Fatalf("cluster Secret %s: no bearerToken (%v)", l.Items[0].Name, err)
	}
	return cfg.BearerToken, l.Items[0].Annotations
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

// waitApplication waits until the real application-controller reports the
// tenant's Application Synced and Healthy, and returns it.
func (w *world) waitApplication(name string) *unstructured.Unstructured {
	w.t.Helper()
	return w.waitApp(tenant.NamespacePrefix+name, false, true)
}

// waitApp waits until Application app in Argo CD's namespace is Synced and,
// with healthy, Healthy; with appear, it may not exist yet.
func (w *world) waitApp(name string, appear, healthy bool) *unstructured.Unstructured {
	w.t.Helper()
	apps := w.dynamic().Resource(applicationGVR).Namespace(w.argoNS)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	var last string
	for {
		app, err := apps.Get(ctx, name, metav1.GetOptions{})
		switch {
		case appear && apierrors.IsNotFound(err):
			app, last = &unstructured.Unstructured{Object: map[string]any{}}, "not generated yet"
		case err != nil:
			w.t.Fatalf("Application %s: %v", name, err)
		}
		sync, _, _ := unstructured.NestedString(app.Object, "status", "sync", "status")
		health, _, _ := unstructured.NestedString(app.Object, "status", "health", "status")
		if sync == "Synced" && (health == "Healthy" || !healthy) {
			return app
		}
		if len(app.Object) > 0 {
			last = fmt.Sprintf("sync %q health %q conditions %v", sync, health, app.Object["status"])
		}
		select {
		case <-ctx.Done():
			w.t.Fatalf("Application %s never Synced/Healthy: %s", name, last)
		case <-time.After(time.Second):
		}
	}
}

func (w *world) assertNoApplication(name string) {
	w.t.Helper()
	_, err := w.dynamic().Resource(applicationGVR).Namespace(w.argoNS).
		Get(context.Background(), tenant.NamespacePrefix+name, metav1.GetOptions{})
	if !apierrors.IsNotFound(err) {
		w.t.Errorf("Application of %s still there (err=%v)", name, err)
	}
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
