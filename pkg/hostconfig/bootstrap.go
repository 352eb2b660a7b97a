package hostconfig

import (
	"fmt"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"
)

// The Argo CD chart register --bootstrap installs into every registered
// tenant when the host defaults name no bootstrapSource (argo-helm's
// argo-cd chart, the version `kubectl tenant render` pins too).
const (
	BuiltInBootstrapRepo    = "https://argoproj.github.io/argo-helm"
	BuiltInBootstrapChart   = "argo-cd"
	BuiltInBootstrapVersion = "9.1.0"
)

// BuiltInBootstrapSource is the built-in bootstrapSource.
var BuiltInBootstrapSource = FormatBootstrapSource(BuiltInBootstrapRepo, BuiltInBootstrapChart, BuiltInBootstrapVersion)

// FormatBootstrapSource is the bootstrapSource of a chart in a Helm
// repository, as YAML (as render writes it).
func FormatBootstrapSource(repo, chart, version string) string {
	b, err := yaml.Marshal(map[string]string{"repoURL": repo, "chart": chart, "targetRevision": version})
	if err != nil { // a map of strings always marshals
		return ""
	}
	return string(b)
}

// bootstrapSourceKeys are the fields of Argo CD's ApplicationSource a
// bootstrap may set; anything else is a typo Argo CD would drop silently.
var bootstrapSourceKeys = map[string]string{
	"repoURL": "string", "chart": "string", "path": "string", "targetRevision": "string",
	"helm": "map", "kustomize": "map", "directory": "map", "plugin": "map",
}

// ParseBootstrapSource parses a bootstrapSource: YAML of an Argo CD
// ApplicationSource, either a chart in a Helm repository (repoURL, chart,
// targetRevision) or a directory of a git repository (repoURL, path,
// optional targetRevision), with helm, kustomize, directory or plugin
// settings. It is used verbatim as the bootstrap ApplicationSet's source.
func ParseBootstrapSource(s string) (map[string]any, error) {
	var src map[string]any
	if err := yaml.Unmarshal([]byte(s), &src); err != nil {
		return nil, fmt.Errorf("not a YAML map: %s", oneLine(err))
	}
	if len(src) == 0 {
		return nil, fmt.Errorf("empty: want an Argo CD source such as {repoURL: URL, chart: argo-cd, targetRevision: VERSION}")
	}
	keys := make([]string, 0, len(src))
	for k := range src {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		kind, ok := bootstrapSourceKeys[k]
		if !ok {
			known := make([]string, 0, len(bootstrapSourceKeys))
			for k := range bootstrapSourceKeys {
				known = append(known, k)
			}
			sort.Strings(known)
			return nil, fmt.Errorf("unknown field %q (known: %s)", k, strings.Join(known, ", "))
		}
		switch v := src[k].(type) {
		case string:
			if kind != "string" {
				return nil, fmt.Errorf("%s: want a map", k)
			}
		case map[string]any:
			if kind != "map" {
				return nil, fmt.Errorf("%s: want a string", k)
			}
		default:
			if kind == "string" {
				return nil, fmt.Errorf("%s: want a string, not %v (quote it)", k, v)
			}
			return nil, fmt.Errorf("%s: want a map, not %v", k, v)
		}
	}
	str := func(k string) string { s, _ := src[k].(string); return strings.TrimSpace(s) }
	repo, chart, path := str("repoURL"), str("chart"), str("path")
	switch {
	case repo == "":
		return nil, fmt.Errorf("repoURL is missing")
	case !strings.Contains(repo, "://") && !strings.Contains(repo, "@"):
		return nil, fmt.Errorf("repoURL %q is not a URL", repo)
	case chart == "" && path == "":
		return nil, fmt.Errorf("want chart (a Helm repository's chart) or path (a directory of a git repository)")
	case chart != "" && path != "":
		return nil, fmt.Errorf("chart and path are both set: a source is a chart or a git directory")
	case chart != "" && str("targetRevision") == "":
		return nil, fmt.Errorf("chart %s needs targetRevision (its version)", chart)
	}
	return src, nil
}

// BootstrapSource is where register --bootstrap's ApplicationSet installs
// Argo CD from: the host defaults' bootstrapSource, else the built-in
// chart. A platform team points it at its own mirror.
func (r Resolver) BootstrapSource() (map[string]any, Value, error) {
	v := r.Get(KeyBootstrapSource)
	src, err := ParseBootstrapSource(v.Value)
	if err != nil {
		return nil, v, fmt.Errorf("%s (from %s): %w", KeyBootstrapSource, v.Origin(), err)
	}
	return src, v, nil
}
