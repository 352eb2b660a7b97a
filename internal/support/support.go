// Package support is the one source of truth for what kubectl-tenant is
// tested with: the matrix the end-to-end suite (test/e2e) runs against.
// `kubectl tenant version` prints it, README.md's "Support" table is checked
// against it (support_test.go), and test/e2e checks that the harness's
// versions are these (TestSupportMatrixIsTheHarness).
//
// List a version here only once e2e runs against it.
package support

import "strings"

// Component is one part of the matrix.
type Component struct {
	// Name as printed, e.g. "Argo CD".
	Name string
	// Versions the e2e suite runs against.
	Versions []string
}

// Names of the components in Matrix.
const (
	Kubernetes = "Kubernetes host"
	VCluster   = "vCluster chart"
	ArgoCD     = "Argo CD"
)

// Matrix is what e2e covers: the playground's host kube-apiserver (v1.34.2),
// the vcluster charts of github.com/loft-sh/vcluster v0.34.0 (every test)
// and v0.25.0, the oldest the tool's values fit (TestOlderChartLifecycle:
// its whole lifecycle, then an upgrade in waves to 0.34.0), and Argo CD
// v3.2.11 and v2.14.21 (argocd-server, repo-server, application-controller,
// CLI; the registration and `create --gitops` tests run against each, see
// testenv.ArgoCDVersions, whose list this must equal).
var Matrix = []Component{
	{Name: Kubernetes, Versions: []string{"1.34"}},
	{Name: VCluster, Versions: []string{"0.25.0", "0.34.0"}},
	{Name: ArgoCD, Versions: []string{"v3.2.11", "v2.14.21"}},
}

// Versions are the tested versions of the named component, joined by ", ".
func Versions(name string) string {
	for _, c := range Matrix {
		if c.Name == name {
			return strings.Join(c.Versions, ", ")
		}
	}
	return ""
}

// Line is the matrix in one line, e.g. "Kubernetes host 1.34, vCluster
// chart 0.34.0, Argo CD v3.2.11, v2.14.21".
func Line() string {
	parts := make([]string, 0, len(Matrix))
	for _, c := range Matrix {
		parts = append(parts, c.Name+" "+strings.Join(c.Versions, ", "))
	}
	return strings.Join(parts, ", ")
}

// Table is the matrix as the Markdown table of README.md's "Support" section.
func Table() string {
	var b strings.Builder
	b.WriteString("| Component | Tested in e2e |\n|---|---|\n")
	for _, c := range Matrix {
		b.WriteString("| " + c.Name + " | " + strings.Join(c.Versions, ", ") + " |\n")
	}
	return b.String()
}
