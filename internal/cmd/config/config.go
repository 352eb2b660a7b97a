// Package config implements `kubectl tenant config view`.
package config

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/cli-runtime/pkg/printers"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-tenant/kubectl-tenant/internal/cmdutil"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/hostconfig"
)

// Options of config view.
type Options struct {
	IO genericiooptions.IOStreams
	// Defaults resolves the defaults (cmdutil.Factory.Defaults; tests
	// give their own).
	Defaults func(context.Context, *pflag.FlagSet) (hostconfig.Resolver, error)
	Output   string
}

// NewCmdConfig builds `config` and its `view` subcommand; runF replaces
// view's Run in tests.
func NewCmdConfig(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "The platform's defaults for this host cluster",
		Args:  cobra.NoArgs,
	}
	o := &Options{IO: f.IOStreams, Defaults: f.Defaults}
	view := &cobra.Command{
		Use:   "view",
		Short: "Show the effective defaults and where each comes from",
		Long: `view shows every default create, register and the TUI use, its effective value and its
source: a flag beats the environment, which beats the host defaults (ConfigMap
` + hostconfig.Namespace + "/" + hostconfig.Name + `, readable by every authenticated user), which beat
the built-in value. Chart values are the exception: the host's values and the files of
$` + hostconfig.EnvValues + ` and -f merge, later ones winning. A malformed ConfigMap is
reported as one line and none of it is used.`,
		Example: `  kubectl tenant config view
  kubectl tenant config view -o yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := cmdutil.ValidateOutput(o.Output, "", "json", "yaml"); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return o.Run(cmd.Context())
		},
	}
	view.Flags().StringVarP(&o.Output, "output", "o", "", "output format: json|yaml")
	cmd.AddCommand(view)
	return cmd
}

// Document is the -o json|yaml document.
type Document struct {
	APIVersion string             `json:"apiVersion"`
	Kind       string             `json:"kind"`
	Host       string             `json:"host"`
	HostFound  bool               `json:"hostFound"`
	Settings   []hostconfig.Value `json:"settings"`
}

// Run resolves and prints the defaults.
func (o *Options) Run(ctx context.Context) error {
	r, err := o.Defaults(ctx, nil)
	if err != nil {
		return err
	}
	return Print(o.IO.Out, o.Output, r)
}

// Print writes the resolved settings as a table or a document.
func Print(w io.Writer, format string, r hostconfig.Resolver) error {
	doc := Document{APIVersion: "kubectl-tenant.io/v1alpha1", Kind: "Defaults", Host: hostconfig.Ref,
		HostFound: r.Host != nil && r.Host.Found, Settings: r.All()}
	if format != "" {
		return cmdutil.PrintObject(w, format, doc)
	}
	tw := printers.GetNewTabWriter(w)
	fmt.Fprintln(tw, "KEY\tVALUE\tSOURCE")
	for _, v := range doc.Settings {
		val := v.Value
		if v.Key == hostconfig.KeyValues && v.Source == hostconfig.Host || v.Key == hostconfig.KeyBootstrapSource {
			val = compact(val)
		}
		if val == "" {
			val = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", v.Key, val, v.Origin())
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if r.Host != nil && r.Host.Unreadable != nil {
		// Built-in values for a create, and no warm pool is touched (gc).
		_, err := fmt.Fprintf(w, "(%s is not readable for you: %v)\n", hostconfig.Ref, r.Host.Unreadable)
		return err
	}
	if !doc.HostFound {
		_, err := fmt.Fprintf(w, "(no %s on this host cluster)\n", hostconfig.Ref)
		return err
	}
	return nil
}

// compact shows YAML values on one line (as JSON).
func compact(y string) string {
	var v any
	if err := yaml.Unmarshal([]byte(y), &v); err != nil {
		return y
	}
	b, err := json.Marshal(v)
	if err != nil {
		return y
	}
	return string(b)
}
