//go:build !windows

package cmdutil

import (
	"os/exec"
	"syscall"
)

// terminateChild asks the forwarder to end (it undoes an untaken connection).
func terminateChild(cmd *exec.Cmd) func() {
	return func() { _ = cmd.Process.Signal(syscall.SIGTERM) }
}

// detach starts the forwarder in its own session, away from the terminal's
// signals.
func detach(cmd *exec.Cmd) { cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true} }
