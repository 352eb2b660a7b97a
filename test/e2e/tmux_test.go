package e2e

import (
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

// tmuxPane drives the real binary in a detached tmux session on a private
// server, as a user would: send-keys in, capture-pane out.
type tmuxPane struct {
	t      *testing.T
	socket string
}

func (p *tmuxPane) tmux(args ...string) (string, error) {
	cmd := exec.Command("tmux", append([]string{"-L", p.socket, "-f", "/dev/null"}, args...)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// keys sends tmux key names (Enter, Tab, Right, C-c) or, with literal, text.
func (p *tmuxPane) keys(literal bool, keys ...string) {
	p.t.Helper()
	args := []string{"send-keys", "-t", "kt"}
	if literal {
		args = append(args, "-l")
	}
	if out, err := p.tmux(append(args, keys...)...); err != nil {
		p.t.Fatalf("tmux send-keys %v: %v\n%s", keys, err, out)
	}
	time.Sleep(150 * time.Millisecond) // one key, one frame: like a person, not a paste
}

// start runs script in a new 120x40 terminal with env (plus TERM).
func (p *tmuxPane) start(env []string, script string) {
	p.t.Helper()
	start := exec.Command("tmux", "-L", p.socket, "-f", "/dev/null", "new-session", "-d", "-s", "kt", "-x", "120", "-y", "40", "sh", "-c", script)
	start.Env = append(env, "TERM=xterm-256color")
	if out, err := start.CombinedOutput(); err != nil {
		p.t.Fatalf("tmux new-session: %v\n%s", err, out)
	}
}

func (p *tmuxPane) screen() string {
	out, err := p.tmux("capture-pane", "-p", "-t", "kt")
	if err != nil {
		return "capture-pane: " + err.Error() + "\n" + out
	}
	return out
}

// waitFor polls the screen until re matches; it fails with the screen.
func (p *tmuxPane) waitFor(re string, timeout time.Duration, failOn ...string) string {
	p.t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.Now().Add(timeout)
	for {
		s := p.screen()
		if rx.MatchString(s) {
			return s
		}
		for _, f := range failOn {
			if strings.Contains(s, f) {
				p.t.Fatalf("screen shows %q while waiting for /%s/:\n%s", f, re, s)
			}
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("no /%s/ on screen after %v:\n%s", re, timeout, s)
		}
		time.Sleep(250 * time.Millisecond)
	}
}
