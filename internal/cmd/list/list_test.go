package list

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-tenant/kubectl-tenant/internal/cmdutil/cmdutiltest"
	"github.com/kubectl-tenant/kubectl-tenant/internal/factory"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
)

func TestPrintFormats(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	exp := now.Add(3 * time.Hour)
	reg := true
	ts := []tenant.Tenant{
		{Name: "a", Namespace: "vcluster-a", Status: tenant.StatusReady, Pool: "project-x", CreatedAt: now.Add(-2 * time.Hour), ExpiresAt: &exp, Connected: true, Registered: &reg, TimeToReady: 18 * time.Second},
		{Name: "b", Namespace: "vcluster-b", Status: tenant.StatusPending, CreatedAt: now.Add(-time.Minute)},
	}
	var b bytes.Buffer
	if err := Print(&b, "", ts, now); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 3 || strings.Join(strings.Fields(lines[1]), " ") != "a Ready project-x - 120m in 3h yes yes" ||
		strings.Join(strings.Fields(lines[2]), " ") != "b Pending - - 60s never no -" {
		t.Fatalf("table:\n%s", b.String())
	}
	b.Reset()
	if err := Print(&b, "wide", ts, now); err != nil || !strings.Contains(b.String(), "vcluster-a") || !strings.Contains(b.String(), "18s") {
		t.Fatalf("wide: %v\n%s", err, b.String())
	}
	b.Reset()
	if err := Print(&b, "name", ts, now); err != nil || b.String() != "tenant/a\ntenant/b\n" {
		t.Fatalf("name: %q", b.String())
	}
	b.Reset()
	if err := Print(&b, "json", nil, now); err != nil {
		t.Fatal(err)
	}
	var l List
	if err := json.Unmarshal(b.Bytes(), &l); err != nil || l.Kind != "TenantList" || l.Items == nil {
		t.Fatalf("json of an empty list must be a TenantList with items []: %v %s", err, b.String())
	}
}

// Annotation values (owner, k8s version) reach the table escaped: a value
// with an escape sequence cannot retitle or clear the terminal (audit L16).
func TestPrintEscapesControlCharacters(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	ts := []tenant.Tenant{{Name: "a", Namespace: "vcluster-a", Status: tenant.StatusReady, CreatedAt: now,
		Owner: "mallory\x1b]0;owned\a\x1b[2J", K8sVersion: "v1.34\r\u202eevil"}}
	var b bytes.Buffer
	if err := Print(&b, "wide", ts, now); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if strings.ContainsAny(out, "\x1b\a\r\u202e") {
		t.Fatalf("raw control characters in the table: %q", out)
	}
	if !strings.Contains(out, `mallory\x1b]0;owned\x07\x1b[2J`) || !strings.Contains(out, `v1.34\x0d\u202eevil`) {
		t.Fatalf("escaped values missing: %q", out)
	}
}

// list asks the Argo CD the host defaults name (kube-public/kubectl-tenant
// argocdNamespace) whether tenants are registered, not the built-in
// namespace.
func TestListAsksTheHostDefaultsArgoCD(t *testing.T) {
	kubeconfig, _, paths := cmdutiltest.FakeHostWithDefaults(t, map[string]string{"argocdNamespace": "gitops-system"}, "demo")
	t.Setenv("KUBECONFIG", kubeconfig)
	t.Setenv("KUBECTL_TENANT_STATE_DIR", t.TempDir())
	t.Setenv("KUBECTL_TENANT_ARGOCD_NAMESPACE", "")
	streams, _, out, _ := genericiooptions.NewTestIOStreams()
	cmd := NewCmdList(factory.New(streams), nil)
	cmd.SetArgs([]string{"-o", "name"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if out.String() != "tenant/demo\n" {
		t.Errorf("output %q", out.String())
	}
	var asked []string
	for _, p := range paths() {
		if strings.HasSuffix(p, "/secrets") && strings.Contains(p, "/namespaces/") {
			asked = append(asked, p)
		}
	}
	if len(asked) != 1 || asked[0] != "/api/v1/namespaces/gitops-system/secrets" {
		t.Errorf("Argo CD cluster secrets asked at %q, want /api/v1/namespaces/gitops-system/secrets", asked)
	}
}
