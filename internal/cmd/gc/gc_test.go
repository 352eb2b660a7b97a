package gc

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
)

func TestPrint(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	rs := []tenant.GCResult{
		{Name: "a", ExpiresAt: now.Add(-time.Hour), Action: tenant.GCDeleted},
		{Name: "b", ExpiresAt: now.Add(-2 * time.Minute), Action: tenant.GCFailed, Error: "boom"},
	}
	var b bytes.Buffer
	if err := Print(&b, "", false, rs, now); err != nil {
		t.Fatal(err)
	}
	want := "tenant/a deleted, expired 60m ago\ntenant/b failed, expired 2m ago: boom\ngc: 1 deleted, 1 failed\n"
	if b.String() != want {
		t.Fatalf("got:\n%s\nwant:\n%s", b.String(), want)
	}
	b.Reset()
	if err := Print(&b, "", true, []tenant.GCResult{{Name: "a", ExpiresAt: now.Add(-time.Hour), Action: tenant.GCWouldDelete}}, now); err != nil || b.String() != "tenant/a deleted (dry run), expired 60m ago\ngc (dry run): 1 expired tenants would be deleted\n" {
		t.Fatalf("dry run: %q %v", b.String(), err)
	}
	b.Reset()
	if err := Print(&b, "", true, nil, now); err != nil || b.String() != "gc: no expired tenants\n" {
		t.Fatalf("empty: %q %v", b.String(), err)
	}
	b.Reset()
	if err := Print(&b, "json", true, nil, now); err != nil {
		t.Fatal(err)
	}
	var doc Result
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil || doc.Kind != "GCResult" || !doc.DryRun || doc.Items == nil {
		t.Fatalf("json: %v %s", err, b.String())
	}
}
