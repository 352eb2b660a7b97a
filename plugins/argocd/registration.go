package argocd

import (
	"context"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
	"github.com/kubectl-tenant/kubectl-tenant/plugins/argocd/application"
)

// RegisterPlan names the steps of a registration, in order; bootstrap adds
// the ApplicationSet's.
func RegisterPlan(bootstrap bool) []string {
	plan := []string{StepLogin, StepCertificate, StepManager, StepRegister}
	if bootstrap {
		plan = append(plan, StepBootstrap)
	}
	return plan
}

// Registration is one registration as `register NAME` and `create
// --register` make it: the Registrar (where Argo CD is), the options (less
// the name, which the call gives) and whether to bootstrap. It is the
// engine's tenant.Registration.
type Registration struct {
	Registrar *Registrar
	Options   RegisterOptions
	Bootstrap bool
	// Source is what the bootstrap ApplicationSet installs (the host
	// defaults' bootstrapSource, which the command resolves).
	Source map[string]any
}

var _ tenant.Registration = (*Registration)(nil)

// Plan names the steps Register reports.
func (g *Registration) Plan() []string { return RegisterPlan(g.Bootstrap) }

// Register registers tenant name (tenant.Registration).
func (g *Registration) Register(ctx context.Context, name string, report tenant.Reporter) error {
	_, err := g.Run(ctx, name, report)
	return err
}

// Run registers tenant name, then bootstraps when asked (the
// ApplicationSet selects the registration's labels; none: env=vdev).
func (g *Registration) Run(ctx context.Context, name string, report tenant.Reporter) (*Result, error) {
	o := g.Options
	o.Name = name
	res, err := g.Registrar.Register(ctx, o, report)
	if err != nil {
		return nil, err
	}
	if g.Bootstrap {
		err := report.StepMsg(StepBootstrap, func() (string, error) { return g.Registrar.Bootstrap(ctx, o.Labels, g.Source) })
		if err != nil {
			return nil, err
		}
	}
	return res, nil
}

// Bootstrap applies the bootstrap ApplicationSet (application.Bootstrap)
// installing source in r's Argo CD namespace and says what it did.
func (r *Registrar) Bootstrap(ctx context.Context, selector map[string]string, source map[string]any) (string, error) {
	dyn, err := r.dynamic()
	if err != nil {
		return "", err
	}
	return application.Bootstrap(ctx, dyn, r.ns(), selector, source)
}
