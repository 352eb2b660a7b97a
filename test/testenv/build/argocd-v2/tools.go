//go:build tools

// Package argocd pins the Argo CD v2 version the harness builds beside v3
// (see ../argocd). Argo CD's go.mod carries replace directives, which only
// apply in the main module, so they are copied into this wrapper.
package argocd

import _ "github.com/argoproj/argo-cd/v2/cmd"
