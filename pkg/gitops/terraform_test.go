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

	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
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

// TestTFVarsIsHCLWrite: terraform.tfvars is byte for byte what hclwrite
// writes for the same values (the way the tool wrote it before it stopped
// linking HCL), for every golden config and for pools whose labels hold
// strings HCL must escape or quote.
func TestTFVarsIsHCLWrite(t *testing.T) {
	for _, name := range goldenConfigs {
		c := mustLoad(t, name)
		if got, want := tfvars(c), string(hclwriteTFVars(c)); got != want {
			t.Errorf("%s: tfvars differ from hclwrite's:\n%s", name, unifiedDiff("terraform.tfvars", []byte(want), []byte(got), Written))
		}
	}
	hostile := []string{"", "plain", `quote " and \ backslash`, "new\nline\ttab\rcr", "${var.x} and %{ if true }",
		"$ and % alone, $${ already", "bell \a nul \x00 del \x7f", "ünïcødé ✓ 𝄞", "zero\u200bwidth", "\U0001F600 emoji", "line\u2028sep", "combining e\u0301 and 👍🏽 and 🇩🇪"}
	for i, s := range hostile {
		p := resolvedPool{Name: "p", resolved: resolved{MachineType: s, MinSize: i, MaxSize: 10 * i, Zone: s, VolumeSize: 20, VolumeType: s},
			Labels: map[string]string{"project": s, "kubernetes.io/" + s: s, s: "v", "a-b_c9": s, "9lives": s}, Taint: s}
		var b strings.Builder
		writeHCLBody(&b, hclObject{{"pool", poolValue(p)}}, "")
		f := hclwrite.NewEmptyFile()
		f.Body().SetAttributeValue("pool", hclwritePool(p))
		if got, want := b.String(), string(f.Bytes()); got != want {
			t.Errorf("%q: pool differs from hclwrite's:\n%s", s, unifiedDiff("pool", []byte(want), []byte(got), Written))
		}
	}
}

// hclwriteTFVars and hclwritePool are how tfvars were written with
// hclwrite and go-cty.
func hclwriteTFVars(c *Config) []byte {
	f := hclwrite.NewEmptyFile()
	body := f.Body()
	tf := c.Terraform
	if tf.ProjectID != "" {
		body.SetAttributeValue("project_id", cty.StringVal(tf.ProjectID))
	}
	body.SetAttributeValue("region", cty.StringVal(tf.Region))
	body.SetAttributeValue("cluster_name", cty.StringVal(tf.ClusterName))
	if tf.KubernetesVersion != "" {
		body.SetAttributeValue("kubernetes_version", cty.StringVal(tf.KubernetesVersion))
	}
	pools := map[string]cty.Value{
		tf.SystemPool.Name: hclwritePool(resolvedPool{
			Name:     tf.SystemPool.Name,
			resolved: resolvePool(c.Defaults.PoolSettings, tf.SystemPool.PoolSettings),
			Labels:   tf.SystemPool.Labels,
		}),
	}
	for _, cl := range c.Clusters {
		for _, p := range resolveProject(c, cl).Pools {
			pools[p.Name] = hclwritePool(p)
		}
	}
	body.AppendNewline()
	body.SetAttributeValue("node_pools", cty.MapVal(pools))
	return hclwrite.Format(f.Bytes())
}

func hclwritePool(p resolvedPool) cty.Value {
	labels := cty.MapValEmpty(cty.String)
	if len(p.Labels) > 0 {
		m := map[string]cty.Value{}
		for k, v := range p.Labels {
			m[k] = cty.StringVal(v)
		}
		labels = cty.MapVal(m)
	}
	taintType := cty.Object(map[string]cty.Type{"effect": cty.String, "key": cty.String, "value": cty.String})
	taints := cty.ListValEmpty(taintType)
	if p.Taint != "" {
		taints = cty.ListVal([]cty.Value{cty.ObjectVal(map[string]cty.Value{
			"effect": cty.StringVal("NoSchedule"),
			"key":    cty.StringVal(tenant.PoolLabel),
			"value":  cty.StringVal(p.Taint),
		})})
	}
	return cty.ObjectVal(map[string]cty.Value{
		"machine_type":       cty.StringVal(p.MachineType),
		"minimum":            cty.NumberIntVal(int64(p.MinSize)),
		"maximum":            cty.NumberIntVal(int64(p.MaxSize)),
		"availability_zones": cty.ListVal([]cty.Value{cty.StringVal(p.Zone)}),
		"volume_size":        cty.NumberIntVal(int64(p.VolumeSize)),
		"volume_type":        cty.StringVal(p.VolumeType),
		"labels":             labels,
		"taints":             taints,
	})
}
