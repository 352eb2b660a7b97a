// Package pool implements `kubectl tenant pool set|status`: warm pools of
// spare tenants that create claims.
package pool

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/cli-runtime/pkg/printers"

	"github.com/kubectl-tenant/kubectl-tenant/internal/cmdutil"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/hostconfig"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/warmpool"
)

// Options of pool set and pool status.
type Options struct {
	IO genericiooptions.IOStreams
	// Engine, Defaults and SetPool are cmdutil.Factory's (tests give
	// fakes); SetPool writes one pool into the host defaults and returns
	// them as written.
	Engine   func() (*tenant.Engine, error)
	Defaults func(context.Context, *pflag.FlagSet) (hostconfig.Resolver, error)
	SetPool  func(ctx context.Context, e *tenant.Engine, c warmpool.Config) (*hostconfig.Defaults, error)

	Pool   string
	Size   int
	State  string
	Wait   time.Duration
	Output string
	// Live lets set --wait's step view animate (on a terminal; not with
	// -o json|yaml).
	Live bool
}

// NewCmdPool builds `pool` with `set` and `status`; runSet and runStatus
// replace their Run in tests.
func NewCmdPool(f *cmdutil.Factory, runSet, runStatus func(context.Context, *Options) error) *cobra.Command {
	o := &Options{IO: f.IOStreams, Engine: f.Engine, Defaults: f.Defaults,
		SetPool: func(ctx context.Context, e *tenant.Engine, c warmpool.Config) (*hostconfig.Defaults, error) {
			return hostconfig.SetWarmPool(ctx, e.Kube, c)
		}}
	cmd := &cobra.Command{
		Use:   "pool",
		Short: "Warm pools: spare tenants per node pool, so create skips the install and the image pulls",
		Long: `A warm pool keeps spare tenants of one node pool installed exactly as a plain
'kubectl tenant create NAME --pool POOL' would install them under the host defaults
alone (same chart, values, pinning, isolation; never the caller's environment), running
or asleep. create claims a matching ready spare instead of installing:
the spare is renamed to the tenant (list, status, context, Argo CD cluster name) and the
replacement's install starts without waiting. A create with other values, chart or
isolation installs as usual. 'kubectl tenant gc' tops pools up and removes spares of a
changed chart or values. Pools are kept in the host defaults (` + hostconfig.Ref + `,
key ` + hostconfig.KeyWarmPools + `), so setting one needs write access to it.`,
		Args: cobra.NoArgs,
	}
	set := &cobra.Command{
		Use:   "set POOL --size N",
		Short: "Set a pool's size and state and top it up",
		Example: `  kubectl tenant pool set project-x --size 3
  kubectl tenant pool set project-x --size 2 --state sleeping --wait 5m
  kubectl tenant pool set project-x --size 0    # remove the pool and its spares`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Pool = args[0]
			if err := o.ValidateSet(cmd.Flags().Changed("size")); err != nil {
				return err
			}
			o.Live = o.Output == "" // the step view is live on a terminal only
			if runSet != nil {
				return runSet(cmd.Context(), o)
			}
			return o.RunSet(cmd.Context())
		},
	}
	set.Flags().IntVar(&o.Size, "size", 0, "number of spare tenants to keep (0 removes the pool)")
	set.Flags().StringVar(&o.State, "state", warmpool.StateRunning.String(), "keep spares running or sleeping")
	set.Flags().DurationVar(&o.Wait, "wait", 0, "wait this long for the pool to be full (0: start the installs and return)")
	set.Flags().StringVarP(&o.Output, "output", "o", "", "output format: json|yaml")
	status := &cobra.Command{
		Use:     "status",
		Short:   "Show each pool's spares and hit rate",
		Example: "  kubectl tenant pool status\n  kubectl tenant pool status -o json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := cmdutil.ValidateOutput(o.Output, "", "json", "yaml"); err != nil {
				return err
			}
			if runStatus != nil {
				return runStatus(cmd.Context(), o)
			}
			return o.RunStatus(cmd.Context())
		},
	}
	status.Flags().StringVarP(&o.Output, "output", "o", "", "output format: json|yaml")
	cmd.AddCommand(set, status)
	return cmd
}

// ValidateSet checks set's input; sizeSet says --size was given.
func (o *Options) ValidateSet(sizeSet bool) error {
	if err := cmdutil.ValidateOutput(o.Output, "", "json", "yaml"); err != nil {
		return err
	}
	if !sizeSet {
		return cmdutil.UsageError{Err: fmt.Errorf("--size is required (0 removes the pool)")}
	}
	if o.Wait < 0 {
		return cmdutil.UsageError{Err: fmt.Errorf("--wait must not be negative")}
	}
	if _, err := o.Config(); err != nil {
		return cmdutil.UsageError{Err: err}
	}
	return nil
}

// Config is the pool set asks for.
func (o *Options) Config() (warmpool.Config, error) {
	state, err := warmpool.ParseState(o.State)
	if err != nil {
		return warmpool.Config{}, fmt.Errorf("pool %s: %v", o.Pool, err)
	}
	c := warmpool.Config{Pool: o.Pool, Size: o.Size, State: state}
	return c, c.Validate()
}

// SetResult is set's -o json|yaml document.
type SetResult struct {
	APIVersion string          `json:"apiVersion"`
	Kind       string          `json:"kind"`
	Spec       warmpool.Config `json:"spec"`
	Result     warmpool.Result `json:"result"`
}

// RunSet writes the pool into the host defaults, then tops it up (and
// waits for it with --wait).
func (o *Options) RunSet(ctx context.Context) error {
	e, err := o.Engine()
	if err != nil {
		return err
	}
	spec, err := o.Config()
	if err != nil {
		return cmdutil.UsageError{Err: err}
	}
	d, err := o.SetPool(ctx, e, spec)
	if err != nil {
		return fmt.Errorf("set warm pool %s in %s: %w", o.Pool, hostconfig.Ref, err)
	}
	// The spares are what a plain create under the defaults just written
	// installs (no second read of the ConfigMap; not this environment).
	tmpl, err := hostconfig.Resolver{Host: d}.PoolTemplate(o.Pool)
	if err != nil {
		return err
	}
	var res *warmpool.Result
	run := func(e *tenant.Engine) (string, error) {
		res, err = warmpool.Fill(ctx, e, spec, tmpl, o.Wait)
		if err != nil {
			return "", err
		}
		return summary(spec, res), nil
	}
	if o.Wait > 0 {
		err = cmdutil.RunSteps(o.IO.ErrOut, e, o.Live, "Filling warm pool "+o.Pool, "pool set", o.Pool, []string{warmpool.StepFill}, run)
	} else {
		_, err = run(e)
	}
	if err != nil {
		return err
	}
	if o.Output != "" {
		return cmdutil.PrintObject(o.IO.Out, o.Output, SetResult{APIVersion: "kubectl-tenant.io/v1alpha1", Kind: "WarmPool", Spec: spec, Result: *res})
	}
	_, err = fmt.Fprintln(o.IO.Out, summary(spec, res))
	return err
}

func summary(spec warmpool.Config, res *warmpool.Result) string {
	s := fmt.Sprintf("pool/%s set: %d spares, %s", spec.Pool, spec.Size, spec.State)
	if spec.Size == 0 {
		s = fmt.Sprintf("pool/%s removed", spec.Pool)
	}
	if d := res.Done(); d != "" {
		s += "; " + d
	}
	return s
}

// StatusList is status's -o json|yaml document.
type StatusList struct {
	APIVersion string            `json:"apiVersion"`
	Kind       string            `json:"kind"`
	Items      []warmpool.Status `json:"items"`
}

// RunStatus prints every pool of the host defaults and every pool with
// spares.
func (o *Options) RunStatus(ctx context.Context) error {
	e, err := o.Engine()
	if err != nil {
		return err
	}
	r, err := o.Defaults(ctx, nil)
	if err != nil {
		return err
	}
	specs, err := r.WarmPools()
	if err != nil {
		return err
	}
	sts, err := warmpool.Statuses(ctx, &e.Host, specs, r.PoolTemplate)
	if err != nil {
		return err
	}
	return PrintStatus(o.IO.Out, o.Output, sts)
}

// PrintStatus writes the pools as a table or a document.
func PrintStatus(w io.Writer, format string, sts []warmpool.Status) error {
	if format != "" {
		if sts == nil {
			sts = []warmpool.Status{}
		}
		return cmdutil.PrintObject(w, format, StatusList{APIVersion: "kubectl-tenant.io/v1alpha1", Kind: "WarmPoolList", Items: sts})
	}
	if len(sts) == 0 {
		_, err := fmt.Fprintln(w, "No warm pools (kubectl tenant pool set POOL --size N makes one).")
		return err
	}
	tw := printers.GetNewTabWriter(w)
	fmt.Fprintln(tw, "POOL\tSIZE\tSTATE\tREADY\tSLEEPING\tPENDING\tSTALE\tCLAIMED\tFRESH\tHIT RATE")
	for _, s := range sts {
		hit := "-"
		if s.Claimed+s.Fresh > 0 {
			hit = strconv.Itoa(int(100*s.HitRate+0.5)) + "%"
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%s\n", s.Pool, s.Size, s.State, s.Ready, s.Asleep, s.Pending, s.Stale, s.Claimed, s.Fresh, hit)
	}
	return tw.Flush()
}
