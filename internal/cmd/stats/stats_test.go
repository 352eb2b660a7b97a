package stats

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
)

func TestPrint(t *testing.T) {
	s := &tenant.Stats{Total: 3, ByStatus: map[tenant.Status]int{tenant.StatusReady: 2, tenant.StatusFailed: 1},
		Recent:  tenant.RecentCreates{Since: time.Hour, Creates: 3, Ready: 2, P50: 20 * time.Second, P95: 30 * time.Second},
		Expired: []string{"a"}, Idle: []string{}, IdleAfter: time.Hour}
	var b bytes.Buffer
	if err := Print(&b, "", s); err != nil {
		t.Fatal(err)
	}
	got := strings.Join(strings.Fields(b.String()), " ")
	for _, want := range []string{"Tenants: 3 (Failed 1, Ready 2)", "Created: 3 within 60m, 2 with", "Time to ready: p50 20s, p95 30s", "Expired: 1: a", "Idle: 0 (not connected to for 60m)"} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, b.String())
		}
	}
	b.Reset()
	if err := Print(&b, "json", s); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil || doc["kind"] != "TenantStats" || doc["total"] != 3.0 {
		t.Fatalf("json: %v %s", err, b.String())
	}
}
