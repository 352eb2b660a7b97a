//go:build !windows

package session

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestUnlinkUnwindsLikeAStack: connect a (from prod), then b (from a);
// disconnecting a first must make b restore prod, not the vanished a.
func TestUnlinkUnwindsLikeAStack(t *testing.T) {
	st := Store{Dir: t.TempDir()}
	a := Session{Tenant: "a", Context: "a", Kubeconfig: "k", PreviousContext: "prod"}
	b := Session{Tenant: "b", Context: "b", Kubeconfig: "k", PreviousContext: "a"}
	other := Session{Tenant: "c", Context: "c", Kubeconfig: "other", PreviousContext: "a"}
	for _, s := range []Session{a, b, other} {
		if err := st.Save(s); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Unlink(a); err != nil {
		t.Fatal(err)
	}
	got, ok, err := st.Get("k", "b")
	if err != nil || !ok || got.PreviousContext != "prod" {
		t.Fatalf("b = %+v %v %v, want previous prod", got, ok, err)
	}
	if got, _, _ := st.Get("other", "c"); got.PreviousContext != "a" {
		t.Fatalf("a session of another kubeconfig was re-pointed: %+v", got)
	}
	if _, ok, _ := st.Get("k", "a"); ok {
		t.Fatal("a not deleted")
	}
}

func TestFileModeAndKeyedByKubeconfig(t *testing.T) {
	st := Store{Dir: t.TempDir()}
	a := Session{Tenant: "x", Context: "x", Kubeconfig: "/k1", PreviousContext: "one"}
	b := Session{Tenant: "x", Context: "x", Kubeconfig: "/k2", PreviousContext: "two"}
	for _, s := range []Session{a, b} {
		if err := st.Save(s); err != nil {
			t.Fatal(err)
		}
	}
	if got, _, _ := st.Get("/k1", "x"); got.PreviousContext != "one" {
		t.Errorf("the session of /k2 replaced the one of /k1: %+v", got)
	}
	fi, err := os.Stat(st.path(Key("/k1", "x"), ".json"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("session file mode %v (%v), want 0600", fi.Mode(), err)
	}
}

// TestKeyStaysInsideTheStateDir: context names are not paths (L3).
func TestKeyStaysInsideTheStateDir(t *testing.T) {
	dir := t.TempDir()
	st := Store{Dir: filepath.Join(dir, "state", "sessions")}
	for _, name := range []string{"../../escaped", "arn:aws:eks:eu-west-1:123:cluster/demo", `a\b`, "..", ".hidden", strings.Repeat("x", 300)} {
		for _, p := range []string{st.LogPath("k", name), st.LockPath("k", name), st.path(Key("k", name), ".json")} {
			if filepath.Dir(p) != st.Dir || strings.HasPrefix(filepath.Base(p), ".") || len(filepath.Base(p)) > 80 {
				t.Errorf("%q -> %s: outside %s, hidden or too long", name, p, st.Dir)
			}
		}
		s := Session{Tenant: "t", Context: name, Kubeconfig: "k"}
		if err := st.Save(s); err != nil {
			t.Fatalf("save %q: %v", name, err)
		}
		if got, ok, err := st.Get("k", name); !ok || err != nil || got.Context != name {
			t.Errorf("get %q: %+v %v %v", name, got, ok, err)
		}
	}
	if a, b := Key("k", "a/b"), Key("k", "a_b"); a == b {
		t.Errorf("a/b and a_b share the key %s", a)
	}
}

// TestLegacyFileIsFoundAndReplaced: files of older versions were named
// <context>.json.
func TestLegacyFileIsFoundAndReplaced(t *testing.T) {
	st := Store{Dir: t.TempDir()}
	old := `{"tenant":"demo","context":"demo","kubeconfig":"/k","previousContext":"prod","pid":1}`
	if err := os.WriteFile(filepath.Join(st.Dir, "demo.json"), []byte(old), 0o600); err != nil {
		t.Fatal(err)
	}
	s, ok, err := st.Get("/k", "demo")
	if !ok || err != nil || s.PreviousContext != "prod" {
		t.Fatalf("legacy session not found: %+v %v %v", s, ok, err)
	}
	if s.Alive() {
		t.Error("a session nobody holds the lock of is alive")
	}
	if err := st.Save(s); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(st.Dir, "demo.json")); !os.IsNotExist(err) {
		t.Errorf("legacy file left after Save: %v", err)
	}
}

// TestDefaultDirWithoutHome: no HOME and no override is an error, not a
// directory relative to the working directory (L4).
func TestDefaultDirWithoutHome(t *testing.T) {
	env := map[string]string{"XDG_STATE_HOME": "relative/ignored"}
	getenv := func(k string) string { return env[k] }
	d, err := DefaultDir(getenv, "KUBECTL_TENANT_STATE_DIR")
	if err == nil || !strings.Contains(err.Error(), "KUBECTL_TENANT_STATE_DIR") {
		t.Fatalf("DefaultDir() = %q, %v; want an error naming KUBECTL_TENANT_STATE_DIR", d, err)
	}
	st := DefaultStore(getenv, "KUBECTL_TENANT_STATE_DIR")
	if err := st.Save(Session{Context: "x"}); err == nil {
		t.Error("Save without a state directory succeeded")
	}
	if ss, err := st.List(); len(ss) != 0 || err != nil {
		t.Errorf("List without a state directory: %v %v", ss, err)
	}
	env["KUBECTL_TENANT_STATE_DIR"] = "rel"
	if d, err := DefaultDir(getenv, "KUBECTL_TENANT_STATE_DIR"); err != nil || !filepath.IsAbs(d) {
		t.Errorf("relative KUBECTL_TENANT_STATE_DIR gave %q, %v; want an absolute path", d, err)
	}
	env = map[string]string{"XDG_STATE_HOME": "/xdg"}
	if d, _ := DefaultDir(getenv, "KUBECTL_TENANT_STATE_DIR"); d != "/xdg/kubectl-tenant/sessions" {
		t.Errorf("XDG_STATE_HOME: %q", d)
	}
	env = map[string]string{"HOME": "/home/u"}
	if d, _ := DefaultDir(getenv, "KUBECTL_TENANT_STATE_DIR"); d != "/home/u/.local/state/kubectl-tenant/sessions" {
		t.Errorf("HOME: %q", d)
	}
}

// TestStopNeverSignalsAStalePID: a session whose PID now belongs to an
// unrelated process (the forwarder died, the PID was reused) is dead, and
// Stop leaves that process alone (H1).
func TestStopNeverSignalsAStalePID(t *testing.T) {
	victim := exec.Command("sleep", "60")
	if err := victim.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- victim.Wait() }()
	t.Cleanup(func() { _ = victim.Process.Kill() })
	st := Store{Dir: t.TempDir()}
	if err := st.Save(Session{Tenant: "demo", Context: "demo", Kubeconfig: "k", PID: victim.Process.Pid}); err != nil {
		t.Fatal(err)
	}
	s, _, _ := st.Get("k", "demo")
	if s.Alive() || s.Holder() != 0 {
		t.Errorf("stale session alive=%v holder=%d", s.Alive(), s.Holder())
	}
	s.Stop(100 * time.Millisecond)
	st.StopHolder("k", "demo", 100*time.Millisecond)
	select {
	case err := <-exited:
		t.Fatalf("the unrelated process was signalled: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
}

// TestLockInProcess: one holder at a time; Release frees it (L12).
func TestLockInProcess(t *testing.T) {
	st := Store{Dir: t.TempDir()}
	l, err := st.Lock("k", "demo")
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Save(Session{Tenant: "demo", Context: "demo", Kubeconfig: "k"}); err != nil {
		t.Fatal(err)
	}
	s, _, _ := st.Get("k", "demo")
	if !s.Alive() || s.Holder() != os.Getpid() {
		t.Fatalf("held session: alive=%v holder=%d", s.Alive(), s.Holder())
	}
	s.Stop(time.Second) // never this process
	_, err = st.Lock("k", "demo")
	var he *HeldError
	if !errors.As(err, &he) || he.PID != os.Getpid() {
		t.Fatalf("second Lock = %v, want a HeldError naming this pid", err)
	}
	l.Release()
	if s.Alive() {
		t.Fatal("alive after Release")
	}
	l2, err := st.Lock("k", "demo")
	if err != nil {
		t.Fatalf("Lock after Release: %v", err)
	}
	l2.Release()
}

// holdEnv makes the test binary a lock holder (see TestMain).
const holdEnv = "SESSION_TEST_HOLD"

func TestMain(m *testing.M) {
	if v := os.Getenv(holdEnv); v != "" {
		dir, ctx, _ := strings.Cut(v, "|")
		l, err := Store{Dir: dir}.Lock("k", ctx)
		if err != nil {
			os.Stdout.WriteString("error: " + err.Error() + "\n")
			os.Exit(1)
		}
		os.Stdout.WriteString("locked\n")
		signalIgnoreTerm()
		time.Sleep(time.Minute)
		l.Release()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// holder starts a process that holds the lock of ctx; ignoreTerm makes it
// deaf to SIGTERM (a hung forwarder).
func holder(t *testing.T, dir, ctx string, ignoreTerm bool) (*exec.Cmd, string, <-chan error) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), holdEnv+"="+dir+"|"+ctx)
	if ignoreTerm {
		cmd.Env = append(cmd.Env, "SESSION_TEST_IGNORE_TERM=1")
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(out).ReadString('\n')
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	return cmd, strings.TrimSpace(line), exited
}

// TestStopSignalsTheLockHolder: the holder is alive, named by its PID and
// stopped; a holder that ignores SIGTERM is killed after the grace period;
// a holder killed with SIGKILL counts as gone at once.
func TestStopSignalsTheLockHolder(t *testing.T) {
	for _, ignoreTerm := range []bool{false, true} {
		st := Store{Dir: t.TempDir()}
		cmd, line, exited := holder(t, st.Dir, "demo", ignoreTerm)
		if line != "locked" {
			t.Fatalf("holder: %q", line)
		}
		if err := st.Save(Session{Tenant: "demo", Context: "demo", Kubeconfig: "k", PID: 1}); err != nil {
			t.Fatal(err)
		}
		s, _, _ := st.Get("k", "demo")
		if !s.Alive() || s.Holder() != cmd.Process.Pid {
			t.Fatalf("alive=%v holder=%d, want the holder %d", s.Alive(), s.Holder(), cmd.Process.Pid)
		}
		s.Stop(300 * time.Millisecond)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			t.Fatalf("holder (ignoreTerm=%v) not stopped", ignoreTerm)
		}
		if s.Alive() {
			t.Error("alive after Stop")
		}
	}
	st := Store{Dir: t.TempDir()}
	cmd, _, exited := holder(t, st.Dir, "demo", false)
	_ = cmd.Process.Signal(syscall.SIGKILL)
	<-exited
	if err := st.Save(Session{Tenant: "demo", Context: "demo", Kubeconfig: "k", PID: cmd.Process.Pid}); err != nil {
		t.Fatal(err)
	}
	if s, _, _ := st.Get("k", "demo"); s.Alive() {
		t.Error("the session of a SIGKILLed holder is alive")
	}
}

// TestConcurrentHoldersOneWins: two processes taking one session at once:
// exactly one holds it, the other fails and exits (no orphan, L12).
func TestConcurrentHoldersOneWins(t *testing.T) {
	st := Store{Dir: t.TempDir()}
	type res struct {
		line   string
		exited <-chan error
	}
	ch := make(chan res, 2)
	for range 2 {
		go func() {
			_, line, exited := holder(t, st.Dir, "demo", false)
			ch <- res{line, exited}
		}()
	}
	a, b := <-ch, <-ch
	if (a.line == "locked") == (b.line == "locked") {
		t.Fatalf("want exactly one holder: %q, %q", a.line, b.line)
	}
	loser := a
	if a.line == "locked" {
		loser = b
	}
	if !strings.Contains(loser.line, "held by another kubectl-tenant process") {
		t.Errorf("loser said %q", loser.line)
	}
	select {
	case <-loser.exited:
	case <-time.After(5 * time.Second):
		t.Fatal("the losing process did not exit")
	}
}
