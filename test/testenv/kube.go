package testenv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/kubectl-tenant/kubectl-tenant/test/testenv/internal/kubeutil"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

const (
	// ContextName is the context of the playground's admin kubeconfig.
	ContextName = "playground"
	// serviceCIDR avoids 10.213.0.0/16, which the vCluster runner uses for
	// network namespaces, and kwok's default pod CIDR 10.0.0.0/24.
	serviceCIDR = "10.96.0.0/16"
	serviceIP   = "10.96.0.1"
	// kwokNodeAnnotation marks the Nodes kwok manages.
	kwokNodeAnnotation = "kwok.x-k8s.io/node"
	fieldManager       = kubeutil.FieldManager
)

var (
	crdGVR         = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	portForwardGVR = schema.GroupVersionResource{Group: "kwok.x-k8s.io", Version: "v1alpha1", Resource: "portforwards"}
)

// writeKubeconfig writes an admin kubeconfig that verifies the apiserver
// against the playground CA (embedded, so the file can be copied around).
func writeKubeconfig(path, server string, p *pki) error {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[ContextName] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: p.caPEM}
	cfg.AuthInfos[ContextName] = &clientcmdapi.AuthInfo{Token: p.adminToken}
	cfg.Contexts[ContextName] = &clientcmdapi.Context{Cluster: ContextName, AuthInfo: ContextName}
	cfg.CurrentContext = ContextName
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return clientcmd.WriteToFile(*cfg, path)
}

// writeCertKubeconfig writes a kubeconfig that authenticates with the
// client certificate base.crt/base.key (a node's kubelet, kube-proxy).
func writeCertKubeconfig(path, server string, p *pki, base string) error {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[ContextName] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: p.caPEM}
	cfg.AuthInfos[ContextName] = &clientcmdapi.AuthInfo{ClientCertificate: base + ".crt", ClientKey: base + ".key"}
	cfg.Contexts[ContextName] = &clientcmdapi.Context{Cluster: ContextName, AuthInfo: ContextName}
	cfg.CurrentContext = ContextName
	return clientcmd.WriteToFile(*cfg, path)
}

// RESTConfig returns a client config for the host cluster (admin).
func (e *Env) RESTConfig() (*rest.Config, error) {
	return clientcmd.NewNonInteractiveDeferredLoadingClientConfig(
		&clientcmd.ClientConfigLoadingRules{ExplicitPath: e.Kubeconfig},
		&clientcmd.ConfigOverrides{CurrentContext: e.Context}).ClientConfig()
}

// Clientset returns a typed client for the host cluster (admin).
func (e *Env) Clientset() (*kubernetes.Clientset, error) {
	cfg, err := e.RESTConfig()
	if err != nil {
		return nil, err
	}
	return kubernetes.NewForConfig(cfg)
}

// Dynamic returns a dynamic client for the host cluster (admin), for Argo
// CD's Applications and ApplicationSets.
func (e *Env) Dynamic() (dynamic.Interface, error) {
	cfg, err := e.RESTConfig()
	if err != nil {
		return nil, err
	}
	return dynamic.NewForConfig(cfg)
}

// applyCRDs server-side applies every CustomResourceDefinition in files
// (server-side because Argo CD's ApplicationSet CRD is too large for the
// last-applied annotation of a client-side apply) and waits until each is
// Established.
func applyCRDs(ctx context.Context, dyn dynamic.Interface, files []string) error {
	var names []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(b), 64*1024)
		for {
			var obj unstructured.Unstructured
			if err := dec.Decode(&obj.Object); err != nil {
				if errors.Is(err, io.EOF) {
					break
				}
				return fmt.Errorf("%s: %w", f, err)
			}
			if obj.GetKind() != "CustomResourceDefinition" {
				continue
			}
			if _, err := dyn.Resource(crdGVR).Apply(ctx, obj.GetName(), &obj,
				metav1.ApplyOptions{FieldManager: fieldManager, Force: true}); err != nil {
				return fmt.Errorf("apply CRD %s: %w", obj.GetName(), err)
			}
			names = append(names, obj.GetName())
		}
	}
	ctx, cancel := context.WithTimeout(ctx, partTimeout)
	defer cancel()
	return poll(ctx, "CRDs not established within "+partTimeout.String(), func() error {
		for _, n := range names {
			u, err := dyn.Resource(crdGVR).Get(ctx, n, metav1.GetOptions{})
			if err != nil {
				return err
			}
			conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
			established := false
			for _, c := range conds {
				m, _ := c.(map[string]any)
				if m["type"] == "Established" && m["status"] == "True" {
					established = true
				}
			}
			if !established {
				return fmt.Errorf("CRD %s not established yet", n)
			}
		}
		return nil
	})
}

// nodeFor returns a kwok-managed Node. Pool "system" is untainted and
// labelled pool=system; every other pool is labelled project=<pool> and
// tainted project=<pool>:NoSchedule, as tenant workloads expect.
func nodeFor(pool string) *corev1.Node {
	name := pool + "-0"
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{
		Name:        name,
		Annotations: map[string]string{kwokNodeAnnotation: "fake"},
		Labels: map[string]string{
			"type":                   "kwok",
			"kubernetes.io/hostname": name,
			"kubernetes.io/os":       "linux",
			"kubernetes.io/arch":     "amd64",
		},
	}}
	// kwok's default capacity has no ephemeral-storage, so pods requesting
	// it (the vcluster chart's do) would never be scheduled.
	capacity := corev1.ResourceList{
		corev1.ResourceCPU:              *resource.NewQuantity(1000, resource.DecimalSI),
		corev1.ResourceMemory:           *resource.NewQuantity(1<<40, resource.BinarySI),
		corev1.ResourcePods:             *resource.NewQuantity(1000, resource.DecimalSI),
		corev1.ResourceEphemeralStorage: *resource.NewQuantity(1<<40, resource.BinarySI),
	}
	n.Status.Capacity, n.Status.Allocatable = capacity, capacity.DeepCopy()
	if pool == SystemPool {
		n.Labels["pool"] = SystemPool
		return n
	}
	n.Labels["project"] = pool
	n.Spec.Taints = []corev1.Taint{{Key: "project", Value: pool, Effect: corev1.TaintEffectNoSchedule}}
	return n
}
