package cmdutil

import (
	"context"
	"io"
	"time"

	"github.com/kubectl-tenant/kubectl-tenant/internal/progress"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
)

// RunSteps runs one engine operation with its own progress on errOut: the
// live step view of plan when live (and errOut a terminal), plain lines
// otherwise. run gets a copy of e reporting there (the shared engine is never
// changed) and returns the success line the view ends with.
func RunSteps(errOut io.Writer, e *tenant.Engine, live bool, title, verb, name string, plan []string,
	run func(*tenant.Engine) (string, error)) error {
	report, finish := progress.For(errOut, live, title, verb, name, plan)
	result, err := run(e.With(report))
	if err != nil {
		finish("", err)
		return err
	}
	finish(result, nil)
	return nil
}

// DefaultWakeWait is how long wake (and connect --wake) waits for the
// virtual API, as create does.
const DefaultWakeWait = 5 * time.Minute

// Wake wakes a tenant with the step view on errOut (live on a terminal when
// live is set): wake's Run, and connect for a sleeping tenant.
func Wake(ctx context.Context, errOut io.Writer, e *tenant.Engine, o tenant.WakeOptions, live bool) (*tenant.Tenant, error) {
	var t *tenant.Tenant
	err := RunSteps(errOut, e, live, "Waking tenant "+o.Name, "wake", o.Name, tenant.WakePlan(o.Wait > 0),
		func(e *tenant.Engine) (res string, err error) {
			if t, err = e.Wake(ctx, o); err != nil {
				return "", err
			}
			return tenant.AwakeLine(t, o.Wait > 0), nil
		})
	return t, err
}
