package e2e

import (
	"bytes"
	"encoding/pem"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/kubeconfig"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/session"
)

// These tests are about local processes and files (the forwarder, its
// signals, session state), so their host "cluster" is a loopback TLS server
// that records what it is sent and never answers: no playground needed.

// TestDisconnectLeavesAStalePIDAlone: the session's forwarder died long ago
// and its PID now belongs to an unrelated process; disconnect cleans the
// context and leaves that process alone (H1).
func TestDisconnectLeavesAStalePIDAlone(t *testing.T) {
	w := newLocalWorld(t, "https://127.0.0.1:1")
	victim := exec.Command("sleep", "300")
	if err := victim.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- victim.Wait() }()
	t.Cleanup(func() { _ = victim.Process.Kill() })
	before, _ := os.ReadFile(w.kubeconfig)
	if _, err := (kubeconfig.Store{Path: w.kubeconfig}).Upsert(kubeconfig.Entry{Name: "demo", Tenant: "demo", Host: "host", Server: "https://127.0.0.1:2"}, true); err != nil {
		t.Fatal(err)
	}
	if err := w.sessions().Save(session.Session{Tenant: "demo", Context: "demo", Kubeconfig: w.kubeconfig, PreviousContext: "host", HostContext: "host", PID: victim.Process.Pid}); err != nil {
		t.Fatal(err)
	}
	out, err := w.command("disconnect", "demo").CombinedOutput()
	if err != nil {
		t.Fatalf("disconnect: %v\n%s", err, out)
	}
	select {
	case err := <-exited:
		t.Fatalf("disconnect signalled the unrelated process %d: %v", victim.Process.Pid, err)
	case <-time.After(time.Second):
	}
	after, _ := os.ReadFile(w.kubeconfig)
	if c, _ := clientcmd.Load(after); c.CurrentContext != "host" || c.Contexts["demo"] != nil {
		t.Errorf("after disconnect:\n%s\nwant as before:\n%s", after, before)
	}
	if _, ok, _ := w.sessions().Get(w.kubeconfig, "demo"); ok {
		t.Error("session left")
	}
}

// TestBackgroundConnectKeepsIdentityAndCtrlCStopsIt: the forwarder acts
// with the user's --as/--as-group, TLS flags and token (M3), has no token in
// its environment or argv (L14), and Ctrl-C of the parent while it connects
// leaves no forwarder, session or context behind (M2).
func TestBackgroundConnectKeepsIdentityAndCtrlCStopsIt(t *testing.T) {
	api := newHangingAPI(t)
	w := newLocalWorld(t, api.URL) // no CA: only --insecure-skip-tls-verify reaches it
	before, _ := os.ReadFile(w.kubeconfig)
	const token = "E2E-SECRET-BEARER-TOKEN"
	parent := w.command("connect", "demo", "--background", "--token", token,
		"--as", "restricted-user", "--as-group", "viewers", "--insecure-skip-tls-verify")
	var stderr bytes.Buffer
	parent.Stderr = &stderr
	if err := parent.Start(); err != nil {
		t.Fatal(err)
	}
	parentDone := make(chan struct{})
	go func() { _ = parent.Wait(); close(parentDone) }()
	t.Cleanup(func() { _ = parent.Process.Kill() })
	select {
	case <-api.got:
	case <-parentDone:
		t.Fatalf("parent exited before the forwarder reached the API: %s", stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("the forwarder never reached the API (TLS flags dropped?); stderr: %s", stderr.String())
	}
	api.mu.Lock()
	h := api.seen[0]
	api.mu.Unlock()
	if h.Get("Impersonate-User") != "restricted-user" || h.Get("Impersonate-Group") != "viewers" || h.Get("Authorization") != "Bearer "+token {
		t.Errorf("the forwarder's request lacks the user's identity: %v", h)
	}
	child := childOf(parent.Process.Pid)
	if child == 0 {
		t.Fatal("no forwarder process found")
	}
	t.Cleanup(func() { _ = syscall.Kill(child, syscall.SIGKILL) })
	for _, f := range []string{"environ", "cmdline"} {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(child) + "/" + f)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(token)) {
			t.Errorf("the token is in the forwarder's %s", f)
		}
	}
	// Ctrl-C while it connects.
	_ = parent.Process.Signal(os.Interrupt)
	select {
	case <-parentDone:
	case <-time.After(30 * time.Second):
		t.Fatal("parent did not exit after Ctrl-C")
	}
	if code := parent.ProcessState.ExitCode(); code != 3 {
		t.Errorf("exit %d after Ctrl-C, want 3; stderr: %s", code, stderr.String())
	}
	deadline := time.Now().Add(10 * time.Second)
	for !gone(child) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if !gone(child) {
		t.Fatalf("forwarder %d still runs after the parent was interrupted", child)
	}
	if after, _ := os.ReadFile(w.kubeconfig); !bytes.Equal(after, before) {
		t.Errorf("kubeconfig changed:\n%s", after)
	}
	if ss, _ := w.sessions().List(); len(ss) != 0 {
		t.Errorf("sessions left: %+v", ss)
	}
}

// TestConcurrentBackgroundConnectsLeaveOneForwarder: two `connect
// --background` of one tenant at once (create plus the TUI, two terminals)
// end with exactly one forwarder, the one the session names; a third
// replaces it; disconnect leaves nothing (L12).
func TestConcurrentBackgroundConnectsLeaveOneForwarder(t *testing.T) {
	api := tenantAPI(t)
	w := newLocalWorld(t, api.URL)
	c, _ := clientcmd.LoadFromFile(w.kubeconfig)
	c.Clusters["host"].CertificateAuthorityData = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: api.Certificate().Raw})
	if err := clientcmd.WriteToFile(*c, w.kubeconfig); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(w.kubeconfig)
	t.Cleanup(func() {
		for _, pid := range w.forwarders() {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	for round := range 3 {
		var wg sync.WaitGroup
		outs := make([]string, 2)
		codes := make([]int, 2)
		for i := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				cmd := w.command("connect", "demo", "--background")
				out, _ := cmd.CombinedOutput()
				outs[i], codes[i] = string(out), cmd.ProcessState.ExitCode()
			}()
		}
		wg.Wait()
		if codes[0] != 0 && codes[1] != 0 {
			t.Fatalf("round %d: both connects failed:\n%s\n%s", round, outs[0], outs[1])
		}
		fw := w.forwarders()
		s, ok, _ := w.sessions().Get(w.kubeconfig, "demo")
		if len(fw) != 1 || !ok || s.Holder() != fw[0] {
			t.Fatalf("round %d: forwarders %v, session %+v (holder %d); want exactly one, the session's\n%s\n%s", round, fw, s, s.Holder(), outs[0], outs[1])
		}
		// A later connect replaces it.
		cmd := w.command("connect", "demo", "--background")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("third connect: %v\n%s", err, out)
		}
		if now := w.forwarders(); len(now) != 1 || now[0] == fw[0] {
			t.Fatalf("round %d: after a third connect forwarders %v (before %v)", round, now, fw)
		}
		if out, err := w.command("disconnect", "demo").CombinedOutput(); err != nil {
			t.Fatalf("disconnect: %v\n%s", err, out)
		}
		if fw := w.forwarders(); len(fw) != 0 {
			t.Fatalf("round %d: forwarders left after disconnect: %v", round, fw)
		}
		if after, _ := os.ReadFile(w.kubeconfig); !bytes.Equal(after, before) {
			t.Fatalf("round %d: kubeconfig after disconnect:\n%s", round, after)
		}
	}
}
