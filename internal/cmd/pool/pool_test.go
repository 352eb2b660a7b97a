package pool

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/spf13/pflag"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-tenant/kubectl-tenant/internal/cmdutil"
	"github.com/kubectl-tenant/kubectl-tenant/internal/factory"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/hostconfig"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant/tenanttest"
)

// run runs `pool ARGS...` through its flags and the real RunSet/RunStatus
// on e, with the host defaults in e's (fake) cluster.
func run(t *testing.T, e *tenant.Engine, args ...string) (string, error) {
	t.Helper()
	streams, _, out, _ := genericiooptions.NewTestIOStreams()
	seam := func(o *Options) {
		o.Engine = tenanttest.EngineFunc(e)
		o.Defaults = func(ctx context.Context, _ *pflag.FlagSet) (hostconfig.Resolver, error) {
			d, err := hostconfig.Load(ctx, e.Kube)
			return hostconfig.Resolver{Host: d, Getenv: func(string) string { return "" }}, err
		}
	}
	cmd := NewCmdPool(factory.New(streams),
		func(ctx context.Context, o *Options) error { seam(o); return o.RunSet(ctx) },
		func(ctx context.Context, o *Options) error { seam(o); return o.RunStatus(ctx) })
	cmd.SetArgs(args)
	cmd.SetOut(out)
	cmd.SetErr(out)
	err := cmd.Execute()
	return out.String(), err
}

func TestPoolSetAndStatus(t *testing.T) {
	ctx := context.Background()
	e, cs, _ := tenanttest.NewListingEngine(t)
	out, err := run(t, e, "set", "pool-a", "--size", "2")
	if err != nil || !strings.HasPrefix(out, "pool/pool-a set: 2 spares, running; installing spare-") {
		t.Fatalf("pool set: %q, %v", out, err)
	}
	cm, err := cs.CoreV1().ConfigMaps(hostconfig.Namespace).Get(ctx, hostconfig.Name, metav1.GetOptions{})
	if err != nil || cm.Data[hostconfig.KeyWarmPools] != "pool-a: {size: 2, state: running}\n" {
		t.Fatalf("host defaults after pool set: %v, %v", cm, err)
	}
	out, err = run(t, e, "status", "-o", "json")
	var doc StatusList
	if err != nil || json.Unmarshal([]byte(out), &doc) != nil || len(doc.Items) != 1 ||
		doc.Items[0].Pool != "pool-a" || doc.Items[0].Size != 2 || doc.Items[0].Ready != 2 {
		t.Fatalf("pool status -o json: %v\n%s", err, out)
	}
	out, err = run(t, e, "status")
	if err != nil || !strings.Contains(out, "HIT RATE") || !strings.Contains(out, "pool-a") {
		t.Errorf("pool status: %q, %v", out, err)
	}
	for _, args := range [][]string{
		{"set", "pool-a"},
		{"set", "pool-a", "--size", "1", "--state", "frozen"},
		{"set", "pool-a", "--size", "-1"},
		{"set", "Bad Pool", "--size", "1"},
		{"set", "pool-a", "--size", "1", "--wait", "-1s"},
		{"status", "-o", "name"},
	} {
		if _, err := run(t, e, args...); cmdutil.ExitCode(err) != cmdutil.ExitUsage {
			t.Errorf("pool %v: %v, want a usage error", args, err)
		}
	}
	out, err = run(t, e, "set", "pool-a", "--size", "0")
	if err != nil || !strings.HasPrefix(out, "pool/pool-a removed; removed spare-") {
		t.Fatalf("pool set --size 0: %q, %v", out, err)
	}
	cm, _ = cs.CoreV1().ConfigMaps(hostconfig.Namespace).Get(ctx, hostconfig.Name, metav1.GetOptions{})
	if _, ok := cm.Data[hostconfig.KeyWarmPools]; ok {
		t.Errorf("warmPools left after removing the only pool: %q", cm.Data)
	}
	if s, _ := e.Spares(ctx, ""); len(s) != 0 {
		t.Errorf("spares left: %+v", s)
	}
}
