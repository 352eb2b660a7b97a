package hostconfig

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestPrecedenceFlagEnvHostBuiltIn(t *testing.T) {
	host, err := Parse(map[string]string{KeyChartRepo: "http://mirror.example/charts", KeyChartVersion: "0.34.1", KeyPool: "project-x"})
	if err != nil {
		t.Fatal(err)
	}
	r := Resolver{
		Flags:  Flags{KeyChartVersion: "0.35.0"},
		Getenv: env(map[string]string{"KUBECTL_TENANT_CHART_REPO": "http://env.example", "KUBECTL_TENANT_POOL": ""}),
		Host:   host,
	}
	for _, c := range []struct {
		key, value string
		source     Source
		origin     string
	}{
		{KeyChartVersion, "0.35.0", Flag, "flag --chart-version"},                   // flag over env, host, built-in
		{KeyChartRepo, "http://env.example", Env, "env $KUBECTL_TENANT_CHART_REPO"}, // env over host
		{KeyPool, "project-x", Host, "host ConfigMap kube-public/kubectl-tenant"},   // empty env is unset
		{KeyChart, BuiltInChart, BuiltIn, "built-in"},                               // nothing set
		{KeyArgoCDNamespace, BuiltInArgoCDNamespace, BuiltIn, "built-in"},
	} {
		if got := r.Get(c.key); got.Value != c.value || got.Source != c.source || got.Origin() != c.origin {
			t.Errorf("%s = %+v (%s), want %q from %v (%s)", c.key, got, got.Origin(), c.value, c.source, c.origin)
		}
	}
	// The enum's order is the precedence.
	if !(Flag > Env && Env > Host && Host > BuiltIn) {
		t.Errorf("sources out of order: flag %d, env %d, host %d, built-in %d", Flag, Env, Host, BuiltIn)
	}
	b, err := json.Marshal(r.Get(KeyChartRepo))
	if err != nil || string(b) != `{"key":"chartRepo","value":"http://env.example","source":"env","from":"$KUBECTL_TENANT_CHART_REPO"}` {
		t.Errorf("json: %s, %v", b, err)
	}
	var v Value
	if err := json.Unmarshal(b, &v); err != nil || v.Source != Env {
		t.Errorf("json round trip: %+v, %v", v, err)
	}
	if n := len(r.All()); n != len(Settings) {
		t.Errorf("All() has %d values, want %d", n, len(Settings))
	}
}

func TestMalformedDefaultsAreOneLineAndUnused(t *testing.T) {
	for name, data := range map[string]map[string]string{
		"bad ttl":       {KeyChartRepo: "http://mirror", KeyTTL: "eight hours"},
		"bad bool":      {KeyIsolation: "yes please"},
		"bad values":    {KeyValues: "controlPlane: [unclosed"},
		"values a list": {KeyValues: "- a\n- b"},
		"unknown key":   {"chartrepo": "http://mirror"},
		"repo not URL":  {KeyChartRepo: "mirror.example"},
		"unknown empty": {"typo": ""},
	} {
		d, err := Parse(data)
		if err == nil {
			t.Errorf("%s: Parse succeeded: %+v", name, d)
			continue
		}
		if d != nil {
			t.Errorf("%s: Parse returned half the defaults with its error", name)
		}
		if msg := err.Error(); strings.Contains(msg, "\n") || !strings.Contains(msg, Ref) {
			t.Errorf("%s: error %q is not one line naming %s", name, msg, Ref)
		}
	}
}

func TestLoad(t *testing.T) {
	ctx := context.Background()
	// No ConfigMap: no defaults, no error.
	d, err := Load(ctx, fake.NewSimpleClientset())
	if err != nil || d.Found || len(d.Data) != 0 {
		t.Fatalf("Load without ConfigMap = %+v, %v", d, err)
	}
	cm := ConfigMap(map[string]string{KeyPool: "project-x", KeyValues: "controlPlane:\n  statefulSet:\n    persistence:\n      volumeClaim:\n        enabled: false\n", KeyTTL: "8h"})
	d, err = Load(ctx, fake.NewSimpleClientset(cm))
	if err != nil || !d.Found {
		t.Fatalf("Load = %+v, %v", d, err)
	}
	r := Resolver{Getenv: env(nil), Host: d}
	if ttl, v, err := r.Duration(KeyTTL); err != nil || ttl != 8*time.Hour || v.Source != Host || v.From != Ref {
		t.Errorf("ttl = %s from %s, %v", ttl, v.Source, err)
	}
	if _, ok := d.Values["controlPlane"]; !ok {
		t.Errorf("values not parsed: %v", d.Values)
	}
	// Forbidden: no defaults for a create, but unknown, not empty.
	cs := fake.NewSimpleClientset()
	cs.PrependReactor("get", "configmaps", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "configmaps"}, Name, nil)
	})
	d, err = Load(ctx, cs)
	if err != nil || d.Found || !apierrors.IsForbidden(d.Unreadable) {
		t.Errorf("Load forbidden = %+v, %v", d, err)
	}
	var ue *UnreadableError
	if pools, err := (Resolver{Host: d}).WarmPools(); !errors.As(err, &ue) || pools != nil {
		t.Errorf("WarmPools of unreadable defaults = %v, %v; want an UnreadableError", pools, err)
	}
	if d, err := Load(ctx, fake.NewSimpleClientset()); err != nil || d.Unreadable != nil {
		t.Errorf("Load without ConfigMap marked unreadable: %+v, %v", d, err)
	}
	// Malformed: an error, no defaults.
	if d, err := Load(ctx, fake.NewSimpleClientset(ConfigMap(map[string]string{KeyMaxTTL: "-1h"}))); err == nil || d != nil {
		t.Errorf("Load malformed = %+v, %v", d, err)
	}
}

func TestCheckTTL(t *testing.T) {
	host, _ := Parse(map[string]string{KeyMaxTTL: "24h"})
	r := Resolver{Getenv: env(nil), Host: host}
	if err := r.CheckTTL(8 * time.Hour); err != nil {
		t.Error(err)
	}
	for _, ttl := range []time.Duration{0, 25 * time.Hour} {
		if err := r.CheckTTL(ttl); err == nil || !strings.Contains(err.Error(), Ref) {
			t.Errorf("CheckTTL(%s) = %v, want an error naming the source", ttl, err)
		}
	}
	if err := (Resolver{Getenv: env(nil)}).CheckTTL(0); err != nil {
		t.Errorf("no maximum: %v", err)
	}
}
