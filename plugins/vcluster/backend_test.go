package vcluster

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	kubefake "helm.sh/helm/v3/pkg/kube/fake"
	"helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/storage"
	"helm.sh/helm/v3/pkg/storage/driver"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/vclustervalues"
)

// testChart writes a minimal chart named vcluster at version into dir.
func testChart(t *testing.T, dir, name, version string) string {
	t.Helper()
	p := filepath.Join(dir, "vcluster")
	if err := os.MkdirAll(filepath.Join(p, "templates"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(p, "Chart.yaml"), []byte("apiVersion: v2\nname: "+name+"\nversion: "+version+"\n"), 0o644)
	os.WriteFile(filepath.Join(p, "templates", "cm.yaml"), []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: vc\ndata: {}\n"), 0o644)
	return p
}

// memBackend is a Backend whose Helm releases live in memory and whose
// Kubernetes calls go to a fake clientset.
func memBackend(t *testing.T) *Backend {
	store := storage.Init(driver.NewMemory())
	return &Backend{
		Kube: fake.NewSimpleClientset(),
		helmConfig: func(ns string) (*action.Configuration, error) {
			return &action.Configuration{
				Releases:     store,
				KubeClient:   &kubefake.PrintingKubeClient{Out: io.Discard},
				Capabilities: chartutil.DefaultCapabilities,
				Log:          func(string, ...any) {},
			}, nil
		},
	}
}

func lastConfig(t *testing.T, b *Backend) *release.Release {
	t.Helper()
	cfg, _ := b.config("vcluster-demo")
	r, err := cfg.Releases.Last(tenant.ReleaseName)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func pathOf(v map[string]any, path ...string) any {
	var cur any = v
	for _, k := range path {
		m, _ := cur.(map[string]any)
		cur = m[k]
	}
	return cur
}

// TestUserValuesSurviveUpgradeAndCreateRerun: values the user gave with -f
// (a SAN, as register's error advises, and a nodeSelector) stay through an
// upgrade and a re-run of create without -f; the tool's SANs stay beside
// the user's; the kept values do not show as a change; a new file shows as
// a values diff.
func TestUserValuesSurviveUpgradeAndCreateRerun(t *testing.T) {
	b := memBackend(t)
	ctx := context.Background()
	chart := testChart(t, t.TempDir(), "vcluster", "0.0.1")
	user := filepath.Join(t.TempDir(), "user.yaml")
	os.WriteFile(user, []byte("controlPlane:\n  proxy:\n    extraSANs: [vc.example.com]\n  statefulSet:\n    scheduling:\n      nodeSelector:\n        project: big-pool\n"), 0o644)
	req := tenant.InstallRequest{Name: "demo", Namespace: "vcluster-demo", Spec: tenant.Spec{Pool: "demo", Chart: chart}}
	create := req
	create.ValuesFiles = []string{user}
	if err := b.Install(ctx, create); err != nil {
		t.Fatal(err)
	}
	wantSANs := []any{"vcluster.vcluster-demo.svc", "vcluster.vcluster-demo.svc.cluster.local", "vc.example.com"}
	check := func(when string) {
		t.Helper()
		cfg := lastConfig(t, b).Config
		if got := pathOf(cfg, "controlPlane", "proxy", "extraSANs"); !reflect.DeepEqual(got, wantSANs) {
			t.Errorf("%s: extraSANs = %v, want %v", when, got, wantSANs)
		}
		if got := pathOf(cfg, "controlPlane", "statefulSet", "scheduling", "nodeSelector", "project"); got != "big-pool" {
			t.Errorf("%s: nodeSelector project = %v, want big-pool", when, got)
		}
		if got := pathOf(cfg, "controlPlane", "statefulSet", "labels", tenant.LabelName); got != "demo" {
			t.Errorf("%s: the tool's labels are gone: %v", when, got)
		}
	}
	check("create -f")

	upgrade := req
	upgrade.ReuseValues = true
	ch, err := b.Inspect(ctx, upgrade)
	if err != nil || !ch.Unchanged() || len(ch.ValuesDiff) != 0 {
		t.Fatalf("Inspect without new values = %+v, %v; want unchanged", ch, err)
	}
	if err := b.Install(ctx, upgrade); err != nil {
		t.Fatal(err)
	}
	check("upgrade")
	if err := b.Install(ctx, req); err != nil {
		t.Fatal(err)
	}
	check("create re-run without -f")

	more := filepath.Join(t.TempDir(), "more.yaml")
	os.WriteFile(more, []byte("controlPlane:\n  statefulSet:\n    annotations:\n      team: a\n    scheduling:\n      nodeSelector:\n        project: other\n"), 0o644)
	upgrade.ValuesFiles = []string{more}
	ch, err = b.Inspect(ctx, upgrade)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"+controlPlane.statefulSet.annotations.team: a",
		"~controlPlane.statefulSet.scheduling.nodeSelector.project: big-pool -> other",
	}
	if !ch.ValuesChanged || !reflect.DeepEqual(ch.ValuesDiff, want) {
		t.Fatalf("Inspect with a new file: %+v, want diff %q", ch, want)
	}
	if err := b.Install(ctx, upgrade); err != nil {
		t.Fatal(err)
	}
	if err := b.Install(ctx, req); err != nil { // and once more without -f
		t.Fatal(err)
	}
	cfg := lastConfig(t, b).Config
	if pathOf(cfg, "controlPlane", "statefulSet", "annotations", "team") != "a" ||
		pathOf(cfg, "controlPlane", "statefulSet", "scheduling", "nodeSelector", "project") != "other" ||
		!reflect.DeepEqual(pathOf(cfg, "controlPlane", "proxy", "extraSANs"), wantSANs) {
		t.Errorf("after a second file: %v", cfg)
	}
}

// TestUserValuesOfAnOlderRelease: a release installed before the user's
// values were kept (no Secret) keeps what differs from the tool's values.
func TestUserValuesOfAnOlderRelease(t *testing.T) {
	b := memBackend(t)
	ctx := context.Background()
	chart := testChart(t, t.TempDir(), "vcluster", "0.0.1")
	tool, err := vclustervalues.For("demo", "demo", "", false)
	if err != nil {
		t.Fatal(err)
	}
	old := vclustervalues.Merge(tool, map[string]any{"controlPlane": map[string]any{"proxy": map[string]any{"extraSANs": []any{"vc.example.com"}}}})
	cfg, _ := b.config("vcluster-demo")
	in := action.NewInstall(cfg)
	in.ReleaseName, in.Namespace = tenant.ReleaseName, "vcluster-demo"
	ch, err := loader.Load(chart)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := in.Run(ch, old); err != nil {
		t.Fatal(err)
	}
	if err := b.Install(ctx, tenant.InstallRequest{Name: "demo", Namespace: "vcluster-demo", ReuseValues: true, Spec: tenant.Spec{Pool: "demo", Chart: chart}}); err != nil {
		t.Fatal(err)
	}
	got := pathOf(lastConfig(t, b).Config, "controlPlane", "proxy", "extraSANs")
	if !reflect.DeepEqual(got, []any{"vcluster.vcluster-demo.svc", "vcluster.vcluster-demo.svc.cluster.local", "vc.example.com"}) {
		t.Fatalf("extraSANs after upgrading an older release = %v", got)
	}
}

func TestDiffValuesHidesCredentials(t *testing.T) {
	got := DiffValues(
		map[string]any{"a": map[string]any{"password": "old", "n": 1.0}},
		map[string]any{"a": map[string]any{"password": "new", "n": 2.0, "env": []any{map[string]any{"name": "X", "value": "s3cr3t"}}}},
	)
	want := []string{"+a.env: (changed)", "~a.n: 1 -> 2", "~a.password: (hidden) -> (hidden)"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("DiffValues = %q, want %q", got, want)
	}
	if strings.Contains(strings.Join(got, "\n"), "s3cr3t") || strings.Contains(strings.Join(got, "\n"), "new") {
		t.Fatal("a credential was printed")
	}
}

// TestDefaultChartNotFromWorkingDirectory (M13): the default chart, and any
// bare chart name (what the resolver passes: Chart "vcluster"), is never a
// ./vcluster directory of the working directory (a rendered platform
// repository has one, `helm pull --untar` makes one); a chart written as a
// path is local.
func TestDefaultChartNotFromWorkingDirectory(t *testing.T) {
	dir := t.TempDir()
	testChart(t, dir, "evil", "6.6.6")
	t.Chdir(dir)
	if p, ok := localChart(tenant.InstallRequest{}); ok {
		t.Fatalf("the default chart resolved to the local %s", p)
	}
	for _, ref := range []string{"./vcluster", filepath.Join(dir, "vcluster"), "../" + filepath.Base(dir) + "/vcluster"} {
		if _, ok := localChart(tenant.InstallRequest{Spec: tenant.Spec{Chart: ref}}); !ok {
			t.Errorf("explicit --chart %s is not taken as local", ref)
		}
	}
	if p, ok := localChart(tenant.InstallRequest{Spec: tenant.Spec{Chart: "vcluster"}}); ok {
		t.Errorf("the bare name vcluster resolved to the local %s", p)
	}
	// The whole load: the default goes to the repository, never the local
	// "evil" chart. (No network: an unreachable repository URL.)
	b := memBackend(t)
	cfg, _ := b.config("x")
	ch, err := b.loadChart(cfg, tenant.InstallRequest{Spec: tenant.Spec{ChartRepo: "http://127.0.0.1:1"}})
	if err == nil && ch.Metadata.Name == "evil" {
		t.Fatal("the default chart was loaded from the working directory")
	}
	if err != nil && strings.Contains(err.Error(), "Chart.yaml") {
		t.Fatalf("the default chart was looked up in the working directory: %v", err)
	}
	// As create, upgrade and gc pass it: the built-in name and version.
	ch, err = b.loadChart(cfg, tenant.InstallRequest{Spec: tenant.Spec{Chart: "vcluster", ChartRepo: "http://127.0.0.1:1", ChartVersion: "0.34.0"}})
	if err == nil && ch.Metadata.Name == "evil" {
		t.Fatal("chart vcluster was loaded from the working directory")
	}
	if err == nil || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Errorf("chart vcluster did not go to its repository: %v", err)
	}
}

// TestFencedInstallLeavesThePendingRelease: a run that lost the tenant's
// lease (its context cancelled) neither removes nor replaces the pending
// release, which is the new holder's in-flight install.
func TestFencedInstallLeavesThePendingRelease(t *testing.T) {
	b := memBackend(t)
	chart := testChart(t, t.TempDir(), "vcluster", "0.0.1")
	req := tenant.InstallRequest{Name: "demo", Namespace: "vcluster-demo", Spec: tenant.Spec{Pool: "demo", Chart: chart}}
	if err := b.Install(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	cfg, _ := b.config(req.Namespace)
	r := lastConfig(t, b)
	r.Info.Status = release.StatusPendingInstall
	if err := cfg.Releases.Update(r); err != nil {
		t.Fatal(err)
	}
	lost := errors.New("lost the lease")
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(lost)
	if err := b.Install(ctx, req); !errors.Is(err, lost) {
		t.Fatalf("Install after losing the lease = %v, want %v", err, lost)
	}
	if err := b.Uninstall(ctx, req.Namespace); !errors.Is(err, lost) {
		t.Fatalf("Uninstall after losing the lease = %v, want %v", err, lost)
	}
	if r := lastConfig(t, b); r.Version != 1 || r.Info.Status != release.StatusPendingInstall {
		t.Fatalf("release after fenced runs: version %d %s, want the pending version 1", r.Version, r.Info.Status)
	}
}

// A chart older than 0.26 refuses the probe timings the tool sets: they are
// dropped for a chart whose own values have no startupProbe.periodSeconds.
func TestTakesProbeTimingsReadsTheChart(t *testing.T) {
	withTimings := &chart.Chart{Values: map[string]any{"controlPlane": map[string]any{"statefulSet": map[string]any{"probes": map[string]any{
		"startupProbe": map[string]any{"enabled": true, "periodSeconds": 6, "failureThreshold": 300}}}}}}
	old := &chart.Chart{Values: map[string]any{"controlPlane": map[string]any{"statefulSet": map[string]any{"probes": map[string]any{
		"startupProbe": map[string]any{"enabled": true}}}}}}
	if !takesProbeTimings(withTimings) || takesProbeTimings(old) || takesProbeTimings(&chart.Chart{}) {
		t.Fatalf("takesProbeTimings: with timings %v, 0.25-like %v, no values %v; want true, false, false",
			takesProbeTimings(withTimings), takesProbeTimings(old), takesProbeTimings(&chart.Chart{}))
	}
}
