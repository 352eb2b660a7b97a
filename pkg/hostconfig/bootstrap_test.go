package hostconfig

import (
	"strings"
	"testing"
)

func TestBootstrapSource(t *testing.T) {
	// Built in: argo-helm's chart, the version render pins.
	src, v, err := Resolver{}.BootstrapSource()
	if err != nil || v.Source != BuiltIn || src["repoURL"] != BuiltInBootstrapRepo || src["chart"] != BuiltInBootstrapChart || src["targetRevision"] != BuiltInBootstrapVersion {
		t.Fatalf("built-in source %v (%v): %v", src, v, err)
	}
	// A host's mirror, a chart with values or a git directory, is used as given.
	for _, s := range []string{
		"repoURL: http://charts.mirror:8080\nchart: argo-cd\ntargetRevision: 3.2.11\nhelm:\n  values: |\n    dex: {enabled: false}\n",
		"{repoURL: 'git@git.example.com:platform.git', path: argocd, targetRevision: main}",
		"{repoURL: https://git.example.com/p.git, path: argocd}",
	} {
		d, err := Parse(map[string]string{KeyBootstrapSource: s})
		if err != nil {
			t.Errorf("%q: %v", s, err)
			continue
		}
		src, v, err := (Resolver{Host: d}).BootstrapSource()
		if err != nil || v.Source != Host || src["repoURL"] == nil {
			t.Errorf("%q: %v %v %v", s, src, v, err)
		}
	}
	// Malformed ones make the whole object malformed, in one line naming the key.
	for s, want := range map[string]string{
		"- a":                                   "not a YAML map",
		"{chart: argo-cd, targetRevision: '1'}": "repoURL is missing",
		"{repoURL: mirror, chart: argo-cd, targetRevision: 1.0.0}": "not a URL",
		"{repoURL: http://m}": "want chart",
		"{repoURL: http://m, chart: a, path: b, targetRevision: x}": "both set",
		"{repoURL: http://m, chart: argo-cd}":                       "needs targetRevision",
		"{repoURL: http://m, path: p, valuesFile: x}":               "unknown field \"valuesFile\"",
		"{repoURL: http://m, path: p, helm: values}":                "helm: want a map",
	} {
		_, err := Parse(map[string]string{KeyBootstrapSource: s})
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), KeyBootstrapSource) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%q: error %v, want one line with %q", s, err, want)
		}
	}
	// What render writes parses back to the same source.
	src, err = ParseBootstrapSource(FormatBootstrapSource("https://m/argo", "argo-cd", "1.10"))
	if err != nil || src["targetRevision"] != "1.10" || src["chart"] != "argo-cd" {
		t.Errorf("formatted source %v: %v", src, err)
	}
}
