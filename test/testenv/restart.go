package testenv

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/kubectl-tenant/kubectl-tenant/test/testenv/internal/procfs"
)

// RestartAPIServer stops the host kube-apiserver (SIGTERM to its process
// group), keeps it down for down, and starts it again with the same command
// line, returning once it answers /readyz. Fault tests use it to check that
// what runs during the restart finishes its job.
func (e *Env) RestartAPIServer(ctx context.Context, down time.Duration) error {
	return e.restart(ctx, partAPIServer, down, func() error {
		cs, err := e.Clientset()
		if err != nil {
			return err
		}
		_, err = cs.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		return err
	})
}

// restart re-runs part name from its /proc command line (the binaries are
// given by absolute path) and records its new pid.
func (e *Env) restart(ctx context.Context, name string, down time.Duration, ready func() error) error {
	pid, ok := recordedPIDs(e.Dir)[name]
	if !ok {
		return fmt.Errorf("restart %s: no pid recorded", name)
	}
	raw, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
	if err != nil {
		return fmt.Errorf("restart %s: %w", name, err)
	}
	argv := bytes.Split(bytes.TrimRight(raw, "\x00"), []byte{0})
	args := make([]string, len(argv))
	for i, a := range argv {
		args[i] = string(a)
	}
	// startProc made it a session leader: its pgid is its pid.
	if err := procfs.StopGroups([]int{pid}, 30*time.Second); err != nil {
		return fmt.Errorf("restart %s: %w", name, err)
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(down):
	}
	p, err := startProc(e.Dir, name, args[0], args[1:], nil)
	if err != nil {
		return err
	}
	for i := range e.Parts {
		if e.Parts[i].Name == name {
			e.Parts[i].PID = p.PID
		}
	}
	if err := saveEnv(e); err != nil {
		return err
	}
	return waitReady(ctx, p, partTimeout, ready)
}
