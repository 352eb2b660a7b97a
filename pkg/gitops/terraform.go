package gitops

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/rivo/uniseg"
	"golang.org/x/text/unicode/norm"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
)

// The Terraform files are fixed (and written as `terraform fmt` lays them
// out); terraform.tfvars carries everything that comes from config.yaml,
// so a new project changes only the tfvars.
//
// The tfvars are written here rather than with hashicorp/hcl's hclwrite,
// which would link HCL's parser, go-cty and go-cmp into the binary (2 MB of
// its 60) for one file of strings, numbers, lists and maps. The tests keep
// it honest with hclwrite itself (linked into the tests only): the output
// is hclwrite's for the same values (TestTFVarsIsHCLWrite, with hostile
// strings), terraform fmt changes nothing, and it parses into the type
// variables.tf declares.

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

func terraformFiles(c *Config) (Files, error) {
	files := Files{}
	for name, src := range map[string]string{
		"providers.tf": providersTF,
		"variables.tf": variablesTF,
		"ske.tf":       skeTF,
		"outputs.tf":   outputsTF,
	} {
		files[SectionTerraform+"/"+name] = []byte(Header + "\n" + src)
	}
	files[SectionTerraform+"/terraform.tfvars"] = []byte(Header + "\n" + tfvars(c))
	return files, nil
}

// tfvars are the values of variables.tf's variables.
func tfvars(c *Config) string {
	t := c.Terraform
	var top hclObject
	if t.ProjectID != "" {
		top = append(top, hclAttr{"project_id", t.ProjectID})
	}
	top = append(top, hclAttr{"region", t.Region}, hclAttr{"cluster_name", t.ClusterName})
	if t.KubernetesVersion != "" {
		top = append(top, hclAttr{"kubernetes_version", t.KubernetesVersion})
	}
	pools := map[string]any{
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
	var b strings.Builder
	writeHCLBody(&b, top, "")
	b.WriteString("\n")
	writeHCLBody(&b, hclObject{{"node_pools", hclMap(pools)}}, "")
	return b.String()
}

// poolValue is one element of variables.tf's node_pools.
func poolValue(p resolvedPool) hclObject {
	labels := map[string]any{}
	for k, v := range p.Labels {
		labels[k] = v
	}
	taints := []any{}
	if p.Taint != "" {
		taints = append(taints, hclObject{
			{"effect", "NoSchedule"},
			{"key", tenant.PoolLabel},
			{"value", p.Taint},
		})
	}
	return hclObject{ // in name order, as hclwrite writes an object
		{"availability_zones", []any{p.Zone}},
		{"labels", hclMap(labels)},
		{"machine_type", p.MachineType},
		{"maximum", p.MaxSize},
		{"minimum", p.MinSize},
		{"taints", taints},
		{"volume_size", p.VolumeSize},
		{"volume_type", p.VolumeType},
	}
}

// An hclObject is an object or map value (or a body): attributes in the
// order written. Values are string, int, []any and hclObject.
type hclObject []hclAttr

type hclAttr struct {
	name  string
	value any
}

// hclMap is m as an hclObject in key order (cty's, so hclwrite's).
func hclMap[V any](m map[string]V) hclObject {
	out := make(hclObject, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, hclAttr{k, m[k]})
	}
	return out
}

// writeHCLBody writes attributes one a line, as terraform fmt does: the
// "=" of consecutive one-line attributes aligned, an attribute whose value
// spans lines ending the run (and not padded).
func writeHCLBody(b *strings.Builder, attrs hclObject, indent string) {
	for i := 0; i < len(attrs); {
		j, width := i, 0
		for ; j < len(attrs) && oneLine(attrs[j].value); j++ {
			width = max(width, columns(hclKey(attrs[j].name)))
		}
		for _, a := range attrs[i:j] {
			k := hclKey(a.name)
			b.WriteString(indent + k + strings.Repeat(" ", width-columns(k)) + " = ")
			writeHCLValue(b, a.value, indent)
			b.WriteString("\n")
		}
		if j < len(attrs) {
			b.WriteString(indent + hclKey(attrs[j].name) + " = ")
			writeHCLValue(b, attrs[j].value, indent)
			b.WriteString("\n")
			j++
		}
		i = j
	}
}

// columns is how wide s shows: its grapheme clusters, as hclwrite counts.
func columns(s string) int { return uniseg.GraphemeClusterCount(s) }

// oneLine says v is written on one line: a scalar, an empty object or
// list, or a list without objects.
func oneLine(v any) bool {
	switch v := v.(type) {
	case hclObject:
		return len(v) == 0
	case []any:
		for _, e := range v {
			if !oneLine(e) {
				return false
			}
		}
	}
	return true
}

func writeHCLValue(b *strings.Builder, v any, indent string) {
	switch v := v.(type) {
	case string:
		b.WriteString(hclString(v))
	case int:
		b.WriteString(strconv.Itoa(v))
	case []any:
		b.WriteString("[")
		for i, e := range v {
			if i > 0 {
				b.WriteString(", ")
			}
			writeHCLValue(b, e, indent)
		}
		b.WriteString("]")
	case hclObject:
		if len(v) == 0 {
			b.WriteString("{}")
			return
		}
		b.WriteString("{\n")
		writeHCLBody(b, v, indent+"  ")
		b.WriteString(indent + "}")
	default:
		panic(fmt.Sprintf("gitops: no HCL for %T", v))
	}
}

// hclKey is an object key: bare when it is an identifier, else quoted.
func hclKey(k string) string {
	for i, r := range k {
		if !(unicode.IsLetter(r) || r == '_' || i > 0 && (unicode.IsDigit(r) || r == '-')) {
			return hclString(k)
		}
	}
	if k == "" {
		return hclString(k)
	}
	return k
}

// hclString quotes s as an HCL string literal, with hclwrite's escapes:
// template introducers (${, %{) doubled, unprintable runes as \u or \U;
// in Unicode's composed form (NFC), as go-cty keeps every string.
func hclString(s string) string {
	s = norm.NFC.String(s)
	var b strings.Builder
	b.WriteByte('"')
	for i, r := range s {
		switch r {
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '$', '%':
			b.WriteRune(r)
			if strings.HasPrefix(s[i+1:], "{") {
				b.WriteRune(r)
			}
		default:
			switch {
			case unicode.IsPrint(r):
				b.WriteRune(r)
			case r < 0x10000:
				fmt.Fprintf(&b, `\u%04x`, r)
			default:
				fmt.Fprintf(&b, `\U%08x`, r)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}
