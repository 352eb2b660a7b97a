package cmdutil

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/kubectl-tenant/kubectl-tenant/internal/columns"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
)

// Exit codes, documented in docs/exit-codes.md.
const (
	ExitOK        = 0
	ExitError     = 1
	ExitUsage     = 2
	ExitCancelled = 3
	ExitForbidden = 4
)

// UsageError marks bad flags or arguments (exit code 2).
type UsageError struct{ Err error }

func (e UsageError) Error() string { return e.Err.Error() }
func (e UsageError) Unwrap() error { return e.Err }

// Declined is a question answered "no": exit code 3 (it is a
// context.Canceled), and the line says what did not happen, not "context
// canceled".
type Declined string

func (d Declined) Error() string        { return string(d) }
func (d Declined) Is(target error) bool { return target == context.Canceled }

// CommandExitError is the failure of the command `connect NAME -- CMD` ran:
// the tool exits with CMD's code, as `kubectl exec` does.
type CommandExitError struct {
	Command string
	Code    int
}

func (e *CommandExitError) Error() string {
	return fmt.Sprintf("%s exited with code %d", e.Command, e.Code)
}

// ExitCodeFor is the exit code of a command run under ctx: ExitCode(err),
// except that a command that failed after it was interrupted (ctx
// cancelled by a signal) exits 3 whatever error the interruption surfaced
// as.
func ExitCodeFor(ctx context.Context, err error) int {
	if err != nil && ctx.Err() != nil {
		return ExitCancelled
	}
	return ExitCode(err)
}

// ExitCode maps an error to the process exit code (docs/exit-codes.md).
func ExitCode(err error) int {
	var (
		ue  UsageError
		tue *tenant.UsageError
		fe  *tenant.ForbiddenError
		ce  *CommandExitError
	)
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &ce):
		return ce.Code
	case errors.As(err, &ue), errors.As(err, &tue):
		return ExitUsage
	case errors.Is(err, context.Canceled):
		return ExitCancelled
	case errors.As(err, &fe):
		return ExitForbidden
	default:
		return ExitError
	}
}

// OneLine is the error's first line, safe for a terminal: errors are one
// line for the user, and may quote what the cluster said.
func OneLine(err error) string {
	s := err.Error()
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return columns.Clean(s)
}
