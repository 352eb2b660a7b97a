package cmdutil

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// DefaultRequestTimeout bounds every single API request unless
// --request-timeout says otherwise (0 means no limit, as in kubectl): an API
// server that accepts the connection and never answers must not hang a
// command. Watches are not used; port-forward streams are not requests and
// are not limited.
const DefaultRequestTimeout = 30 * time.Second

// InterruptSignals end a command: Ctrl-C, kill, and closing the terminal
// (SIGHUP), so a foreground connect restores the context in every case.
var InterruptSignals = []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGHUP}

// Interrupts turns the first interrupt signal into a cancelled context: the
// command stops its API calls and waits, cleans up what it must, and exits
// 3. A second signal ends the process at once (exit 3), after a line that
// says what may be left behind (hint, read when the signal arrives) and that
// running the command again finishes it. stop releases the signals.
type Interrupts struct {
	hint  atomic.Pointer[string]
	stays atomic.Bool
	// Abort, when set, runs on the second signal before exit: it removes
	// the secret-bearing temporary files and locks the deferred cleanups
	// would have (main sets kubeconfig.Abort) and returns their paths.
	Abort func() []string
}

// SetHint sets what the second-signal line says may be left and how to
// resume; the root command sets it per verb before running it. stays says
// the same is true after the first signal: create, delete, upgrade and gc
// stop between steps and leave them to a second run, while connect's own
// cleanup restores what it changed.
func (in *Interrupts) SetHint(s string, stays bool) {
	in.hint.Store(&s)
	in.stays.Store(stays)
}

// Interrupted is the error line of a command the first signal stopped:
// "interrupted", and how to finish when the command leaves work behind.
func (in *Interrupts) Interrupted() string {
	if h := in.hint.Load(); in.stays.Load() && h != nil && *h != "" {
		return "interrupted; " + *h
	}
	return "interrupted"
}

// Hint is the current hint, or a general one.
func (in *Interrupts) Hint() string {
	if h := in.hint.Load(); h != nil && *h != "" {
		return *h
	}
	return "what it was changing may be half-done: run the same command again, every step resumes or cleans up what an earlier run left"
}

// Notify returns a context cancelled by the first signal; on the second,
// in.Abort runs, then exit is called with ExitCancelled (os.Exit in main).
func (in *Interrupts) Notify(parent context.Context, errOut io.Writer, exit func(int)) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(parent)
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, InterruptSignals...)
	done := make(chan struct{})
	go func() {
		select {
		case s := <-ch:
			cancel(fmt.Errorf("%v signal received: %w", s, context.Canceled))
		case <-done:
			return
		}
		select {
		case s := <-ch:
			removed := ""
			if in.Abort != nil {
				if paths := in.Abort(); len(paths) > 0 {
					removed = " (removed " + strings.Join(paths, ", ") + ")"
				}
			}
			fmt.Fprintf(errOut, "error: %v again: stopped at once%s; %s\n", s, removed, in.Hint())
			exit(ExitCancelled)
		case <-done:
		}
	}()
	return ctx, func() {
		signal.Stop(ch)
		close(done)
		cancel(nil)
	}
}
