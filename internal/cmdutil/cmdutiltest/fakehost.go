// Package cmdutiltest fakes the host cluster's API for command tests that
// only list tenants (shell completion).
package cmdutiltest

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
)

// FakeHost serves the lists Engine.List reads (tenant namespaces, the
// vCluster Helm release secrets' metadata and the control planes'
// StatefulSets and Deployments; no control plane) for the tenants names, and
// returns a kubeconfig file pointing at it and a counter of list requests.
func FakeHost(t testing.TB, names ...string) (kubeconfig string, requests *atomic.Int64) {
	kubeconfig, requests, _ = FakeHostWithDefaults(t, nil, names...)
	return kubeconfig, requests
}

// FakeHostWithDefaults is FakeHost that also serves the host defaults
// ConfigMap kube-public/kubectl-tenant with data (none when nil) and
// records the path of every request.
func FakeHostWithDefaults(t testing.TB, data map[string]string, names ...string) (kubeconfig string, requests *atomic.Int64, paths func() []string) {
	t.Helper()
	requests = new(atomic.Int64)
	var mu sync.Mutex
	var seen []string
	paths = func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), seen...)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.URL.Path)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/api/v1/namespaces/kube-public/configmaps/kubectl-tenant":
			if data == nil {
				http.NotFound(w, r)
				return
			}
			_ = json.NewEncoder(w).Encode(map[string]any{"kind": "ConfigMap", "apiVersion": "v1",
				"metadata": map[string]any{"name": "kubectl-tenant", "namespace": "kube-public"}, "data": data})
		case "/api/v1/namespaces":
			requests.Add(1)
			var items []map[string]any
			for _, n := range names {
				items = append(items, map[string]any{"metadata": map[string]any{
					"name":   tenant.NamespaceFor(n),
					"labels": map[string]string{tenant.LabelName: n},
				}})
			}
			_ = json.NewEncoder(w).Encode(map[string]any{"kind": "NamespaceList", "apiVersion": "v1", "metadata": map[string]any{}, "items": items})
		case "/api/v1/secrets":
			requests.Add(1)
			if !strings.Contains(r.Header.Get("Accept"), "PartialObjectMetadataList") {
				http.Error(w, "want metadata", http.StatusNotAcceptable)
				return
			}
			_ = json.NewEncoder(w).Encode(map[string]any{"kind": "PartialObjectMetadataList", "apiVersion": "meta.k8s.io/v1", "metadata": map[string]any{}, "items": []any{}})
		case "/apis/apps/v1/statefulsets", "/apis/apps/v1/deployments":
			requests.Add(1)
			// JSON, which the reader accepts besides protobuf.
			_ = json.NewEncoder(w).Encode(map[string]any{"kind": "List", "apiVersion": "apps/v1", "metadata": map[string]any{}, "items": []any{}})
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return Kubeconfig(t, srv.URL, nil), requests, paths
}

// Kubeconfig writes a kubeconfig whose current context "host" points at
// server with a fake token, trusting the PEM caPEM when given.
func Kubeconfig(t testing.TB, server string, caPEM []byte) string {
	t.Helper()
	ca := ""
	if caPEM != nil {
		ca = "\n    certificate-authority-data: " + base64.StdEncoding.EncodeToString(caPEM)
	}
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	cfg := `apiVersion: v1
kind: Config
clusters:
- name: host
  cluster:
    server: ` + server + ca + `
users:
- name: me
  user:
    token: fake
contexts:
- name: host
  context: {cluster: host, user: me}
current-context: host
`
	if err := os.WriteFile(kubeconfig, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return kubeconfig
}
