package tenant

import (
	"errors"
	"fmt"
)

// UsageError is bad input from the user: the CLI exits with code 2.
type UsageError struct{ msg string }

func (e *UsageError) Error() string { return e.msg }

func usageErrorf(format string, args ...any) error {
	return &UsageError{msg: fmt.Sprintf(format, args...)}
}

// ErrNotFound is returned when a named tenant does not exist.
var ErrNotFound = errors.New("tenant not found")

// ForbiddenError says the caller lacks a permission the operation needs: the
// CLI exits with code 4.
type ForbiddenError struct{ msg string }

func (e *ForbiddenError) Error() string { return e.msg }

// NewForbiddenError lets plugins report rejected credentials or a denied
// permission of another system (Argo CD) with the same exit code 4.
func NewForbiddenError(msg string) error { return &ForbiddenError{msg: msg} }

// APIError turns a host API error into what the CLI reports: a
// ForbiddenError (exit code 4) for a denied or unauthenticated call, one
// line naming the API for an unreachable one.
func APIError(err error) error { return apiError(err) }

// UnreachableError says the Kubernetes API at Host could not be reached
// (refused, timed out, no such host, a TLS failure).
type UnreachableError struct {
	Host string
	Err  error
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("cannot reach the Kubernetes API at %s: %v", e.Host, e.Err)
}

func (e *UnreachableError) Unwrap() error { return e.Err }

// NewUsageError lets plugins report bad input with the CLI's exit code 2.
func NewUsageError(msg string) error { return &UsageError{msg: msg} }

// SleepingError says the tenant is asleep (see Engine.Sleep): connect and
// Open return it instead of failing on the missing control plane, so callers
// can offer to wake it.
type SleepingError struct{ Name string }

func (e *SleepingError) Error() string {
	return fmt.Sprintf("tenant %s is sleeping (wake it with `kubectl tenant wake %s`)", e.Name, e.Name)
}
