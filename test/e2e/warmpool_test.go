package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
	"github.com/kubectl-tenant/kubectl-tenant/test/testenv"
)

// warmPool is the pool the warm-pool test fills: project-z, so that the
// other tests' creates on project-x never claim its spares.
const warmPool = "project-z"

// TestWarmPool is issue #16's "done when" on the playground: a pool of 3
// spares; a create with its own values file does not match them; 5
// concurrent creates get 3 claims and 2 fresh installs, no spare twice;
// all 5 answer, a claimed one registers with Argo CD at its own namespace's
// Service address, stats split claimed from fresh, and deleting everything
// (then removing the pool) leaves no namespace, release or Argo CD entry.
func TestWarmPool(t *testing.T) {
	w := newWorld(t)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		w.run(ctx, "pool", "set", warmPool, "--size", "0")
	})
	r := w.mustRun("pool", "set", warmPool, "--size", "3", "--wait", "5m", "-o", "json")
	if !strings.Contains(r.stdout, `"pool": "`+warmPool+`"`) {
		t.Fatalf("pool set -o json: %s", r.stdout)
	}
	st := w.poolStatus()
	if st.Size != 3 || st.Ready != 3 {
		t.Fatalf("pool status after pool set --wait: %+v, want 3 ready", st)
	}
	n := 0
	for _, s := range w.listSpares() {
		if s.Pool == warmPool && s.Status == tenant.StatusReady && strings.HasPrefix(s.Name, "spare-") {
			n++
		}
	}
	if n != 3 {
		t.Errorf("list --spares shows %d ready spares of %s, want 3", n, warmPool)
	}
	for name, tn := range w.list() {
		if tn.Spare || strings.HasPrefix(name, "spare-") {
			t.Errorf("list without --spares shows spare %s", name)
		}
	}

	// Its own values file: not the pool's spec, so a fresh install.
	vals := filepath.Join(t.TempDir(), "own.yaml")
	if err := os.WriteFile(vals, []byte("controlPlane:\n  statefulSet:\n    annotations:\n      e2e: own\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	const own = "e2e-wp-own"
	w.deleteAtEnd(own)
	ownT := runJSON[tenant.Tenant](w, "create", own, "--pool", warmPool, "-f", vals, "--connect=false", "--wait", "0", "-o", "json")
	if ownT.ClaimedAt != nil || ownT.Namespace != tenant.NamespaceFor(own) {
		t.Fatalf("create with its own values file claimed a spare: %+v", ownT)
	}
	if st := w.poolStatus(); st.Ready != 3 {
		t.Errorf("after a create that does not match, pool status %+v, want 3 ready", st)
	}

	// Five at once against three ready spares.
	names := make([]string, 5)
	for i := range names {
		names[i] = fmt.Sprintf("e2e-wp-%d", i)
	}
	w.deleteAtEnd(names...)
	got := make([]tenant.Tenant, len(names))
	var wg sync.WaitGroup
	for i, n := range names {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
			defer cancel()
			r := w.run(ctx, "create", n, "--pool", warmPool, "--connect=false", "--wait", "5m", "-o", "json")
			if r.code != 0 || json.Unmarshal([]byte(r.stdout), &got[i]) != nil {
				t.Errorf("create %s: exit %d\n%s\n%s", n, r.code, r.stdout, r.stderr)
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	claimed, fresh := 0, 0
	seen := map[string]string{}
	var aClaimed string
	for i, tn := range got {
		if other, dup := seen[tn.Namespace]; dup {
			t.Errorf("tenants %s and %s share namespace %s", other, names[i], tn.Namespace)
		}
		seen[tn.Namespace] = names[i]
		switch {
		case tn.ClaimedAt != nil && strings.HasPrefix(tn.Namespace, tenant.NamespacePrefix+"spare-"):
			claimed++
			aClaimed = names[i]
		case tn.ClaimedAt == nil && tn.Namespace == tenant.NamespaceFor(names[i]):
			fresh++
		default:
			t.Errorf("tenant %s: namespace %s, claimed at %v", names[i], tn.Namespace, tn.ClaimedAt)
		}
		if tn.Name != names[i] || tn.Status != tenant.StatusReady {
			t.Errorf("create %s printed %s %s", names[i], tn.Name, tn.Status)
		}
	}
	if claimed != 3 || fresh != 2 {
		t.Fatalf("5 creates against 3 spares: %d claimed, %d fresh; want 3 and 2", claimed, fresh)
	}
	// Every one answers under its own name.
	for _, n := range names {
		if r := w.mustRun("connect", n, "--", "kubectl", "get", "ns", "default", "-o", "name"); strings.TrimSpace(r.stdout) != "namespace/default" {
			t.Errorf("connect %s -- kubectl get ns default: %q", n, r.stdout)
		}
	}
	// A claimed tenant registers under its name, at its namespace's address.
	ns := got[slices.Index(names, aClaimed)].Namespace
	if reg := runJSON[registerOut](w, "register", aClaimed, "--yes", "-o", "json"); reg.Server != "https://vcluster."+ns || reg.ConnectionState != "Successful" {
		t.Errorf("register %s (claimed, namespace %s): %+v", aClaimed, ns, reg)
	}
	if e := w.argo().entriesOf(aClaimed); len(e) != 1 || e[0].Name != aClaimed {
		t.Errorf("Argo CD entries of %s: %+v", aClaimed, e)
	}
	// The rest of the lifecycle on a claimed tenant, by its name: a create
	// again converges it in place; an upgrade to the chart it runs changes
	// nothing (it keeps the spare's install name, so no restart); sleep and
	// wake.
	if again := runJSON[tenant.Tenant](w, "create", aClaimed, "--pool", warmPool, "--connect=false", "-o", "json"); again.Namespace != ns || again.ClaimedAt == nil {
		t.Errorf("create %s again: %+v; want it converged in %s", aClaimed, again, ns)
	}
	if up := runJSON[upgradeOut](w, "upgrade", aClaimed, "--chart-version", testenv.VClusterChartVersion, "-o", "json"); len(up.Unchanged) != 1 || up.Unchanged[0].Name != aClaimed || len(up.Waves) != 0 {
		t.Errorf("upgrade %s to the chart it runs: %+v; want it unchanged", aClaimed, up)
	}
	w.mustRun("sleep", aClaimed)
	if s := w.list()[aClaimed].Status; s != tenant.StatusSleeping {
		t.Errorf("after sleep %s, list says %s", aClaimed, s)
	}
	w.mustRun("wake", aClaimed, "--wait", "5m")
	if r := w.mustRun("connect", aClaimed, "--", "kubectl", "get", "ns", "default", "-o", "name"); strings.TrimSpace(r.stdout) != "namespace/default" {
		t.Errorf("after wake, connect %s -- kubectl get ns default: %q", aClaimed, r.stdout)
	}

	// list: the five under their names; spares only with --spares.
	l := w.list()
	for _, n := range names {
		if l[n].Namespace != got[slices.Index(names, n)].Namespace {
			t.Errorf("list: %s in %q, want %q", n, l[n].Namespace, got[slices.Index(names, n)].Namespace)
		}
	}
	for name := range l {
		if strings.HasPrefix(name, "spare-") {
			t.Errorf("list without --spares shows %s", name)
		}
	}
	// The claims started 3 replacements.
	if st := w.poolStatus(); st.Ready+st.Pending != 3 || st.Claimed != 3 || st.Fresh < 3 {
		t.Errorf("pool status after the claims: %+v; want 3 spares (replacements), 3 claimed, 3 fresh", st)
	}
	stats := runJSON[struct {
		Recent tenant.RecentCreates `json:"recent"`
	}](w, "stats", "-o", "json")
	if stats.Recent.Claimed == nil || stats.Recent.Claimed.Creates < 3 || stats.Recent.Fresh == nil {
		t.Errorf("stats: %+v", stats.Recent)
	}

	// Delete all: nothing of them left.
	for _, n := range append(names, own) {
		w.mustRun("delete", n, "--yes")
	}
	for i, n := range names {
		w.assertNamespaceGone(got[i].Namespace)
		if l := w.list(); l[n].Name != "" {
			t.Errorf("%s still listed", n)
		}
	}
	if e := w.argo().entriesOf(aClaimed); len(e) != 0 {
		t.Errorf("Argo CD still has %s: %+v", aClaimed, e)
	}
	// Removing the pool removes its spares.
	w.mustRun("pool", "set", warmPool, "--size", "0")
	for _, s := range w.listSpares() {
		if s.Pool == warmPool {
			w.assertNamespaceGone(s.Namespace)
		}
	}
}
