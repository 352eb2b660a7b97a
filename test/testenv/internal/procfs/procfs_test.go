package procfs

import (
	"os"
	"os/exec"
	"slices"
	"syscall"
	"testing"
)

// TestGroupMembers: a child started in its own process group is that
// group's one member while it runs, and none once reaped.
func TestGroupMembers(t *testing.T) {
	cmd := exec.Command("sleep", "30")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	if state, pgid, ok := Stat(pid); !ok || pgid != pid || state == "Z" {
		t.Errorf("Stat(%d) = %q, %d, %v; want a live leader of its own group", pid, state, pgid, ok)
	}
	if got := GroupMembers(pid); !slices.Equal(got, []int{pid}) {
		t.Errorf("GroupMembers(%d) = %v; want [%d]", pid, got, pid)
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	if got := GroupMembers(pid); len(got) != 0 {
		t.Errorf("GroupMembers after exit = %v; want none", got)
	}
	if _, _, ok := Stat(os.Getpid()); !ok {
		t.Error("Stat of this process failed")
	}
}
