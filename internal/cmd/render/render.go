// Package render implements `kubectl tenant render`: config.yaml to the
// files of the GitOps platform repository.
package render

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-tenant/kubectl-tenant/internal/buildinfo"
	"github.com/kubectl-tenant/kubectl-tenant/internal/cmdutil"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/gitops"
)

// Options of render.
type Options struct {
	IO genericiooptions.IOStreams
	// File is config.yaml.
	File string
	// Out is the repository root the files are written under.
	Out string
	All bool
	// Only limits rendering (and ownership for deletion) to these sections.
	Only []string
	// Check writes nothing and fails when Out is not up to date.
	Check bool

	sections []string
}

// NewCmdRender builds the command; runF replaces Run in tests.
func NewCmdRender(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	o := &Options{IO: f.IOStreams}
	cmd := &cobra.Command{
		Use:   "render [-f config.yaml] [--out DIR] [--all | --only applications,vcluster,terraform] [--check]",
		Short: "Render config.yaml into the GitOps platform repository (Argo CD Applications, project manifests, Terraform)",
		Long: `render turns config.yaml (projects and their node pools) into the files Argo CD and
Terraform consume: applications/, vcluster/<project>/ and terraform/. The vCluster values
are the ones 'kubectl tenant create' installs, so both modes make the same tenant.

Output is deterministic. Every file is listed as written or unchanged; files a previous
render generated for removed projects are deleted (only generated files, recognised by
their header). --check writes nothing, prints a unified diff and exits 1 when the
repository is out of date, for CI.`,
		Example: `  kubectl tenant render
  kubectl tenant render -f platform/config.yaml --out platform --only applications,vcluster
  kubectl tenant render --check`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.Complete(cmd); err != nil {
				return err
			}
			if err := o.Validate(); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return o.Run(cmd.Context())
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&o.File, "filename", "f", "config.yaml", "the platform config to render")
	fl.StringVar(&o.Out, "out", ".", "root of the platform repository to write into")
	fl.BoolVar(&o.All, "all", false, "render every section (the default)")
	fl.StringSliceVar(&o.Only, "only", nil, "render only these sections: "+strings.Join(gitops.Sections, ","))
	fl.BoolVar(&o.Check, "check", false, "write nothing; print a diff and exit 1 if the repository is out of date (2: the config is invalid)")
	return cmd
}

// Complete resolves the sections.
func (o *Options) Complete(cmd *cobra.Command) error {
	if o.All && cmd.Flags().Changed("only") {
		return cmdutil.UsageError{Err: errors.New("--all and --only are mutually exclusive")}
	}
	o.sections = gitops.Sections
	if cmd.Flags().Changed("only") {
		o.sections = nil
		for _, s := range o.Only {
			s = strings.TrimSpace(s)
			if !slices.Contains(o.sections, s) {
				o.sections = append(o.sections, s)
			}
		}
	}
	return nil
}

// Validate checks flags.
func (o *Options) Validate() error {
	if o.File == "" {
		return cmdutil.UsageError{Err: errors.New("-f must name the config file")}
	}
	if o.Out == "" {
		return cmdutil.UsageError{Err: errors.New("--out must name a directory")}
	}
	if len(o.sections) == 0 {
		return cmdutil.UsageError{Err: fmt.Errorf("--only needs at least one of: %s", strings.Join(gitops.Sections, ", "))}
	}
	for _, s := range o.sections {
		if !slices.Contains(gitops.Sections, s) {
			return cmdutil.UsageError{Err: fmt.Errorf("unknown section %q in --only (use: %s)", s, strings.Join(gitops.Sections, ", "))}
		}
	}
	return nil
}

// Sections are the sections resolved by Complete.
func (o *Options) Sections() []string { return o.sections }

// Run parses, renders fully, and only then writes (or checks): a bad config
// never leaves partial output.
func (o *Options) Run(ctx context.Context) error {
	out, errOut := o.IO.Out, o.IO.ErrOut
	cfg, err := gitops.Load(o.File)
	if err != nil {
		var list gitops.ErrorList
		if errors.As(err, &list) && len(list) > 1 {
			// Every problem at once; the last line is the summary.
			for _, e := range list {
				fmt.Fprintln(errOut, "error:", e)
			}
			return cmdutil.UsageError{Err: fmt.Errorf("%s: %d problems, nothing written", o.File, len(list))}
		}
		// A config that cannot be used is bad input (exit 2), as for
		// `create --gitops --config`; `--check` exits 1 only when the
		// repository is out of date (or cannot be read or written).
		return cmdutil.UsageError{Err: err}
	}
	cfg.ToolVersion = buildinfo.Version // the gc image's default tag
	files, err := gitops.Render(cfg)
	if err != nil {
		return err
	}
	files = files.Select(o.sections...)
	res, err := gitops.Write(o.Out, files, gitops.WriteOptions{Check: o.Check, Sections: o.sections, Out: out})
	if errors.Is(err, gitops.ErrOutOfDate) {
		fmt.Fprint(out, res.Diff)
		return fmt.Errorf("%d of the rendered files in %s are out of date: run `kubectl tenant render` and commit the result", res.OutOfDate(), o.Out)
	}
	if err == nil && o.Check {
		fmt.Fprintf(out, "%d rendered files in %s are up to date\n", len(res.Changes), o.Out)
	}
	return err
}
