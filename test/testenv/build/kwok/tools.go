//go:build tools

// Package kwok pins the kwok version the harness builds.
package kwok

import _ "sigs.k8s.io/kwok/cmd/kwok"
