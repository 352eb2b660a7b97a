package tui

import (
	"context"
	"io"
	"sync"
	"time"

	"github.com/charmbracelet/bubbles/spinner"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
)

// Live shows the step view of one operation on w (a terminal) while a plain
// command runs: it returns the reporter to give the engine and finish, to be
// called once with the outcome (success line, error); finish returns once the
// final frame is drawn. It reads no input, so Ctrl-C stays the command's
// signal and the engine's steps see it through their context.
func Live(w io.Writer, title, verb, name string, plan []string) (tenant.Reporter, func(result string, err error)) {
	bus := NewBus()
	m := liveModel{bus: bus, steps: newSteps(title, verb, name, plan, newStyles(lipgloss.NewRenderer(w)), time.Now)}
	m.steps.ShowError = false // the command prints the error line itself
	p := tea.NewProgram(m, tea.WithOutput(w), tea.WithInput(nil), tea.WithoutSignalHandler())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = p.Run()
	}()
	var once sync.Once
	finish := func(result string, err error) {
		once.Do(func() {
			bus.Post(liveDoneMsg{result, err})
			bus.Close()
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				p.Kill()
			}
		})
	}
	return bus.Reporter(), finish
}

type liveDoneMsg struct {
	result string
	err    error
}

type liveModel struct {
	bus   *Bus
	steps Steps
}

func (m liveModel) Init() tea.Cmd {
	return tea.Batch(m.bus.listen(context.Background()), m.steps.spinner.Tick)
}

func (m liveModel) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.steps.width = msg.Width
	case spinner.TickMsg:
		var cmd tea.Cmd
		m.steps.spinner, cmd = m.steps.spinner.Update(msg)
		return m, cmd
	case busMsg:
		switch in := msg.msg.(type) {
		case eventMsg:
			m.steps.apply(tenant.Event(in))
		case liveDoneMsg:
			m.steps.finish(in.err, in.result)
		case busClosedMsg, nil:
			return m, tea.Quit
		}
		return m, m.bus.listen(context.Background())
	}
	return m, nil
}

func (m liveModel) View() string { return m.steps.View() }
