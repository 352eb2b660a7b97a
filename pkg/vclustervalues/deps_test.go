package vclustervalues

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/kubectl-tenant/kubectl-tenant"

// deps lists the packages pkg links (go list -deps), test files excluded.
func deps(t *testing.T, pkg string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", module+"/"+pkg).Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v", pkg, err)
	}
	return strings.Fields(string(out))
}

// TestImportRules keeps the values a leaf and the binary light: the values,
// and pkg/gitops which renders them, link no Helm SDK; the binary links no
// vCluster Go module, whose config package drags in k8s.io/apiserver, the
// etcd client, controller-runtime and cel-go, no kubectl describers and no
// HCL.
func TestImportRules(t *testing.T) {
	// Helm's pkg/lint/rules (linked by pkg/action) imports this one small
	// k8s.io/apiserver package.
	allowed := map[string]bool{"k8s.io/apiserver/pkg/endpoints/deprecation": true}
	rules := []struct {
		pkg       string
		forbidden []string
	}{
		{"pkg/vclustervalues", []string{"helm.sh/", "github.com/loft-sh/", module + "/plugins/"}},
		{"pkg/gitops", []string{"helm.sh/", "github.com/loft-sh/", module + "/plugins/"}},
		{"cmd/kubectl-tenant", []string{
			"github.com/loft-sh/vcluster/",
			"k8s.io/apiserver/",
			"go.etcd.io/",
			"sigs.k8s.io/controller-runtime/",
			"github.com/google/cel-go/",
			// plugins/vcluster/rollout.go ports the two rules it needs.
			"k8s.io/kubectl/pkg/polymorphichelpers",
			"k8s.io/kubectl/pkg/describe",
			// pkg/gitops writes terraform.tfvars itself (TestTFVarsIsHCLWrite
			// holds it to hclwrite's output): HCL's parser, go-cty and
			// go-cmp were 2 MB of the binary.
			"github.com/hashicorp/hcl/",
			"github.com/zclconf/go-cty/",
			"github.com/google/go-cmp/",
		}},
	}
	for _, r := range rules {
		var bad []string
		for _, d := range deps(t, r.pkg) {
			for _, f := range r.forbidden {
				if strings.HasPrefix(d, f) && !allowed[d] {
					bad = append(bad, d)
				}
			}
		}
		if len(bad) > 0 {
			t.Errorf("%s links %d forbidden packages: %s", r.pkg, len(bad), strings.Join(bad[:min(len(bad), 8)], ", "))
		}
	}
}
