//go:build tools

// Package kube pins the Kubernetes control-plane commands the harness builds.
// k8s.io/kubernetes cannot be `go install`ed (its go.mod replaces staging
// modules with local paths), so this wrapper replaces each staging module with
// its published v0.34.x twin.
package kube

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
)
