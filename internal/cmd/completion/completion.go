// Package completion implements `kubectl tenant completion SHELL`.
package completion

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/kubectl-tenant/kubectl-tenant/internal/cmdutil"
)

// Shells are the shells a script can be generated for.
var Shells = []string{"bash", "zsh", "fish", "powershell"}

// NewCmdCompletion builds the command. It replaces cobra's default
// completion command (cobra only adds its own when none is defined).
func NewCmdCompletion(f *cmdutil.Factory) *cobra.Command {
	var noDesc bool
	cmd := &cobra.Command{
		Use:   "completion bash|zsh|fish|powershell",
		Short: "Print the shell completion script for kubectl-tenant",
		Long: `Print a shell completion script for the kubectl-tenant binary.

Completing 'kubectl tenant <TAB>' is done by kubectl itself (kubectl 1.26 or
newer): load kubectl's own completion ('kubectl completion SHELL') and put the
kubectl_complete-tenant script, shipped in the release archive, on your PATH
next to kubectl-tenant. kubectl then asks it for subcommands, flags and tenant
names.

The script printed here completes the binary when it is called directly as
'kubectl-tenant'. Tenant names are read from the host cluster of the current
kubeconfig context (or --kubeconfig/--context given on the line).`,
		Example: `  # kubectl tenant <TAB> (kubectl >= 1.26): kubectl's completion plus the helper on PATH
  source <(kubectl completion bash)
  cp kubectl_complete-tenant /usr/local/bin/      # from the release archive

  # kubectl-tenant <TAB>
  source <(kubectl tenant completion bash)                                # bash, this shell
  kubectl tenant completion zsh > "${fpath[1]}/_kubectl-tenant"           # zsh
  kubectl tenant completion fish > ~/.config/fish/completions/kubectl-tenant.fish
  kubectl tenant completion powershell | Out-String | Invoke-Expression   # PowerShell`,
		Args:                  cobra.ExactArgs(1),
		ValidArgs:             Shells,
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return Generate(cmd.Root(), f.IOStreams.Out, args[0], !noDesc)
		},
	}
	cmd.Flags().BoolVar(&noDesc, "no-descriptions", false, "leave out completion descriptions")
	return cmd
}

// Generate writes root's completion script for shell to w.
func Generate(root *cobra.Command, w io.Writer, shell string, descriptions bool) error {
	switch shell {
	case "bash":
		return root.GenBashCompletionV2(w, descriptions)
	case "zsh":
		if descriptions {
			return root.GenZshCompletion(w)
		}
		return root.GenZshCompletionNoDesc(w)
	case "fish":
		return root.GenFishCompletion(w, descriptions)
	case "powershell":
		if descriptions {
			return root.GenPowerShellCompletionWithDesc(w)
		}
		return root.GenPowerShellCompletion(w)
	}
	return cmdutil.UsageError{Err: fmt.Errorf("unsupported shell %q (use one of: bash, zsh, fish, powershell)", shell)}
}
