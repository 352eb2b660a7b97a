//go:build tools

// Package coredns pins the CoreDNS command the harness builds: the host
// cluster's DNS on real nodes and vCluster's in-tenant CoreDNS image
// (coredns/coredns:1.12.1, the one vCluster v0.34 deploys for Kubernetes 1.34).
package coredns

import (
	_ "github.com/coredns/coredns"
)
