package progress

import (
	"bytes"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
)

func TestLinesPlainTimestamped(t *testing.T) {
	t.Setenv("NO_COLOR", "") // plain whatever the environment says
	var b bytes.Buffer
	r := Lines(&b)
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.Local)
	r(tenant.Event{Time: t0, Step: tenant.StepInstall, Phase: tenant.PhaseStarted})
	r(tenant.Event{Time: t0.Add(3200 * time.Millisecond), Step: tenant.StepInstall, Phase: tenant.PhaseDone})
	r(tenant.Event{Time: t0.Add(4 * time.Second), Step: tenant.StepSchedule, Phase: tenant.PhaseWaiting, Message: "pod vcluster-0 Pending: 0/3 nodes"})
	r(tenant.Event{Time: t0.Add(5 * time.Second), Step: tenant.StepSchedule, Phase: tenant.PhaseFailed, Message: "timed out", Err: errors.New("timed out")})
	want := "12:00:03 install            done (3.2s)\n" +
		"12:00:04 schedule           waiting: pod vcluster-0 Pending: 0/3 nodes\n" +
		"12:00:05 schedule           failed\n"
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}
	if regexp.MustCompile("\x1b").MatchString(b.String()) {
		t.Error("ANSI escape in plain lines")
	}
}

// TestForNotATerminal: a pipe or file (CI, -o json, redirection) gets lines.
func TestForNotATerminal(t *testing.T) {
	var b bytes.Buffer
	r, finish := For(&b, true, "Creating tenant a", "create", "a", tenant.CreatePlan(tenant.CreateOptions{Wait: time.Minute}))
	r(tenant.Event{Time: time.Now(), Step: tenant.StepPreflight, Phase: tenant.PhaseDone})
	finish("done", nil)
	if !strings.Contains(b.String(), "preflight") || strings.Contains(b.String(), "\x1b") {
		t.Errorf("output %q", b.String())
	}
}
