// Package progress renders the engine's step events for commands: the live
// step view (internal/tui) on a terminal, else one timestamped plain line per
// event — never an ANSI code, whatever NO_COLOR says.
package progress

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/kubectl-tenant/kubectl-tenant/internal/columns"
	"github.com/kubectl-tenant/kubectl-tenant/internal/tui"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
)

// Lines prints events as plain lines:
//
//	15:04:05 install            done (3.2s)
//	15:04:07 schedule           waiting: pod vcluster-0 Pending: 0/3 nodes are available
func Lines(w io.Writer) tenant.Reporter {
	var mu sync.Mutex
	started := map[string]time.Time{}
	return func(ev tenant.Event) {
		mu.Lock()
		defer mu.Unlock()
		if ev.Time.IsZero() {
			ev.Time = time.Now()
		}
		if ev.Phase == tenant.PhaseStarted {
			started[ev.Step] = ev.Time
			return // the outcome line says enough; keeps logs short
		}
		line := fmt.Sprintf("%s %-18s %s", ev.Time.Format("15:04:05"), ev.Step, ev.Phase)
		if t, ok := started[ev.Step]; ok && (ev.Phase == tenant.PhaseDone || ev.Phase == tenant.PhaseFailed) {
			line += fmt.Sprintf(" (%s)", ev.Time.Sub(t).Round(100*time.Millisecond))
		}
		if ev.Message != "" && ev.Phase != tenant.PhaseFailed { // the error line says it once
			line += ": " + columns.Clean(ev.Message)
		}
		fmt.Fprintln(w, line)
	}
}

// For returns the reporter for one command's long waits and finish, to call
// once with the outcome (the success line, the error): the live step view when
// live is true (not -o json) and w is a terminal, else Lines(w) and a finish
// that does nothing. plan names the steps expected, in order.
func For(w io.Writer, live bool, title, verb, name string, plan []string) (tenant.Reporter, func(result string, err error)) {
	if live && IsTerminal(w) {
		return tui.Live(w, title, verb, name, plan)
	}
	return Lines(w), func(string, error) {}
}

// IsTerminal says whether w is a terminal that can redraw (TERM is not dumb).
func IsTerminal(w any) bool {
	f, ok := w.(interface{ Fd() uintptr })
	return ok && term.IsTerminal(int(f.Fd())) && os.Getenv("TERM") != "dumb"
}
