package status

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-tenant/kubectl-tenant/internal/cmdutil/cmdutiltest"
	"github.com/kubectl-tenant/kubectl-tenant/internal/factory"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
)

// status prints annotation values and event messages with control
// characters escaped (audit L16: printed raw, so a namespace annotation or
// an event could drive the terminal).
func TestStatusEscapesControlCharacters(t *testing.T) {
	const evil = "\x1b]0;owned\a\x1b[2J"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		var v any
		if strings.HasSuffix(r.URL.Path, "/statefulsets") || strings.HasSuffix(r.URL.Path, "/deployments") {
			// The control plane's workload: none here.
			v = map[string]any{"kind": "List", "apiVersion": "apps/v1", "metadata": map[string]any{}, "items": []any{}}
			_ = json.NewEncoder(w).Encode(v)
			return
		}
		switch r.URL.Path {
		case "/api/v1/namespaces/vcluster-demo":
			v = map[string]any{"kind": "Namespace", "apiVersion": "v1", "metadata": map[string]any{
				"name": "vcluster-demo", "creationTimestamp": "2026-11-30T10:00:00Z",
				"labels":      map[string]string{tenant.LabelName: "demo", tenant.LabelPool: "p"},
				"annotations": map[string]string{tenant.AnnotationOwner: "mallory" + evil},
			}}
		case "/api/v1/namespaces/vcluster-demo/secrets":
			v = map[string]any{"kind": "PartialObjectMetadataList", "apiVersion": "meta.k8s.io/v1", "metadata": map[string]any{}, "items": []any{}}
		case "/api/v1/namespaces/vcluster-demo/events":
			v = map[string]any{"kind": "EventList", "apiVersion": "v1", "metadata": map[string]any{}, "items": []any{map[string]any{
				"metadata": map[string]any{"name": "e1", "namespace": "vcluster-demo"},
				"type":     "Warning", "reason": "Failed" + evil, "message": "pulled" + evil + "\u202eevil",
				"involvedObject": map[string]any{"kind": "Pod", "name": "vcluster-0"},
				"lastTimestamp":  "2026-11-30T10:01:00Z",
			}}}
		default:
			http.NotFound(w, r)
			return
		}
		_ = json.NewEncoder(w).Encode(v)
	}))
	defer srv.Close()
	t.Setenv("HOME", t.TempDir())
	t.Setenv("KUBECTL_TENANT_STATE_DIR", t.TempDir())
	streams, _, out, _ := genericiooptions.NewTestIOStreams()
	f := factory.New(streams)
	kc := cmdutiltest.Kubeconfig(t, srv.URL, nil)
	f.ConfigFlags.KubeConfig = &kc
	if err := (&Options{IO: streams, Engine: f.Engine, Now: time.Now, Name: "demo", Events: 10}).Run(t.Context()); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	if strings.ContainsAny(s, "\x1b\a\u202e") {
		t.Fatalf("raw control characters in status: %q", s)
	}
	for _, want := range []string{`mallory\x1b]0;owned\x07\x1b[2J`, `Failed\x1b]0;owned`, `\u202eevil`} {
		if !strings.Contains(s, want) {
			t.Errorf("status lacks %q:\n%s", want, s)
		}
	}
}
