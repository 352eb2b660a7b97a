// Package session records active connections (a tenant context written into a
// kubeconfig, maybe with a background forwarder) in small JSON files, so that
// disconnect, delete and list know what to stop and which context to restore.
package session

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Session is one connection of a tenant.
type Session struct {
	Tenant          string `json:"tenant"`
	Namespace       string `json:"namespace"`
	Context         string `json:"context"`
	Kubeconfig      string `json:"kubeconfig"`
	PreviousContext string `json:"previousContext,omitempty"`
	// HostContext is the host cluster's context the tenant was reached
	// through; commands run while a tenant context is current use it.
	HostContext string    `json:"hostContext,omitempty"`
	Server      string    `json:"server"`
	PID         int       `json:"pid,omitempty"` // background forwarder, 0 if none
	Started     time.Time `json:"started"`
}

// Alive reports whether the session's forwarder process still runs.
func (s Session) Alive() bool {
	if s.PID <= 0 {
		return false
	}
	return processAlive(s.PID)
}

// Store is a directory of session files.
type Store struct{ Dir string }

// DefaultDir is $KUBECTL_TENANT_STATE_DIR, else $XDG_STATE_HOME/kubectl-tenant,
// else ~/.local/state/kubectl-tenant; sessions live in its sessions/.
func DefaultDir() string {
	if d := os.Getenv("KUBECTL_TENANT_STATE_DIR"); d != "" {
		return filepath.Join(d, "sessions")
	}
	base := os.Getenv("XDG_STATE_HOME")
	if base == "" {
		home, _ := os.UserHomeDir()
		base = filepath.Join(home, ".local", "state")
	}
	return filepath.Join(base, "kubectl-tenant", "sessions")
}

func (st Store) path(context string) string {
	return filepath.Join(st.Dir, strings.ReplaceAll(context, string(filepath.Separator), "_")+".json")
}

// Save records s, replacing a session of the same context.
func (st Store) Save(s Session) error {
	if err := os.MkdirAll(st.Dir, 0o700); err != nil {
		return err
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	tmp := st.path(s.Context) + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, st.path(s.Context))
}

// Get loads the session of context; ok is false when there is none.
func (st Store) Get(context string) (s Session, ok bool, err error) {
	b, err := os.ReadFile(st.path(context))
	if errors.Is(err, os.ErrNotExist) {
		return s, false, nil
	}
	if err != nil {
		return s, false, err
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return s, false, fmt.Errorf("session file %s: %w", st.path(context), err)
	}
	return s, true, nil
}

// List returns every recorded session.
func (st Store) List() ([]Session, error) {
	ents, err := os.ReadDir(st.Dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []Session
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		s, ok, err := st.Get(strings.TrimSuffix(e.Name(), ".json"))
		if err == nil && ok {
			out = append(out, s)
		}
	}
	return out, nil
}

// Delete forgets the session of context.
func (st Store) Delete(context string) error {
	err := os.Remove(st.path(context))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}

// Unlink forgets s and re-points sessions that would restore s's context
// to the context s itself would restore, so nested connects unwind like a
// stack even when one in the middle goes away first.
func (st Store) Unlink(s Session) error {
	all, err := st.List()
	if err != nil {
		return err
	}
	for _, o := range all {
		if o.Context != s.Context && o.Kubeconfig == s.Kubeconfig && o.PreviousContext == s.Context {
			o.PreviousContext = s.PreviousContext
			if err := st.Save(o); err != nil {
				return err
			}
		}
	}
	return st.Delete(s.Context)
}

// Stop ends the session's forwarder process (SIGTERM, then SIGKILL after
// grace) and waits until it is gone.
func (s Session) Stop(grace time.Duration) {
	if !s.Alive() {
		return
	}
	terminate(s.PID)
	deadline := time.Now().Add(grace)
	for s.Alive() && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if s.Alive() {
		kill(s.PID)
	}
}
