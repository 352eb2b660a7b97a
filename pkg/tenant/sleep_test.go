package tenant

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	authzv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"
)

func pod(ns, name string, labels map[string]string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels}}
}

// doneMessages maps each step reported done to its message.
func doneMessages(events []Event) map[string]string {
	out := map[string]string{}
	for _, ev := range events {
		if ev.Phase == PhaseDone {
			out[ev.Step] = ev.Message
		}
	}
	return out
}

func TestSleepWakeIdempotent(t *testing.T) {
	ns := tenantNS("nap", map[string]string{AnnotationReadyAt: "2026-01-01T00:00:00Z"})
	synced := pod("vcluster-nap", "web-x-default-x-vcluster", map[string]string{"synced": "yes"})
	unrelated := pod("vcluster-nap", "other", nil)
	e, cs, b := newEngine(t, ns, synced, unrelated)
	b.releases["vcluster-nap"] = Release{Status: "deployed", Version: 1}
	var events []Event
	e.Report = func(ev Event) { events = append(events, ev) }
	ctx := context.Background()

	tn, err := e.Sleep(ctx, SleepOptions{Name: "nap"})
	if err != nil {
		t.Fatal(err)
	}
	if tn.Status != StatusSleeping || tn.SleepingSince == nil || !b.asleep["vcluster-nap"] {
		t.Fatalf("after Sleep: %+v, backend asleep=%v", tn, b.asleep)
	}
	pods, _ := cs.CoreV1().Pods("vcluster-nap").List(ctx, metav1.ListOptions{})
	if len(pods.Items) != 1 || pods.Items[0].Name != "other" {
		t.Errorf("Sleep must delete only the synced pods; left %v", pods.Items)
	}
	for _, s := range []string{StepDisconnect, StepScaleDown, StepWorkloads} {
		if _, ok := doneMessages(events)[s]; !ok {
			t.Errorf("step %q not reported done: %v", s, events)
		}
	}

	events = nil
	if _, err := e.Sleep(ctx, SleepOptions{Name: "nap"}); err != nil {
		t.Fatalf("second Sleep: %v", err)
	}
	if msg := doneMessages(events)[StepScaleDown]; msg != "already asleep" {
		t.Errorf("second Sleep reported %q, want already asleep", msg)
	}

	var se *SleepingError
	if _, err := e.Connect(ctx, ConnectOptions{Name: "nap"}); !errors.As(err, &se) || se.Name != "nap" {
		t.Fatalf("Connect to a sleeping tenant = %v, want SleepingError", err)
	}
	if _, err := e.Open(ctx, "nap"); !errors.As(err, &se) {
		t.Fatalf("Open of a sleeping tenant = %v, want SleepingError", err)
	}

	for i, want := range []string{"", "already awake"} {
		events = nil
		tn, err := e.Wake(ctx, WakeOptions{Name: "nap"})
		if err != nil {
			t.Fatalf("Wake #%d: %v", i+1, err)
		}
		if tn.Status != StatusReady || tn.SleepingSince != nil || b.asleep["vcluster-nap"] {
			t.Fatalf("after Wake #%d: %+v", i+1, tn)
		}
		if msg := doneMessages(events)[StepScaleUp]; msg != want {
			t.Errorf("Wake #%d reported %q, want %q", i+1, msg, want)
		}
	}
}

func TestSleepRefusesMissingAndForeign(t *testing.T) {
	foreign := tenantNS("x", nil)
	foreign.Labels = nil
	e, _, b := newEngine(t, foreign)
	ctx := context.Background()
	if _, err := e.Sleep(ctx, SleepOptions{Name: "ghost"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("Sleep(ghost) = %v, want ErrNotFound", err)
	}
	if _, err := e.Wake(ctx, WakeOptions{Name: "ghost"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("Wake(ghost) = %v, want ErrNotFound", err)
	}
	if _, err := e.Sleep(ctx, SleepOptions{Name: "x"}); err == nil || len(b.asleep) != 0 {
		t.Errorf("Sleep of a foreign namespace = %v, backend %v", err, b.asleep)
	}
	var ue *UsageError
	if _, err := e.Sleep(ctx, SleepOptions{Name: "Bad_Name"}); !errors.As(err, &ue) {
		t.Errorf("Sleep(Bad_Name) = %v, want UsageError", err)
	}
}

// TestCreateWakesASleepingTenant: re-running create converges to a running
// tenant, so it clears what sleep left.
func TestCreateWakesASleepingTenant(t *testing.T) {
	ns := tenantNS("nap", map[string]string{AnnotationSleepingSince: "2026-01-01T01:00:00Z"})
	ns.ResourceVersion = "1" // exists: ensureNamespace updates it
	e, cs, b := newEngine(t, ns)
	b.releases["vcluster-nap"] = Release{Status: "deployed", Version: 2}
	b.asleep["vcluster-nap"] = true
	cs.PrependReactor("create", "selfsubjectaccessreviews", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, &authzv1.SelfSubjectAccessReview{Status: authzv1.SubjectAccessReviewStatus{Allowed: true}}, nil
	})
	tn, err := e.Create(context.Background(), CreateOptions{Name: "nap"})
	if err != nil {
		t.Fatal(err)
	}
	if tn.Status == StatusSleeping || tn.SleepingSince != nil || b.asleep["vcluster-nap"] {
		t.Fatalf("create left the tenant asleep: %+v, backend %v", tn, b.asleep)
	}
}

// probeBackend answers the API probe itself and counts the probes.
type probeBackend struct {
	credsBackend
	probes atomic.Int32
}

func (b *probeBackend) ProbeReady(context.Context, string, string, *Credentials) (string, error) {
	b.probes.Add(1)
	return "v1.34.2", nil
}

// A wake is done when the virtual API answers, not when the kubelet's
// probes have passed (the workload's ready replicas, what list calls
// Ready), which create and upgrade wait for: on a real node they follow the
// API by about a second.
func TestWakeWaitsForTheAPINotTheProbes(t *testing.T) {
	ns := tenantNS("a", map[string]string{AnnotationReadyAt: "2026-01-01T00:00:00Z", AnnotationSleepingSince: "2026-01-01T01:00:00Z"})
	running := pod("vcluster-a", "vcluster-0", map[string]string{"app": "vcluster"})
	running.Status.Phase = corev1.PodRunning
	e, _, fb := newEngine(t, ns, running)
	fb.releases["vcluster-a"] = Release{Status: "deployed", Version: 1}
	fb.asleep["vcluster-a"] = true
	b := &probeBackend{credsBackend: credsBackend{&cpBackend{fakeBackend: fb, byKind: map[string]map[string]ControlPlane{
		"StatefulSet": {"vcluster-a": {Kind: "StatefulSet", Replicas: 1, Ready: 0}}}}}}
	e.Backend = b
	ctx := context.Background()

	tn, err := e.Wake(ctx, WakeOptions{Name: "a", Wait: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if n := b.probes.Load(); n != 1 {
		t.Errorf("wake probed the API %d times, want once (it answers at once)", n)
	}
	if tn.Status != StatusPending || tn.SleepingSince != nil || fb.asleep["vcluster-a"] {
		t.Errorf("after wake, before the probes pass: %+v", tn)
	}
	if line := AwakeLine(tn, true); !strings.Contains(line, "its API answers") {
		t.Errorf("AwakeLine = %q", line)
	}

	// Create's and upgrade's wait does not probe the API before the
	// kubelet's probes pass; nor does waking a tenant that was not asleep
	// (perhaps in its first boot).
	b.probes.Store(0)
	wctx, cancel := context.WithTimeout(ctx, 1200*time.Millisecond)
	defer cancel()
	err = e.WaitReady(wctx, &Target{Name: "a", NS: ns}, time.Minute)
	if err == nil || !strings.Contains(err.Error(), "readiness probe") {
		t.Errorf("WaitReady with the probes failing: %v, want a wait for the readiness probe", err)
	}
	_, err = e.Wake(ctx, WakeOptions{Name: "a", Wait: 1200 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "readiness probe") {
		t.Errorf("waking an awake tenant with the probes failing: %v, want a wait for the readiness probe", err)
	}
	if n := b.probes.Load(); n != 0 {
		t.Errorf("the API was probed %d times before the kubelet's probes passed", n)
	}
}
