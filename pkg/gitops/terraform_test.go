package gitops

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// TestTerraformFormatted runs `terraform fmt -check` on the rendered
// Terraform of every golden config. Without terraform it says so and checks
// that hclwrite's formatter (the one terraform fmt uses) changes nothing.
func TestTerraformFormatted(t *testing.T) {
	bin, lookErr := exec.LookPath("terraform")
	if lookErr != nil {
		t.Logf("terraform not found (%v): checking formatting with github.com/hashicorp/hcl/v2/hclwrite instead", lookErr)
	}
	for _, name := range goldenConfigs {
		t.Run(name, func(t *testing.T) {
			files := mustRender(t, mustLoad(t, name)).Select(SectionTerraform)
			dir := t.TempDir()
			if _, err := Write(dir, files, WriteOptions{}); err != nil {
				t.Fatal(err)
			}
			if bin == "" {
				for _, p := range files.Paths() {
					if got := hclwrite.Format(files[p]); !bytes.Equal(got, files[p]) {
						t.Errorf("%s is not formatted:\n%s", p, unifiedDiff(p, files[p], got, Written))
					}
				}
				return
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, "fmt", "-check", "-diff", "-recursive", filepath.Join(dir, SectionTerraform))
			cmd.Env = append(os.Environ(), "TF_CLI_CONFIG_FILE="+filepath.Join(dir, "none.tfrc"), "CHECKPOINT_DISABLE=1")
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("terraform fmt -check: %v\n%s", err, out)
			}
		})
	}
}

// TestTerraformParses parses every rendered file with hashicorp/hcl, checks
// terraform.tfvars against the node_pools type in variables.tf, and
// evaluates ske.tf's node_pools with it: one pool per config pool, each
// labelled and tainted project=<project>:NoSchedule.
func TestTerraformParses(t *testing.T) {
	files := mustRender(t, mustLoad(t, "full")).Select(SectionTerraform)
	p := hclparse.NewParser()
	parsed := map[string]*hcl.File{}
	for _, name := range files.Paths() {
		f, diags := p.ParseHCL(files[name], name)
		if diags.HasErrors() {
			t.Fatalf("%s: %s", name, diags.Error())
		}
		parsed[path.Base(name)] = f
	}

	// Type of var.node_pools.
	var poolsType cty.Type
	for _, b := range parsed["variables.tf"].Body.(*hclsyntax.Body).Blocks {
		if b.Type == "variable" && b.Labels[0] == "node_pools" {
			ty, diags := typeexpr.TypeConstraint(b.Body.Attributes["type"].Expr)
			if diags.HasErrors() {
				t.Fatal(diags.Error())
			}
			poolsType = ty
		}
	}
	if poolsType == cty.NilType {
		t.Fatal("variables.tf declares no node_pools")
	}

	// terraform.tfvars values, converted as terraform would.
	attrs, diags := parsed["terraform.tfvars"].Body.JustAttributes()
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	vars := map[string]cty.Value{}
	for name, a := range attrs {
		v, diags := a.Expr.Value(nil)
		if diags.HasErrors() {
			t.Fatalf("terraform.tfvars %s: %s", name, diags.Error())
		}
		vars[name] = v
	}
	pools, err := convert.Convert(vars["node_pools"], poolsType)
	if err != nil {
		t.Fatalf("terraform.tfvars node_pools does not fit variables.tf: %v", err)
	}
	for _, k := range []string{"project_id", "region", "cluster_name", "kubernetes_version"} {
		if _, ok := vars[k]; !ok {
			t.Errorf("terraform.tfvars lacks %s", k)
		}
	}

	// ske.tf node_pools evaluated with those values.
	var nodePools cty.Value
	for _, b := range parsed["ske.tf"].Body.(*hclsyntax.Body).Blocks {
		if b.Type == "resource" && b.Labels[0] == "stackit_ske_cluster" {
			ctx := &hcl.EvalContext{Variables: map[string]cty.Value{"var": cty.ObjectVal(map[string]cty.Value{"node_pools": pools})}}
			v, diags := b.Body.Attributes["node_pools"].Expr.Value(ctx)
			if diags.HasErrors() {
				t.Fatal(diags.Error())
			}
			nodePools = v
		}
	}
	if nodePools == cty.NilVal {
		t.Fatal("ske.tf has no stackit_ske_cluster")
	}
	got := map[string]string{}
	for it := nodePools.ElementIterator(); it.Next(); {
		_, pool := it.Element()
		name := pool.GetAttr("name").AsString()
		var desc []string
		labels := pool.GetAttr("labels").AsValueMap()
		if l, ok := labels["project"]; ok {
			desc = append(desc, "label project="+l.AsString())
		}
		for tt := pool.GetAttr("taints").ElementIterator(); tt.Next(); {
			_, taint := tt.Element()
			desc = append(desc, "taint "+taint.GetAttr("key").AsString()+"="+taint.GetAttr("value").AsString()+":"+taint.GetAttr("effect").AsString())
		}
		got[name] = strings.Join(desc, ", ")
	}
	want := map[string]string{
		"sys":          "",
		"payments":     "label project=payments, taint project=payments:NoSchedule",
		"payments-gpu": "label project=payments, taint project=payments:NoSchedule",
		"search":       "label project=search, taint project=search:NoSchedule",
	}
	if len(got) != len(want) {
		t.Errorf("node pools %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("pool %s: %q, want %q", k, got[k], v)
		}
	}
}
