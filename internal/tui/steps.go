package tui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/spinner"
	"github.com/charmbracelet/x/ansi"

	"github.com/kubectl-tenant/kubectl-tenant/internal/columns"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
)

type stepState int

const (
	statePending stepState = iota
	stateRunning
	stateDone
	stateFailed
)

type step struct {
	name           string
	state          stepState
	started, ended time.Time
	message        string // the latest waiting reason, or the failure
	warnings       []string
}

// Steps is the live step view shared by create, delete and register, in the
// TUI and under a plain command: each step with a spinner, its elapsed time
// and the latest reason it waits for; on failure, the error and a hint.
type Steps struct {
	Title string
	// Verb and Name make hints concrete: "create", "demo".
	Verb, Name string
	// ShowError renders the error under the steps (the CLI prints it itself).
	ShowError bool

	steps    []*step
	spinner  spinner.Model
	st       styles
	now      func() time.Time
	begin    time.Time
	finished bool
	end      time.Time
	err      error
	result   string
	width    int
}

func newSteps(title, verb, name string, plan []string, st styles, now func() time.Time) Steps {
	s := Steps{Title: title, Verb: verb, Name: name, ShowError: true, st: st, now: now, begin: now()}
	s.spinner = spinner.New(spinner.WithSpinner(spinner.MiniDot))
	for _, n := range plan {
		s.steps = append(s.steps, &step{name: n})
	}
	return s
}

func (s *Steps) find(name string) *step {
	for _, st := range s.steps {
		if st.name == name {
			return st
		}
	}
	// Unplanned: insert before the first planned step that has not started.
	st := &step{name: name}
	i := len(s.steps)
	for j, o := range s.steps {
		if o.state == statePending {
			i = j
			break
		}
	}
	s.steps = append(s.steps[:i], append([]*step{st}, s.steps[i:]...)...)
	return st
}

// apply folds one engine event into the view.
func (s *Steps) apply(ev tenant.Event) {
	st := s.find(ev.Step)
	ev.Message = columns.Clean(ev.Message) // from the cluster: no escape sequences
	t := ev.Time
	if t.IsZero() {
		t = s.now()
	}
	if st.started.IsZero() {
		st.started = t
	}
	switch ev.Phase {
	case tenant.PhaseStarted:
		st.state = stateRunning
	case tenant.PhaseWaiting:
		if st.state == statePending {
			st.state = stateRunning
		}
		st.message = ev.Message
	case tenant.PhaseWarning:
		if st.state == statePending {
			st.state = stateRunning
		}
		for _, w := range st.warnings {
			if w == ev.Message {
				return
			}
		}
		st.warnings = append(st.warnings, ev.Message)
	case tenant.PhaseDone:
		st.state, st.ended, st.message = stateDone, t, ""
	case tenant.PhaseFailed:
		st.state, st.ended, st.message = stateFailed, t, ev.Message
	}
}

// finish records the operation's outcome; result is the success line.
func (s *Steps) finish(err error, result string) {
	s.finished, s.end, s.err, s.result = true, s.now(), err, result
}

// Running says the operation has not finished.
func (s *Steps) Running() bool { return !s.finished }

// Failed says the operation finished with an error.
func (s *Steps) Failed() bool { return s.finished && s.err != nil }

func (s *Steps) failedStep() string {
	for _, st := range s.steps {
		if st.state == stateFailed {
			return st.name
		}
	}
	return ""
}

// View renders the steps.
func (s Steps) View() string {
	var b strings.Builder
	end := s.now()
	if s.finished {
		end = s.end
	}
	b.WriteString(s.st.title.Render(s.Title) + "  " + s.st.dim.Render(elapsed(end.Sub(s.begin))) + "\n\n")
	width := 24
	for _, st := range s.steps {
		if len(st.name) > width-6 {
			width = len(st.name) + 6
		}
	}
	for _, st := range s.steps {
		var icon, dur, msg string
		switch st.state {
		case statePending:
			icon = s.st.dim.Render("·")
			if s.finished && s.err == nil {
				msg = s.st.dim.Render("skipped")
			}
		case stateRunning:
			if s.finished { // interrupted before the step reported
				icon = s.st.bad.Render("✗")
			} else {
				icon = s.spinner.View()
			}
			dur = elapsed(end.Sub(st.started))
			msg = s.st.dim.Render(st.message)
		case stateDone:
			icon = s.st.ok.Render("✓")
			dur = elapsed(st.ended.Sub(st.started))
		case stateFailed:
			icon = s.st.bad.Render("✗")
			dur = elapsed(st.ended.Sub(st.started))
			msg = s.st.bad.Render(st.message)
		}
		line := fmt.Sprintf("  %s %-*s %7s", icon, width-6, st.name, dur)
		if st.state == statePending {
			line += "  " + msg
		}
		b.WriteString(s.clip(strings.TrimRight(line, " ")) + "\n")
		if st.state == stateFailed && s.ShowError {
			msg = "" // the error below says it
		}
		if st.state != statePending && st.message != "" && msg != "" {
			b.WriteString("      " + s.wrap(msg, "      ") + "\n")
		}
		for _, w := range st.warnings {
			b.WriteString("      " + s.wrap(s.st.warn.Render("! "+w), "        ") + "\n")
		}
	}
	if !s.finished {
		return b.String()
	}
	b.WriteString("\n")
	if s.err == nil {
		b.WriteString(s.st.ok.Render("✓ "+s.result) + "\n")
		return b.String()
	}
	if s.ShowError {
		b.WriteString(s.wrap(s.st.errBox.Render("Error: ")+columns.Clean(tenant.FirstLine(s.err.Error())), "       ") + "\n")
	}
	if h := hint(s.Verb, s.Name, s.failedStep(), s.err); h != "" {
		b.WriteString(s.wrap(s.st.bold.Render("Hint: ")+h, "      ") + "\n")
	}
	return b.String()
}

func (s Steps) clip(line string) string {
	if s.width <= 0 {
		return line
	}
	return ansi.Truncate(line, s.width-1, "…")
}

func (s Steps) wrap(text, indent string) string {
	if s.width <= 0 {
		return text
	}
	w := ansi.Wrap(text, s.width-1-len(indent), " ")
	return strings.ReplaceAll(w, "\n", "\n"+indent)
}

// elapsed formats a duration as 0.4s, 12.3s, 2m05s.
func elapsed(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	if d < time.Minute {
		return fmt.Sprintf("%.1fs", d.Seconds())
	}
	d = d.Round(time.Second)
	return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
}

// hint says what to do after a failure. Every engine operation is safe to
// re-run, so the advice is mostly which command finishes or undoes the job.
func hint(verb, name, failed string, err error) string {
	var fe *tenant.ForbiddenError
	var ue *tenant.UsageError
	switch {
	case err == nil:
		return ""
	case errors.Is(err, context.Canceled):
		if verb == "delete" {
			return fmt.Sprintf("interrupted: run `kubectl tenant delete %s` again to finish cleaning up.", name)
		}
		return fmt.Sprintf("interrupted: run `kubectl tenant %s %s` again to finish, or `kubectl tenant delete %s` to remove what was made.", verb, name, name)
	case errors.As(err, &fe):
		return "you lack a permission this needs: ask a cluster admin for a role that grants it."
	case errors.As(err, &ue):
		return "fix the input and try again."
	case errors.Is(err, tenant.ErrNotFound):
		return "no such tenant: `kubectl tenant list` shows what exists."
	case failed == tenant.StepSchedule:
		return fmt.Sprintf("the control-plane pod cannot run: check the pool's nodes (`kubectl get nodes -l %s=POOL`) and the events (`kubectl tenant status %s`); create again to resume, or delete to clean up.", tenant.PoolLabel, name)
	case verb == "register":
		return fmt.Sprintf("registration is an upsert: once the cause is fixed, register again (r, or `kubectl tenant register %s`; its --help lists the Argo CD options).", name)
	case verb == "delete":
		return fmt.Sprintf("delete is safe to repeat: run `kubectl tenant delete %s` again to finish.", name)
	case verb == "create":
		return fmt.Sprintf("create converges: run it again to resume, or `kubectl tenant delete %s` to clean up what was made. `kubectl tenant status %s` shows events.", name, name)
	}
	return ""
}
