//go:build tools

// Package argocd pins the Argo CD version the harness builds. Argo CD's go.mod
// carries replace directives, which only apply in the main module, so they are
// copied into this wrapper.
package argocd

import _ "github.com/argoproj/argo-cd/v3/cmd"
