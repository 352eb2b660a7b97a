// Command kubectl-tenant is the kubectl plugin `kubectl tenant`.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime/debug"

	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-tenant/kubectl-tenant/internal/cmd/root"
	"github.com/kubectl-tenant/kubectl-tenant/internal/cmdutil"
	"github.com/kubectl-tenant/kubectl-tenant/internal/factory"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/kubeconfig"
)

func main() {
	os.Exit(run())
}

// run executes the command and returns the exit code (docs/exit-codes.md).
func run() (code int) {
	// client-go's port-forwarders also report every failed connection
	// through utilruntime.HandleError, i.e. as klog lines on stderr ("E1123
	// ... Unhandled Error ..."). The commands report errors themselves, as
	// one line; drop the duplicate noise. Process-wide, so set here, once.
	utilruntime.ErrorHandlers = nil
	streams := genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}
	f := factory.New(streams)
	// The second signal exits at once: first remove the kubeconfig lock and
	// the temporary kubeconfigs (client keys) the deferred cleanups would.
	f.Interrupts.Abort = kubeconfig.Abort
	ctx, stop := f.Interrupts.Notify(context.Background(), os.Stderr, os.Exit)
	defer stop()
	// A panic is a bug: exit 1 like any other error (Go's own 2 means usage
	// here), with the stack for the report.
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(os.Stderr, "error: internal error (a bug; please report it with what follows): %s\n%s",
				cmdutil.OneLine(fmt.Errorf("%v", r)), debug.Stack())
			code = cmdutil.ExitError
		}
	}()
	err := root.NewCmdRoot(f).ExecuteContext(ctx)
	switch {
	case err == nil:
	case ctx.Err() != nil && errors.Is(err, context.Canceled):
		// Not "context canceled": what happened, and how to finish.
		fmt.Fprintln(os.Stderr, "error:", f.Interrupts.Interrupted())
	default:
		fmt.Fprintln(os.Stderr, "error:", cmdutil.OneLine(err))
	}
	return cmdutil.ExitCodeFor(ctx, err)
}
