package config

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/kubectl-tenant/kubectl-tenant/internal/cmdutil"
	"github.com/kubectl-tenant/kubectl-tenant/internal/cmdutil/cmdutiltest"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/hostconfig"
)

// run runs `config ARGS...` through its flags and view's real Run, with
// defaults resolved over host (nil: Defaults fails with err).
func run(t *testing.T, host map[string]string, err error, args ...string) (string, string, error) {
	t.Helper()
	return cmdutiltest.Run(NewCmdConfig, func(o *Options) {
		o.Defaults = func(context.Context, *pflag.FlagSet) (hostconfig.Resolver, error) {
			if err != nil {
				return hostconfig.Resolver{}, err
			}
			d, perr := hostconfig.Parse(host)
			if perr != nil {
				t.Fatal(perr)
			}
			d.Found = host != nil
			return hostconfig.Resolver{Host: d, Getenv: func(k string) string {
				if k == "KUBECTL_TENANT_TTL" {
					return "8h"
				}
				return ""
			}}, nil
		}
	}, args...)
}

func TestConfigView(t *testing.T) {
	out, _, err := run(t, map[string]string{hostconfig.KeyPool: "shared"}, nil, "view")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`(?m)^KEY\s+VALUE\s+SOURCE$`, `(?m)^pool\s+shared\s+host ` + regexp.QuoteMeta(hostconfig.Ref) + `$`, `(?m)^ttl\s+8h\s+env \$KUBECTL_TENANT_TTL$`} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("output does not match %s:\n%s", want, out)
		}
	}
	if strings.Contains(out, "(no ") {
		t.Errorf("host found, yet:\n%s", out)
	}
	out, _, err = run(t, nil, nil, "view", "-o", "json")
	if err != nil || !strings.Contains(out, `"kind": "Defaults"`) || !strings.Contains(out, `"hostFound": false`) {
		t.Errorf("-o json without a host object: %v\n%s", err, out)
	}
	bad := errors.New("host defaults kube-public/kubectl-tenant: ttl: not a duration")
	if _, _, err := run(t, nil, bad, "view"); !errors.Is(err, bad) {
		t.Errorf("a malformed host object: %v", err)
	}
	if _, _, err := run(t, nil, nil, "view", "-o", "name"); cmdutil.ExitCode(err) != cmdutil.ExitUsage {
		t.Errorf("-o name: %v, want a usage error", err)
	}
}
