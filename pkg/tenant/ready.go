package tenant

import (
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/portforward"
)

// WaitReady waits until the tenant is Ready as list says it (the kubelet's
// probes passed, so its Service has an endpoint for Argo CD) and its virtual
// API answers /readyz, reporting what it waits for: pod scheduling (with the
// scheduler's reason), the kubeconfig secret, then the API itself through a
// port-forward. Create, upgrade and claims wait this way.
func (h *Host) WaitReady(ctx context.Context, t *Target, timeout time.Duration) error {
	return h.waitReady(ctx, t, timeout, false)
}

// WokenReadyz is what a wake waits for: /readyz without the two post-start
// hooks of kube-apiserver that wait a fixed second before they first look.
// They ensure the default RBAC roles and bindings and the system priority
// classes, which a tenant that has run before keeps in its store, so its
// users' requests are authorized as soon as the rest of /readyz passes
// (informer-sync included). A check name a server lacks is ignored.
const WokenReadyz = "/readyz?exclude=poststarthook/rbac/bootstrap-roles" +
	"&exclude=poststarthook/scheduling/bootstrap-system-priority-classes"

// wokenFastFor is how long a wake's wait probes the API every 200 ms; then
// once a second.
const wokenFastFor = 5 * time.Second

// waitAwake is a wake's wait: done as soon as the virtual API answers
// WokenReadyz through a port-forward to the pod, polled every 200 ms once
// the pod runs (for wokenFastFor, then every second). It does not wait for
// the kubelet's startup and readiness probes (a 1 s period, then the pod's
// status update: one to two seconds more), so list may say Pending for
// that long after wake returns; the user's kubectl, which goes through the
// same port-forward, already works.
func (h *Host) waitAwake(ctx context.Context, t *Target, timeout time.Duration) error {
	return h.waitReady(ctx, t, timeout, true)
}

func (h *Host) waitReady(ctx context.Context, t *Target, timeout time.Duration, woken bool) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	ns := t.Namespace()
	every, path := 500*time.Millisecond, "/readyz"
	if woken {
		every, path = 200*time.Millisecond, WokenReadyz
	}
	var pod *corev1.Pod
	err := h.Report.Step(StepSchedule, func() error {
		return h.pollEvery(ctx, StepSchedule, every, func() (bool, string, error) {
			p, msg, err := h.controlPlanePod(ctx, ns)
			pod = p
			return p != nil && p.Status.Phase == corev1.PodRunning, msg, err
		})
	})
	if err != nil {
		return err
	}
	var creds *Credentials
	err = h.Report.Step(StepKubeconfig, func() error {
		return h.pollEvery(ctx, StepKubeconfig, every, func() (bool, string, error) {
			c, err := h.Backend.Credentials(ctx, ns)
			if errors.Is(err, ErrNotFound) {
				return false, "waiting for vCluster to write its kubeconfig secret", nil
			}
			creds = c
			return err == nil, "", err
		})
	})
	if err != nil {
		return err
	}
	var version string
	probe := func(ctx context.Context, ns, pod string, c *Credentials) (string, error) {
		return h.probeReadyz(ctx, ns, pod, c, path)
	}
	if p, ok := h.Backend.(ReadyProber); ok {
		probe = p.ProbeReady
	}
	var first, last time.Time
	err = h.Report.Step(StepReady, func() error {
		return h.pollEvery(ctx, StepReady, every, func() (bool, string, error) {
			if woken {
				// A wake's API usually answers within 3 s of the pod
				// running; on a loaded node, when it takes longer, a
				// port-forward a second is enough.
				now := time.Now()
				if first.IsZero() {
					first = now
				}
				if now.Sub(first) > wokenFastFor && now.Sub(last) < time.Second {
					return false, "", nil
				}
				last = now
			}
			// The API answering through a port-forward is not yet what
			// list and status call Ready, nor does the Service have an
			// endpoint (what Argo CD uses) until the kubelet's probes
			// pass: unless woken, wait for the workload's ready replicas
			// first (two LISTs a tick). The kubelet's probes ask the same
			// /readyz, so the port-forward probe then answers at once
			// rather than a port-forward every tick competing with a first
			// boot for CPU. A wake's boot is about 3 s: a port-forward
			// every 200 ms for that long is cheap.
			if !woken {
				if ok, msg, err := h.controlPlaneReady(ctx, ns); err != nil || !ok {
					return false, msg, err
				}
			}
			v, err := probe(ctx, ns, pod.Name, creds)
			if err != nil {
				// A transport error (refused, reset, EOF through the
				// port-forward) only says nothing listens yet.
				if ue := (*url.Error)(nil); errors.As(err, &ue) {
					return false, "virtual API not answering yet", nil
				}
				return false, "virtual API not ready: " + FirstLine(err.Error()), nil
			}
			version = v
			return true, "", nil
		})
	})
	if err != nil || version == "" {
		return err
	}
	// The K8S column: what the tenant's API server says it runs; and the
	// workload kind list reads.
	return h.annotateAll(ctx, ns, map[string]string{
		AnnotationServerVersion:    version,
		AnnotationControlPlaneKind: workloadKind(pod),
	})
}

// controlPlaneReady says whether the tenant's control-plane workload has all
// its replicas ready, as list and status read it. A backend that does not
// list workloads, or a workload it does not find, leaves the API probe as
// the only check.
func (h *Host) controlPlaneReady(ctx context.Context, ns string) (bool, string, error) {
	cps, err := h.controlPlanes(ctx, Scope{Namespace: ns})
	if err != nil {
		return false, "", err
	}
	cp, ok := cps[ns]
	if !ok || cp.Replicas == 0 || cp.Ready >= cp.Replicas {
		return true, "", nil
	}
	return false, fmt.Sprintf("control plane %d/%d ready: waiting for the kubelet's readiness probe", cp.Ready, cp.Replicas), nil
}

// workloadKind is the kind of the workload that owns a control-plane pod
// (a Deployment owns its pods through a ReplicaSet); empty when unknown.
func workloadKind(p *corev1.Pod) string {
	if p == nil {
		return ""
	}
	for _, o := range p.OwnerReferences {
		if o.Controller != nil && *o.Controller {
			if o.Kind == "ReplicaSet" {
				return "Deployment"
			}
			return o.Kind
		}
	}
	return ""
}

// controlPlanePod finds the tenant's control-plane pod and says why it is not
// running yet.
func (h *Host) controlPlanePod(ctx context.Context, ns string) (*corev1.Pod, string, error) {
	pods, err := h.Kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: h.Backend.PodSelector()})
	if err != nil {
		return nil, "", apiError(err)
	}
	var p *corev1.Pod
	for i := range pods.Items {
		// During a rollout the old pod lingers while terminating: skip it.
		if pods.Items[i].DeletionTimestamp == nil {
			p = &pods.Items[i]
			break
		}
	}
	if p == nil {
		return nil, "waiting for the control-plane pod to be created", nil
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status != corev1.ConditionTrue {
			return p, fmt.Sprintf("pod %s Pending: %s", p.Name, cmp.Or(c.Message, c.Reason)), nil
		}
	}
	switch {
	case p.Status.Phase == corev1.PodRunning:
	case p.Spec.NodeName == "": // created; the scheduler has not looked at it yet
		return p, fmt.Sprintf("pod %s is %s, waiting for the scheduler", p.Name, p.Status.Phase), nil
	default:
		return p, fmt.Sprintf("pod %s is %s on node %s", p.Name, p.Status.Phase, p.Spec.NodeName), nil
	}
	return p, "", nil
}

// probeReadyz asks the virtual API server for readyz (/readyz or
// WokenReadyz) through a short-lived port-forward, verifying TLS with the
// tenant's CA, then for /version; it returns the server's gitVersion (""
// when /version did not say).
func (h *Host) probeReadyz(ctx context.Context, ns, pod string, c *Credentials, readyz string) (string, error) {
	fw, err := portforward.Start(ctx, h.REST, ns, pod, 0, h.Backend.APIPort())
	if err != nil {
		return "", err
	}
	defer fw.Close()
	client, err := tlsClient(c, "localhost")
	if err != nil {
		return "", err
	}
	get := func(path string, limit int64) (int, string, []byte, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("https://127.0.0.1:%d%s", fw.LocalPort, path), nil)
		resp, err := client.Do(req)
		if err != nil {
			return 0, "", nil, err
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(io.LimitReader(resp.Body, limit))
		return resp.StatusCode, resp.Status, body, nil
	}
	code, status, body, err := get(readyz, 512)
	if err != nil {
		return "", err
	}
	if code != http.StatusOK {
		return "", fmt.Errorf("/readyz: %s: %s", status, strings.TrimSpace(string(body)))
	}
	var v struct {
		GitVersion string `json:"gitVersion"`
	}
	if code, _, body, err := get("/version", 4096); err == nil && code == http.StatusOK {
		_ = json.Unmarshal(body, &v)
	}
	return v.GitVersion, nil
}

// tlsClient trusts only the tenant CA and presents its client certificate.
func tlsClient(c *Credentials, serverName string) (*http.Client, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(c.CA) {
		return nil, fmt.Errorf("the vCluster secret holds no valid CA certificate")
	}
	cfg := &tls.Config{RootCAs: pool, ServerName: serverName, MinVersion: tls.VersionTLS12}
	if len(c.ClientCert) > 0 {
		cert, err := tls.X509KeyPair(c.ClientCert, c.ClientKey)
		if err != nil {
			return nil, fmt.Errorf("vCluster client certificate: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg}}, nil
}

// Poll calls check every 500 ms until it is done, reporting each new wait
// message once on step: the wait loop of every step that waits (the
// warm pool's fill too).
func (h *Host) Poll(ctx context.Context, step string, check func() (bool, string, error)) error {
	return h.poll(ctx, step, check)
}

func (h *Host) poll(ctx context.Context, step string, check func() (bool, string, error)) error {
	return h.pollEvery(ctx, step, 500*time.Millisecond, check)
}

// pollEvery is poll with its own period.
func (h *Host) pollEvery(ctx context.Context, step string, every time.Duration, check func() (bool, string, error)) error {
	last := ""
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		done, msg, err := check()
		if err != nil && ctx.Err() == nil && !nearDeadline(ctx) {
			return err
		}
		if err != nil {
			// client-go's rate limiter fails a call that would end after the
			// deadline before the deadline passes: report the timeout and
			// what we waited for, not the limiter.
			<-ctx.Done()
		}
		if done {
			return nil
		}
		if msg != "" && msg != last {
			h.Report.Emit(step, PhaseWaiting, msg, nil)
			last = msg
		}
		select {
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return fmt.Errorf("timed out: %s", cmp.Or(last, step))
			}
			return ctx.Err()
		case <-t.C:
		}
	}
}

// nearDeadline reports whether ctx ends within a second.
func nearDeadline(ctx context.Context) bool {
	dl, ok := ctx.Deadline()
	return ok && time.Until(dl) < time.Second
}
