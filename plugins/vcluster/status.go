package vcluster

import (
	"context"
	"fmt"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/scheme"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
)

// The control plane's workload kinds: the chart renders a StatefulSet, or a
// Deployment when persistence is off and etcd is not embedded.
const (
	KindStatefulSet = "StatefulSet"
	KindDeployment  = "Deployment"
)

// controlPlaneSelector selects the chart's control-plane workload.
const controlPlaneSelector = "app=vcluster,release=" + tenant.ReleaseName

// ControlPlaneKinds are the kinds ControlPlanes reads by default.
func (b *Backend) ControlPlaneKinds() []string { return []string{KindStatefulSet, KindDeployment} }

// ControlPlanes reads the vCluster workloads of s (every tenant namespace or
// one), one list call per kind, made concurrently: desired and ready
// replicas and the pause annotations `vcluster pause` and `kubectl tenant
// sleep` set, read off the protobuf answer (wire.go; measured in
// docs/performance.md).
func (b *Backend) ControlPlanes(ctx context.Context, s tenant.Scope) (map[string]tenant.ControlPlane, error) {
	kinds := s.Kinds
	if len(kinds) == 0 {
		kinds = b.ControlPlaneKinds()
	}
	opts := listOptions(controlPlaneSelector, s)
	res := make([]map[string]tenant.ControlPlane, len(kinds))
	errs := make([]error, len(kinds))
	var wg sync.WaitGroup
	for i, kind := range kinds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res[i], errs[i] = b.controlPlanesOf(ctx, kind, s.Namespace, opts)
		}()
	}
	wg.Wait()
	out := map[string]tenant.ControlPlane{}
	for i := range kinds {
		if errs[i] != nil {
			return nil, errs[i]
		}
		for ns, cp := range res[i] {
			out[ns] = cp
		}
	}
	return out, nil
}

func (b *Backend) controlPlanesOf(ctx context.Context, kind, ns string, opts metav1.ListOptions) (map[string]tenant.ControlPlane, error) {
	resource := map[string]string{KindStatefulSet: "statefulsets", KindDeployment: "deployments"}[kind]
	if resource == "" {
		return nil, fmt.Errorf("unknown control-plane kind %q", kind)
	}
	raw, err := b.Kube.AppsV1().RESTClient().Get().Namespace(ns).Resource(resource).
		VersionedParams(&opts, scheme.ParameterCodec).
		SetHeader("Accept", "application/vnd.kubernetes.protobuf, application/json").
		Do(ctx).Raw()
	if err != nil {
		return nil, err
	}
	ws, err := parseWorkloadList(raw, kind)
	if err != nil {
		return nil, err
	}
	out := make(map[string]tenant.ControlPlane, len(ws))
	for _, w := range ws {
		desired := 1 // the API's default
		if w.replicas != nil {
			desired = int(*w.replicas)
		}
		out[w.namespace] = tenant.ControlPlane{Kind: kind, Replicas: desired, Ready: int(w.ready), Paused: w.paused}
	}
	return out, nil
}

// listOptions selects with sel, from the watch cache when s allows it.
func listOptions(sel string, s tenant.Scope) metav1.ListOptions {
	o := metav1.ListOptions{LabelSelector: sel}
	if s.Cached {
		o.ResourceVersion = "0"
	}
	return o
}
