package e2e

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/kubectl-tenant/kubectl-tenant/internal/support"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
	"github.com/kubectl-tenant/kubectl-tenant/test/testenv"
)

// The real clients users already have agree with what kubectl-tenant did:
// helm sees the release, the vcluster CLI sees the vCluster, and the argocd
// CLI sees the registered cluster with its labels, connected. They share no
// code path with kubectl-tenant's output; each runs as its own binary, built
// by the harness from the same modules as the playground's parts.

// TestRealClients: after `create NAME` and `register NAME`, helm, the
// vcluster CLI and the argocd CLI agree with kubectl-tenant.
func TestRealClients(t *testing.T) {
	w := newWorld(t)
	helm := w.harnessBin("helm")
	vclusterCLI(t) // build (or find cached) before the tenant exists
	const name = "e2e-realcli"
	ns := tenant.NamespaceFor(name)
	server := "https://vcluster." + ns
	w.createTenant(name, "project-x")
	w.mustRun("register", name, "--yes")

	func() { // helm list
		out, err := w.client(helm, nil, "list", "-n", ns, "-o", "json")
		if err != nil {
			t.Errorf("helm list: %v\n%s", err, out)
			return
		}
		var rels []struct{ Name, Namespace, Status, Chart string }
		if err := json.Unmarshal([]byte(out), &rels); err != nil {
			t.Errorf("helm list -o json: %v\n%s", err, out)
			return
		}
		wantChart := "vcluster-" + strings.TrimPrefix(testenv.VClusterVersion, "v")
		if len(rels) != 1 || rels[0].Name != tenant.ReleaseName || rels[0].Namespace != ns ||
			rels[0].Status != "deployed" || rels[0].Chart != wantChart {
			t.Errorf("helm list -n %s: %+v, want one release %s (%s) deployed", ns, rels, tenant.ReleaseName, wantChart)
			return
		}
		t.Logf("helm list -n %s: %s %s %s", ns, rels[0].Name, rels[0].Chart, rels[0].Status)
	}()

	func() { // vcluster list
		out, err := w.vcluster("list", "--output", "json", "-n", ns)
		if err != nil {
			t.Errorf("vcluster list: %v\n%s", err, out)
			return
		}
		i := strings.Index(out, "[")
		if i < 0 {
			t.Errorf("vcluster list --output json printed no list:\n%s", out)
			return
		}
		var vcs []struct{ Name, Namespace, Status string }
		if err := json.Unmarshal([]byte(out[i:]), &vcs); err != nil {
			t.Errorf("vcluster list --output json: %v\n%s", err, out)
			return
		}
		if len(vcs) != 1 || vcs[0].Name != tenant.ReleaseName || vcs[0].Namespace != ns || vcs[0].Status != "Running" {
			t.Errorf("vcluster list -n %s: %+v, want %s Running", ns, vcs, tenant.ReleaseName)
			return
		}
		t.Logf("vcluster list -n %s: %s %s", ns, vcs[0].Name, vcs[0].Status)
	}()

	// argocd cluster list, with the CLI of each Argo CD version of the
	// matrix: this tenant in v3.2.11; a second one in v2.14.21.
	argocdClusterList(t, w, name, server)
	for _, v := range testenv.ArgoCDVersions[1:] {
		t.Run(v, func(t *testing.T) {
			w := newWorld(t)
			w.forArgoCD(v)
			name := name + argoSuffix(v)
			w.createTenant(name, "project-z")
			w.mustRun("register", name, "--yes")
			argocdClusterList(t, w, name, "https://vcluster."+tenant.NamespaceFor(name))
		})
	}
}

// TestSupportMatrixIsTheHarness: the matrix `kubectl tenant version` and
// README.md print (internal/support) is the versions this suite runs; for
// Argo CD, exactly testenv.ArgoCDVersions, the list argoCDMatrix runs the
// registration and GitOps tests over.
func TestSupportMatrixIsTheHarness(t *testing.T) {
	kubeMinor := strings.Join(strings.SplitN(strings.TrimPrefix(testenv.KubeVersion, "v"), ".", 3)[:2], ".")
	for name, want := range map[string]string{
		support.Kubernetes: kubeMinor,
		support.VCluster:   testenv.VClusterOldChartVersion + ", " + testenv.VClusterChartVersion,
		support.ArgoCD:     strings.Join(testenv.ArgoCDVersions, ", "),
	} {
		if got := support.Versions(name); got != want {
			t.Errorf("support matrix: %s %q, but e2e runs %q", name, got, want)
		}
	}
	if len(support.Matrix) != 3 {
		t.Errorf("support matrix lists %d components; e2e checks 3: %+v", len(support.Matrix), support.Matrix)
	}
}
