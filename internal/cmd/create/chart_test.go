package create

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/kubectl-tenant/kubectl-tenant/internal/cmdutil"
	"github.com/kubectl-tenant/kubectl-tenant/internal/cmdutil/cmdutiltest"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/hostconfig"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant/tenanttest"
)

// runCreateWith is runCreate with host defaults data and an environment,
// resolved as the Factory does (the flags the user set rank first).
func runCreateWith(t *testing.T, data, env map[string]string, args ...string) (out, errb string, err error) {
	t.Helper()
	host, err := hostconfig.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	e, _, _ := tenanttest.NewEngine(t)
	return cmdutiltest.Run(NewCmdCreate, func(o *Options) {
		o.Engine = tenanttest.EngineFunc(e)
		o.Defaults = func(_ context.Context, fs *pflag.FlagSet) (hostconfig.Resolver, error) {
			return hostconfig.Resolver{Flags: cmdutil.ChangedFlags(fs), Getenv: func(k string) string { return env[k] }, Host: host}, nil
		}
		o.Connector = &connector{}
	}, args...)
}

// TestCreateSaysWhereTheChartComesFrom (issue #25): create's first line
// names the chart, repository and version it installs and where each came
// from; -o json carries the same as field chartSource.
func TestCreateSaysWhereTheChartComesFrom(t *testing.T) {
	for _, c := range []struct {
		name      string
		data, env map[string]string
		args      []string
		want      string
	}{
		{"built-in", nil, nil, nil, "chart vcluster " + hostconfig.BuiltInChartVersion + " from " + hostconfig.BuiltInChartRepo + " (built-in)"},
		{"host mirror, version flag", map[string]string{hostconfig.KeyChartRepo: "https://mirror.example/charts"}, nil, []string{"--chart-version", "0.30.0"},
			"chart vcluster (built-in) from https://mirror.example/charts (host defaults), version 0.30.0 (flag)"},
		{"host chart and version", map[string]string{hostconfig.KeyChart: "oci://registry.example/vcluster", hostconfig.KeyChartVersion: "0.31.0"}, nil, nil,
			"chart oci://registry.example/vcluster 0.31.0 (host defaults)"},
		{"environment chart, no version", nil, map[string]string{hostconfig.EnvChart: "my-vcluster"}, nil,
			"chart my-vcluster (environment) from " + hostconfig.BuiltInChartRepo + " (built-in), latest version"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, errb, err := runCreateWith(t, c.data, c.env, append([]string{"demo", "--connect=false"}, c.args...)...)
			if err != nil {
				t.Fatal(err)
			}
			if first, _, _ := strings.Cut(errb, "\n"); first != c.want {
				t.Errorf("first line %q, want %q\n%s", first, c.want, errb)
			}
		})
	}

	out, errb, err := runCreateWith(t, map[string]string{hostconfig.KeyChartRepo: "https://mirror.example/charts"}, nil,
		"demo", "--connect=false", "-o", "json", "--chart-version", "0.30.0")
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Name        string
		ChartSource ChartSource `json:"chartSource"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("stdout is not one JSON object: %v\n%s", err, out)
	}
	cs := got.ChartSource
	if got.Name != "demo" || cs.Chart.Value != "vcluster" || cs.Chart.Source != hostconfig.BuiltIn ||
		cs.Repo == nil || cs.Repo.Source != hostconfig.Host || cs.Repo.Value != "https://mirror.example/charts" ||
		cs.Version == nil || cs.Version.Source != hostconfig.Flag || cs.Version.From != "--chart-version" {
		t.Errorf("chartSource %+v (repo %+v, version %+v)\n%s", cs, cs.Repo, cs.Version, out)
	}
	if !strings.Contains(out, `"source": "host"`) || !strings.HasPrefix(errb, "chart vcluster (built-in) from https://mirror.example/charts") {
		t.Errorf("stdout %s\nstderr %s", out, errb)
	}
}

// TestBadInputIsOneLine: input the engine refuses before making anything
// (here a values file that does not exist) prints no chart line: the error
// is the only line (an unsupported chart version takes the same path, e2e
// TestOlderChartLifecycle).
func TestBadInputIsOneLine(t *testing.T) {
	_, errb, err := runCreateWith(t, nil, nil, "demo", "--connect=false", "-f", filepath.Join(t.TempDir(), "missing.yaml"))
	if err == nil {
		t.Fatal("create with a missing values file succeeded")
	}
	if strings.Contains(errb, "chart ") {
		t.Errorf("stderr before the error: %q", errb)
	}
}
