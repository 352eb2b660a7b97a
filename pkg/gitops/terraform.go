package gitops

import (
	"fmt"
	"maps"
	"slices"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
)

// The Terraform files are fixed; terraform.tfvars carries everything that
// comes from config.yaml, so a new project changes only the tfvars.

const providersTF = `terraform {
  required_version = ">= 1.5.0"
  required_providers {
    stackit = {
      source  = "stackitcloud/stackit"
      version = ">= 0.50.0"
    }
  }
}

# Credentials come from the environment (STACKIT_SERVICE_ACCOUNT_KEY_PATH or
# STACKIT_SERVICE_ACCOUNT_TOKEN).
provider "stackit" {
  default_region = var.region
}
`

const variablesTF = `variable "project_id" {
  description = "STACKIT project ID that owns the SKE cluster."
  type        = string
}

variable "region" {
  description = "STACKIT region."
  type        = string
  default     = "eu01"
}

variable "cluster_name" {
  description = "Name of the SKE host cluster."
  type        = string
}

variable "kubernetes_version" {
  description = "Minimum Kubernetes version (major.minor) of the host cluster; null picks the latest."
  type        = string
  default     = null
}

variable "node_pools" {
  description = "Node pools by name: the system pool and the pools of every project, each labelled and tainted project=<project>."
  type = map(object({
    machine_type       = string
    minimum            = number
    maximum            = number
    availability_zones = list(string)
    volume_size        = number
    volume_type        = string
    labels             = map(string)
    taints = list(object({
      effect = string
      key    = string
      value  = string
    }))
  }))
}
`

const skeTF = `resource "stackit_ske_cluster" "host" {
  project_id             = var.project_id
  name                   = var.cluster_name
  kubernetes_version_min = var.kubernetes_version
  node_pools = [
    for name, pool in var.node_pools : {
      name               = name
      machine_type       = pool.machine_type
      os_name            = "flatcar"
      minimum            = pool.minimum
      maximum            = pool.maximum
      availability_zones = pool.availability_zones
      volume_size        = pool.volume_size
      volume_type        = pool.volume_type
      labels             = pool.labels
      taints             = pool.taints
    }
  ]
}
`

const outputsTF = `output "cluster_name" {
  description = "Name of the SKE host cluster."
  value       = stackit_ske_cluster.host.name
}

output "kubernetes_version" {
  description = "Kubernetes version the host cluster runs."
  value       = stackit_ske_cluster.host.kubernetes_version_used
}

output "project_pools" {
  description = "Project of each project node pool (its nodes' label and taint project=<project>)."
  value       = { for name, pool in var.node_pools : name => pool.labels["project"] if contains(keys(pool.labels), "project") }
}
`

var taintType = cty.Object(map[string]cty.Type{"effect": cty.String, "key": cty.String, "value": cty.String})

func terraformFiles(c *Config) (Files, error) {
	files := Files{}
	for name, src := range map[string]string{
		"providers.tf": providersTF,
		"variables.tf": variablesTF,
		"ske.tf":       skeTF,
		"outputs.tf":   outputsTF,
	} {
		b, err := formatHCL(name, []byte(src))
		if err != nil {
			return nil, err
		}
		files[SectionTerraform+"/"+name] = b
	}
	b, err := formatHCL("terraform.tfvars", tfvars(c))
	if err != nil {
		return nil, err
	}
	files[SectionTerraform+"/terraform.tfvars"] = b
	return files, nil
}

// formatHCL checks src parses and formats it like `terraform fmt`, under Header.
func formatHCL(name string, src []byte) ([]byte, error) {
	if _, diags := hclsyntax.ParseConfig(src, name, hcl.InitialPos); diags.HasErrors() {
		return nil, fmt.Errorf("render terraform/%s: %s", name, diags.Error())
	}
	return append([]byte(Header+"\n"), hclwrite.Format(src)...), nil
}

func tfvars(c *Config) []byte {
	f := hclwrite.NewEmptyFile()
	body := f.Body()
	t := c.Terraform
	if t.ProjectID != "" {
		body.SetAttributeValue("project_id", cty.StringVal(t.ProjectID))
	}
	body.SetAttributeValue("region", cty.StringVal(t.Region))
	body.SetAttributeValue("cluster_name", cty.StringVal(t.ClusterName))
	if t.KubernetesVersion != "" {
		body.SetAttributeValue("kubernetes_version", cty.StringVal(t.KubernetesVersion))
	}
	pools := map[string]cty.Value{
		t.SystemPool.Name: poolValue(resolvedPool{
			Name:     t.SystemPool.Name,
			resolved: resolvePool(c.Defaults.PoolSettings, t.SystemPool.PoolSettings),
			Labels:   t.SystemPool.Labels,
		}),
	}
	for _, cl := range c.Clusters {
		for _, p := range resolveProject(c, cl).Pools {
			pools[p.Name] = poolValue(p)
		}
	}
	body.AppendNewline()
	body.SetAttributeValue("node_pools", cty.MapVal(pools))
	return f.Bytes()
}

func poolValue(p resolvedPool) cty.Value {
	labels := cty.MapValEmpty(cty.String)
	if len(p.Labels) > 0 {
		m := map[string]cty.Value{}
		for _, k := range slices.Sorted(maps.Keys(p.Labels)) {
			m[k] = cty.StringVal(p.Labels[k])
		}
		labels = cty.MapVal(m)
	}
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
