package gc

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
	"github.com/kubectl-tenant/kubectl-tenant/plugins/argocd"
)

func TestPrint(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	rs := []tenant.GCResult{
		{Name: "a", ExpiresAt: ptr(now.Add(-time.Hour)), Action: tenant.GCDeleted},
		{Name: "b", ExpiresAt: ptr(now.Add(-2 * time.Minute)), Action: tenant.GCFailed, Error: "boom"},
		{Name: "c", Action: tenant.GCDeleted},
	}
	var b bytes.Buffer
	if err := Print(&b, "", false, rs, nil, nil, now); err != nil {
		t.Fatal(err)
	}
	want := "tenant/a deleted, expired 60m ago\ntenant/b failed, expired 2m ago: boom\ntenant/c deleted, gone from the cluster: local entries\ngc: 2 deleted, 1 failed\n"
	if b.String() != want {
		t.Fatalf("got:\n%s\nwant:\n%s", b.String(), want)
	}
	b.Reset()
	if err := Print(&b, "", true, []tenant.GCResult{{Name: "a", ExpiresAt: ptr(now.Add(-time.Hour)), Action: tenant.GCWouldDelete}}, nil, nil, now); err != nil || b.String() != "tenant/a deleted (dry run), expired 60m ago\ngc (dry run): 1 would be deleted\n" {
		t.Fatalf("dry run: %q %v", b.String(), err)
	}
	b.Reset()
	if err := Print(&b, "", true, nil, nil, nil, now); err != nil || b.String() != "gc: nothing to delete\n" {
		t.Fatalf("empty: %q %v", b.String(), err)
	}
	b.Reset()
	if err := Print(&b, "json", true, nil, nil, nil, now); err != nil {
		t.Fatal(err)
	}
	var doc Result
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil || doc.Kind != "GCResult" || !doc.DryRun || doc.Items == nil {
		t.Fatalf("json: %v %s", err, b.String())
	}
}

func ptr[T any](v T) *T { return &v }

func TestPrintTokens(t *testing.T) {
	now := time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC)
	exp := now.Add(10 * time.Minute)
	var b bytes.Buffer
	tokens := []argocd.Renewal{
		{Name: "a", Action: argocd.RenewRenewed, ExpiresAt: &exp},
		{Name: "b", Action: argocd.RenewSkipped, Reason: "tenant is Sleeping"},
	}
	if err := Print(&b, "", false, nil, nil, tokens, now); err != nil {
		t.Fatal(err)
	}
	want := "tenant/a argocd token renewed, expires 2026-12-07T03:10:00Z\ntenant/b argocd token skipped: tenant is Sleeping\ngc: nothing to delete\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}
