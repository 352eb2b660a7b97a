package stats

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-tenant/kubectl-tenant/internal/cmdutil"
	"github.com/kubectl-tenant/kubectl-tenant/internal/cmdutil/cmdutiltest"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant/tenanttest"
)

// run runs `stats ARGS...` through its flags and the real Run on e.
func run(t *testing.T, e *tenant.Engine, args ...string) (string, string, error) {
	t.Helper()
	return cmdutiltest.Run(NewCmdStats, func(o *Options) {
		o.Engine = tenanttest.EngineFunc(e)
	}, args...)
}

func TestStats(t *testing.T) {
	e, _, _ := tenanttest.NewEngine(t)
	tenanttest.Create(t, e, tenant.CreateOptions{Name: "old", TTL: time.Hour})
	tenanttest.Create(t, e, tenant.CreateOptions{Name: "new"})
	later := tenanttest.Later(e, 2*time.Hour) // old has expired, both are idle for --idle 1h
	out, _, err := run(t, later, "--idle", "1h", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var doc Document
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	if doc.Kind != "TenantStats" || doc.Total != 2 || doc.ByStatus[tenant.StatusReady] != 2 || doc.Recent.Creates != 2 ||
		strings.Join(doc.Expired, ",") != "old" || len(doc.Idle) != 2 {
		t.Errorf("stats: %+v", doc)
	}
	for _, args := range [][]string{{"--since", "0"}, {"--idle", "-1h"}, {"-o", "wide"}} {
		if _, _, err := run(t, e, args...); cmdutil.ExitCode(err) != cmdutil.ExitUsage {
			t.Errorf("%v: %v, want a usage error", args, err)
		}
	}
}
