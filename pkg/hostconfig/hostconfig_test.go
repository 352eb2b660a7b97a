package hostconfig

import (
	"context"
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
	for _, c := range []struct{ key, value, source string }{
		{KeyChartVersion, "0.35.0", "flag --chart-version"},                    // flag over env, host, built-in
		{KeyChartRepo, "http://env.example", "env $KUBECTL_TENANT_CHART_REPO"}, // env over host
		{KeyPool, "project-x", Ref},                                            // empty env is unset
		{KeyChart, BuiltInChart, SourceBuiltIn},                                // nothing set
		{KeyArgoCDNamespace, BuiltInArgoCDNamespace, SourceBuiltIn},
	} {
		if got := r.Get(c.key); got.Value != c.value || got.Source != c.source {
			t.Errorf("%s = %+v, want %q from %q", c.key, got, c.value, c.source)
		}
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
	if ttl, v, err := r.Duration(KeyTTL); err != nil || ttl != 8*time.Hour || v.Source != Ref {
		t.Errorf("ttl = %s from %s, %v", ttl, v.Source, err)
	}
	if _, ok := d.Values["controlPlane"]; !ok {
		t.Errorf("values not parsed: %v", d.Values)
	}
	// Forbidden: as if there were none.
	cs := fake.NewSimpleClientset()
	cs.PrependReactor("get", "configmaps", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "configmaps"}, Name, nil)
	})
	if d, err := Load(ctx, cs); err != nil || d.Found {
		t.Errorf("Load forbidden = %+v, %v", d, err)
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
