package create

import (
	"fmt"
	"slices"
	"strings"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/gitops"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/hostconfig"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
)

// ChartSource is what create installs and where each part came from (flag,
// environment, host defaults, built-in): its first line, and field
// chartSource of -o json|yaml. Repo and Version are nil where they do not
// apply (a chart path or oci:// reference has no repository; no version is
// the repository's latest).
type ChartSource struct {
	Chart   hostconfig.Value  `json:"chart"`
	Repo    *hostconfig.Value `json:"repo,omitempty"`
	Version *hostconfig.Value `json:"version,omitempty"`
}

// chartSource resolves it as ApplyCreate did; a project of --config
// config.yaml is installed with the chart config.yaml sets.
func chartSource(r hostconfig.Resolver, t tenant.CreateOptions, cfg *gitops.Config, cfgFile string) ChartSource {
	if t.GitOps && cfg != nil && slices.ContainsFunc(cfg.Clusters, func(c gitops.Cluster) bool { return c.Project == t.Name }) {
		return ChartSource{Chart: hostconfig.Value{Key: hostconfig.KeyChart, Source: hostconfig.Flag, From: "--config " + cfgFile}}
	}
	c, repo, version := r.ChartSources(t.GitOps)
	s := ChartSource{Chart: c}
	if repo.Key != "" {
		s.Repo = &repo
	}
	if version.Key != "" && version.Value != "" {
		s.Version = &version
	}
	return s
}

// sourceName is a Source for people, as the issue words it.
func sourceName(v hostconfig.Value) string {
	switch v.Source {
	case hostconfig.Flag:
		if strings.HasPrefix(v.From, "--config ") {
			return strings.TrimPrefix(v.From, "--")
		}
		return "flag"
	case hostconfig.Env:
		return "environment"
	case hostconfig.Host:
		return "host defaults"
	}
	return "built-in"
}

// String is the line create starts with, e.g.
//
//	chart vcluster 0.34.0 from https://charts.loft.sh (built-in)
//	chart vcluster (flag) from https://mirror (host defaults), version 0.30.0 (flag)
func (s ChartSource) String() string {
	if s.Chart.Value == "" {
		return "chart as " + sourceName(s.Chart) + " sets it for project"
	}
	same := (s.Repo == nil || s.Repo.Source == s.Chart.Source) && (s.Version == nil || s.Version.Source == s.Chart.Source)
	version := ""
	switch {
	case s.Version != nil:
		version = s.Version.Value
	case s.Repo != nil || strings.HasPrefix(s.Chart.Value, "oci://"):
		version = "latest version"
	}
	if same {
		line := "chart " + s.Chart.Value
		if version != "" {
			line += " " + version
		}
		if s.Repo != nil {
			line += " from " + s.Repo.Value
		}
		return line + " (" + sourceName(s.Chart) + ")"
	}
	line := fmt.Sprintf("chart %s (%s)", s.Chart.Value, sourceName(s.Chart))
	if s.Repo != nil {
		line += fmt.Sprintf(" from %s (%s)", s.Repo.Value, sourceName(*s.Repo))
	}
	switch {
	case s.Version != nil:
		line += fmt.Sprintf(", version %s (%s)", s.Version.Value, sourceName(*s.Version))
	case version != "":
		line += ", " + version
	}
	return line
}

// createdTenant is -o json|yaml's object: the tenant and its chart's source.
type createdTenant struct {
	*tenant.Tenant
	ChartSource ChartSource `json:"chartSource"`
}
