package tenant

import "time"

// Phase is where a step is.
type Phase int

const (
	PhaseStarted Phase = iota
	PhaseWaiting       // still running; Message says what it waits for
	PhaseDone
	PhaseFailed
	PhaseWarning // the step goes on, but the user should know
)

func (p Phase) String() string {
	return [...]string{"started", "waiting", "done", "failed", "warning"}[p]
}

// Event is one progress report. The CLI prints them as lines, the TUI
// animates them, tests collect them.
type Event struct {
	Time    time.Time `json:"time"`
	Step    string    `json:"step"`
	Phase   Phase     `json:"-"`
	Message string    `json:"message,omitempty"`
	Err     error     `json:"-"`
}

// Reporter receives progress events. It must not block for long.
type Reporter func(Event)

// Emit reports one event now; a nil Reporter drops it.
func (r Reporter) Emit(step string, p Phase, msg string, err error) {
	if r != nil {
		r(Event{Time: time.Now(), Step: step, Phase: p, Message: msg, Err: err})
	}
}

// Step runs fn as a named step, reporting start and outcome.
func (r Reporter) Step(step string, fn func() error) error {
	return r.StepMsg(step, func() (string, error) { return "", fn() })
}

// StepMsg is Step whose done event carries fn's message (e.g. "already
// asleep").
func (r Reporter) StepMsg(step string, fn func() (string, error)) error {
	r.Emit(step, PhaseStarted, "", nil)
	msg, err := fn()
	if err != nil {
		r.Emit(step, PhaseFailed, err.Error(), err)
		return err
	}
	r.Emit(step, PhaseDone, msg, nil)
	return nil
}
