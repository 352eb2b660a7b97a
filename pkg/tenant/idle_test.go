package tenant

import (
	"context"
	"testing"
	"time"
)

// Sleep and wake keep the books: the slept total grows by each sleep,
// the wake is recorded (as use), and stats adds the current sleep.
func TestSleepAccounting(t *testing.T) {
	ns := tenantNS("nap", map[string]string{AnnotationReadyAt: "2026-01-01T00:00:00Z", AnnotationSlept: "1h0m0s"})
	e, _, b := newEngine(t, ns)
	b.releases["vcluster-nap"] = Release{Status: "deployed", Version: 1}
	ctx := context.Background()
	now := time.Date(2026, 2, 1, 8, 0, 0, 0, time.UTC)
	e.Now = func() time.Time { return now }

	if _, err := e.Sleep(ctx, SleepOptions{Name: "nap", KeepConnections: true}); err != nil {
		t.Fatal(err)
	}
	now = now.Add(3 * time.Hour)
	ts, err := e.tenants(ctx)
	if err != nil || len(ts) != 1 {
		t.Fatal(ts, err)
	}
	s := ComputeStats(ts, now, StatsOptions{})
	if s.SleptHours["nap"] != 4 || s.TotalSleptHours != 4 || len(s.Sleeping) != 1 {
		t.Errorf("stats while asleep: %v total %v sleeping %v, want 4h", s.SleptHours, s.TotalSleptHours, s.Sleeping)
	}
	tn, err := e.Wake(ctx, WakeOptions{Name: "nap"})
	if err != nil {
		t.Fatal(err)
	}
	if tn.Slept != 4*time.Hour || tn.WokenAt == nil || !tn.WokenAt.Equal(now) || tn.SleepingSince != nil {
		t.Errorf("after wake: slept %v woken %v since %v", tn.Slept, tn.WokenAt, tn.SleepingSince)
	}
	if got := IdleSince(ns); !got.Before(now) {
		t.Errorf("IdleSince of the old object %v", got)
	}
}

func TestIdleToSleep(t *testing.T) {
	now := time.Date(2026, 2, 1, 8, 0, 0, 0, time.UTC)
	at := func(d time.Duration) string { return now.Add(-d).Format(time.RFC3339) }
	for _, c := range []struct {
		name string
		ann  map[string]string
		host time.Duration
		want bool
	}{
		{"no limit", map[string]string{AnnotationReadyAt: at(5 * time.Hour)}, 0, false},
		{"host limit", map[string]string{AnnotationReadyAt: at(5 * time.Hour)}, time.Hour, true},
		{"own limit wins", map[string]string{AnnotationReadyAt: at(5 * time.Hour), AnnotationSleepAfter: "0s"}, time.Hour, false},
		{"connected lately", map[string]string{AnnotationReadyAt: at(5 * time.Hour), AnnotationSleepAfter: "1h", AnnotationLastConnectedAt: at(time.Minute)}, 0, false},
		{"woken lately", map[string]string{AnnotationReadyAt: at(5 * time.Hour), AnnotationSleepAfter: "1h", AnnotationWokenAt: at(time.Minute)}, 0, false},
		{"idle", map[string]string{AnnotationReadyAt: at(5 * time.Hour), AnnotationSleepAfter: "1h", AnnotationLastConnectedAt: at(2 * time.Hour)}, 0, true},
		{"asleep", map[string]string{AnnotationReadyAt: at(5 * time.Hour), AnnotationSleepAfter: "1h", AnnotationSleepingSince: at(time.Hour)}, 0, false},
		{"never ready", map[string]string{AnnotationSleepAfter: "1h"}, 0, false},
	} {
		if _, got := idleToSleep(tenantNS("x", c.ann), c.host, now); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}
