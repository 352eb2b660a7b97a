package argocd

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes/fake"
	metafake "k8s.io/client-go/metadata/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant/tenanttest"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/warmpool"
)

func TestRegisterOptionsValidate(t *testing.T) {
	ok := []RegisterOptions{
		{Name: "demo"},
		{Name: "demo", Mode: ModeDeclarative, ServerAddress: "https://vc.example.com:6443", Labels: map[string]string{"env": "vdev", "example.com/team": "a"}},
		{Name: "demo", ServerAddress: AddressForwarded, Namespaces: []string{"apps", "jobs"}},
	}
	for _, o := range ok {
		if err := o.Validate(); err != nil {
			t.Errorf("%+v: %v", o, err)
		}
	}
	bad := []RegisterOptions{
		{Name: "Bad_Name"},
		{Name: "demo", Mode: "sso"},
		{Name: "demo", ServerAddress: "http://plain.example.com"},
		{Name: "demo", ServerAddress: "vcluster.vcluster-demo"},
		{Name: "demo", Labels: map[string]string{"bad key": "x"}},
		{Name: "demo", Labels: map[string]string{"env": "not valid!"}},
		{Name: "demo", Labels: map[string]string{tenant.LabelName: "other"}},
		{Name: "demo", Namespaces: []string{"Apps"}},
	}
	for _, o := range bad {
		var ue *tenant.UsageError
		if err := o.Validate(); !errors.As(err, &ue) {
			t.Errorf("%+v: want a usage error, got %v", o, err)
		}
	}
}

func TestClusterLabelsAndAddress(t *testing.T) {
	l := clusterLabels("demo", nil)
	if l["env"] != "vdev" || l[tenant.LabelName] != "demo" || l[tenant.LabelManagedBy] != tenant.ManagedByValue {
		t.Errorf("default labels %v", l)
	}
	user := map[string]string{"team": "a"}
	l = clusterLabels("demo", user)
	if _, ok := l["env"]; ok || l["team"] != "a" || len(user) != 1 {
		t.Errorf("user labels replace the default and are not modified: %v (user %v)", l, user)
	}
}

// demoServer is the in-cluster address of a tenant demo in vcluster-demo,
// for tests of what is registered (no tenant behind it).
const demoServer = "https://vcluster.vcluster-demo"

// TestInClusterAddressOfClaimedSpare: the in-cluster address register
// gives a tenant is that of the namespace the engine resolves it to,
// which for a tenant that claimed a warm spare is the spare's, not
// vcluster-NAME.
func TestInClusterAddressOfClaimedSpare(t *testing.T) {
	ctx := context.Background()
	e, cs, _ := tenanttest.NewListingEngine(t)
	tmpl := tenant.CreateOptions{Spec: tenant.Spec{Chart: "vcluster", ChartVersion: "0.34.0"}}
	spec := warmpool.Config{Pool: "pool-a", Size: 1}
	if _, err := warmpool.TopUp(ctx, e, spec, tmpl); err != nil {
		t.Fatal(err)
	}
	o := tmpl
	o.Name, o.Pool, o.Claimer = "dev", "pool-a", warmpool.Pool{Config: spec}
	claimed := tenanttest.Create(t, e, o)
	if !strings.HasPrefix(claimed.Namespace, "vcluster-spare-") {
		t.Fatalf("create did not claim the spare: %+v", claimed)
	}
	r := &Registrar{Kube: cs, Tenants: e}
	got, err := r.Tenants.Get(ctx, "dev")
	if err != nil {
		t.Fatal(err)
	}
	server, _, err := r.serverAddress(RegisterOptions{Name: "dev"}, got.Namespace)
	if want := "https://vcluster." + claimed.Namespace; err != nil || server != want {
		t.Errorf("in-cluster address of dev = %q, %v; want %q", server, err, want)
	}
}

func TestClusterSecretIsWhatArgoCDStores(t *testing.T) {
	cl := &Cluster{Server: "https://vcluster.vcluster-demo", Name: "demo", Labels: clusterLabels("demo", nil), Namespaces: []string{"a", "b"},
		Config: ClusterConfig{BearerToken: "tok", TLSClientConfig: TLSClientConfig{CAData: []byte("-----BEGIN CERTIFICATE-----")}}}
	s, err := ClusterSecret("argocd", cl)
	if err != nil {
		t.Fatal(err)
	}
	if s.Namespace != "argocd" || s.Name != "cluster-vcluster-demo" || s.Labels[SecretTypeLabel] != SecretTypeCluster || s.Labels["env"] != "vdev" || s.Labels[tenant.LabelName] != "demo" {
		t.Errorf("secret meta %+v", s.ObjectMeta)
	}
	if _, ok := cl.Labels[SecretTypeLabel]; ok {
		t.Error("ClusterSecret modified the cluster's labels")
	}
	if string(s.Data["name"]) != "demo" || string(s.Data["server"]) != cl.Server || string(s.Data["namespaces"]) != "a,b" {
		t.Errorf("secret data %v", s.Data)
	}
	var cfg map[string]any
	if err := json.Unmarshal(s.Data["config"], &cfg); err != nil {
		t.Fatal(err)
	}
	tls := cfg["tlsClientConfig"].(map[string]any)
	if cfg["bearerToken"] != "tok" || tls["insecure"] != false || tls["caData"] == "" {
		t.Errorf("config %v", cfg)
	}
}

func makeCert(t *testing.T, dns []string, ips ...net.IP) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "vcluster"}, DNSNames: dns, IPAddresses: ips,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCertCoversSaysWhatToSet(t *testing.T) {
	// What vCluster signs by itself: localhost, <release>, <release>.<ns>.
	cert := makeCert(t, []string{"localhost", "vcluster", "vcluster.vcluster-demo"}, net.ParseIP("127.0.0.1"))
	for _, h := range []string{"vcluster.vcluster-demo", "127.0.0.1"} {
		if err := certCovers(cert, "demo", h); err != nil {
			t.Errorf("%s: %v", h, err)
		}
	}
	err := certCovers(cert, "demo", "vcluster.vcluster-demo.svc")
	if err == nil {
		t.Fatal("the .svc name is not in the certificate")
	}
	msg := err.Error()
	for _, want := range []string{"does not cover vcluster.vcluster-demo.svc", "controlPlane.proxy.extraSANs: [vcluster.vcluster-demo.svc]", "vcluster.vcluster-demo, 127.0.0.1"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
	if strings.Contains(msg, "\n") {
		t.Error("error is not one line")
	}
	if !selfSigned(cert) {
		t.Error("a self-signed leaf (Argo CD's generated default is one) is not recognised")
	}
}

// fillTokens makes the fake clientset answer TokenRequests as the API
// server does: a token naming the Secret it is bound to, expiring after the
// requested seconds.
func fillTokens(cs *fake.Clientset) {
	cs.PrependReactor("create", "serviceaccounts", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.GetSubresource() != "token" {
			return false, nil, nil
		}
		tr := a.(k8stesting.CreateAction).GetObject().(*authenticationv1.TokenRequest).DeepCopy()
		tr.Status.Token = "sa-token-" + tr.Spec.BoundObjectRef.Name
		tr.Status.ExpirationTimestamp = metav1.NewTime(time.Now().Add(time.Duration(*tr.Spec.ExpirationSeconds) * time.Second))
		return true, tr, nil
	})
}

func TestManagerInstallConvergeUninstall(t *testing.T) {
	ctx := context.Background()
	foreign := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "someone-else", Namespace: ManagerNamespace}}
	cs := fake.NewClientset(foreign,
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "apps"}}, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "jobs"}})
	fillTokens(cs)

	tok, created, err := installManager(ctx, cs, nil, time.Hour)
	if err != nil || !created || tok.Token != "sa-token-"+tok.Secret || !strings.HasPrefix(tok.Secret, "argocd-manager-token-") {
		t.Fatalf("first install: %+v %v %v", tok, created, err)
	}
	if d := time.Until(tok.Expires); d < 59*time.Minute || d > time.Hour {
		t.Errorf("token expires in %s, want 1h", d)
	}
	if _, err := cs.RbacV1().ClusterRoles().Get(ctx, ManagerRole, metav1.GetOptions{}); err != nil {
		t.Fatal(err)
	}
	crb, err := cs.RbacV1().ClusterRoleBindings().Get(ctx, ManagerRoleBinding, metav1.GetOptions{})
	if err != nil || crb.Subjects[0].Name != ManagerServiceAccount || crb.Subjects[0].Namespace != ManagerNamespace || crb.RoleRef.Name != ManagerRole {
		t.Fatalf("binding %+v %v", crb, err)
	}
	sec, err := cs.CoreV1().Secrets(ManagerNamespace).Get(ctx, tok.Secret, metav1.GetOptions{})
	if err != nil || sec.Labels[LabelToken] != "true" || sec.Labels[labelComponent] != componentValue {
		t.Errorf("token secret %+v %v", sec, err)
	}

	// Re-run scoped to namespaces: an upsert that drops the cluster-wide
	// pair and mints a second token; revoking keeps only the new one.
	tok2, created, err := installManager(ctx, cs, []string{"apps", "jobs"}, time.Hour)
	if err != nil || created || tok2.Secret == tok.Secret {
		t.Fatalf("second install: created=%v %+v %v", created, tok2, err)
	}
	if err := revokeTokens(ctx, cs, tok2.Secret); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().Secrets(ManagerNamespace).Get(ctx, tok.Secret, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the replaced token's Secret is still there: %v", err)
	}
	if _, err := cs.CoreV1().Secrets(ManagerNamespace).Get(ctx, tok2.Secret, metav1.GetOptions{}); err != nil {
		t.Errorf("the new token's Secret: %v", err)
	}
	if _, err := cs.RbacV1().ClusterRoleBindings().Get(ctx, ManagerRoleBinding, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("cluster-wide binding left after scoping to namespaces: %v", err)
	}
	for _, ns := range []string{"apps", "jobs"} {
		if _, err := cs.RbacV1().RoleBindings(ns).Get(ctx, ManagerRoleBinding, metav1.GetOptions{}); err != nil {
			t.Errorf("RoleBinding in %s: %v", ns, err)
		}
	}
	if _, _, err := installManager(ctx, cs, []string{"nope"}, time.Hour); err == nil || !strings.Contains(err.Error(), "namespace nope does not exist") {
		t.Errorf("missing namespace: %v", err)
	}

	if err := uninstallManager(ctx, cs); err != nil {
		t.Fatal(err)
	}
	left, err := managerLeft(ctx, cs)
	if err != nil || len(left) != 0 {
		t.Errorf("left after uninstall: %v %v", left, err)
	}
	if _, err := cs.CoreV1().ServiceAccounts(ManagerNamespace).Get(ctx, "someone-else", metav1.GetOptions{}); err != nil {
		t.Errorf("uninstall touched a ServiceAccount it did not make: %v", err)
	}
	if err := uninstallManager(ctx, cs); err != nil {
		t.Errorf("second uninstall: %v", err)
	}
}

func TestManagerLeavesUnlabelledManagerAlone(t *testing.T) {
	ctx := context.Background()
	// Made by hand with `argocd cluster add`, not by this tool.
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: ManagerServiceAccount, Namespace: ManagerNamespace}}
	cs := fake.NewClientset(sa)
	if err := uninstallManager(ctx, cs); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().ServiceAccounts(ManagerNamespace).Get(ctx, ManagerServiceAccount, metav1.GetOptions{}); err != nil {
		t.Errorf("deleted an argocd-manager it did not label: %v", err)
	}
}

func newRegistrar(t *testing.T, objs ...runtime.Object) (*Registrar, *fake.Clientset, *metafake.FakeMetadataClient) {
	cs := fake.NewClientset(objs...)
	meta := metafake.NewSimpleMetadataClient(metafake.NewTestScheme())
	meta.PrependReactor("list", "secrets", func(a k8stesting.Action) (bool, runtime.Object, error) {
		sel := a.(k8stesting.ListAction).GetListRestrictions().Labels
		secs, err := cs.CoreV1().Secrets(a.GetNamespace()).List(context.Background(), metav1.ListOptions{LabelSelector: sel.String()})
		if err != nil {
			return true, nil, err
		}
		out := &metav1.List{} // what the fake metadata client expects from a reactor
		for _, s := range secs.Items {
			out.Items = append(out.Items, runtime.RawExtension{Object: &metav1.PartialObjectMetadata{ObjectMeta: s.ObjectMeta}})
		}
		return true, out, nil
	})
	return &Registrar{Kube: cs, Tenants: &tenant.Engine{Host: tenant.Host{Kube: cs}}, Meta: meta}, cs, meta
}

func TestRegisteredWithoutArgoCDIsUnknown(t *testing.T) {
	r, _, _ := newRegistrar(t)
	got, err := r.Registered(context.Background())
	if err != nil || got != nil {
		t.Errorf("no Argo CD: %v %v, want nil, nil", got, err)
	}
	if err := r.Deregister(context.Background(), "demo", nil); err != nil {
		t.Errorf("Deregister without Argo CD: %v", err)
	}
}

func TestRegisteredAndDeregisterDeclarative(t *testing.T) {
	ctx := context.Background()
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: ServerService, Namespace: "argocd"}}
	cl := &Cluster{Server: demoServer, Name: "demo", Labels: clusterLabels("demo", nil)}
	sec, err := ClusterSecret("argocd", cl)
	if err != nil {
		t.Fatal(err)
	}
	other := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "cluster-foreign", Namespace: "argocd",
		Labels: map[string]string{SecretTypeLabel: SecretTypeCluster}}}
	r, cs, meta := newRegistrar(t, svc, sec, other)

	got, err := r.Registered(ctx)
	if err != nil || len(got) != 1 || !got["demo"] {
		t.Fatalf("Registered = %v, %v", got, err)
	}
	if n := len(meta.Actions()); n != 1 {
		t.Errorf("Registered made %d metadata calls, want 1", n)
	}
	servers, err := r.Unregister(ctx, "demo", false, nil)
	if err != nil || len(servers) != 1 || servers[0] != cl.Server {
		t.Fatalf("Unregister = %v, %v", servers, err)
	}
	if _, err := cs.CoreV1().Secrets("argocd").Get(ctx, sec.Name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("declarative secret left: %v", err)
	}
	if _, err := cs.CoreV1().Secrets("argocd").Get(ctx, other.Name, metav1.GetOptions{}); err != nil {
		t.Errorf("another cluster's secret was touched: %v", err)
	}
	got, err = r.Registered(ctx)
	if err != nil || got == nil || len(got) != 0 {
		t.Errorf("after deregister: %v, %v; want an empty, non-nil map", got, err)
	}
}

// labelledNonClusterSecrets are Secrets in the Argo CD namespace that carry
// the tenant label but are not cluster Secrets: register, deregister and
// delete must leave them alone (M4).
func labelledNonClusterSecrets(name string) []runtime.Object {
	return []runtime.Object{
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "repo-creds-" + name, Namespace: "argocd",
			Labels: map[string]string{SecretTypeLabel: "repo-creds", tenant.LabelName: name}}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name + "-team-notes", Namespace: "argocd",
			Labels: map[string]string{tenant.LabelName: name}}},
	}
}

func assertSecretsLeft(t *testing.T, cs *fake.Clientset, objs []runtime.Object) {
	t.Helper()
	for _, o := range objs {
		s := o.(*corev1.Secret)
		if _, err := cs.CoreV1().Secrets(s.Namespace).Get(context.Background(), s.Name, metav1.GetOptions{}); err != nil {
			t.Errorf("Secret %s/%s (not a cluster Secret) was touched: %v", s.Namespace, s.Name, err)
		}
	}
}

func TestDeregisterDeletesOnlyClusterSecrets(t *testing.T) {
	ctx := context.Background()
	cl := &Cluster{Server: demoServer, Name: "demo", Labels: clusterLabels("demo", nil)}
	sec, err := ClusterSecret("argocd", cl)
	if err != nil {
		t.Fatal(err)
	}
	keep := labelledNonClusterSecrets("demo")
	r, cs, _ := newRegistrar(t, append([]runtime.Object{sec}, keep...)...)
	servers, err := r.Unregister(ctx, "demo", false, nil)
	if err != nil || len(servers) != 1 || servers[0] != cl.Server {
		t.Fatalf("Unregister = %v, %v; want [%s]", servers, err, cl.Server)
	}
	if _, err := cs.CoreV1().Secrets("argocd").Get(ctx, sec.Name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("cluster secret left: %v", err)
	}
	assertSecretsLeft(t, cs, keep)
}

func TestRegisterDeclarativeKeepsOtherLabelledSecrets(t *testing.T) {
	cl := &Cluster{Server: demoServer, Name: "demo", Labels: clusterLabels("demo", nil)}
	// An API-made entry of the tenant (another name) is replaced...
	apiMade := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "cluster-vcluster.vcluster-demo-123", Namespace: "argocd",
		Labels:      map[string]string{SecretTypeLabel: SecretTypeCluster, tenant.LabelName: "demo"},
		Annotations: map[string]string{managedByAnnotation: managedByArgoCD}}}
	keep := labelledNonClusterSecrets("demo")
	r, cs, _ := newRegistrar(t, append([]runtime.Object{apiMade}, keep...)...)
	name, err := r.writeSecret(context.Background(), cl)
	if err != nil || name != SecretName("demo") {
		t.Fatalf("writeSecret = %q, %v", name, err)
	}
	if _, err := cs.CoreV1().Secrets("argocd").Get(context.Background(), apiMade.Name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the API-made cluster secret of the tenant was kept: %v", err)
	}
	// ...but nothing that is not a cluster Secret.
	assertSecretsLeft(t, cs, keep)
}

func TestRegisterAPIKeepsOtherLabelledSecrets(t *testing.T) {
	_, srv := newFakeArgo(t)
	c, err := NewClient(srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Login(context.Background(), "admin", "pw"); err != nil {
		t.Fatal(err)
	}
	cl := &Cluster{Server: demoServer, Name: "demo", Labels: clusterLabels("demo", nil)}
	decl, err := ClusterSecret("argocd", cl) // an earlier --mode declarative
	if err != nil {
		t.Fatal(err)
	}
	keep := labelledNonClusterSecrets("demo")
	r, cs, _ := newRegistrar(t, append([]runtime.Object{decl}, keep...)...)
	if _, err := r.upsert(context.Background(), &Session{Client: c}, cl); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().Secrets("argocd").Get(context.Background(), decl.Name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the declarative cluster secret was kept after the API upsert: %v", err)
	}
	assertSecretsLeft(t, cs, keep)
}

// TestRegisteredFromAPILogsInOnce: without rights to list Secrets in Argo
// CD's namespace, list asks the API; with KeepSession (the interactive
// app) every refresh reuses one session, logged out by Close, and a session
// Argo CD no longer accepts is replaced once. Without it each call logs in
// and out (L9, L14).
func TestRegisteredFromAPILogsInOnce(t *testing.T) {
	f, srv := newFakeArgo(t)
	f.clusters[demoServer] = Cluster{Server: demoServer, Name: "demo", Labels: clusterLabels("demo", nil)}
	admin := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: InitialAdminSecret, Namespace: "argocd"}, Data: map[string][]byte{"password": []byte("pw")}}
	r, _, meta := newRegistrar(t, admin)
	meta.PrependReactor("list", "secrets", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(corev1.Resource("secrets"), "", errors.New("no"))
	})
	r.Options = Options{Server: srv.URL, Insecure: true} // plain HTTP needs Insecure
	ctx := context.Background()
	for i := 0; i < 2; i++ {
		if got, err := r.Registered(ctx); err != nil || !got["demo"] {
			t.Fatalf("Registered: %v, %v", got, err)
		}
	}
	if f.logins != 2 || f.logouts != 2 {
		t.Errorf("without KeepSession: %d logins, %d logouts; want one each per call", f.logins, f.logouts)
	}
	r.KeepSession = true
	for i := 0; i < 3; i++ {
		if got, err := r.Registered(ctx); err != nil || !got["demo"] {
			t.Fatalf("Registered: %v, %v", got, err)
		}
	}
	if f.logins != 3 {
		t.Errorf("KeepSession: %d logins for 3 refreshes, want 1", f.logins-2)
	}
	f.revoked = true // the token expired or was revoked elsewhere
	if got, err := r.Registered(ctx); err != nil || !got["demo"] {
		t.Fatalf("Registered after the token was revoked: %v, %v", got, err)
	}
	if f.logins != 4 {
		t.Errorf("a rejected kept session must be replaced once: %d logins", f.logins-2)
	}
	r.Close()
	if f.logouts != 3 || !f.revoked {
		t.Errorf("Close: %d logouts, want the kept session logged out", f.logouts-2)
	}
}

// TestRegisterRefusesForeignClusterName: a tenant named like another Argo CD
// cluster (or in-cluster) is not registered: destination.name would become
// ambiguous (M11).
func TestRegisterRefusesForeignClusterName(t *testing.T) {
	var ue *tenant.UsageError
	if err := (&RegisterOptions{Name: InClusterName}).Validate(); !errors.As(err, &ue) || !strings.Contains(err.Error(), "ambiguous") {
		t.Errorf("in-cluster: %v", err)
	}
	server := InClusterAddressIn("vcluster-prod")
	foreign := []Cluster{{Name: "prod", Server: "https://prod.example.com"}}
	if err := checkNameFree("prod", server, foreign); err == nil || !strings.Contains(err.Error(), `cluster named "prod" (server https://prod.example.com)`) || strings.Contains(err.Error(), "\n") {
		t.Errorf("foreign cluster of the same name: %v", err)
	}
	for _, ours := range [][]Cluster{
		{{Name: "prod", Server: server + "/"}},                                                 // a re-run: the upsert replaces it
		{{Name: "prod", Server: "https://127.0.0.1:8443", Labels: clusterLabels("prod", nil)}}, // ours, another address
		{{Name: "other", Server: "https://prod.example.com"}},
	} {
		if err := checkNameFree("prod", server, ours); err != nil {
			t.Errorf("%+v: %v", ours, err)
		}
	}
	// Declarative mode reads the names from the cluster Secrets.
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "cluster-prod", Namespace: "argocd", Labels: map[string]string{SecretTypeLabel: SecretTypeCluster}},
		Data: map[string][]byte{"name": []byte("prod"), "server": []byte("https://prod.example.com")}}
	r, _, _ := newRegistrar(t, sec)
	cls, err := r.clustersFromSecrets(context.Background())
	if err != nil || checkNameFree("prod", server, cls) == nil {
		t.Errorf("declarative: clusters %+v, %v: want the collision found", cls, err)
	}
}

// Deregister removes what the bootstrap ApplicationSet generated for the
// tenant, even with no cluster entry left (a re-run after a failure).
func TestDeregisterRemovesGeneratedApplications(t *testing.T) {
	r, _, _ := newRegistrar(t)
	gvr := schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "applications"}
	app := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
		"metadata": map[string]any{"name": "demo-argocd", "namespace": "argocd", "labels": map[string]any{tenant.LabelName: "demo"},
			"ownerReferences": []any{map[string]any{"apiVersion": "argoproj.io/v1alpha1", "kind": "ApplicationSet", "name": "argocd", "uid": "u1", "controller": true}}},
		"spec": map[string]any{"destination": map[string]any{"server": InClusterAddressIn("vcluster-demo"), "namespace": "argocd"}},
	}}
	dyn := dynfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), map[schema.GroupVersionResource]string{gvr: "ApplicationList"}, app)
	r.Dynamic = dyn
	var msgs []string
	if err := r.Deregister(context.Background(), "demo", func(e tenant.Event) { msgs = append(msgs, e.Message) }); err != nil {
		t.Fatal(err)
	}
	if _, err := dyn.Resource(gvr).Namespace("argocd").Get(context.Background(), "demo-argocd", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("demo-argocd still there: %v", err)
	}
	if !strings.Contains(strings.Join(msgs, "\n"), "Application argocd/demo-argocd removed") {
		t.Errorf("reported %q", msgs)
	}
}
