//go:build tools

// Package vclusterold pins the older vCluster the harness also builds: the
// control plane (`vcluster start`) of the oldest chart line the tool
// supports (VClusterOldVersion), for tenants created with that chart and
// then upgraded to VClusterVersion.
package vclusterold

import (
	_ "github.com/loft-sh/vcluster/cmd/vcluster"
)
