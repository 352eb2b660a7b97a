package testenv

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"helm.sh/helm/v3/pkg/chart"
	"sigs.k8s.io/yaml"
)

// The Argo CD install the playground serves from its Helm repository, for
// `register --bootstrap` to install into tenants: chart ArgoCDChartName
// ArgoCDChartVersion, assembled from the argo-cd module's own
// manifests/core-install.yaml (application-controller, repo-server, redis,
// applicationset-controller; no UI server), whose images the real nodes have
// (ArgoCDImage, ArgoCDRedisImage).
const (
	ArgoCDChartName = "argo-cd"
	// ArgoCDImage is the image of every Argo CD container of core-install.yaml.
	ArgoCDImage = "quay.io/argoproj/argocd:" + ArgoCDVersion
	// ArgoCDRedisImage is core-install.yaml's redis.
	ArgoCDRedisImage = "public.ecr.aws/docker/library/redis:8.2.2-alpine"
)

// ArgoCDChartVersion is ArgoCDVersion without its "v".
var ArgoCDChartVersion = strings.TrimPrefix(ArgoCDVersion, "v")

// argoCDChartValues are the chart's defaults: the manifests' own settings.
// The host defaults' bootstrapSource sets what the playground needs.
const argoCDChartValues = `# Chart argo-cd assembled by the kubectl-tenant playground from Argo CD's
# manifests/core-install.yaml.
# imagePullPolicy of every container (the manifests say Always for some).
imagePullPolicy: Always
# resources of every container (the manifests set none).
resources: {}
# env added to every container (e.g. ARGOCD_GPG_ENABLED=false where the
# image has no gpg).
env: []
# networkPolicies: the manifests' NetworkPolicies.
networkPolicies: true
`

var (
	pullPolicyLine = regexp.MustCompile(`(?m)^(\s*)imagePullPolicy: __PULL__$`)
	resourcesLine  = regexp.MustCompile(`(?m)^(\s*)resources: __RESOURCES__$`)
	envLine        = regexp.MustCompile(`(?m)^(\s*)- __ENV__$`)
)

// argoCDChart assembles chart argo-cd from core-install.yaml in the argo-cd
// module at argocdDir: its CRDs go to crds/, everything else to one
// template in which every container's imagePullPolicy, resources and env
// come from the values.
func argoCDChart(argocdDir string) (*chart.Chart, error) {
	raw, err := os.ReadFile(filepath.Join(argocdDir, "manifests", "core-install.yaml"))
	if err != nil {
		return nil, err
	}
	ch := &chart.Chart{
		Metadata: &chart.Metadata{APIVersion: chart.APIVersionV2, Name: ArgoCDChartName, Version: ArgoCDChartVersion,
			AppVersion: ArgoCDVersion, Type: "application",
			Description: "Argo CD " + ArgoCDVersion + " (manifests/core-install.yaml), assembled by the kubectl-tenant playground"},
	}
	if err := yaml.Unmarshal([]byte(argoCDChartValues), &ch.Values); err != nil {
		return nil, err
	}
	ch.Raw = append(ch.Raw, &chart.File{Name: "values.yaml", Data: []byte(argoCDChartValues)})
	var tmpl bytes.Buffer
	for _, doc := range strings.Split(string(raw), "\n---\n") {
		var obj map[string]any
		if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
			return nil, fmt.Errorf("core-install.yaml: %w", err)
		}
		if obj == nil {
			continue
		}
		kind, _ := obj["kind"].(string)
		name, _ := obj["metadata"].(map[string]any)["name"].(string)
		if kind == "CustomResourceDefinition" {
			ch.Files = append(ch.Files, &chart.File{Name: "crds/" + name + ".yaml", Data: []byte(strings.TrimSpace(doc) + "\n")})
			continue
		}
		if kind == "Deployment" || kind == "StatefulSet" {
			pod := obj["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)
			for _, key := range []string{"initContainers", "containers"} {
				cs, _ := pod[key].([]any)
				for _, c := range cs {
					c := c.(map[string]any)
					c["imagePullPolicy"] = "__PULL__"
					c["resources"] = "__RESOURCES__"
					env, _ := c["env"].([]any)
					c["env"] = append(env, "__ENV__")
				}
			}
		}
		b, err := yaml.Marshal(obj)
		if err != nil {
			return nil, err
		}
		s := string(b)
		s = pullPolicyLine.ReplaceAllString(s, `${1}imagePullPolicy: {{ .Values.imagePullPolicy }}`)
		s = resourcesLine.ReplaceAllString(s, `${1}resources: {{ toJson .Values.resources }}`)
		s = envLine.ReplaceAllString(s, "${1}{{- range .Values.env }}\n${1}- {{ toJson . }}\n${1}{{- end }}")
		if kind == "NetworkPolicy" {
			s = "{{- if .Values.networkPolicies }}\n" + s + "{{- end }}\n"
		}
		tmpl.WriteString("---\n" + s)
	}
	ch.Templates = []*chart.File{{Name: "templates/core-install.yaml", Data: tmpl.Bytes()}}
	return ch, nil
}
