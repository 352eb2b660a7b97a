package tenant

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// Annotations of idle sleep and its accounting.
const (
	// AnnotationSleepAfter is how long the tenant may stay idle before gc
	// puts it to sleep (Go duration; 0s: never), set by create and extend
	// --sleep-after. Without it the host default idleSleepAfter applies.
	AnnotationSleepAfter = labelPrefix + "sleep-after"
	// AnnotationSlept is the time the tenant slept in finished sleeps (Go
	// duration, whole seconds); wake adds each sleep to it.
	AnnotationSlept = labelPrefix + "slept"
	// AnnotationWokenAt is when the tenant was last woken: a wake is use,
	// so an idle tenant woken by a request is not put back to sleep at once.
	AnnotationWokenAt = labelPrefix + "woken-at"
)

// Steps of gc's idle sleep.
const (
	// GCSlept and GCWouldSleep are gc's actions on an idle tenant.
	GCSlept      = "slept"
	GCWouldSleep = "would-sleep"
	// GCSleepFailed is a failed idle sleep (GCFailed is a failed delete).
	GCSleepFailed = "sleep-failed"
)

// SleepAfterOf is how long the tenant of ns may stay idle: its own
// sleep-after annotation, else host (the host default; 0: never).
func SleepAfterOf(ns *corev1.Namespace, host time.Duration) time.Duration {
	if d, err := time.ParseDuration(ns.Annotations[AnnotationSleepAfter]); err == nil && d >= 0 {
		return d
	}
	return host
}

// IdleSince is when the tenant of ns was last used: the latest of its last
// connection through the tool, its last wake and when it became ready (its
// creation when none is recorded). Argo CD's traffic and the tenant's own
// controllers do not count: they never pass through the tool.
func IdleSince(ns *corev1.Namespace) time.Time {
	last := ns.CreationTimestamp.Time
	for _, k := range []string{AnnotationCreatedAt, AnnotationReadyAt, AnnotationLastConnectedAt, AnnotationWokenAt} {
		if v, err := time.Parse(time.RFC3339, ns.Annotations[k]); err == nil && v.After(last) {
			last = v
		}
	}
	return last
}

// idleFields fills what list and stats show about idle sleep.
func idleFields(t *Tenant, ns *corev1.Namespace) {
	if d, err := time.ParseDuration(ns.Annotations[AnnotationSleepAfter]); err == nil && d >= 0 {
		t.SleepAfter = &d
	}
	if d, err := time.ParseDuration(ns.Annotations[AnnotationSlept]); err == nil && d > 0 {
		t.Slept = d
	}
	if v, err := time.Parse(time.RFC3339, ns.Annotations[AnnotationWokenAt]); err == nil {
		t.WokenAt = &v
	}
}

// SleptAt is how long the tenant has slept in all, as of now: its finished
// sleeps and the current one.
func (t Tenant) SleptAt(now time.Time) time.Duration {
	d := t.Slept
	if t.SleepingSince != nil && now.After(*t.SleepingSince) {
		d += now.Sub(*t.SleepingSince)
	}
	return d
}

// sleepingMarks are the annotations that put ns to sleep (on) or wake it:
// waking adds the sleep that ends to the slept total and records the wake.
func sleepingMarks(ns *corev1.Namespace, on bool, now time.Time) map[string]string {
	if on {
		return map[string]string{AnnotationSleepingSince: now.UTC().Format(time.RFC3339)}
	}
	kv := map[string]string{AnnotationSleepingSince: "", AnnotationWokenAt: now.UTC().Format(time.RFC3339)}
	if since, err := time.Parse(time.RFC3339, ns.Annotations[AnnotationSleepingSince]); err == nil && now.After(since) {
		slept, _ := time.ParseDuration(ns.Annotations[AnnotationSlept])
		kv[AnnotationSlept] = (slept + now.Sub(since)).Round(time.Second).String()
	}
	return kv
}

// SetSleepAfter records how long the tenant may stay idle before gc puts
// it to sleep (0: never, whatever the host default says).
func (h *Host) SetSleepAfter(ctx context.Context, name string, d time.Duration) (*Tenant, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	if d < 0 {
		return nil, usageErrorf("--sleep-after must not be negative (0 never sleeps)")
	}
	t, err := h.liveTarget(ctx, name)
	if err != nil {
		return nil, err
	}
	if err := h.annotate(ctx, t.NS.Name, AnnotationSleepAfter, d.String()); err != nil {
		return nil, err
	}
	return h.current(ctx, t)
}

// idleToSleep says whether gc puts the tenant of ns to sleep now: it is
// awake and ready (gc lists no spares), and idle for its sleep-after (> 0).
func idleToSleep(ns *corev1.Namespace, host time.Duration, now time.Time) (idle time.Time, ok bool) {
	after := SleepAfterOf(ns, host)
	if after <= 0 || isSleeping(ns) || ns.DeletionTimestamp != nil || ns.Annotations[AnnotationReadyAt] == "" {
		return time.Time{}, false
	}
	idle = IdleSince(ns)
	return idle, now.Sub(idle) >= after
}

// gcSleep puts one idle tenant to sleep for gc, keeping its connections: a
// request through its background forwarder wakes it.
func gcSleep(ctx context.Context, e *Engine, ns *corev1.Namespace, idle time.Time, dryRun bool) GCResult {
	r := GCResult{Name: ns.Labels[LabelName], IdleSince: &idle, Action: GCWouldSleep}
	if dryRun {
		return r
	}
	r.Action = GCSlept
	sub := e.With(e.Report.prefixed(r.Name + ": "))
	if _, err := sub.Sleep(ctx, SleepOptions{Name: r.Name, KeepConnections: true}); err != nil {
		r.Action, r.Error = GCSleepFailed, FirstLine(err.Error())
	}
	return r
}
