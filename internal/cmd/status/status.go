// Package status implements `kubectl tenant status NAME`.
package status

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/cli-runtime/pkg/printers"

	"github.com/kubectl-tenant/kubectl-tenant/internal/cmdutil"
	"github.com/kubectl-tenant/kubectl-tenant/internal/columns"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
)

// Options of status.
type Options struct {
	IO     genericiooptions.IOStreams
	Engine func() (*tenant.Engine, error)
	// Now is the clock of "(3m ago)" (tests pin it).
	Now    func() time.Time
	Name   string
	Output string
	Events int
}

// NewCmdStatus builds the command; runF replaces Run in tests.
func NewCmdStatus(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	o := &Options{IO: f.IOStreams, Engine: f.Engine, Now: time.Now}
	cmd := &cobra.Command{
		Use:   "status NAME",
		Short: "Show a tenant's details and recent events",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Name = args[0]
			if err := tenant.ValidateName(o.Name); err != nil {
				return err
			}
			if err := cmdutil.ValidateOutput(o.Output, "", "json", "yaml"); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return o.Run(cmd.Context())
		},
		ValidArgsFunction: cmdutil.CompleteTenantNames(f),
	}
	cmd.Flags().StringVarP(&o.Output, "output", "o", "", "output format: json|yaml")
	cmd.Flags().IntVar(&o.Events, "events", 10, "number of recent events to show")
	return cmd
}

// Run prints the tenant.
func (o *Options) Run(ctx context.Context) error {
	e, err := o.Engine()
	if err != nil {
		return err
	}
	t, err := e.Get(ctx, o.Name)
	if err != nil {
		return err
	}
	out := o.IO.Out
	if o.Output != "" {
		return cmdutil.PrintObject(out, o.Output, t)
	}
	now := o.Now()
	tw := printers.GetNewTabWriter(out)
	// Values come from annotations and events anyone with patch rights on
	// the namespace (or a tenant's workloads) controls: escape control
	// characters before they reach the terminal.
	row := func(k, v string) { fmt.Fprintf(tw, "%s:\t%s\n", k, columns.Clean(v)) }
	row("Name", t.Name)
	row("Namespace", t.Namespace)
	row("Status", string(t.Status))
	if t.Reason != "" {
		row("Reason", t.Reason)
	}
	row("Pool", t.Pool)
	if t.K8sVersion != "" {
		row("Kubernetes", t.K8sVersion)
	}
	if t.Workspace != "" {
		row("Workspace", t.Workspace)
	}
	row("Isolation", fmt.Sprint(t.Isolation))
	row("Owner", t.Owner)
	row("Created", fmt.Sprintf("%s (%s ago)", t.CreatedAt.Format(time.RFC3339), duration.HumanDuration(now.Sub(t.CreatedAt))))
	if t.ExpiresAt != nil {
		row("Expires", t.ExpiresAt.Format(time.RFC3339))
	}
	if t.TimeToReady > 0 {
		row("Ready in", t.TimeToReady.String())
	}
	if t.SleepingSince != nil {
		row("Sleeping since", fmt.Sprintf("%s (`kubectl tenant wake %s` brings it back)", t.SleepingSince.Format(time.RFC3339), t.Name))
	}
	row("Connected", fmt.Sprint(t.Connected))
	if err := tw.Flush(); err != nil {
		return err
	}
	evs, err := e.Events(ctx, o.Name, o.Events)
	if err != nil || len(evs) == 0 {
		return err
	}
	fmt.Fprintln(out, "\nEvents:")
	tw = printers.GetNewTabWriter(out)
	fmt.Fprintln(tw, "  LAST SEEN\tTYPE\tREASON\tOBJECT\tMESSAGE")
	for _, ev := range evs {
		c := columns.Clean
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s/%s\t%s\n", columns.Age(tenant.EventTime(ev), now), c(ev.Type), c(ev.Reason), c(ev.InvolvedObject.Kind), c(ev.InvolvedObject.Name), c(ev.Message))
	}
	return tw.Flush()
}
