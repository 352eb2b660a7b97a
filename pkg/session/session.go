// Package session records active connections (a tenant context written into a
// kubeconfig, maybe with a background forwarder) in small JSON files, so that
// disconnect, delete and list know what to stop and which context to restore.
//
// A session is keyed by its kubeconfig file and context name, never by a raw
// name used as a path. The process that holds a connection (a background
// forwarder, or a foreground connect) holds the session's lock file for its
// whole life: "alive" means the lock is held, and Stop signals only the
// process that holds it, so a stale PID that now belongs to an unrelated
// process is never signalled.
package session

import (
	"crypto/sha256"
	"encoding/hex"
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
	HostContext string `json:"hostContext,omitempty"`
	Server      string `json:"server"`
	// PID is the process that held the connection when it was recorded
	// (informational: Alive and Stop go by the lock, not by this number).
	PID     int       `json:"pid,omitempty"`
	Started time.Time `json:"started"`

	file string // where it was read from, "" for a new one
	lock string // its lock file, "" when it is not from a Store
}

// Store is a directory of session files. Err, when set, says why there is no
// directory (e.g. no home directory): reads find nothing, writes fail with it.
type Store struct {
	Dir string
	Err error
}

// DefaultDir is $overrideVar/sessions, else
// $XDG_STATE_HOME/kubectl-tenant/sessions, else
// $HOME/.local/state/kubectl-tenant/sessions, in the environment getenv
// (the caller reads it; this package never does). overrideVar is the
// tool's own variable (hostconfig.EnvStateDir; the caller names it, so
// one package names every such variable). It is an error when none of them
// is set: a relative fallback would scatter state into working directories.
func DefaultDir(getenv func(string) string, overrideVar string) (string, error) {
	if d := getenv(overrideVar); overrideVar != "" && d != "" {
		abs, err := filepath.Abs(d)
		if err != nil {
			return "", fmt.Errorf("%s: %w", overrideVar, err)
		}
		return filepath.Join(abs, "sessions"), nil
	}
	// The XDG spec says a relative XDG_STATE_HOME is invalid and ignored.
	base := getenv("XDG_STATE_HOME")
	if !filepath.IsAbs(base) {
		home := getenv("HOME")
		if !filepath.IsAbs(home) {
			return "", fmt.Errorf("no directory for connection state: $HOME is not set (set %s or XDG_STATE_HOME)", overrideVar)
		}
		base = filepath.Join(home, ".local", "state")
	}
	return filepath.Join(base, "kubectl-tenant", "sessions"), nil
}

// DefaultStore is the Store in DefaultDir (with Err set when there is none).
func DefaultStore(getenv func(string) string, overrideVar string) Store {
	d, err := DefaultDir(getenv, overrideVar)
	return Store{Dir: d, Err: err}
}

// Key names a session's files: a readable part of the context name (only
// [A-Za-z0-9._-], never starting with a dot) and a hash of the kubeconfig
// and the full context name, so no name can reach outside Dir or collide.
func Key(kubeconfig, context string) string {
	h := sha256.Sum256([]byte(absPath(kubeconfig) + "\x00" + context))
	safe := []byte(context)
	for i, c := range safe {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' && i > 0
		if !ok {
			safe[i] = '_'
		}
	}
	if len(safe) > 48 {
		safe = safe[:48]
	}
	return string(safe) + "-" + hex.EncodeToString(h[:6])
}

func absPath(p string) string {
	if p == "" {
		return ""
	}
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

func (st Store) path(key, ext string) string { return filepath.Join(st.Dir, key+ext) }

// LogPath is the log file of the forwarder of context in kubeconfig.
func (st Store) LogPath(kubeconfig, context string) string {
	return st.path(Key(kubeconfig, context), ".log")
}

// LockPath is the lock file the holder of context in kubeconfig keeps locked.
func (st Store) LockPath(kubeconfig, context string) string {
	return st.path(Key(kubeconfig, context), ".lock")
}

// CredentialPath is the cached exec credential (a short-lived client key,
// 0600) of context in kubeconfig; Delete removes it with the session.
func (st Store) CredentialPath(kubeconfig, context string) string {
	return st.path(Key(kubeconfig, context), ".cred")
}

// Same reports whether s is the session of context in kubeconfig.
func (s Session) Same(kubeconfig, context string) bool {
	return s.Context == context && absPath(s.Kubeconfig) == absPath(kubeconfig)
}

// MkDir creates the state directory (0700).
func (st Store) MkDir() error {
	if st.Err != nil {
		return st.Err
	}
	return os.MkdirAll(st.Dir, 0o700)
}

// Save records s, replacing the session of the same kubeconfig and context.
func (st Store) Save(s Session) error {
	if err := st.MkDir(); err != nil {
		return err
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	dst := st.path(Key(s.Kubeconfig, s.Context), ".json")
	f, err := os.CreateTemp(st.Dir, ".session-*.tmp") // unique: two writers never share a temp file
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), dst); err != nil {
		return err
	}
	if s.file != "" && s.file != dst {
		_ = os.Remove(s.file) // a file of an older naming scheme
	}
	return nil
}

// Get loads the session of context in kubeconfig; ok is false when there is
// none.
func (st Store) Get(kubeconfig, context string) (s Session, ok bool, err error) {
	if st.Err != nil {
		return s, false, nil
	}
	s, ok, err = st.read(st.path(Key(kubeconfig, context), ".json"))
	if ok || err != nil {
		return s, ok, err
	}
	// Files of older versions were named after the context alone.
	all, err := st.List()
	if err != nil {
		return s, false, err
	}
	for _, o := range all {
		if o.Same(kubeconfig, context) {
			return o, true, nil
		}
	}
	return s, false, nil
}

func (st Store) read(path string) (s Session, ok bool, err error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return s, false, nil
	}
	if err != nil {
		return s, false, err
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return s, false, fmt.Errorf("session file %s: %w", path, err)
	}
	s.file, s.lock = path, st.LockPath(s.Kubeconfig, s.Context)
	return s, true, nil
}

// List returns every recorded session.
func (st Store) List() ([]Session, error) {
	if st.Err != nil {
		return nil, nil
	}
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
		s, ok, err := st.read(filepath.Join(st.Dir, e.Name()))
		if err == nil && ok {
			out = append(out, s)
		}
	}
	return out, nil
}

// Delete forgets s, and its lock file unless a process still holds it.
func (st Store) Delete(s Session) error {
	if st.Err != nil {
		return nil
	}
	file := s.file
	if file == "" {
		file = st.path(Key(s.Kubeconfig, s.Context), ".json")
	}
	err := os.Remove(file)
	if errors.Is(err, os.ErrNotExist) {
		err = nil
	}
	removeUnheld(st.LockPath(s.Kubeconfig, s.Context))
	if cerr := os.Remove(st.CredentialPath(s.Kubeconfig, s.Context)); cerr != nil && !errors.Is(cerr, os.ErrNotExist) && err == nil {
		err = cerr
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
		if !o.Same(s.Kubeconfig, s.Context) && absPath(o.Kubeconfig) == absPath(s.Kubeconfig) && o.PreviousContext == s.Context {
			o.PreviousContext = s.PreviousContext
			if err := st.Save(o); err != nil {
				return err
			}
		}
	}
	return st.Delete(s)
}

// Alive reports whether a process holds the session's connection.
func (s Session) Alive() bool { return s.lock != "" && held(s.lock) }

// Holder is the PID of the process that holds the session's connection, 0
// when none does.
func (s Session) Holder() int {
	if s.lock == "" {
		return 0
	}
	return holderPID(s.lock)
}

// Stop ends the process that holds the session's connection (SIGTERM, then
// SIGKILL after grace) and waits until it is gone. It signals only the
// holder of the session's lock, never a PID that merely was recorded, and
// never this process.
func (s Session) Stop(grace time.Duration) {
	if s.lock != "" {
		stopHolder(s.lock, grace)
	}
}

// StopHolder stops whatever process holds context in kubeconfig, as Stop.
func (st Store) StopHolder(kubeconfig, context string, grace time.Duration) {
	if st.Err == nil {
		stopHolder(st.LockPath(kubeconfig, context), grace)
	}
}

func stopHolder(lock string, grace time.Duration) {
	pid := holderPID(lock)
	if pid <= 0 || pid == os.Getpid() {
		return
	}
	terminate(pid)
	deadline := time.Now().Add(grace)
	if !waitReleased(lock, grace) && holderPID(lock) == pid {
		kill(pid)
		waitReleased(lock, 2*time.Second)
	}
	// It gives the lock up on its way out; wait until it has exited, so
	// its port and files are free when Stop returns.
	for !exited(pid) && time.Now().Before(deadline.Add(2*time.Second)) {
		time.Sleep(20 * time.Millisecond)
	}
}

func waitReleased(lock string, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for held(lock) {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}
