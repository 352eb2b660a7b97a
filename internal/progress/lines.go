// Package progress renders the engine's step events for terminals that are
// not driven by the TUI: one timestamped line per event on stderr, no colour.
package progress

import (
	"fmt"
	"io"
	"sync"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
)

// Lines prints events as plain lines: "15:04:05 install  done".
func Lines(w io.Writer) tenant.Reporter {
	var mu sync.Mutex
	return func(ev tenant.Event) {
		if ev.Phase == tenant.PhaseStarted {
			return // the outcome line says enough; keeps logs short
		}
		mu.Lock()
		defer mu.Unlock()
		line := fmt.Sprintf("%s %-18s %s", ev.Time.Format("15:04:05"), ev.Step, ev.Phase)
		if ev.Message != "" && ev.Phase != tenant.PhaseFailed {
			line += ": " + ev.Message
		}
		fmt.Fprintln(w, line)
	}
}
