// Package hostconfig holds the platform's defaults for one host cluster:
// ConfigMap kube-public/kubectl-tenant (readable by every authenticated
// user), written by the platform team (by hand, by `kubectl tenant render`
// from config.yaml, or by the playground). Every setting resolves
// flag > environment > host defaults > built-in, and Resolve says where each
// effective value came from (`kubectl tenant config view`).
package hostconfig

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/vclustervalues"
)

// Where the host defaults live.
const (
	Namespace = "kube-public"
	Name      = "kubectl-tenant"
)

// Ref names the ConfigMap, as shown in sources and errors.
var Ref = "ConfigMap " + Namespace + "/" + Name

// Keys of the ConfigMap's data (and of config view's rows).
const (
	KeyChartRepo       = "chartRepo"
	KeyChart           = "chart"
	KeyChartVersion    = "chartVersion"
	KeyValues          = "values"
	KeyPool            = "pool"
	KeyArgoCDNamespace = "argocdNamespace"
	KeyArgoCDServer    = "argocdServer"
	KeyTTL             = "ttl"
	KeyMaxTTL          = "maxTTL"
	KeyIsolation       = "isolation"
	KeyWarmPools       = "warmPools"
)

// Setting describes one default: its key, the flag and environment variable
// that override it, and the built-in value under it.
type Setting struct {
	Key     string
	Flag    string // without "--"; empty: no flag
	Env     string // empty: no environment variable
	BuiltIn string
	Help    string
}

// Built-in values.
const (
	BuiltInChart           = vclustervalues.DefaultChart
	BuiltInChartRepo       = vclustervalues.DefaultChartRepo
	BuiltInChartVersion    = vclustervalues.DefaultChartVersion
	BuiltInArgoCDNamespace = "argocd"
)

// Settings are every default, in the order config view shows them.
var Settings = []Setting{
	{Key: KeyChartRepo, Flag: "chart-repo", Env: "KUBECTL_TENANT_CHART_REPO", BuiltIn: BuiltInChartRepo, Help: "Helm repository of the vcluster chart (a mirror)"},
	{Key: KeyChart, Flag: "chart", Env: "KUBECTL_TENANT_CHART", BuiltIn: BuiltInChart, Help: "chart: name in chartRepo, local path or oci:// reference"},
	{Key: KeyChartVersion, Flag: "chart-version", Env: "KUBECTL_TENANT_CHART_VERSION", BuiltIn: BuiltInChartVersion, Help: "chart version"},
	{Key: KeyValues, Flag: "values", Env: "KUBECTL_TENANT_VALUES", Help: "chart values under the user's -f files (image registry, storage class, ...); the environment variable names files, comma-separated"},
	{Key: KeyPool, Flag: "pool", Env: "KUBECTL_TENANT_POOL", Help: "node pool of a new tenant (empty: the tenant name)"},
	{Key: KeyArgoCDNamespace, Flag: "argocd-namespace", Env: "KUBECTL_TENANT_ARGOCD_NAMESPACE", BuiltIn: BuiltInArgoCDNamespace, Help: "namespace of Argo CD"},
	{Key: KeyArgoCDServer, Flag: "argocd-server", Env: "KUBECTL_TENANT_ARGOCD_SERVER", Help: "Argo CD API address (empty: a port-forward to Service argocd-server)"},
	{Key: KeyTTL, Flag: "ttl", Env: "KUBECTL_TENANT_TTL", BuiltIn: "0s", Help: "time to live of a new tenant (0s: never expires)"},
	{Key: KeyMaxTTL, Env: "", BuiltIn: "0s", Help: "longest --ttl or extend allowed (0s: no limit)"},
	{Key: KeyIsolation, Flag: "isolation", Env: "KUBECTL_TENANT_ISOLATION", BuiltIn: "false", Help: "quota, limit range and network policies for new tenants"},
	{Key: KeyWarmPools, Help: "warm pools: spare tenants per node pool, e.g. {project-x: {size: 3, state: running}} (`kubectl tenant pool set`)"},
}

func lookup(key string) (Setting, bool) {
	for _, s := range Settings {
		if s.Key == key {
			return s, true
		}
	}
	return Setting{}, false
}

// Defaults are the host's defaults, parsed. The zero value is "no defaults".
type Defaults struct {
	// Data are the ConfigMap's entries, validated; nil when there is none.
	Data map[string]string
	// Values is Data[values] parsed.
	Values map[string]any
	// WarmPools is Data[warmPools] parsed, by node pool.
	WarmPools map[string]WarmPool
	// Found says the ConfigMap exists and was read.
	Found bool
}

// Parse validates a ConfigMap's data: every key must be known and every
// value well-formed. On any problem it returns one error naming the key
// and no Defaults at all, so half of a malformed object is never used.
func Parse(data map[string]string) (*Defaults, error) {
	d := &Defaults{Data: map[string]string{}, Found: true}
	keys := make([]string, 0, len(data))
	for k := range data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := strings.TrimSpace(data[k])
		if v == "" {
			if _, known := lookup(k); !known {
				return nil, malformed(k, "unknown key")
			}
			continue // an empty entry is an unset one
		}
		if err := check(k, v); err != nil {
			return nil, malformed(k, err.Error())
		}
		d.Data[k] = v
		if k == KeyValues && v != "" {
			if err := yaml.Unmarshal([]byte(v), &d.Values); err != nil {
				return nil, malformed(k, oneLine(err))
			}
		}
		if k == KeyWarmPools {
			d.WarmPools, _ = ParseWarmPools(v) // checked above
		}
	}
	return d, nil
}

// MalformedError says the host defaults object is malformed; none of it is
// used.
type MalformedError struct{ Key, Problem string }

func (e *MalformedError) Error() string {
	return fmt.Sprintf("host defaults %s is malformed (nothing of it is used): %s: %s", Ref, e.Key, e.Problem)
}

func malformed(key, problem string) error { return &MalformedError{key, problem} }

func check(k, v string) error {
	switch k {
	case KeyTTL, KeyMaxTTL:
		if d, err := time.ParseDuration(v); err != nil || d < 0 {
			return fmt.Errorf("%q is not a duration such as 8h", v)
		}
	case KeyIsolation:
		if _, err := strconv.ParseBool(v); err != nil {
			return fmt.Errorf("%q is not true or false", v)
		}
	case KeyArgoCDServer, KeyChartRepo:
		if v != "" && !strings.Contains(v, "://") {
			return fmt.Errorf("%q is not a URL", v)
		}
	case KeyValues:
		var m map[string]any
		if err := yaml.Unmarshal([]byte(v), &m); err != nil {
			return fmt.Errorf("not a YAML map: %s", oneLine(err))
		}
	case KeyWarmPools:
		if _, err := ParseWarmPools(v); err != nil {
			return err
		}
	case KeyChart, KeyChartVersion, KeyPool, KeyArgoCDNamespace:
	default:
		known := make([]string, len(Settings))
		for i, s := range Settings {
			known[i] = s.Key
		}
		return fmt.Errorf("unknown key (known: %s)", strings.Join(known, ", "))
	}
	return nil
}

func oneLine(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}

// Load reads the host defaults. No ConfigMap, or one this user may not read,
// is no defaults; a malformed one is an error.
func Load(ctx context.Context, kube kubernetes.Interface) (*Defaults, error) {
	cm, err := kube.CoreV1().ConfigMaps(Namespace).Get(ctx, Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) || apierrors.IsForbidden(err) {
		return &Defaults{}, nil
	}
	if err != nil {
		return nil, err
	}
	return Parse(cm.Data)
}

// ConfigMap is the object holding data, for render and the playground.
// It carries no other data, so applying it replaces the defaults whole.
func ConfigMap(data map[string]string) *corev1.ConfigMap {
	return &corev1.ConfigMap{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: metav1.ObjectMeta{Namespace: Namespace, Name: Name,
			Labels: map[string]string{"app.kubernetes.io/managed-by": "kubectl-tenant"}},
		Data: data,
	}
}

// Value is one effective setting and where it came from.
type Value struct {
	Key    string `json:"key"`
	Value  string `json:"value"`
	Source string `json:"source"`
}

// Sources of a Value.
const (
	SourceBuiltIn = "built-in"
)

// Flags are the values of the flags a command was given (by setting key);
// only flags the user set belong in it.
type Flags map[string]string

// Resolver resolves settings for one command.
type Resolver struct {
	Flags Flags
	// Getenv reads the environment the caller read once (nil: none; this
	// package never reads the process environment).
	Getenv func(string) string
	Host   *Defaults
}

// Env reads variable key of r's environment ("" without one).
func (r Resolver) Env(key string) string {
	if r.Getenv == nil {
		return ""
	}
	return r.Getenv(key)
}

// Get resolves one setting: flag > environment > host defaults > built-in.
func (r Resolver) Get(key string) Value {
	s, _ := lookup(key)
	if v, ok := r.Flags[key]; ok && s.Flag != "" {
		return Value{key, v, "flag --" + s.Flag}
	}
	if s.Env != "" {
		if v := r.Env(s.Env); v != "" {
			return Value{key, v, "env $" + s.Env}
		}
	}
	if r.Host != nil {
		if v, ok := r.Host.Data[key]; ok && v != "" {
			return Value{key, v, Ref}
		}
	}
	return Value{key, s.BuiltIn, SourceBuiltIn}
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
		return 0, v, fmt.Errorf("%s (from %s): %q is not a duration such as 8h", key, v.Source, v.Value)
	}
	return d, v, nil
}

// Bool resolves a boolean setting.
func (r Resolver) Bool(key string) (bool, Value, error) {
	v := r.Get(key)
	b, err := strconv.ParseBool(v.Value)
	if err != nil {
		return false, v, fmt.Errorf("%s (from %s): %q is not true or false", key, v.Source, v.Value)
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
		return fmt.Errorf("ttl %s is over the maximum %s (%s from %s)", got, maxTTL, KeyMaxTTL, v.Source)
	}
	return nil
}
