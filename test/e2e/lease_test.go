package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
)

// TestConcurrentCreatesTakeTurns: two creates of one tenant with the real
// binary. While the first runs, a create that may not wait (--wait 0) exits
// 1 with one line naming the first's holder (user@host pid N); one that may
// wait waits for the first, then converges. The first's release is never
// uninstalled or rolled back by the other, and the tenant ends Ready.
func TestConcurrentCreatesTakeTurns(t *testing.T) {
	w := newWorld(t)
	const name = "e2e-race"
	w.deleteAtEnd(name)
	cs, err := w.env.Clientset()
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"create", name, "--pool", "project-x", "-f", w.values, "--connect=false"}

	a := exec.Command(w.bin, append(args, "--wait", "5m")...)
	a.Env = w.environ()
	var aErr bytes.Buffer
	a.Stdout, a.Stderr = io.Discard, &aErr
	if err := a.Start(); err != nil {
		t.Fatal(err)
	}
	aDone := make(chan error, 1)
	go func() { aDone <- a.Wait() }()
	stop := make(chan struct{})
	uids := w.firstUIDs(name, stop)

	// Wait for A's lease.
	deadline := time.Now().Add(2 * time.Minute)
	for {
		_, err := cs.CoordinationV1().Leases(tenant.NamespaceFor(name)).Get(context.Background(), tenant.LeaseName, metav1.GetOptions{})
		if err == nil {
			break
		}
		if !apierrors.IsNotFound(err) || time.Now().After(deadline) {
			t.Fatalf("the first create took no lease: %v\n%s", err, aErr.String())
		}
		select {
		case err := <-aDone:
			t.Fatalf("the first create ended (%v) before its lease was seen:\n%s", err, aErr.String())
		case <-time.After(100 * time.Millisecond):
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	// B may not wait: one line naming A.
	b := w.run(ctx, append(args, "--wait", "0")...)
	aFinishedFirst := false
	select {
	case <-aDone:
		aFinishedFirst = true
	default:
	}
	if !aFinishedFirst {
		if b.code != 1 {
			t.Fatalf("create --wait 0 while another create runs: exit %d, want 1\n%s", b.code, b.stderr)
		}
		line := oneLineError(t, b)
		if !strings.Contains(line, fmt.Sprintf("pid %d ", a.Process.Pid)) || !strings.Contains(line, "is being changed by") || !strings.Contains(line, "@") {
			t.Errorf("the error does not name the holder (user@host pid %d): %s", a.Process.Pid, line)
		}
	} else {
		t.Logf("the first create finished before the second started (exit code of the second %d)", b.code)
	}

	// C may wait: it waits for A, then converges.
	c := w.run(ctx, append(args, "--wait", "5m")...)
	if err := <-aDone; err != nil {
		t.Errorf("the first create: %v\n%s", err, aErr.String())
	}
	if c.code != 0 {
		t.Errorf("the waiting create: exit %d\n%s", c.code, c.stderr)
	} else if !aFinishedFirst && !strings.Contains(c.stderr, "waiting for ") {
		t.Logf("the waiting create never reported waiting (the first may have finished): %s", c.stderr)
	}
	close(stop)
	seen := uids()
	if seen["release v1"] == "" {
		t.Errorf("release revision 1 never seen: %v", seen)
	}
	if _, err := cs.CoreV1().Secrets(tenant.NamespaceFor(name)).Get(context.Background(), "sh.helm.release.v1.vcluster.v1", metav1.GetOptions{}); err != nil {
		t.Errorf("release revision 1 is gone (uninstalled?): %v", err)
	}
	if st := w.list()[name]; st.Status != tenant.StatusReady {
		t.Errorf("after both creates: %+v", st)
	}
	if _, err := cs.CoordinationV1().Leases(tenant.NamespaceFor(name)).Get(context.Background(), tenant.LeaseName, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the lease was not released: %v", err)
	}
}

// TestUpgradeKeepsUserValues: a SAN added with -f at create (what register's
// error advises) survives a chart upgrade and a re-run of create without
// that file, beside the tool's own SANs; the dry run says what changes.
func TestUpgradeKeepsUserValues(t *testing.T) {
	w := newWorld(t)
	const name = "e2e-sans"
	w.deleteAtEnd(name)
	sans := filepath.Join(t.TempDir(), "sans.yaml")
	if err := os.WriteFile(sans, []byte("controlPlane:\n  proxy:\n    extraSANs: [vc.example.com]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	w.mustRun("create", name, "--pool", "project-x", "-f", w.values, "-f", sans, "--connect=false", "--wait", "5m")
	want := []any{"vcluster." + tenant.NamespaceFor(name) + ".svc", "vcluster." + tenant.NamespaceFor(name) + ".svc.cluster.local", "vc.example.com"}
	if got := extraSANsOf(w.releaseValues(name)); !reflect.DeepEqual(got, want) {
		t.Fatalf("after create: extraSANs %v, want %v", got, want)
	}
	chart := bumpedChart(t, w.env.VClusterChart)
	dry := w.mustRun("upgrade", name, "--chart", chart, "--chart-version", "0.34.1-test", "--dry-run")
	if strings.Contains(dry.stdout, "extraSANs") {
		t.Errorf("the dry run would change extraSANs:\n%s", dry.stdout)
	}
	more := filepath.Join(t.TempDir(), "more.yaml")
	if err := os.WriteFile(more, []byte("controlPlane:\n  statefulSet:\n    annotations:\n      e2e-kept: \"yes\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	dry = w.mustRun("upgrade", name, "--chart", chart, "--chart-version", "0.34.1-test", "-f", more, "--dry-run")
	if !strings.Contains(dry.stdout, "+controlPlane.statefulSet.annotations.e2e-kept: yes") {
		t.Errorf("the dry run does not show the values diff:\n%s", dry.stdout)
	}
	w.mustRun("upgrade", name, "--chart", chart, "--chart-version", "0.34.1-test", "--wait", "5m")
	if got := extraSANsOf(w.releaseValues(name)); !reflect.DeepEqual(got, want) {
		t.Errorf("after upgrade: extraSANs %v, want %v", got, want)
	}
	w.mustRun("create", name, "--pool", "project-x", "--chart", chart, "--connect=false", "--wait", "5m")
	vals := w.releaseValues(name)
	if got := extraSANsOf(vals); !reflect.DeepEqual(got, want) {
		t.Errorf("after create without -f: extraSANs %v, want %v", got, want)
	}
	if st := w.list()[name]; st.Status != tenant.StatusReady {
		t.Errorf("after upgrade and re-create: %+v", st)
	}
}
