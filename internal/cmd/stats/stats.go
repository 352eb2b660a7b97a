// Package stats implements `kubectl tenant stats`.
package stats

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/cli-runtime/pkg/printers"

	"github.com/kubectl-tenant/kubectl-tenant/internal/cmdutil"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
)

// Options of stats.
type Options struct {
	IO     genericiooptions.IOStreams
	Engine func() (*tenant.Engine, error)
	Stats  tenant.StatsOptions
	Output string
}

// NewCmdStats builds the command; runF replaces Run in tests.
func NewCmdStats(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	o := &Options{IO: f.IOStreams, Engine: f.Engine}
	cmd := &cobra.Command{
		Use:   "stats",
		Short: "Fleet statistics: time to ready (p50/p95), tenants by status, expired, idle and sleeping tenants, hours slept",
		Long: `stats reads what the tool records on the tenant namespaces: created-at and time-to-ready
(written by create), the expiry, and last-connected-at (written by connect, at most once a
minute). Time to ready covers the existing tenants created within --since; percentiles are
nearest-rank. A Ready tenant is idle when nobody connected to it for --idle (one never
connected counts from when it became ready). Deleted tenants leave no record.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := cmdutil.ValidateOutput(o.Output, "", "json", "yaml"); err != nil {
				return err
			}
			if o.Stats.Since <= 0 || o.Stats.IdleAfter <= 0 {
				return cmdutil.UsageError{Err: fmt.Errorf("--since and --idle must be positive")}
			}
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return o.Run(cmd.Context())
		},
	}
	cmd.Flags().DurationVar(&o.Stats.Since, "since", 7*24*time.Hour, "time to ready of the tenants created within this window")
	cmd.Flags().DurationVar(&o.Stats.IdleAfter, "idle", 24*time.Hour, "a Ready tenant not connected to for this long is idle")
	cmd.Flags().StringVarP(&o.Output, "output", "o", "", "output format: json|yaml")
	return cmd
}

// Document is the -o json|yaml document.
type Document struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	tenant.Stats
}

// Run computes and prints the statistics.
func (o *Options) Run(ctx context.Context) error {
	e, err := o.Engine()
	if err != nil {
		return err
	}
	s, err := e.Stats(ctx, o.Stats)
	if err != nil {
		return err
	}
	return Print(o.IO.Out, o.Output, s)
}

// Print writes the statistics as key: value lines or a document.
func Print(w io.Writer, format string, s *tenant.Stats) error {
	if format == "json" || format == "yaml" {
		return cmdutil.PrintObject(w, format, Document{APIVersion: "kubectl-tenant.io/v1alpha1", Kind: "TenantStats", Stats: *s})
	}
	tw := printers.GetNewTabWriter(w)
	row := func(k, v string) { fmt.Fprintf(tw, "%s:\t%s\n", k, v) }
	var by []string
	for _, st := range slices.Sorted(maps.Keys(s.ByStatus)) {
		by = append(by, fmt.Sprintf("%s %d", st, s.ByStatus[st]))
	}
	tenants := fmt.Sprint(s.Total)
	if len(by) > 0 {
		tenants += " (" + strings.Join(by, ", ") + ")"
	}
	row("Tenants", tenants)
	r := s.Recent
	row("Created", fmt.Sprintf("%d within %s, %d with a recorded time to ready", r.Creates, duration.HumanDuration(r.Since), r.Ready))
	if r.Ready > 0 {
		row("Time to ready", fmt.Sprintf("p50 %s, p95 %s", r.P50, r.P95))
	} else {
		row("Time to ready", "-")
	}
	if r.Claimed != nil {
		// Only where warm pools are in use: the split and the hit rate.
		for _, k := range []struct {
			label string
			t     *tenant.ReadyTimes
		}{{"  claimed spare", r.Claimed}, {"  fresh install", r.Fresh}} {
			if k.t == nil || k.t.Ready == 0 {
				continue
			}
			row(k.label, fmt.Sprintf("p50 %s, p95 %s (%d)", k.t.P50, k.t.P95, k.t.Ready))
		}
		row("Warm pool hit rate", fmt.Sprintf("%.0f%% (%d of %d creates)", 100*r.HitRate, r.Claimed.Creates, r.Creates))
	}
	row("Expired", names(s.Expired))
	row("Idle", fmt.Sprintf("%s (not connected to for %s)", names(s.Idle), duration.HumanDuration(s.IdleAfter)))
	row("Sleeping", names(s.Sleeping))
	slept := fmt.Sprintf("%.1fh in total", s.TotalSleptHours)
	if len(s.SleptHours) > 0 {
		var per []string
		for _, n := range slices.Sorted(maps.Keys(s.SleptHours)) {
			per = append(per, fmt.Sprintf("%s %.1fh", n, s.SleptHours[n]))
		}
		slept += " (" + strings.Join(per, ", ") + ")"
	}
	row("Slept", slept)
	return tw.Flush()
}

func names(ns []string) string {
	if len(ns) == 0 {
		return "0"
	}
	return fmt.Sprintf("%d: %s", len(ns), strings.Join(ns, ", "))
}
