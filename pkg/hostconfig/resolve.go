package hostconfig

import (
	"cmp"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/vclustervalues"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/warmpool"
)

// Source says where an effective value came from. A higher Source wins:
// the order of the constants is the precedence, so comparing two Sources
// is comparing their rank.
type Source int

// Sources, lowest first.
const (
	BuiltIn Source = iota
	Host
	Env
	Flag
)

var sourceNames = [...]string{BuiltIn: "built-in", Host: "host", Env: "env", Flag: "flag"}

func (s Source) String() string {
	if s < 0 || int(s) >= len(sourceNames) {
		return "Source(" + strconv.Itoa(int(s)) + ")"
	}
	return sourceNames[s]
}

// MarshalText writes the Source's name (config view's -o json|yaml).
func (s Source) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads a Source's name.
func (s *Source) UnmarshalText(b []byte) error {
	for i, n := range sourceNames {
		if n == string(b) {
			*s = Source(i)
			return nil
		}
	}
	return fmt.Errorf("unknown source %q", b)
}

// Value is one effective setting and where it came from.
type Value struct {
	Key    string `json:"key"`
	Value  string `json:"value"`
	Source Source `json:"source"`
	// From names the source: the flag (--chart), the variable
	// ($KUBECTL_TENANT_CHART) or the ConfigMap; empty for BuiltIn.
	From string `json:"from,omitempty"`
}

// Origin is where v came from, for people: "flag --chart",
// "env $KUBECTL_TENANT_CHART", "host ConfigMap kube-public/kubectl-tenant",
// "built-in".
func (v Value) Origin() string {
	if v.From == "" {
		return v.Source.String()
	}
	return v.Source.String() + " " + v.From
}

// Flags are the values of the flags a command was given (by setting key);
// only flags the user set belong in it.
type Flags map[string]string

// Resolver resolves settings for one command: the one place that decides
// flag > environment > host defaults > built-in. Commands take their
// chart, values, pool, TTL, isolation and Argo CD location from its
// methods, never from the environment or the ConfigMap directly.
type Resolver struct {
	Flags Flags
	// Getenv reads the environment the caller read once (nil: none; this
	// package never reads the process environment).
	Getenv func(string) string
	Host   *Defaults
}

// getenv reads variable key of r's environment ("" without one). It is
// unexported: callers get resolved values, not variables.
func (r Resolver) getenv(key string) string {
	if r.Getenv == nil {
		return ""
	}
	return r.Getenv(key)
}

// HostOnly is r without the caller's flags and environment: what acts on
// shared state (warm pools) must not depend on who runs it.
func (r Resolver) HostOnly() Resolver { return Resolver{Host: r.Host} }

// Get resolves one setting: flag > environment > host defaults > built-in.
func (r Resolver) Get(key string) Value {
	s, _ := lookup(key)
	if v, ok := r.Flags[key]; ok && s.Flag != "" {
		return Value{key, v, Flag, "--" + s.Flag}
	}
	if s.Env != "" {
		if v := r.getenv(s.Env); v != "" {
			return Value{key, v, Env, "$" + s.Env}
		}
	}
	if r.Host != nil {
		if v, ok := r.Host.Data[key]; ok && v != "" {
			return Value{key, v, Host, Ref}
		}
	}
	return Value{key, s.BuiltIn, BuiltIn, ""}
}

// All resolves every setting, in Settings order.
func (r Resolver) All() []Value {
	out := make([]Value, len(Settings))
	for i, s := range Settings {
		out[i] = r.Get(s.Key)
	}
	return out
}

// Duration resolves a duration setting (validated where it came from, except
// flags and the environment, which it parses now).
func (r Resolver) Duration(key string) (time.Duration, Value, error) {
	v := r.Get(key)
	d, err := time.ParseDuration(v.Value)
	if err != nil || d < 0 {
		return 0, v, tenant.NewUsageError(fmt.Sprintf("%s (from %s): %q is not a duration such as 8h", key, v.Origin(), v.Value))
	}
	return d, v, nil
}

// CredentialLifetime resolves credentialLifetime: how long a tenant
// context's client certificate is valid.
func (r Resolver) CredentialLifetime() (time.Duration, Value, error) {
	v := r.Get(KeyCredentialLifetime)
	d, err := CheckCredentialLifetime(v.Value)
	if err != nil {
		return 0, v, tenant.NewUsageError(fmt.Sprintf("%s (from %s): %s", KeyCredentialLifetime, v.Origin(), err))
	}
	return d, v, nil
}

// Bool resolves a boolean setting.
func (r Resolver) Bool(key string) (bool, Value, error) {
	v := r.Get(key)
	b, err := strconv.ParseBool(v.Value)
	if err != nil {
		return false, v, tenant.NewUsageError(fmt.Sprintf("%s (from %s): %q is not true or false", key, v.Origin(), v.Value))
	}
	return b, v, nil
}

// CheckTTL refuses a ttl over the host's maximum (0: unbounded); ttl 0
// (never expires) is over any maximum.
func (r Resolver) CheckTTL(ttl time.Duration) error {
	maxTTL, v, err := r.Duration(KeyMaxTTL)
	if err != nil || maxTTL == 0 {
		return err
	}
	if ttl == 0 || ttl > maxTTL {
		got := ttl.String()
		if ttl == 0 {
			got = "no expiry"
		}
		return tenant.NewUsageError(fmt.Sprintf("ttl %s is over the maximum %s (%s from %s)", got, maxTTL, KeyMaxTTL, v.Origin()))
	}
	return nil
}

// localChart says a chart reference needs no repository: a path (written
// as one, see vclustervalues.IsChartPath) or an oci:// reference.
func localChart(ref string) bool {
	return strings.HasPrefix(ref, "oci://") || vclustervalues.IsChartPath(ref)
}

// without is r with environment variable name unset.
func (r Resolver) without(name string) Resolver {
	get := r.Getenv
	r.Getenv = func(k string) string {
		if k == name || get == nil {
			return ""
		}
		return get(k)
	}
	return r
}

// Chart resolves chart, repository and version together: the repository
// applies to a chart name only (never a path or oci:// reference), and a
// version only to a chart set at the same or a lower Source (a host-pinned
// version is for the host's chart, not for one given on the command line).
// With gitops, a chart path from the environment is skipped: Argo CD
// cannot read the caller's disk.
func (r Resolver) Chart(gitops bool) (chart, repo, version string) {
	c, rp, v := r.ChartSources(gitops)
	return c.Value, rp.Value, v.Value
}

// ChartSources is Chart with where each value came from (create prints
// it); repo and version are the zero Value (no Key) where they do not apply.
func (r Resolver) ChartSources(gitops bool) (chart, repo, version Value) {
	chart = r.Get(KeyChart)
	if gitops && chart.Source == Env && vclustervalues.IsChartPath(chart.Value) {
		r = r.without(EnvChart)
		chart = r.Get(KeyChart)
	}
	if !localChart(chart.Value) {
		repo = r.Get(KeyChartRepo)
	}
	if v := r.Get(KeyChartVersion); v.Source >= chart.Source {
		version = v
	}
	return chart, repo, version
}

// ValuesFiles are the chart values files of the environment (EnvValues,
// comma-separated): under a create's -f files, over the host's values.
func (r Resolver) ValuesFiles() []string {
	var out []string
	for _, f := range strings.Split(r.getenv(EnvValues), ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// ApplyCreate fills what a create left unset: chart, repository and
// version, the pool, the TTL (checked against the host's maximum),
// isolation, the host's values and the environment's values files under
// o's own, and the warm pool to claim from. Bad input is a usage error.
func (r Resolver) ApplyCreate(o *tenant.CreateOptions) error {
	o.Chart, o.ChartRepo, o.ChartVersion = r.Chart(o.GitOps)
	if o.Pool == "" {
		o.Pool = r.Get(KeyPool).Value
	}
	if _, set := r.Flags[KeyTTL]; !set && o.TTL == 0 {
		ttl, _, err := r.Duration(KeyTTL)
		if err != nil {
			return err
		}
		o.TTL = ttl
	}
	if err := r.CheckTTL(o.TTL); err != nil {
		return err
	}
	if _, set := r.Flags[KeyIsolation]; !set && !o.Isolation {
		iso, _, err := r.Bool(KeyIsolation)
		if err != nil {
			return err
		}
		o.Isolation = iso
	}
	if r.Host != nil {
		o.Values = r.Host.Values
	}
	o.ValuesFiles = append(r.ValuesFiles(), o.ValuesFiles...)
	if r.Host != nil && !o.GitOps {
		if c, ok := r.Host.WarmPools[cmp.Or(o.Pool, o.Name)]; ok { // the pool defaults to the name
			o.Claimer = warmpool.Pool{Config: c}
		}
	}
	return nil
}

// UnreadableError says the host defaults were not read, so their warm
// pools are unknown: nothing may be removed or installed for them.
type UnreadableError struct{ Err error }

func (e *UnreadableError) Error() string {
	if e.Err == nil {
		return "the host defaults " + Ref + " were not read"
	}
	return "cannot read the host defaults " + Ref + ": " + e.Err.Error()
}

func (e *UnreadableError) Unwrap() error { return e.Err }

// WarmPools are the warm pools of the host defaults, by name. They come
// from the ConfigMap alone; when it could not be read (Forbidden) they are
// unknown, an *UnreadableError, not "no pools".
func (r Resolver) WarmPools() ([]warmpool.Config, error) {
	if r.Host == nil {
		return nil, &UnreadableError{}
	}
	if r.Host.Unreadable != nil {
		return nil, &UnreadableError{Err: r.Host.Unreadable}
	}
	var out []warmpool.Config
	for _, c := range r.Host.WarmPools {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Pool < out[j].Pool })
	return out, nil
}

// PoolTemplate is what a warm pool's spares are installed from: a plain
// `create --pool pool` under the host defaults alone. The caller's flags,
// environment and working directory play no part, so every user's gc and
// `pool set` keep the same spares; a create whose own settings differ
// hashes differently and does not claim one.
func (r Resolver) PoolTemplate(pool string) (tenant.CreateOptions, error) {
	h := r.HostOnly()
	o := tenant.CreateOptions{Spec: tenant.Spec{Pool: pool}}
	o.Chart, o.ChartRepo, o.ChartVersion = h.Chart(false)
	iso, _, err := h.Bool(KeyIsolation)
	if err != nil {
		return o, err
	}
	o.Isolation = iso
	if h.Host != nil {
		o.Values = h.Host.Values
	}
	return o, nil
}

// ArgoCD is where Argo CD is and how to speak to it, resolved.
type ArgoCD struct {
	Namespace, Server Value
	// Insecure and Plaintext come from the environment only
	// (EnvArgoCDInsecure, EnvArgoCDPlaintext).
	Insecure, Plaintext bool
	// Err is a malformed Insecure or Plaintext variable; the first Argo CD
	// call reports it.
	Err error
}

// ArgoCD resolves where Argo CD is. configNS is the argocdNamespace of a
// file a flag names (create --gitops --config): it ranks as a flag, under
// an explicit --argocd-namespace.
func (r Resolver) ArgoCD(configNS string) ArgoCD {
	a := ArgoCD{Namespace: r.Get(KeyArgoCDNamespace), Server: r.Get(KeyArgoCDServer)}
	if configNS != "" && a.Namespace.Source < Flag {
		a.Namespace = Value{KeyArgoCDNamespace, configNS, Flag, "--config"}
	}
	var err1, err2 error
	a.Insecure, err1 = r.envBool(EnvArgoCDInsecure)
	a.Plaintext, err2 = r.envBool(EnvArgoCDPlaintext)
	if err1 != nil {
		a.Err = err1
	} else {
		a.Err = err2
	}
	return a
}

// envBool reads boolean variable name (unset or empty: false).
func (r Resolver) envBool(name string) (bool, error) {
	s := r.getenv(name)
	if s == "" {
		return false, nil
	}
	v, err := strconv.ParseBool(s)
	if err != nil {
		return false, tenant.NewUsageError(fmt.Sprintf("$%s=%q: want true or false", name, s))
	}
	return v, nil
}

// ArgoCDToken resolves the lifetime of the token register and gc give
// Argo CD (at least MinArgoCDTokenLifetime, the shortest kube-apiserver
// issues) and how long before its expiry it is renewed (0: half of the
// token's own lifetime; not more than the lifetime). Bad values are usage
// errors naming where they came from.
func (r Resolver) ArgoCDToken() (lifetime, renewBefore time.Duration, err error) {
	lifetime, v, err := r.Duration(KeyArgoCDTokenLifetime)
	if err != nil {
		return 0, 0, err
	}
	if lifetime < MinArgoCDTokenLifetime {
		return 0, 0, tenant.NewUsageError(fmt.Sprintf("%s (from %s): %s is shorter than %s, the shortest token the Kubernetes API issues", KeyArgoCDTokenLifetime, v.Origin(), v.Value, MinArgoCDTokenLifetime))
	}
	if renewBefore, _, err = r.Duration(KeyArgoCDTokenRenewBefore); err != nil {
		return 0, 0, err
	}
	return lifetime, renewBefore, nil
}
