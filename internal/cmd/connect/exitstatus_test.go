//go:build unix

package connect

import (
	"errors"
	"os/exec"
	"testing"

	"github.com/kubectl-tenant/kubectl-tenant/internal/cmdutil"
)

// `connect NAME -- CMD` exits with CMD's code, as `kubectl exec` does (audit
// L6: every failure became 1); a CMD killed by a signal gives 128+signal.
func TestCommandExitCodePropagates(t *testing.T) {
	for script, want := range map[string]int{"exit 7": 7, "exit 1": 1, "kill -TERM $$": 128 + 15, "exit 3": 3} {
		err := exec.Command("sh", "-c", script).Run()
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatalf("%s: %v", script, err)
		}
		got := cmdutil.ExitCode(&cmdutil.CommandExitError{Command: "sh", Code: exitStatus(ee.ProcessState)})
		if got != want {
			t.Errorf("%s: exit %d, want %d", script, got, want)
		}
	}
}
