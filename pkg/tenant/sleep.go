package tenant

import (
	"cmp"
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Steps of sleep and wake.
const (
	StepDisconnect = "disconnect"
	StepScaleDown  = "scale down"
	StepStopped    = "control plane stopped"
	StepWorkloads  = "stop workloads"
	StepScaleUp    = "scale up"
)

// SleepOptions are the inputs of Sleep.
type SleepOptions struct {
	Name string
	// Wait bounds how long to wait for the control-plane pods to be gone; 0
	// does not wait.
	Wait time.Duration
	// KeepConnections leaves the tenant's contexts and background
	// forwarders in place (gc's idle sleep): a request through a forwarder
	// wakes the tenant.
	KeepConnections bool
	// Spare: Name is a warm spare's, which users cannot address
	// (ValidateName); only the warm pool's top-up sets it.
	Spare bool
}

// WakeOptions are the inputs of Wake.
type WakeOptions struct {
	Name string
	// Wait bounds how long to wait for the virtual API (as create); 0 returns
	// after scaling up.
	Wait time.Duration
}

func isSleeping(ns *corev1.Namespace) bool { return ns.Annotations[AnnotationSleepingSince] != "" }

// Sleep scales a tenant to zero and keeps its data (the control plane's
// volume, the namespace, the release): its connections end first, then the
// backend scales down, the namespace is marked sleeping, and once the control
// plane is gone the pods it synced into the namespace are removed, as
// `vcluster pause` does. Every step tolerates having run before, so sleeping
// a sleeping tenant succeeds and a re-run after Ctrl-C converges.
func (e *Engine) Sleep(ctx context.Context, o SleepOptions) (*Tenant, error) {
	check := ValidateName
	if o.Spare {
		check = validateName
	}
	if err := check(o.Name); err != nil {
		return nil, err
	}
	t, err := e.liveTarget(ctx, o.Name)
	if err != nil {
		return nil, err
	}
	err = e.withLock(ctx, t, "sleep", StepDisconnect, o.Wait, func(ctx context.Context) error { return e.sleep(ctx, o, t.NS) })
	if err != nil {
		return nil, err
	}
	return e.current(ctx, t)
}

// sleep is Sleep under the tenant's lease.
func (h *Host) sleep(ctx context.Context, o SleepOptions, ns *corev1.Namespace) error {
	// A forwarder would only keep reconnecting to a pod that is gone.
	err := h.Report.StepMsg(StepDisconnect, func() (string, error) {
		if o.KeepConnections {
			return "connections kept: a request through them wakes the tenant", nil
		}
		_, err := h.cleanLocal(o.Name)
		return "", err
	})
	if err != nil {
		return err
	}
	err = h.Report.StepMsg(StepScaleDown, func() (string, error) {
		res, err := h.Backend.Sleep(ctx, ns.Name)
		if err != nil {
			return "", apiError(err)
		}
		if res.Warning != "" {
			h.Report.Emit(StepScaleDown, PhaseWarning, res.Warning, nil)
		}
		msg := ""
		if !res.Changed {
			msg = "already asleep"
		}
		return msg, h.setSleeping(ctx, ns, true)
	})
	if err != nil {
		return err
	}
	if o.Wait > 0 {
		err := h.Report.Step(StepStopped, func() error {
			ctx, cancel := context.WithTimeout(ctx, o.Wait)
			defer cancel()
			return h.poll(ctx, StepStopped, func() (bool, string, error) {
				pods, err := h.Kube.CoreV1().Pods(ns.Name).List(ctx, metav1.ListOptions{LabelSelector: h.Backend.PodSelector()})
				if err != nil {
					return false, "", apiError(err)
				}
				if n := len(pods.Items); n > 0 {
					return false, fmt.Sprintf("waiting for %d control-plane pod(s) to stop", n), nil
				}
				return true, "", nil
			})
		})
		if err != nil {
			return err
		}
	}
	return h.Report.Step(StepWorkloads, func() error { return h.deleteWorkloads(ctx, ns.Name) })
}

// Wake scales a sleeping tenant back up, clears the sleeping mark and waits
// until its API answers (waitAwake: not for the kubelet's probes, which
// follow within about two seconds). Waking an awake tenant only checks it
// is ready, as create does.
func (e *Engine) Wake(ctx context.Context, o WakeOptions) (*Tenant, error) {
	if err := ValidateName(o.Name); err != nil {
		return nil, err
	}
	t, err := e.liveTarget(ctx, o.Name)
	if err != nil {
		return nil, err
	}
	err = e.withLock(ctx, t, "wake", StepScaleUp, o.Wait, func(ctx context.Context) error {
		woken, err := e.scaleUp(ctx, t.NS)
		if err != nil || o.Wait == 0 {
			return err
		}
		if !woken {
			// Not asleep: perhaps still in its first boot, which creates
			// what waitAwake leaves out.
			return e.WaitReady(ctx, t, o.Wait)
		}
		return e.waitAwake(ctx, t, o.Wait)
	})
	if err != nil {
		return nil, err
	}
	return e.current(ctx, t)
}

// AwakeLine says how a woken tenant is. A wake that waited returns when the
// API answers, usually a second before the kubelet's probes mark the pod
// Ready: list says Pending until then.
func AwakeLine(t *Tenant, waited bool) string {
	if waited && t.Status == StatusPending {
		return fmt.Sprintf("tenant %s is awake: its API answers (list says Ready once the kubelet's readiness probe passes, within seconds)", t.Name)
	}
	return fmt.Sprintf("tenant %s is awake (%s)", t.Name, t.Status)
}

// scaleUp is wake's first step: the backend restores what sleep recorded,
// then the namespace's sleeping mark goes (only then: an interrupted wake
// still says Sleeping and a re-run finishes it).
func (h *Host) scaleUp(ctx context.Context, ns *corev1.Namespace) (changed bool, err error) {
	err = h.Report.StepMsg(StepScaleUp, func() (string, error) {
		changed, err = h.Backend.Wake(ctx, ns.Name)
		if err != nil {
			return "", apiError(err)
		}
		msg := ""
		if !changed {
			msg = "already awake"
		}
		return msg, h.setSleeping(ctx, ns, false)
	})
	return changed, err
}

// liveTarget resolves the tenant, refusing one being deleted.
func (h *Host) liveTarget(ctx context.Context, name string) (*Target, error) {
	t, err := h.Resolve(ctx, name)
	if err != nil {
		return nil, err
	}
	if t.NS.DeletionTimestamp != nil {
		return nil, fmt.Errorf("tenant %s is being deleted", name)
	}
	return t, nil
}

// awakeNamespace checks the tenant exists and is not asleep (SleepingError)
// with the namespace read connect does anyway: no extra API call.
func (h *Host) awakeNamespace(ctx context.Context, name string) (*corev1.Namespace, error) {
	t, err := h.Resolve(ctx, name)
	if err != nil {
		return nil, err
	}
	if isSleeping(t.NS) {
		return nil, &SleepingError{Name: name}
	}
	return t.NS, nil
}

// notRunning says why a tenant has no running control-plane pod: asleep
// (SleepingError) when its workload carries the pause annotation though
// the namespace has no sleeping mark (`vcluster pause` sets only the
// former), else what the pod lookup said. Only this failure path reads
// the workload: connect stays one namespace read when all is well.
func (h *Host) notRunning(ctx context.Context, name, ns string, pod *corev1.Pod, msg string) error {
	if pod == nil {
		if cps, err := h.controlPlanes(ctx, Scope{Namespace: ns}); err == nil && cps[ns].Paused {
			return &SleepingError{Name: name}
		}
	}
	return fmt.Errorf("tenant %s is not running: %s", name, cmp.Or(msg, "no control-plane pod"))
}

// setSleeping adds or removes the namespace's sleeping mark with a merge
// patch (no read-modify-write race with other annotations); removing it
// adds the sleep to the slept total and records the wake.
func (h *Host) setSleeping(ctx context.Context, ns *corev1.Namespace, on bool) error {
	if isSleeping(ns) == on {
		return nil
	}
	return h.annotateAll(ctx, ns.Name, sleepingMarks(ns, on, h.now()))
}

// deleteWorkloads removes the pods the control plane synced into the
// namespace: without it they would run on unmanaged (`vcluster pause` does
// the same; on wake the control plane recreates them from its state).
func (h *Host) deleteWorkloads(ctx context.Context, ns string) error {
	pc := h.Kube.CoreV1().Pods(ns)
	pods, err := pc.List(ctx, metav1.ListOptions{LabelSelector: h.Backend.WorkloadSelector()})
	if err != nil {
		return apiError(err)
	}
	for _, p := range pods.Items {
		if err := pc.Delete(ctx, p.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return apiError(err)
		}
	}
	if n := len(pods.Items); n > 0 {
		h.Report.Emit(StepWorkloads, PhaseWaiting, fmt.Sprintf("deleted %d synced pod(s)", n), nil)
	}
	return nil
}

// SleepPlan names the steps Sleep reports, in order; without waiting
// nothing watches the control plane stop.
func SleepPlan(wait bool) []string {
	if !wait {
		return []string{StepDisconnect, StepScaleDown, StepWorkloads}
	}
	return []string{StepDisconnect, StepScaleDown, StepStopped, StepWorkloads}
}

// WakePlan names the steps Wake reports, in order: scaling up, then
// create's waits.
func WakePlan(wait bool) []string {
	if !wait {
		return []string{StepScaleUp}
	}
	return []string{StepScaleUp, StepSchedule, StepKubeconfig, StepReady}
}
