package testenv

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/transport/spdy"
)

// ForwardService forwards a free local port to port of Service ns/name the
// way `kubectl port-forward svc/name` does: through the apiserver to the
// service's targetPort on one of its Running pods (for kwok pods, kwok's
// PortForward rules take it from there). It returns "127.0.0.1:PORT" and a
// function that ends the forward.
func (e *Env) ForwardService(ctx context.Context, ns, name string, port int32) (string, func(), error) {
	cs, err := e.Clientset()
	if err != nil {
		return "", nil, err
	}
	svc, err := cs.CoreV1().Services(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return "", nil, err
	}
	var sp *corev1.ServicePort
	for i := range svc.Spec.Ports {
		if svc.Spec.Ports[i].Port == port {
			sp = &svc.Spec.Ports[i]
		}
	}
	if sp == nil {
		return "", nil, fmt.Errorf("service %s/%s has no port %d", ns, name, port)
	}
	pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{
		LabelSelector: labels.SelectorFromSet(svc.Spec.Selector).String()})
	if err != nil {
		return "", nil, err
	}
	for _, p := range pods.Items {
		if p.Status.Phase != corev1.PodRunning {
			continue
		}
		target := sp.TargetPort.IntValue()
		if target == 0 { // a named port: look it up in the pod
			for _, c := range p.Spec.Containers {
				for _, cp := range c.Ports {
					if cp.Name == sp.TargetPort.StrVal {
						target = int(cp.ContainerPort)
					}
				}
			}
		}
		if target == 0 {
			target = int(port)
		}
		return e.ForwardPod(ctx, ns, p.Name, int32(target))
	}
	return "", nil, fmt.Errorf("service %s/%s has no Running pod", ns, name)
}

// ForwardPod forwards a free local port to port of pod ns/name through the
// apiserver (SPDY, as kubectl does). It returns "127.0.0.1:PORT" and a
// function that ends the forward.
func (e *Env) ForwardPod(ctx context.Context, ns, name string, port int32) (string, func(), error) {
	cfg, err := e.RESTConfig()
	if err != nil {
		return "", nil, err
	}
	cs, err := e.Clientset()
	if err != nil {
		return "", nil, err
	}
	transport, upgrader, err := spdy.RoundTripperFor(cfg)
	if err != nil {
		return "", nil, err
	}
	url := cs.CoreV1().RESTClient().Post().Resource("pods").Namespace(ns).Name(name).SubResource("portforward").URL()
	dialer := spdy.NewDialer(upgrader, &http.Client{Transport: transport}, http.MethodPost, url)
	stopCh, readyCh := make(chan struct{}), make(chan struct{})
	fw, err := portforward.NewOnAddresses(dialer, []string{"127.0.0.1"}, []string{"0:" + strconv.Itoa(int(port))},
		stopCh, readyCh, io.Discard, io.Discard)
	if err != nil {
		return "", nil, err
	}
	errCh := make(chan error, 1)
	go func() { errCh <- fw.ForwardPorts() }()
	select {
	case <-readyCh:
	case err := <-errCh:
		return "", nil, fmt.Errorf("port-forward to pod %s/%s:%d: %w", ns, name, port, err)
	case <-ctx.Done():
		close(stopCh)
		return "", nil, ctx.Err()
	}
	ports, err := fw.GetPorts()
	if err != nil || len(ports) == 0 {
		close(stopCh)
		return "", nil, fmt.Errorf("port-forward to pod %s/%s:%d: no local port: %v", ns, name, port, err)
	}
	var once sync.Once
	return "127.0.0.1:" + strconv.Itoa(int(ports[0].Local)), func() { once.Do(func() { close(stopCh) }) }, nil
}
