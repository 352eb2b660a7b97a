//go:build !windows

package connect

import (
	"os/exec"
	"syscall"
)

// detach starts the forwarder in its own session, away from the terminal's
// signals.
func detach(cmd *exec.Cmd) { cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true} }
