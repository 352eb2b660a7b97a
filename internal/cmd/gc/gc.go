// Package gc implements `kubectl tenant gc`.
package gc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-tenant/kubectl-tenant/internal/cmdutil"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/hostconfig"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/warmpool"
	"github.com/kubectl-tenant/kubectl-tenant/plugins/argocd"
)

// Options of gc.
type Options struct {
	IO genericiooptions.IOStreams
	// Engine is the engine with the Argo CD registrar gc's deletes
	// deregister from (cmdutil.Factory.ArgoCDEngine; tests give a fake).
	Engine func(context.Context) (*tenant.Engine, error)
	// TopUp tops the host's warm pools up after the deletes
	// (warmpool.TopUpAll under the host defaults; nil: none). A
	// *hostconfig.UnreadableError from it is a warning: nothing changed.
	TopUp func(context.Context, *tenant.Engine) ([]warmpool.Result, error)
	// Defaults are the host defaults (f.Defaults; nil: none): their
	// idleSleepAfter puts idle tenants to sleep.
	Defaults func(context.Context) (hostconfig.Resolver, error)
	// Renew renews the Argo CD tokens that are due (the engine's Argo CD
	// registrar's RenewTokens; nil: none).
	Renew  func(context.Context, *tenant.Engine, argocd.RenewOptions) ([]argocd.Renewal, error)
	GC     tenant.GCOptions
	Output string
	// Pools tops the warm pools up (--pools, default true).
	Pools bool
}

// NewCmdGC builds the command; runF replaces Run in tests.
func NewCmdGC(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	o := &Options{IO: f.IOStreams, Engine: func(ctx context.Context) (*tenant.Engine, error) {
		return f.ArgoCDEngine(ctx, nil)
	}, TopUp: func(ctx context.Context, e *tenant.Engine) ([]warmpool.Result, error) {
		r, err := f.Defaults(ctx, nil)
		if err != nil {
			return nil, err
		}
		return warmpool.TopUpAll(ctx, e, r)
	}, Renew: func(ctx context.Context, e *tenant.Engine, ro argocd.RenewOptions) ([]argocd.Renewal, error) {
		reg, ok := e.Registrar.(*argocd.Registrar)
		if !ok {
			return nil, nil
		}
		return reg.RenewTokens(ctx, ro, e.Report)
	}}
	var cmd *cobra.Command
	o.Defaults = func(ctx context.Context) (hostconfig.Resolver, error) { return f.Defaults(ctx, cmd.Flags()) }
	cmd = &cobra.Command{
		Use:   "gc",
		Short: "Put idle tenants to sleep; delete expired tenants completely, as delete does",
		Long: `gc puts every idle tenant to sleep: one Ready and not used through the tool (connect,
a request through its background forwarder, wake) for its sleep-after (create/extend
--sleep-after, else the host defaults' idleSleepAfter; 0 never sleeps). Its contexts and
forwarders stay: the next request through them wakes it. Argo CD's traffic is not use.

gc deletes every tenant past its expiry (expires-at from create --ttl or extend, or a
GitOps namespace's creation time plus its ttl) the way delete does: Argo CD registration,
release, namespace, kubeconfig entries and forwarders on this machine. It prints one line per
tenant and a summary, and exits 1 when a delete failed (the others are still deleted).
It also removes the forwarders and kubeconfig entries of this host's tenants that are gone
from the cluster (deleted elsewhere, e.g. by the in-cluster gc). Then it tops the warm pools
of the host defaults up (see 'kubectl tenant pool'): spares of a changed chart or values are
removed and missing ones are installed (not waited for); sleeping pools' ready spares are
put to sleep. The pools depend on the host defaults alone, not on the caller's environment or
directory; a caller who may not read them changes no pool (a warning says so).

gc also renews the token Argo CD holds for each registered, running tenant when it expires
within --argocd-renew-before (default: half of the token's lifetime), reading the expiry from
Argo CD's cluster Secrets: a new token (--argocd-token-lifetime) goes to Argo CD, then the old
one is revoked. A token of a sleeping tenant is renewed by a later run.

Runs may overlap (a tenant another gc is deleting counts as deleted) and an interrupted run
finishes the job when run again. 'kubectl tenant render' renders a CronJob that runs gc in
the host cluster. A GitOps tenant is recreated by Argo CD unless its project is removed from
config.yaml.`,
		Example: `  kubectl tenant gc --dry-run
  kubectl tenant gc -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := cmdutil.ValidateOutput(o.Output, "", "json", "yaml"); err != nil {
				return err
			}
			if o.GC.Wait < 0 {
				return cmdutil.UsageError{Err: fmt.Errorf("--wait must not be negative")}
			}
			if _, _, err := (hostconfig.Resolver{Flags: cmdutil.ChangedFlags(cmd.Flags()), Getenv: f.Env.Get}).ArgoCDToken(); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return o.Run(cmd.Context())
		},
	}
	cmd.Flags().BoolVar(&o.GC.DryRun, "dry-run", false, "only print which tenants would be put to sleep or deleted")
	cmd.Flags().DurationVar(&o.GC.Wait, "wait", 5*time.Minute, "how long to wait for each namespace to be gone; 0 does not wait")
	cmd.Flags().StringVarP(&o.Output, "output", "o", "", "output format: json|yaml")
	cmd.Flags().BoolVar(&o.Pools, "pools", true, "also top the warm pools up (needs the rights to install tenants)")
	cmd.Flags().Duration("argocd-token-lifetime", argocd.DefaultTokenLifetime, "lifetime of a renewed Argo CD token (at least 10m; $"+hostconfig.EnvArgoCDTokenLifetime+", the host defaults' "+hostconfig.KeyArgoCDTokenLifetime+")")
	cmd.Flags().Duration("argocd-renew-before", 0, "renew Argo CD's token of a tenant when it expires within this (0: once half of its lifetime has passed; $"+hostconfig.EnvArgoCDTokenRenewBefore+", the host defaults' "+hostconfig.KeyArgoCDTokenRenewBefore+")")
	return cmd
}

// Result is the -o json|yaml document.
type Result struct {
	APIVersion string            `json:"apiVersion"`
	Kind       string            `json:"kind"`
	DryRun     bool              `json:"dryRun"`
	Items      []tenant.GCResult `json:"items"`
	// Pools are what topping the warm pools up did (not in a dry run).
	Pools []warmpool.Result `json:"pools,omitempty"`
	// Tokens are the Argo CD tokens that were due for renewal.
	Tokens []argocd.Renewal `json:"tokens,omitempty"`
}

// Run collects garbage and reports; the error says how many deletes failed.
func (o *Options) Run(ctx context.Context) error {
	e, err := o.Engine(ctx)
	if err != nil {
		return err
	}
	ro := argocd.RenewOptions{DryRun: o.GC.DryRun}
	if o.Defaults != nil {
		r, err := o.Defaults(ctx)
		if err != nil {
			return err
		}
		// Shared state: the host's setting, not the caller's environment.
		if o.GC.IdleSleepAfter, _, err = r.HostOnly().Duration(hostconfig.KeyIdleSleepAfter); err != nil {
			return err
		}
		if ro.Lifetime, ro.Before, err = r.ArgoCDToken(); err != nil {
			return err
		}
	}
	rs, err := e.GC(ctx, o.GC)
	var tokens []argocd.Renewal
	if err == nil && o.Renew != nil {
		var rerr error
		if tokens, rerr = o.Renew(ctx, e, ro); rerr != nil {
			// Deletes and sleeps went through: a warning, as for pools.
			fmt.Fprintf(o.IO.ErrOut, "Warning: Argo CD tokens not renewed: %s\n", tenant.FirstLine(rerr.Error()))
		}
	}
	var pools []warmpool.Result
	if err == nil && !o.GC.DryRun && o.Pools && o.TopUp != nil {
		pools, err = o.TopUp(ctx, e)
		var unread *hostconfig.UnreadableError
		if errors.As(err, &unread) {
			// Unknown pools are left as they are: not a failed gc.
			fmt.Fprintf(o.IO.ErrOut, "Warning: warm pools left unchanged: %v\n", err)
			err = nil
		}
		if err != nil {
			err = fmt.Errorf("gc: warm pools: %w", err)
		}
	}
	if perr := Print(o.IO.Out, o.Output, o.GC.DryRun, rs, pools, tokens, time.Now()); perr != nil && err == nil {
		err = perr
	}
	if err != nil {
		return err
	}
	if n := count(rs, tenant.GCFailed); n > 0 {
		return fmt.Errorf("gc: %d of %d tenants could not be deleted", n, len(rs)-count(rs, tenant.GCSlept)-count(rs, tenant.GCWouldSleep)-count(rs, tenant.GCSleepFailed))
	}
	if n := count(rs, tenant.GCSleepFailed); n > 0 {
		return fmt.Errorf("gc: %d idle tenant(s) could not be put to sleep", n)
	}
	failed := 0
	for _, t := range tokens {
		if t.Action == argocd.RenewFailed {
			failed++
		}
	}
	if failed > 0 {
		return fmt.Errorf("gc: %d Argo CD token(s) could not be renewed", failed)
	}
	return nil
}

// Print writes the results: one line per tenant and a summary, or a document.
func Print(w io.Writer, format string, dryRun bool, rs []tenant.GCResult, pools []warmpool.Result, tokens []argocd.Renewal, now time.Time) error {
	if format == "json" || format == "yaml" {
		if rs == nil {
			rs = []tenant.GCResult{}
		}
		return cmdutil.PrintObject(w, format, Result{APIVersion: "kubectl-tenant.io/v1alpha1", Kind: "GCResult", DryRun: dryRun, Items: rs, Pools: pools, Tokens: tokens})
	}
	for _, t := range tokens {
		line := fmt.Sprintf("tenant/%s argocd token %s", t.Name, t.Action)
		if t.ExpiresAt != nil {
			line += ", expires " + t.ExpiresAt.UTC().Format(time.RFC3339)
		}
		if t.Reason != "" {
			line += ": " + t.Reason
		}
		if _, err := fmt.Fprintln(w, line); err != nil {
			return err
		}
	}
	for _, p := range pools {
		if d := p.Done(); d != "" {
			if _, err := fmt.Fprintf(w, "pool/%s topped up: %s\n", p.Pool, d); err != nil {
				return err
			}
		}
	}
	for _, r := range rs {
		// kubectl's wording: "deleted (dry run)".
		action := r.Action
		switch action {
		case tenant.GCWouldDelete:
			action = tenant.GCDeleted + " (dry run)"
		case tenant.GCWouldSleep:
			action = tenant.GCSlept + " (dry run)"
		case tenant.GCSleepFailed:
			action = "not put to sleep"
		}
		line := fmt.Sprintf("tenant/%s %s, gone from the cluster: local entries", r.Name, action)
		switch {
		case r.IdleSince != nil:
			line = fmt.Sprintf("tenant/%s %s, idle for %s", r.Name, action, duration.HumanDuration(now.Sub(*r.IdleSince)))
		case r.ExpiresAt != nil:
			line = fmt.Sprintf("tenant/%s %s, expired %s ago", r.Name, action, duration.HumanDuration(now.Sub(*r.ExpiresAt)))
		}
		if r.Error != "" {
			line += ": " + r.Error
		}
		if _, err := fmt.Fprintln(w, line); err != nil {
			return err
		}
	}
	var summary string
	asleep := count(rs, tenant.GCSlept) + count(rs, tenant.GCWouldSleep) + count(rs, tenant.GCSleepFailed)
	switch {
	case len(rs) == 0:
		summary = "gc: nothing to delete"
	case dryRun:
		summary = fmt.Sprintf("gc (dry run): %d would be deleted", len(rs)-asleep)
	default:
		summary = fmt.Sprintf("gc: %d deleted, %d failed", count(rs, tenant.GCDeleted), count(rs, tenant.GCFailed))
	}
	if asleep > 0 {
		if dryRun {
			summary += fmt.Sprintf(", %d would be put to sleep", asleep)
		} else {
			summary += fmt.Sprintf("; %d put to sleep, %d failed", count(rs, tenant.GCSlept), count(rs, tenant.GCSleepFailed))
		}
	}
	_, err := fmt.Fprintln(w, summary)
	return err
}

func count(rs []tenant.GCResult, action string) int {
	n := 0
	for _, r := range rs {
		if r.Action == action {
			n++
		}
	}
	return n
}
