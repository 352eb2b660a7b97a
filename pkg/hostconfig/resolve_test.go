package hostconfig

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/warmpool"
)

// A plain create of a pool must hash like the pool's spares, or no create
// ever claims one; the spares come from the host defaults alone, so a
// caller's environment changes the create's hash, never the spares'.
func TestPoolTemplateMatchesPlainCreate(t *testing.T) {
	host, err := Parse(map[string]string{
		KeyValues: "controlPlane: {distro: {k8s: {image: {tag: v1.34.2}}}}", KeyIsolation: "true",
		KeyChartVersion: "0.34.0", KeyWarmPools: "project-x: {size: 2}",
	})
	if err != nil {
		t.Fatal(err)
	}
	hash := func(o tenant.CreateOptions) string {
		t.Helper()
		h, err := tenant.SpecHash(o.Spec, nil)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	r := Resolver{Host: host}
	create := tenant.CreateOptions{Name: "dev", Spec: tenant.Spec{Pool: "project-x"}}
	if err := r.ApplyCreate(&create); err != nil {
		t.Fatal(err)
	}
	if p, ok := create.Claimer.(warmpool.Pool); !ok || p.Pool != "project-x" || p.Size != 2 || p.Sleeping() {
		t.Errorf("create's warm pool: %+v", create.Claimer)
	}
	tmpl, err := r.PoolTemplate("project-x")
	if err != nil {
		t.Fatal(err)
	}
	spares := hash(tmpl)
	if c := hash(create); c != spares {
		t.Errorf("create --pool project-x hashes %s, the pool's spares %s:\ncreate %+v\nspares %+v", c, spares, create, tmpl)
	}

	// The caller's environment and flags: the create changes, the spares do not.
	f := filepath.Join(t.TempDir(), "mine.yaml")
	if err := os.WriteFile(f, []byte("sync: {}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	mine := Resolver{Host: host, Flags: Flags{KeyChartVersion: "0.25.0"},
		Getenv: env(map[string]string{EnvValues: f, EnvIsolation: "false", EnvChart: "other", EnvChartRepo: "http://env.example"})}
	tmpl2, err := mine.PoolTemplate("project-x")
	if err != nil {
		t.Fatal(err)
	}
	if got := hash(tmpl2); got != spares {
		t.Errorf("the environment changed the pool's template: %+v", tmpl2)
	}
	flagged := tenant.CreateOptions{Name: "dev", Spec: tenant.Spec{Pool: "project-x"}}
	if err := mine.ApplyCreate(&flagged); err != nil {
		t.Fatal(err)
	}
	if hash(flagged) == spares {
		t.Error("a create with its own chart and values file hashes like the pool's spares")
	}
}

// M13: a bare chart name is a chart in a repository even when the working
// directory holds a vcluster/ folder (`helm pull --untar`, a rendered
// platform repository); only a path is local.
func TestBareChartNameIsNeverTheWorkingDirectory(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "vcluster"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "vcluster", "Chart.yaml"), []byte("apiVersion: v2\nname: evil\nversion: 9.9.9\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	for _, c := range []struct {
		name                 string
		r                    Resolver
		chart, repo, version string
	}{
		{"built-in", Resolver{}, BuiltInChart, BuiltInChartRepo, BuiltInChartVersion},
		{"bare name from env", Resolver{Getenv: env(map[string]string{EnvChart: "vcluster"})}, "vcluster", BuiltInChartRepo, ""},
		{"path from env", Resolver{Getenv: env(map[string]string{EnvChart: "./vcluster"})}, "./vcluster", "", ""},
		{"path flag", Resolver{Flags: Flags{KeyChart: "../x/vcluster"}}, "../x/vcluster", "", ""},
		{"oci", Resolver{Flags: Flags{KeyChart: "oci://r.example/vcluster"}}, "oci://r.example/vcluster", "", ""},
	} {
		chart, repo, version := c.r.Chart(false)
		if chart != c.chart || repo != c.repo || version != c.version {
			t.Errorf("%s: Chart() = %q %q %q, want %q %q %q", c.name, chart, repo, version, c.chart, c.repo, c.version)
		}
	}
	// With --gitops, Argo CD cannot read the caller's path: the env's is skipped.
	r := Resolver{Getenv: env(map[string]string{EnvChart: "./vcluster"})}
	if chart, repo, _ := r.Chart(true); chart != BuiltInChart || repo != BuiltInChartRepo {
		t.Errorf("gitops with a path in the environment: %q %q", chart, repo)
	}
	// A host's chart is read by every user: a path there is malformed.
	if _, err := Parse(map[string]string{KeyChart: "./vcluster"}); err == nil {
		t.Error("host defaults with a local chart path were accepted")
	}
}

// A version applies to a chart of the same or a lower source only.
func TestChartVersionFollowsTheChartsSource(t *testing.T) {
	host, err := Parse(map[string]string{KeyChart: "mirror-vcluster", KeyChartVersion: "0.34.1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, v := (Resolver{Host: host}).Chart(false); v != "0.34.1" {
		t.Errorf("host chart and version: version %q", v)
	}
	if c, _, v := (Resolver{Host: host, Flags: Flags{KeyChart: "other"}}).Chart(false); c != "other" || v != "" {
		t.Errorf("a flag's chart took the host's version: %q %q", c, v)
	}
	r := Resolver{Host: host, Getenv: env(map[string]string{EnvChart: "other", EnvChartVersion: "1.2.3"})}
	if c, _, v := r.Chart(false); c != "other" || v != "1.2.3" {
		t.Errorf("env chart and version: %q %q", c, v)
	}
}

func TestArgoCDPrecedence(t *testing.T) {
	host, err := Parse(map[string]string{KeyArgoCDNamespace: "host-argo", KeyArgoCDServer: "https://argo.example"})
	if err != nil {
		t.Fatal(err)
	}
	e := env(map[string]string{EnvArgoCDNamespace: "env-argo", EnvArgoCDInsecure: "true"})
	for _, c := range []struct {
		name     string
		r        Resolver
		configNS string
		want     string
		source   Source
	}{
		{"built-in", Resolver{}, "", BuiltInArgoCDNamespace, BuiltIn},
		{"host", Resolver{Host: host}, "", "host-argo", Host},
		{"env over host", Resolver{Host: host, Getenv: e}, "", "env-argo", Env},
		{"--config over env", Resolver{Host: host, Getenv: e}, "cfg-argo", "cfg-argo", Flag},
		{"--argocd-namespace over --config", Resolver{Host: host, Getenv: e, Flags: Flags{KeyArgoCDNamespace: "flag-argo"}}, "cfg-argo", "flag-argo", Flag},
	} {
		a := c.r.ArgoCD(c.configNS)
		if a.Namespace.Value != c.want || a.Namespace.Source != c.source {
			t.Errorf("%s: namespace %+v, want %q from %v", c.name, a.Namespace, c.want, c.source)
		}
	}
	a := Resolver{Host: host, Getenv: e}.ArgoCD("")
	if !a.Insecure || a.Plaintext || a.Err != nil || a.Server.Value != "https://argo.example" {
		t.Errorf("ArgoCD = %+v", a)
	}
	if a := (Resolver{Getenv: env(map[string]string{EnvArgoCDPlaintext: "maybe"})}).ArgoCD(""); a.Err == nil {
		t.Error("a malformed boolean variable is no error")
	}
}
