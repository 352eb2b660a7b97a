package cmdutil

import (
	"os/exec"
	"syscall"
)

// detach starts the forwarder without a console, in its own process group,
// so closing the terminal does not end it.
func detach(cmd *exec.Cmd) {
	const detachedProcess = 0x00000008
	cmd.SysProcAttr = &syscall.SysProcAttr{CreationFlags: detachedProcess | syscall.CREATE_NEW_PROCESS_GROUP}
}

// terminateChild: Windows has no SIGTERM for a console-less process; the
// closed parent pipe already asked it to end, the next step kills it.
func terminateChild(*exec.Cmd) func() { return func() {} }
