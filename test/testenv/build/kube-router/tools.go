//go:build tools

// Package kuberouter pins the kube-router command the harness builds: run
// on each real node with its network-policy firewall only, it enforces the
// host cluster's NetworkPolicies (what `create --isolation` writes) on the
// bridge CNI's pod traffic with iptables and ipset.
package kuberouter

import (
	_ "github.com/cloudnativelabs/kube-router/v2/cmd/kube-router"
)
