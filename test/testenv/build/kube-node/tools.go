//go:build tools

// Package kubenode pins the node commands of the playground's real nodes,
// kubelet and kube-proxy, at the control plane's version. Its go.mod is
// build/kube's (the same k8s.io/kubernetes and staging replaces) tidied for
// these commands; it is a module of its own so that adding them did not
// change build/kube's go.sum, which keys the control plane's cache entry.
package kubenode

import (
	_ "k8s.io/kubernetes/cmd/kube-proxy"
	_ "k8s.io/kubernetes/cmd/kubelet"
)
