//go:build tools

// Package helm pins the helm CLI the playground's argocd-repo-server execs
// (the same Helm version the root module's SDK backend uses).
package helm

import _ "helm.sh/helm/v3/cmd/helm"
