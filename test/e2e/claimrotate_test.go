package e2e

import (
	"context"
	"crypto/tls"
	"net/http"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
)

// TestClaimRotatesCredentials is issue #25's "done when" for claims (audit
// N7): what a user could read from an unclaimed spare — the admin client
// certificate of its Secret vc-vcluster, and a ServiceAccount token minted
// inside with it — works before the claim and is rejected after it; the
// object made inside is gone; the tenant answers its owner. An unclaimed
// spare is not addressable by its name (one line, exit 2).
func TestClaimRotatesCredentials(t *testing.T) {
	w := newWorld(t)
	const pool = "project-x"
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		w.run(ctx, "pool", "set", pool, "--size", "0")
	})
	w.mustRun("pool", "set", pool, "--size", "1", "--wait", "5m")
	var spare tenant.Tenant
	for _, s := range w.listSpares() {
		if s.Pool == pool && s.Status == tenant.StatusReady {
			spare = s
		}
	}
	if spare.Name == "" {
		t.Fatalf("no ready spare of %s: %+v", pool, w.listSpares())
	}

	// Users cannot address the spare by its name.
	for _, args := range [][]string{
		{"connect", spare.Name, "--", "kubectl", "get", "ns"},
		{"register", spare.Name, "--yes"},
		{"create", spare.Name, "--pool", pool, "--connect=false"},
		{"delete", spare.Name, "--yes"},
		{"sleep", spare.Name},
	} {
		r := w.run(context.Background(), args...)
		if line := oneLineError(t, r); r.code != 2 || !strings.Contains(line, "reserved for warm spares") {
			t.Errorf("%v: exit %d, %q; want exit 2 saying spare names are reserved", args, r.code, line)
		}
	}

	// What a reader of the spare's namespace can take: the admin key, and
	// with it a token of its own inside the vCluster.
	sec, err := w.clientset().CoreV1().Secrets(spare.Namespace).Get(context.Background(), "vc-vcluster", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM := sec.Data["client-certificate"], sec.Data["client-key"]
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	addr := w.forwardVCluster(spare.Namespace)
	kc, err := kubernetes.NewForConfig(&rest.Config{Host: "https://" + addr,
		TLSClientConfig: rest.TLSClientConfig{CertData: certPEM, KeyData: keyPEM, Insecure: true}}) // the CA is not the point here
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := kc.CoreV1().ServiceAccounts("default").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "snoop"}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("with the spare's admin key: %v", err)
	}
	secs := int64(3600)
	tr, err := kc.CoreV1().ServiceAccounts("default").CreateToken(ctx, "snoop", &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &secs}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	snoopToken := tr.Status.Token
	probe := func(addr string) (certCode int, certMsg string, tokCode int, tokMsg string) {
		tc := &tls.Config{InsecureSkipVerify: true, Certificates: []tls.Certificate{cert}} //nolint:gosec
		c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: tc}}
		req, _ := http.NewRequest(http.MethodGet, "https://"+addr+"/api", nil)
		certCode, certMsg = doProbe(t, c, req)
		c = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec
		req, _ = http.NewRequest(http.MethodGet, "https://"+addr+"/api", nil)
		req.Header.Set("Authorization", "Bearer "+snoopToken)
		tokCode, tokMsg = doProbe(t, c, req)
		return
	}
	if cc, cm, tc, tm := probe(addr); cc != http.StatusOK || tc != http.StatusOK {
		t.Fatalf("before the claim: admin key -> %d %s, token -> %d %s; want 200 both", cc, cm, tc, tm)
	}

	// The claim.
	const name = "e2e-claimrot"
	w.deleteAtEnd(name)
	start := time.Now()
	r := w.mustRun("create", name, "--pool", pool, "--connect=false", "-o", "json")
	got := stdoutJSON[tenant.Tenant](t, r)
	if got.ClaimedAt == nil || got.Namespace != spare.Namespace || got.Status != tenant.StatusReady {
		t.Fatalf("create %s did not claim %s: %+v\n%s", name, spare.Namespace, got, r.stderr)
	}
	t.Logf("claim with rotation took %s", time.Since(start).Round(100*time.Millisecond))
	if !strings.Contains(r.stderr, "credentials rotated on claim") {
		t.Errorf("create did not say it rotated the spare's credentials:\n%s", r.stderr)
	}

	// After: both rejected (the pod was replaced: a new forward).
	cc, cm, tc, tm := probe(w.forwardVCluster(spare.Namespace))
	if !rejected(cc, cm) || !rejected(tc, tm) {
		t.Errorf("after the claim: the spare's admin key -> %d %s, its token -> %d %s; want both rejected", cc, cm, tc, tm)
	}
	t.Logf("after the claim: old admin key -> %d %q, old token -> %d %q", cc, cm, tc, tm)
	// The owner's connection works; what the reader made inside is gone.
	r = w.mustRun("connect", name, "--", "kubectl", "get", "serviceaccounts", "-n", "default", "-o", "name")
	if strings.Contains(r.stdout, "snoop") || !strings.Contains(r.stdout, "serviceaccount/default") {
		t.Errorf("ServiceAccounts in the claimed tenant: %q; want default only", r.stdout)
	}
}

// forwardVCluster port-forwards to Service vcluster in ns (closed when
// the test ends) and returns the local address.
func (w *world) forwardVCluster(ns string) string {
	w.t.Helper()
	addr, stop, err := w.env.ForwardService(context.Background(), ns, "vcluster", 443)
	if err != nil {
		w.t.Fatalf("port-forward to %s/vcluster: %v", ns, err)
	}
	w.t.Cleanup(stop)
	return addr
}
