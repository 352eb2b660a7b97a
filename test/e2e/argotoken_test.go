package e2e

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
	"github.com/kubectl-tenant/kubectl-tenant/plugins/argocd"
)

// TestArgoCDTokenRenewal is issue #25's "done when" for Argo CD's
// credential: register gives Argo CD a token of the shortest lifetime the
// Kubernetes API issues (10m); two gc runs that renew tokens expiring within
// 10m (so every run renews) each hand Argo CD a new token, `argocd cluster
// list` shows the cluster Successful with the application-controller's
// cache synced after each renewal, and each replaced token is rejected by
// the tenant (a raw request through a port-forward to Service vcluster,
// the address Argo CD uses). deregister revokes the last one.
//
// "Rejected": vCluster's proxy (port 8443 behind Service vcluster) passes a
// token its virtual API server does not authenticate on as
// system:anonymous, which may not GET /api: 403 naming system:anonymous
// (kube-apiserver itself would answer 401). Either proves the token no
// longer authenticates.
func TestArgoCDTokenRenewal(t *testing.T) {
	argoCDMatrix(t, func(t *testing.T, w *world, suffix string) {
		name := "e2e-tok" + suffix
		server := "https://vcluster." + tenant.NamespaceFor(name)
		w.createTenant(name, "project-x")
		r := w.mustRun("register", name, "--yes", "--argocd-token-lifetime", "10m", "-o", "json")
		out := stdoutJSON[registerOut](t, r)
		tok, ann := w.argoToken(name)
		noSecrets(t, r, tok)
		exp, err := time.Parse(time.RFC3339, ann[argocd.AnnotationTokenExpiresAt])
		if err != nil || time.Until(exp) > 10*time.Minute || time.Until(exp) < 8*time.Minute {
			t.Fatalf("token expiry annotation %q (%v): want about 10 minutes from now; register said %+v", ann[argocd.AnnotationTokenExpiresAt], err, out)
		}
		probe := w.tenantProbe(name)
		if code, msg := probe(tok); code != http.StatusOK {
			t.Fatalf("Argo CD's token gets %d (%s) from the tenant, want 200", code, msg)
		}
		argocdClusterList(t, w, name, server)
		cli := w.argocdLogin()

		for i := 1; i <= 2; i++ {
			renewedAt := time.Now()
			r := w.mustRun("gc", "--pools=false", "--argocd-renew-before", "10m", "--argocd-token-lifetime", "10m")
			if !strings.Contains(r.stdout, "tenant/"+name+" argocd token renewed, expires ") {
				t.Fatalf("gc run %d did not renew %s's token:\n%s\n%s", i, name, r.stdout, r.stderr)
			}
			noSecrets(t, r, tok)
			next, ann := w.argoToken(name)
			noSecrets(t, r, next)
			if next == tok {
				t.Fatalf("gc run %d: Argo CD still holds the old token", i)
			}
			if e, _ := time.Parse(time.RFC3339, ann[argocd.AnnotationTokenExpiresAt]); !e.After(exp) {
				t.Errorf("gc run %d: expiry %s not later than %s", i, e, exp)
			} else {
				exp = e
			}
			if code, msg := probe(next); code != http.StatusOK {
				t.Errorf("gc run %d: the new token gets %d (%s), want 200", i, code, msg)
			}
			// Revocation is the bound Secret's deletion; the API server's
			// informer sees it within moments.
			deadline := time.Now().Add(30 * time.Second)
			for {
				code, msg := probe(tok)
				if rejected(code, msg) {
					t.Logf("renewal %d: replaced token -> %d %s; new token -> 200", i, code, msg)
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("gc run %d: the replaced token still gets %d (%s) from the tenant, want it rejected", i, code, msg)
				}
				time.Sleep(time.Second)
			}
			tok = next
			// Argo CD uses the new token: connection Successful with a cache
			// sync after the renewal (upsert invalidates the cluster cache).
			deadline = time.Now().Add(3 * time.Minute)
			for {
				got, ok := cli.cluster(server)
				st := got.Info.ConnectionState
				sync := got.Info.CacheInfo.LastCacheSyncTime
				if ok && st.Status == "Successful" && sync != nil && sync.After(renewedAt) {
					t.Logf("renewal %d: argocd cluster list %s %s, cache synced %s", i, server, st.Status, sync)
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("renewal %d: argocd cluster list: %s present %v, state %s %q, last cache sync %v (renewed at %s)", i, server, ok, st.Status, st.Message, sync, renewedAt)
				}
				time.Sleep(2 * time.Second)
			}
		}
		if objs := w.managerObjects(name); len(objs) != 4 {
			t.Errorf("manager objects after two renewals (want the ServiceAccount, ONE token Secret, the role and binding): %v", objs)
		}
		// A gc run with the default threshold (half of 10m) does not renew
		// a token just issued.
		if r := w.mustRun("gc", "--pools=false"); strings.Contains(r.stdout, "tenant/"+name+" argocd token") {
			t.Errorf("gc renewed a fresh token:\n%s", r.stdout)
		}
		w.mustRun("deregister", name)
		if code, msg := probe(tok); !rejected(code, msg) {
			t.Errorf("after deregister the last token gets %d (%s), want it rejected", code, msg)
		}
	})
}

// rejected says a GET /api was not authenticated: 401, or (through
// vCluster's proxy) 403 for system:anonymous.
func rejected(code int, msg string) bool {
	return code == http.StatusUnauthorized || code == http.StatusForbidden && strings.Contains(msg, "system:anonymous")
}

// tenantProbe returns a function that sends GET /api with a bearer token
// to the tenant's API server (a port-forward to its Service; no client
// certificate) and returns the HTTP status and the Status message.
func (w *world) tenantProbe(name string) func(token string) (int, string) {
	w.t.Helper()
	ns := w.statusOf(name).Namespace
	addr, stop, err := w.env.ForwardService(context.Background(), ns, "vcluster", 443)
	if err != nil {
		w.t.Fatalf("port-forward to %s/vcluster: %v", ns, err)
	}
	w.t.Cleanup(stop)
	// The status code is all that is checked: TLS verification is not the
	// point here (the tool's own connections verify the tenant CA).
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec
	return func(token string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, "https://"+addr+"/api", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		return doProbe(w.t, c, req)
	}
}

// doProbe sends req and returns the status code and the message of a
// Kubernetes Status body.
func doProbe(t testing.TB, c *http.Client, req *http.Request) (int, string) {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	var st struct{ Message string }
	_ = json.NewDecoder(resp.Body).Decode(&st)
	return resp.StatusCode, st.Message
}
