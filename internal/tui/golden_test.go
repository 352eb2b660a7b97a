package tui

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/bubbles/spinner"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/exp/golden"
	"github.com/charmbracelet/x/exp/teatest"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
)

// Goldens run the real bubbletea loop (teatest) at a fixed 100x30 and compare
// the final frame; update them with `go test ./internal/tui -update`.

func startApp(t *testing.T, cfg Config) *teatest.TestModel {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	return teatest.NewTestModel(t, New(ctx, cfg), teatest.WithInitialTermSize(100, 30))
}

func waitFor(t *testing.T, tm *teatest.TestModel, s string) {
	t.Helper()
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool { return bytes.Contains(b, []byte(s)) },
		teatest.WithDuration(5*time.Second), teatest.WithCheckInterval(10*time.Millisecond))
}

// finalView quits and returns the last frame, spinner frames made constant.
func finalView(t *testing.T, tm *teatest.TestModel) []byte {
	t.Helper()
	if err := tm.Quit(); err != nil {
		t.Fatal(err)
	}
	v := tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second)).View()
	for _, f := range spinner.MiniDot.Frames {
		v = strings.ReplaceAll(v, f, "*")
	}
	return []byte(v)
}

func TestGoldenHome(t *testing.T) {
	_, cfg := newFake()
	tm := startApp(t, cfg)
	waitFor(t, tm, "broken")
	tm.Send(key("down"))
	waitFor(t, tm, "› dev-2")
	golden.RequireEqual(t, finalView(t, tm))
}

func TestGoldenWizard(t *testing.T) {
	_, cfg := newFake()
	tm := startApp(t, cfg)
	waitFor(t, tm, "broken")
	tm.Send(key("n"))
	waitFor(t, tm, "2 pools")
	tm.Type("Team_A")
	waitFor(t, tm, "invalid tenant name")
	golden.RequireEqual(t, finalView(t, tm))
}

func TestGoldenWizardValid(t *testing.T) {
	_, cfg := newFake()
	tm := startApp(t, cfg)
	waitFor(t, tm, "broken")
	tm.Send(key("n"))
	waitFor(t, tm, "2 pools")
	tm.Type("team-a")
	tm.Send(key("tab"))
	tm.Send(key("right"))
	tm.Send(key("tab"))
	tm.Type("v1.33")
	tm.Send(key("tab"))
	tm.Type("8h")
	tm.Send(key("tab"))
	tm.Send(key("tab"))
	waitFor(t, tm, "› Create ‹")
	golden.RequireEqual(t, finalView(t, tm))
}

func TestGoldenStepsWaiting(t *testing.T) {
	f, cfg := newFake()
	f.createScript = stuckCreate
	tm := startApp(t, cfg)
	waitFor(t, tm, "broken")
	tm.Send(key("n"))
	waitFor(t, tm, "2 pools")
	tm.Type("stuck")
	tm.Send(tea.KeyMsg{Type: tea.KeyCtrlS})
	waitFor(t, tm, "0/3 nodes")
	golden.RequireEqual(t, finalView(t, tm))
}

func TestGoldenStepsFailed(t *testing.T) {
	f, cfg := newFake()
	f.createScript = failingCreate
	tm := startApp(t, cfg)
	waitFor(t, tm, "broken")
	tm.Send(key("n"))
	waitFor(t, tm, "2 pools")
	tm.Type("slow")
	tm.Send(tea.KeyMsg{Type: tea.KeyCtrlS})
	waitFor(t, tm, "Hint:")
	golden.RequireEqual(t, finalView(t, tm))
}

func TestGoldenStepsDone(t *testing.T) {
	_, cfg := newFake()
	tm := startApp(t, cfg)
	waitFor(t, tm, "broken")
	tm.Send(key("n"))
	waitFor(t, tm, "2 pools")
	tm.Type("fresh")
	tm.Send(tea.KeyMsg{Type: tea.KeyCtrlS})
	waitFor(t, tm, "back to the list")
	golden.RequireEqual(t, finalView(t, tm))
}

// TestLive runs the command-line step view on a plain writer.
func TestLive(t *testing.T) {
	var out safeBuffer
	report, finish := Live(&out, "Deleting tenant a", "delete", "a", tenant.DeletePlan())
	report(tenant.Event{Time: t0, Step: tenant.StepUninstall, Phase: tenant.PhaseStarted})
	report(tenant.Event{Time: t0.Add(1500 * time.Millisecond), Step: tenant.StepUninstall, Phase: tenant.PhaseDone})
	report(tenant.Event{Time: t0, Step: tenant.StepDeleteNS, Phase: tenant.PhaseStarted})
	report(tenant.Event{Time: t0, Step: tenant.StepDeleteNS, Phase: tenant.PhaseFailed, Message: "boom"})
	finish("", context.Canceled)
	finish("", nil) // only the first call counts
	s := out.String()
	for _, want := range []string{"Deleting tenant a", "✓ uninstall", "1.5s", "✗ delete namespace", "boom", "Hint: interrupted: run `kubectl tenant delete a` again"} {
		if !strings.Contains(s, want) {
			t.Errorf("live output lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, "Error:") {
		t.Error("the live view repeats the error the command prints")
	}
}
