// Command gendocs writes the command reference (docs/reference) from the
// cobra command tree:
//
//	go run ./internal/gendocs            # from the repository root
//	go generate ./internal/gendocs
//
// A test regenerates it into a temporary directory and fails when the
// committed reference differs.
package main

//go:generate go run . -out ../../docs/reference

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
	"github.com/spf13/pflag"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-tenant/kubectl-tenant/internal/cmd/root"
	"github.com/kubectl-tenant/kubectl-tenant/internal/factory"
)

func main() {
	out := flag.String("out", filepath.Join("docs", "reference"), "directory to write the Markdown reference to")
	flag.Parse()
	if err := generate(*out); err != nil {
		fmt.Fprintln(os.Stderr, "gendocs:", err)
		os.Exit(1)
	}
}

// generate replaces the Markdown files in dir with the reference of the
// current command tree.
func generate(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	old, err := filepath.Glob(filepath.Join(dir, "*.md"))
	if err != nil {
		return err
	}
	for _, f := range old {
		if err := os.Remove(f); err != nil {
			return err
		}
	}
	return doc.GenMarkdownTree(tree(), dir)
}

// tree is the command tree with machine-specific flag defaults (the home
// directory in kubectl's --cache-dir) written as $HOME and without cobra's
// dated footer, so the output is the same on every machine.
func tree() *cobra.Command {
	streams := genericiooptions.IOStreams{In: strings.NewReader(""), Out: io.Discard, ErrOut: io.Discard}
	cmd := root.NewCmdRoot(factory.New(streams))
	home, _ := os.UserHomeDir()
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		c.DisableAutoGenTag = true
		for _, fs := range []*pflag.FlagSet{c.Flags(), c.PersistentFlags()} {
			fs.VisitAll(func(f *pflag.Flag) {
				if home != "" && strings.Contains(f.DefValue, home) {
					f.DefValue = strings.ReplaceAll(f.DefValue, home, "$HOME")
				}
			})
		}
		for _, s := range c.Commands() {
			walk(s)
		}
	}
	walk(cmd)
	return cmd
}
