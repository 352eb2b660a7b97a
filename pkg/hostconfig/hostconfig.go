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
	"github.com/kubectl-tenant/kubectl-tenant/pkg/warmpool"
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
	KeyIdleSleepAfter  = "idleSleepAfter"
	KeyWakeOnConnect   = "wakeOnConnect"
	// KeyArgoCDTokenLifetime is how long the token register gives Argo CD
	// is valid; KeyArgoCDTokenRenewBefore is how long before its expiry
	// gc (or a re-run of register) replaces it.
	KeyArgoCDTokenLifetime    = "argocdTokenLifetime"
	KeyArgoCDTokenRenewBefore = "argocdTokenRenewBefore"
	// KeyCredentialLifetime is how long a tenant context's credential (a
	// client certificate the exec plugin mints) is valid.
	KeyCredentialLifetime = "credentialLifetime"
	// KeyBootstrapSource is the Argo CD source (YAML) the bootstrap
	// ApplicationSet installs into every registered tenant.
	KeyBootstrapSource = "bootstrapSource"
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

// The environment variables, named here only: every other package takes
// their values from a Resolver (or, for the ones of no setting, reads them by
// these names from the environment the Factory read once).
const (
	EnvChartRepo              = "KUBECTL_TENANT_CHART_REPO"
	EnvChart                  = "KUBECTL_TENANT_CHART"
	EnvChartVersion           = "KUBECTL_TENANT_CHART_VERSION"
	EnvValues                 = "KUBECTL_TENANT_VALUES"
	EnvPool                   = "KUBECTL_TENANT_POOL"
	EnvArgoCDNamespace        = "KUBECTL_TENANT_ARGOCD_NAMESPACE"
	EnvArgoCDServer           = "KUBECTL_TENANT_ARGOCD_SERVER"
	EnvTTL                    = "KUBECTL_TENANT_TTL"
	EnvIsolation              = "KUBECTL_TENANT_ISOLATION"
	EnvSleepAfter             = "KUBECTL_TENANT_SLEEP_AFTER"
	EnvWakeOnConnect          = "KUBECTL_TENANT_WAKE"
	EnvArgoCDTokenLifetime    = "KUBECTL_TENANT_ARGOCD_TOKEN_LIFETIME"
	EnvArgoCDTokenRenewBefore = "KUBECTL_TENANT_ARGOCD_RENEW_BEFORE"
	EnvCredentialLifetime     = "KUBECTL_TENANT_CREDENTIAL_LIFETIME"
	// Environment only, no host key: the host defaults cannot turn the
	// caller's TLS checks off.
	EnvArgoCDInsecure  = "KUBECTL_TENANT_ARGOCD_INSECURE"
	EnvArgoCDPlaintext = "KUBECTL_TENANT_ARGOCD_PLAINTEXT"
	// EnvStateDir is where connection state lives (pkg/session), not a
	// host setting either.
	EnvStateDir = "KUBECTL_TENANT_STATE_DIR"
)

// Built-in values.
const (
	BuiltInChart           = vclustervalues.DefaultChart
	BuiltInChartRepo       = vclustervalues.DefaultChartRepo
	BuiltInChartVersion    = vclustervalues.DefaultChartVersion
	BuiltInArgoCDNamespace = "argocd"
	// MinArgoCDTokenLifetime is the shortest token kube-apiserver issues
	// (a TokenRequest's expirationSeconds must be at least 600).
	MinArgoCDTokenLifetime = 10 * time.Minute
	// BuiltInCredentialLifetime: long enough that a shell session mints a
	// few certificates an hour, short enough that losing the host rights
	// ends access within minutes.
	BuiltInCredentialLifetime = "10m"
)

// Settings are every default, in the order config view shows them.
var Settings = []Setting{
	{Key: KeyChartRepo, Flag: "chart-repo", Env: EnvChartRepo, BuiltIn: BuiltInChartRepo, Help: "Helm repository of the vcluster chart (a mirror)"},
	{Key: KeyChart, Flag: "chart", Env: EnvChart, BuiltIn: BuiltInChart, Help: "chart: name in chartRepo, local path or oci:// reference"},
	{Key: KeyChartVersion, Flag: "chart-version", Env: EnvChartVersion, BuiltIn: BuiltInChartVersion, Help: "chart version"},
	{Key: KeyValues, Flag: "values", Env: EnvValues, Help: "chart values under the user's -f files (image registry, storage class, ...); the environment variable names files, comma-separated"},
	{Key: KeyPool, Flag: "pool", Env: EnvPool, Help: "node pool of a new tenant (empty: the tenant name)"},
	{Key: KeyArgoCDNamespace, Flag: "argocd-namespace", Env: EnvArgoCDNamespace, BuiltIn: BuiltInArgoCDNamespace, Help: "namespace of Argo CD"},
	{Key: KeyArgoCDServer, Flag: "argocd-server", Env: EnvArgoCDServer, Help: "Argo CD API address (empty: a port-forward to Service argocd-server)"},
	{Key: KeyTTL, Flag: "ttl", Env: EnvTTL, BuiltIn: "0s", Help: "time to live of a new tenant (0s: never expires)"},
	{Key: KeyMaxTTL, Env: "", BuiltIn: "0s", Help: "longest --ttl or extend allowed (0s: no limit)"},
	{Key: KeyIsolation, Flag: "isolation", Env: EnvIsolation, BuiltIn: "false", Help: "quota, limit range and network policies for new tenants"},
	{Key: KeyIdleSleepAfter, Flag: "sleep-after", Env: EnvSleepAfter, BuiltIn: "0s", Help: "how long a tenant may stay idle (no connect, no request through its forwarder) before gc puts it to sleep (0s: never); create/extend --sleep-after set it per tenant"},
	{Key: KeyWakeOnConnect, Flag: "wake", Env: EnvWakeOnConnect, BuiltIn: "false", Help: "connect wakes a sleeping tenant without asking"},
	{Key: KeyArgoCDTokenLifetime, Flag: "argocd-token-lifetime", Env: EnvArgoCDTokenLifetime, BuiltIn: "24h", Help: "lifetime of the token register gives Argo CD (bound to an object in the vCluster; at least 10m); gc renews it"},
	{Key: KeyArgoCDTokenRenewBefore, Flag: "argocd-renew-before", Env: EnvArgoCDTokenRenewBefore, BuiltIn: "0s", Help: "gc replaces Argo CD's token when it expires within this (0s: half of the token's lifetime)"},
	{Key: KeyCredentialLifetime, Flag: "credential-lifetime", Env: EnvCredentialLifetime, BuiltIn: BuiltInCredentialLifetime, Help: "lifetime of the client certificate a tenant context's exec credential plugin mints (at least 1m, at most 24h); access ends within it once the host rights are gone"},
	{Key: KeyBootstrapSource, BuiltIn: BuiltInBootstrapSource, Help: "what register --bootstrap's ApplicationSet installs into every registered tenant: an Argo CD source in YAML, a chart ({repoURL, chart, targetRevision}) or a git directory ({repoURL, path, targetRevision}), with optional helm values; point it at a mirror"},
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
	WarmPools map[string]warmpool.Config
	// Found says the ConfigMap exists and was read.
	Found bool
	// Unreadable is why the ConfigMap could not be read (Forbidden): the
	// defaults are unknown, not empty.
	Unreadable error
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
	case KeyTTL, KeyMaxTTL, KeyIdleSleepAfter, KeyArgoCDTokenRenewBefore:
		if d, err := time.ParseDuration(v); err != nil || d < 0 {
			return fmt.Errorf("%q is not a duration such as 8h", v)
		}
	case KeyArgoCDTokenLifetime:
		if d, err := time.ParseDuration(v); err != nil || d < MinArgoCDTokenLifetime {
			return fmt.Errorf("%q is not a duration of at least %s", v, MinArgoCDTokenLifetime)
		}
	case KeyCredentialLifetime:
		if _, err := CheckCredentialLifetime(v); err != nil {
			return err
		}
	case KeyIsolation, KeyWakeOnConnect:
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
	case KeyBootstrapSource:
		if _, err := ParseBootstrapSource(v); err != nil {
			return err
		}
	case KeyChart:
		// A path would be read from each user's working directory.
		if vclustervalues.IsChartPath(v) {
			return fmt.Errorf("%q is a local path: the host's chart is a name in chartRepo or an oci:// reference", v)
		}
	case KeyChartVersion, KeyPool, KeyArgoCDNamespace:
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

// Load reads the host defaults. No ConfigMap is no defaults; one this user
// may not read is no defaults too, marked Unreadable (a create gets the
// built-in values, but nothing may act on "no warm pools"); a malformed
// one is an error.
func Load(ctx context.Context, kube kubernetes.Interface) (*Defaults, error) {
	cm, err := kube.CoreV1().ConfigMaps(Namespace).Get(ctx, Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return &Defaults{}, nil
	}
	if apierrors.IsForbidden(err) {
		return &Defaults{Unreadable: err}, nil
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

// Bounds of credentialLifetime: under a minute the certificate's backdating
// for clock skew outweighs it; over a day it is the long-lived key again.
const (
	MinCredentialLifetime = time.Minute
	MaxCredentialLifetime = 24 * time.Hour
)

// CheckCredentialLifetime parses a credentialLifetime value.
func CheckCredentialLifetime(v string) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration such as 10m", v)
	}
	if d < MinCredentialLifetime || d > MaxCredentialLifetime {
		return 0, fmt.Errorf("%s is outside %s..%s", v, MinCredentialLifetime, MaxCredentialLifetime)
	}
	return d, nil
}
