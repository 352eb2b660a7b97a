package vcrunner

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Sandbox is a tenant without an apiserver: its network namespace, chroot,
// etcd and a stand-in "vcluster" binary, for tests of the sandbox itself.
type Sandbox struct {
	t *tenant
	// NetNS, HostIP and NSIP name the tenant's network.
	NetNS, HostIP, NSIP string
	// Dir is the tenant's state directory; Log its vcluster log.
	Dir, Log string
}

// StartSandbox prepares and starts a tenant for pod ns/name in playground
// directory dir; bins must hold "vcluster" (any executable) and "etcd".
func StartSandbox(ctx context.Context, dir, kubeconfig string, bins map[string]string, ns, name string) (*Sandbox, error) {
	e := &env{Dir: dir, Kubeconfig: kubeconfig, Bins: bins}
	r := &runner{env: e, tag: tag(dir), tenants: map[string]*tenant{}, reserved: map[int]bool{}}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: types.UID("uid-" + name), Labels: map[string]string{"app": "vcluster", "release": "vcluster"}},
		Spec:       corev1.PodSpec{NodeName: "project-x-0"},
		Status:     corev1.PodStatus{PodIP: "10.0.0.9", HostIP: "127.0.0.1"},
	}
	slot, err := r.allocSlot()
	if err != nil {
		return nil, err
	}
	t := newTenant(r, pod, slot, "")
	r.tenants[t.key] = t
	if err := t.prepare(ctx, []byte("controlPlane:\n  distro:\n    k8s:\n      enabled: true\n")); err != nil {
		return nil, err
	}
	go t.loop()
	return &Sandbox{t: t, NetNS: slot.NetNS, HostIP: slot.HostIP, NSIP: slot.NSIP, Dir: t.dir, Log: t.log}, nil
}

// PID is the process group of the sandbox's current process.
func (s *Sandbox) PID() int { s.t.mu.Lock(); defer s.t.mu.Unlock(); return s.t.pid }

// Stop stops it like the runner does when the pod goes.
func (s *Sandbox) Stop(ctx context.Context) error { return s.t.stop(ctx) }
