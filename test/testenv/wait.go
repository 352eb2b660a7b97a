package testenv

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"
)

// partTimeout bounds how long one part may take to become ready.
const partTimeout = 90 * time.Second

// poll calls check until it returns nil or ctx ends; the error then names
// what was awaited and the last reason it was not there yet.
func poll(ctx context.Context, what string, check func() error) error {
	for {
		last := check()
		if last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %v", what, last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// waitReady waits until check passes for the process p. If p exits or the
// timeout passes it returns one summary line followed by the tail of p's log.
func waitReady(ctx context.Context, p *proc, timeout time.Duration, check func() error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	for {
		if !p.alive() {
			return partError(p, "exited before becoming ready", nil)
		}
		if last = check(); last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return partError(p, fmt.Sprintf("did not become ready within %s", timeout), last)
		case <-p.exited:
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// partError is the error for a part that failed: the first line says what
// happened (naming a port clash when the log shows one), the following lines
// are the end of its log.
func partError(p *proc, what string, last error) error {
	b, _ := os.ReadFile(p.Log)
	logTail := tail(string(b), 15)
	if strings.Contains(logTail, "address already in use") {
		what += " (a port it needs is already in use)"
	}
	if last != nil {
		what += ": " + last.Error()
	}
	return fmt.Errorf("%s %s; log %s ends:\n%s", p.Name, what, p.Log, indent(logTail))
}

func indent(s string) string {
	if s == "" {
		return "    (empty)"
	}
	return "    " + strings.ReplaceAll(s, "\n", "\n    ")
}
