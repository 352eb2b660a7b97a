// Command kubectl-tenant is the kubectl plugin `kubectl tenant`.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-tenant/kubectl-tenant/internal/cmd/root"
	"github.com/kubectl-tenant/kubectl-tenant/internal/cmdutil"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	streams := genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}
	err := root.NewCmdRoot(cmdutil.NewFactory(streams)).ExecuteContext(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "error:", cmdutil.OneLine(err))
	}
	os.Exit(cmdutil.ExitCode(err))
}
