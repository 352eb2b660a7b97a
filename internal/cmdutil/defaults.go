package cmdutil

import (
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/hostconfig"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
)

// ChangedFlags are the settings' flags of fs the user set.
func ChangedFlags(fs *pflag.FlagSet) hostconfig.Flags {
	out := hostconfig.Flags{}
	if fs == nil {
		return out
	}
	for _, s := range hostconfig.Settings {
		fl := fs.Lookup(s.Flag)
		if s.Flag == "" || fl == nil || !fl.Changed {
			continue
		}
		v := fl.Value.String()
		if sv, ok := fl.Value.(pflag.SliceValue); ok {
			v = strings.Join(sv.GetSlice(), ",")
		}
		out[s.Key] = v
	}
	return out
}

// sourceRank orders sources: a flag beats the environment beats the host
// beats the built-in value.
func sourceRank(v hostconfig.Value) int {
	switch {
	case strings.HasPrefix(v.Source, "flag"):
		return 3
	case strings.HasPrefix(v.Source, "env"):
		return 2
	case v.Source == hostconfig.Ref:
		return 1
	}
	return 0
}

// localChart says the chart is a path or an oci:// reference (no
// repository, one version).
func localChart(ref string) bool {
	if strings.HasPrefix(ref, "oci://") {
		return true
	}
	_, err := os.Stat(ref)
	return err == nil
}

// ChartRef resolves chart, repository and version together: the repository
// applies to a chart name only, and a version only to a chart set at the
// same or a lower level (a host-pinned version is for the host's chart, not
// for a chart given on the command line). With gitops, a local chart from
// the environment is skipped (Argo CD cannot read it).
func ChartRef(r hostconfig.Resolver, gitops bool) (chart, repo, version string) {
	c := r.Get(hostconfig.KeyChart)
	if gitops && localChart(c.Value) && sourceRank(c) < 3 {
		noEnv := r
		noEnv.Getenv = func(k string) string {
			if k == "KUBECTL_TENANT_CHART" {
				return ""
			}
			return r.Env(k)
		}
		c = noEnv.Get(hostconfig.KeyChart)
	}
	chart = c.Value
	if !localChart(chart) {
		repo = r.Get(hostconfig.KeyChartRepo).Value
	}
	if v := r.Get(hostconfig.KeyChartVersion); sourceRank(v) >= sourceRank(c) {
		version = v.Value
	}
	return chart, repo, version
}

// ApplyCreateDefaults fills what the user left unset in a create: chart,
// repository and version, the pool, the TTL (checked against the host's
// maximum), isolation, and the default values under the user's files
// (the host's values, then the files of $KUBECTL_TENANT_VALUES).
func ApplyCreateDefaults(r hostconfig.Resolver, o *tenant.CreateOptions) error {
	o.Chart, o.ChartRepo, o.ChartVersion = ChartRef(r, o.GitOps)
	if o.Pool == "" {
		o.Pool = r.Get(hostconfig.KeyPool).Value
	}
	if _, set := r.Flags[hostconfig.KeyTTL]; !set && o.TTL == 0 {
		ttl, _, err := r.Duration(hostconfig.KeyTTL)
		if err != nil {
			return UsageError{Err: err}
		}
		o.TTL = ttl
	}
	if err := r.CheckTTL(o.TTL); err != nil {
		return UsageError{Err: err}
	}
	if _, set := r.Flags[hostconfig.KeyIsolation]; !set && !o.Isolation {
		iso, _, err := r.Bool(hostconfig.KeyIsolation)
		if err != nil {
			return UsageError{Err: err}
		}
		o.Isolation = iso
	}
	if r.Host != nil {
		o.Values = r.Host.Values
	}
	o.ValuesFiles = append(ValuesFromEnv(r), o.ValuesFiles...)
	if r.Host != nil && !o.GitOps {
		if w, ok := r.Host.WarmPools[o.Pool]; ok {
			o.WarmPool = &tenant.PoolSpec{Pool: o.Pool, Size: w.Size, Sleeping: w.Sleeping()}
		}
	}
	return nil
}

// ValuesEnv names comma-separated chart values files create uses under
// its -f files.
const ValuesEnv = "KUBECTL_TENANT_VALUES"

// ValuesFromEnv returns the files ValuesEnv names in r's environment.
func ValuesFromEnv(r hostconfig.Resolver) []string {
	var out []string
	for _, f := range strings.Split(r.Env(ValuesEnv), ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// CheckTTL refuses a TTL over the host's maximum.
func CheckTTL(r hostconfig.Resolver, ttl time.Duration) error {
	if err := r.CheckTTL(ttl); err != nil {
		return UsageError{Err: err}
	}
	return nil
}
