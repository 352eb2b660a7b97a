//go:build tools

// Package vcluster pins the vCluster version the harness builds; its Helm
// chart ships in the same module under chart/.
package vcluster

import _ "github.com/loft-sh/vcluster/cmd/vcluster"
