package cmdutil

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// CompletionTimeout bounds the cluster query behind a TAB press.
const CompletionTimeout = 5 * time.Second

// CompleteTenantNames is a ValidArgsFunction completing the first argument
// with the names of the tenants on the host cluster (one Engine.List call,
// honouring --kubeconfig/--context given before the TAB). Anything after the
// first argument completes nothing. Errors (no cluster, forbidden) complete
// nothing rather than printing into the prompt.
func CompleteTenantNames(f *Factory) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return completeTenantNames(f, false)
}

// CompleteMoreTenantNames completes every argument with the tenants not
// named yet, for the verbs that take several (delete).
func CompleteMoreTenantNames(f *Factory) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return completeTenantNames(f, true)
}

func completeTenantNames(f *Factory, many bool) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		// (cmd.ArgsLenAtDash is no guide here: cobra's completion parses
		// the flags once with an extra "--", and pflag keeps that count.)
		if len(args) > 0 && !many {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		e, err := f.Engine()
		if err != nil {
			cobra.CompDebugln("tenant names: "+err.Error(), false)
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		ctx := cmd.Context()
		if ctx == nil {
			ctx = context.Background()
		}
		ctx, cancel := context.WithTimeout(ctx, CompletionTimeout)
		defer cancel()
		ts, err := e.With(nil).List(ctx) // never write progress into the prompt
		if err != nil {
			cobra.CompDebugln("tenant names: "+err.Error(), false)
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		names := make([]string, 0, len(ts))
		for _, t := range ts {
			if strings.HasPrefix(t.Name, toComplete) && !slices.Contains(args, t.Name) {
				names = append(names, t.Name)
			}
		}
		return names, cobra.ShellCompDirectiveNoFileComp
	}
}
