package tui

import (
	"context"
	"errors"
	"io"
	"time"

	tea "github.com/charmbracelet/bubbletea"
)

// Run runs the app full-screen on in/out until the user quits or ctx ends.
// An engine call still running then is cancelled and given a few seconds to
// return, so what it leaves is what an interrupted command leaves: a state
// the next create or delete finishes or cleans.
func Run(ctx context.Context, cfg Config, in io.Reader, out io.Writer) error {
	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	m := New(ctx, cfg)
	p := tea.NewProgram(m, tea.WithContext(ctx), tea.WithInput(in), tea.WithOutput(out), tea.WithAltScreen())
	_, err := p.Run()
	cancel()
	done := make(chan struct{})
	go func() { m.ops.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
	}
	if errors.Is(err, tea.ErrProgramKilled) && parent.Err() != nil {
		return context.Canceled
	}
	return err
}
