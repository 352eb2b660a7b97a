package gitops

import (
	"fmt"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/vclustervalues"
)

// TenantRequest is what `kubectl tenant create NAME --gitops` asks for.
type TenantRequest struct {
	Name string
	// Pool, K8sVersion, Chart and Isolation apply only when Name is not a project of
	// the config (a project's come from config.yaml).
	Pool       string
	K8sVersion string
	Chart      Chart
	Isolation  bool
	// Values are user values (create --values) laid over the rendered ones.
	Values map[string]any
}

// TenantApplication returns the Argo CD Application that installs tenant
// req.Name, from the same code path as Render. When the tenant is a project
// of c (c may be nil) it is the rendered Application (project folder and
// values from the platform repository); otherwise it is built from req with
// c's defaults, and since no repository holds its values the chart source
// carries them inline. fromConfig says which.
func TenantApplication(c *Config, req TenantRequest) (app map[string]any, fromConfig bool, err error) {
	if err := tenant.ValidateName(req.Name); err != nil {
		return nil, false, err
	}
	if c == nil {
		// Only the flag-built Application is possible; a placeholder
		// repository URL satisfies validation and is never rendered.
		c = &Config{RepoURL: "https://kubectl-tenant.invalid/none.git"}
	}
	r := c.withDefaults()
	for _, cl := range r.Clusters {
		if cl.Project == req.Name {
			if err := c.Validate(); err != nil {
				return nil, false, err
			}
			p := resolveProject(&r, cl)
			app = application(&r, p)
			if len(req.Values) > 0 {
				chartSource(app)["helm"].(obj)["valuesObject"] = req.Values
			}
			return app, true, nil
		}
	}
	pool := req.Pool
	if pool == "" {
		pool = req.Name
	}
	if req.Chart.Chart != "" {
		// Another chart: the default version belongs to the default chart.
		r.VClusterChart = Chart{RepoURL: or(req.Chart.RepoURL, r.VClusterChart.RepoURL), Chart: req.Chart.Chart, Version: req.Chart.Version}
	} else {
		r.VClusterChart.RepoURL = or(req.Chart.RepoURL, r.VClusterChart.RepoURL)
		r.VClusterChart.Version = or(req.Chart.Version, r.VClusterChart.Version)
	}
	// The pool is a label value (checked by the engine), not a config node
	// pool: validate only what the flags add.
	check := Config{RepoURL: r.RepoURL, VClusterChart: r.VClusterChart, File: "flags"}
	check.Defaults.K8sVersion = req.K8sVersion
	if err := check.Validate(); err != nil {
		return nil, false, err
	}
	cl := Cluster{Project: req.Name, NodePools: []NodePool{{Name: pool}}}
	cl.K8sVersion = req.K8sVersion
	p := resolveProject(&r, cl)
	vals, err := vclustervalues.For(req.Name, pool, p.K8sVersion, req.Isolation)
	if err != nil {
		return nil, false, err
	}
	if !vclustervalues.TakesProbeTimings(r.VClusterChart.Version) {
		vals = vclustervalues.WithoutProbeTimings(vals)
	}
	app = application(&r, p)
	src := chartSource(app)
	helm := src["helm"].(obj)
	delete(helm, "valueFiles")
	helm["valuesObject"] = vclustervalues.Merge(vals, req.Values)
	app["spec"].(obj)["sources"] = []obj{src}
	return app, false, nil
}

// chartSource is the Application's vcluster chart source (the last one).
func chartSource(app obj) obj {
	srcs := app["spec"].(obj)["sources"].([]obj)
	return srcs[len(srcs)-1]
}

// ApplicationRef is namespace/name of the Application installing tenant
// name in Argo CD's namespace, as recorded in tenant.AnnotationApplication.
func ApplicationRef(argoNamespace, name string) string {
	return fmt.Sprintf("%s/%s", argoNamespace, applicationName(name))
}

// ApplicationName is the name of the Application installing tenant name.
func ApplicationName(name string) string { return applicationName(name) }
