//go:build tools

// Package kine pins kine, the etcd shim over SQLite that vCluster's default
// backing store ("embedded database") runs as /binaries/kine. The real
// distro image ships it beside the Kubernetes binaries; the playground's
// image (ghcr.io/loft-sh/kubernetes:<KubeVersion>) gets this build.
package kine

import (
	_ "github.com/k3s-io/kine"
)
