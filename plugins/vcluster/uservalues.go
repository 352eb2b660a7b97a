package vcluster

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"sync"

	"helm.sh/helm/v3/pkg/release"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
)

// UserValuesSecret is the Secret in the tenant namespace that keeps the
// values the user gave with -f (all runs merged, later files win), so an
// upgrade or a re-run of create without -f applies them again instead of
// reverting them. A Secret, because values may hold credentials; it goes
// with the namespace.
const UserValuesSecret = "kubectl-tenant-user-values"

const userValuesKey = "values.yaml"

// userValues returns the user's kept values and whether they were stored.
// A release installed before they were kept has none stored: its values
// that differ from the tool's current ones are taken as the user's.
func (b *Backend) userValues(ctx context.Context, ns string, last *release.Release, tool map[string]any) (map[string]any, bool, error) {
	s, err := b.Kube.CoreV1().Secrets(ns).Get(ctx, UserValuesSecret, metav1.GetOptions{})
	switch {
	case err == nil:
		vals := map[string]any{}
		if err := yaml.Unmarshal(s.Data[userValuesKey], &vals); err != nil {
			return nil, false, fmt.Errorf("secret %s/%s: %w", ns, UserValuesSecret, err)
		}
		return vals, true, nil
	case !apierrors.IsNotFound(err):
		return nil, false, err
	case last == nil:
		return map[string]any{}, false, nil
	}
	prev, err := copyValues(last.Config)
	if err != nil {
		return nil, false, err
	}
	toolCopy, err := copyValues(tool)
	if err != nil {
		return nil, false, err
	}
	return divergent(prev, toolCopy), false, nil
}

// saveUserValues writes the user's values to UserValuesSecret.
func (b *Backend) saveUserValues(ctx context.Context, req tenant.InstallRequest, user map[string]any) error {
	data, err := yaml.Marshal(user)
	if err != nil {
		return err
	}
	sc := b.Kube.CoreV1().Secrets(req.Namespace)
	s, err := sc.Get(ctx, UserValuesSecret, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		s = &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: UserValuesSecret, Namespace: req.Namespace, Labels: tenant.Labels(req.Name, req.Pool)}}
		s.Data = map[string][]byte{userValuesKey: data}
		_, err = sc.Create(ctx, s, metav1.CreateOptions{})
		return err
	}
	if err != nil {
		return err
	}
	s.Data = map[string][]byte{userValuesKey: data}
	_, err = sc.Update(ctx, s, metav1.UpdateOptions{})
	return err
}

// divergent returns the part of vals that differs from base: maps are
// compared key by key, anything else as a whole.
func divergent(vals, base map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range vals {
		bv, inBase := base[k]
		if vm, ok := v.(map[string]any); ok {
			if bm, ok := bv.(map[string]any); ok {
				if d := divergent(vm, bm); len(d) > 0 {
					out[k] = d
				}
				continue
			}
		}
		if !inBase || !reflect.DeepEqual(v, bv) {
			out[k] = v
		}
	}
	return out
}

// extraSANs reads controlPlane.proxy.extraSANs.
func extraSANs(vals map[string]any) []string {
	cp, _ := vals["controlPlane"].(map[string]any)
	proxy, _ := cp["proxy"].(map[string]any)
	var out []string
	switch l := proxy["extraSANs"].(type) {
	case []string:
		out = append(out, l...)
	case []any:
		for _, v := range l {
			if s, ok := v.(string); ok {
				out = append(out, s)
			}
		}
	}
	return out
}

// union appends the elements of b missing from a.
func union(a, b []string) []string {
	out := append([]string(nil), a...)
	for _, s := range b {
		if !containsString(out, s) {
			out = append(out, s)
		}
	}
	return out
}

func containsString(l []string, s string) bool {
	for _, v := range l {
		if v == s {
			return true
		}
	}
	return false
}

// setPath sets vals[path...] = v, creating maps on the way.
func setPath(vals map[string]any, v any, path ...string) {
	m := vals
	for _, k := range path[:len(path)-1] {
		sub, ok := m[k].(map[string]any)
		if !ok {
			sub = map[string]any{}
			m[k] = sub
		}
		m = sub
	}
	m[path[len(path)-1]] = v
}

// secretish matches value paths whose values are not printed.
var secretish = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?i)pass|secret|token|key|cert|credential|auth`)
})

// DiffValues lists what changes from old to new, one line per changed leaf
// ("+path: v", "-path", "~path: a -> b"), sorted. Values are shown only for
// scalars and lists of scalars whose path does not look like a credential;
// anything else reads "(changed)". Both sides must have JSON types (see
// copyValues).
func DiffValues(old, new map[string]any) []string {
	var out []string
	diffInto(&out, "", old, new)
	sort.Strings(out)
	return out
}

func diffInto(out *[]string, prefix string, old, new map[string]any) {
	keys := map[string]bool{}
	for k := range old {
		keys[k] = true
	}
	for k := range new {
		keys[k] = true
	}
	for k := range keys {
		p := k
		if prefix != "" {
			p = prefix + "." + k
		}
		ov, inOld := old[k]
		nv, inNew := new[k]
		om, oIsMap := ov.(map[string]any)
		nm, nIsMap := nv.(map[string]any)
		switch {
		case oIsMap && nIsMap:
			diffInto(out, p, om, nm)
		case nIsMap && !inOld:
			diffInto(out, p, nil, nm)
		case oIsMap && !inNew:
			diffInto(out, p, om, nil)
		case !inOld:
			*out = append(*out, "+"+p+": "+showValue(p, nv))
		case !inNew:
			*out = append(*out, "-"+p)
		case !reflect.DeepEqual(ov, nv):
			*out = append(*out, "~"+p+": "+showValue(p, ov)+" -> "+showValue(p, nv))
		}
	}
}

func showValue(path string, v any) string {
	if secretish().MatchString(path) {
		return "(hidden)"
	}
	scalar := func(v any) bool {
		switch v.(type) {
		case string, float64, bool, nil, int, int64:
			return true
		}
		return false
	}
	ok := scalar(v)
	if l, isList := v.([]any); isList {
		ok = true
		for _, e := range l {
			ok = ok && scalar(e)
		}
	}
	if !ok {
		return "(changed)"
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "(changed)"
	}
	return strings.ReplaceAll(string(b), `"`, "")
}
