package session

import (
	"os"
	"testing"
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
	got, ok, err := st.Get("b")
	if err != nil || !ok || got.PreviousContext != "prod" {
		t.Fatalf("b = %+v %v %v, want previous prod", got, ok, err)
	}
	if got, _, _ := st.Get("c"); got.PreviousContext != "a" {
		t.Fatalf("a session of another kubeconfig was re-pointed: %+v", got)
	}
	if _, ok, _ := st.Get("a"); ok {
		t.Fatal("a not deleted")
	}
}

func TestAliveAndFileMode(t *testing.T) {
	st := Store{Dir: t.TempDir()}
	s := Session{Tenant: "x", Context: "x", PID: os.Getpid()}
	if !s.Alive() {
		t.Fatal("own pid not alive")
	}
	if (Session{PID: 0}).Alive() {
		t.Fatal("pid 0 alive")
	}
	if err := st.Save(s); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(st.path("x"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("session file mode %v (%v), want 0600", fi.Mode(), err)
	}
}
