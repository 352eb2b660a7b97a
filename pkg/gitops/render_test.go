package gitops

import (
	"bytes"
	"flag"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/hostconfig"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/warmpool"
)

var update = flag.Bool("update", false, "rewrite testdata/golden from the current output")

// goldenConfigs are the representative configs under testdata.
var goldenConfigs = []string{"minimal", "full", "empty"}

func mustLoad(t *testing.T, name string) *Config {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name+".yaml"))
	if err != nil {
		t.Fatal(err)
	}
	// Errors name the file as given; keep golden output independent of it.
	cfg, err := Parse(name+".yaml", b)
	if err != nil {
		t.Fatal(err)
	}
	cfg.ToolVersion = "1.2.3" // a release build: the gc image is pinned to it
	return cfg
}

func mustRender(t *testing.T, cfg *Config) Files {
	t.Helper()
	files, err := Render(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestGolden compares every rendered file with testdata/golden/<config>/.
// Run `go test ./pkg/gitops -run TestGolden -update` to regenerate.
func TestGolden(t *testing.T) {
	for _, name := range goldenConfigs {
		t.Run(name, func(t *testing.T) {
			files := mustRender(t, mustLoad(t, name))
			dir := filepath.Join("testdata", "golden", name)
			if *update {
				if err := os.RemoveAll(dir); err != nil {
					t.Fatal(err)
				}
				if _, err := Write(dir, files, WriteOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			golden := readTree(t, dir)
			for _, p := range files.Paths() {
				want, ok := golden[p]
				if !ok {
					t.Errorf("%s: rendered but not in %s (run with -update)", p, dir)
					continue
				}
				if !bytes.Equal(files[p], want) {
					t.Errorf("%s differs from golden (run with -update):\n%s", p, unifiedDiff(p, want, files[p], Written))
				}
			}
			for p := range golden {
				if _, ok := files[p]; !ok {
					t.Errorf("%s: in %s but no longer rendered", p, dir)
				}
			}
		})
	}
}

func readTree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = b
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestRenderIsDeterministic(t *testing.T) {
	for _, name := range goldenConfigs {
		a := mustRender(t, mustLoad(t, name))
		for i := 0; i < 5; i++ {
			b := mustRender(t, mustLoad(t, name))
			if len(a) != len(b) {
				t.Fatalf("%s: %d files, then %d", name, len(a), len(b))
			}
			for p := range a {
				if !bytes.Equal(a[p], b[p]) {
					t.Fatalf("%s: %s differs between two renders", name, p)
				}
			}
		}
	}
}

// TestRenderedFiles checks the promises of the platform flow on the output,
// independent of the golden bytes.
func TestRenderedFiles(t *testing.T) {
	files := mustRender(t, mustLoad(t, "full"))
	for p, b := range files {
		if !bytes.HasPrefix(b, []byte(Header)) {
			t.Errorf("%s does not start with the generated-file header", p)
		}
	}
	wantPaths := []string{
		"applications/app-host-defaults.yaml",
		"applications/app-tenant-gc.yaml",
		"applications/app-vcluster-payments.yaml",
		"applications/app-vcluster-search.yaml",
		"applications/applicationset-vargocd.yaml",
		"system/host-defaults/configmap.yaml",
		"system/tenant-gc/admission.yaml", "system/tenant-gc/cronjob.yaml", "system/tenant-gc/namespace.yaml", "system/tenant-gc/rbac.yaml",
		"terraform/outputs.tf", "terraform/providers.tf", "terraform/ske.tf", "terraform/terraform.tfvars", "terraform/variables.tf",
		"vcluster/payments/appproject.yaml",
		"vcluster/payments/helm/values.yaml",
		"vcluster/payments/namespace.yaml",
		"vcluster/payments/rbac.yaml",
		"vcluster/payments/system/argocd/values.yaml",
		"vcluster/payments/vcluster-loadbalancer.yaml",
		"vcluster/search/appproject.yaml",
		"vcluster/search/helm/values.yaml",
		"vcluster/search/namespace.yaml",
		"vcluster/search/rbac.yaml",
		"vcluster/search/system/argocd/values.yaml",
	}
	if got := files.Paths(); strings.Join(got, "\n") != strings.Join(wantPaths, "\n") {
		t.Fatalf("paths:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantPaths, "\n"))
	}

	var app map[string]any
	if err := yaml.Unmarshal(files["applications/app-vcluster-payments.yaml"], &app); err != nil {
		t.Fatal(err)
	}
	spec := app["spec"].(map[string]any)
	dest := spec["destination"].(map[string]any)
	if dest["server"] != "https://kubernetes.default.svc" || dest["namespace"] != "vcluster-payments" {
		t.Errorf("destination %v", dest)
	}
	sources := spec["sources"].([]any)
	var ref, chart bool
	for _, s := range sources {
		m := s.(map[string]any)
		if m["ref"] == "valuesRepo" {
			ref = true
		}
		if h, ok := m["helm"].(map[string]any); ok {
			chart = h["releaseName"] == "vcluster" && m["chart"] == "vcluster"
			vf := h["valueFiles"].([]any)
			if vf[len(vf)-1] != "$valuesRepo/vcluster/payments/helm/values.yaml" {
				t.Errorf("valueFiles %v", vf)
			}
		}
	}
	if !ref || !chart {
		t.Errorf("sources need ref valuesRepo and the vcluster chart with releaseName vcluster: %v", sources)
	}
	auto := spec["syncPolicy"].(map[string]any)["automated"].(map[string]any)
	if auto["prune"] != true || auto["selfHeal"] != true {
		t.Errorf("automated %v", auto)
	}

	// The values are the ones create installs, resolved per project.
	var vals map[string]any
	if err := yaml.Unmarshal(files["vcluster/payments/helm/values.yaml"], &vals); err != nil {
		t.Fatal(err)
	}
	sched := vals["controlPlane"].(map[string]any)["statefulSet"].(map[string]any)["scheduling"].(map[string]any)
	if sched["nodeSelector"].(map[string]any)["project"] != "payments" {
		t.Errorf("nodeSelector %v", sched["nodeSelector"])
	}
	if tag := vals["controlPlane"].(map[string]any)["distro"].(map[string]any)["k8s"].(map[string]any)["image"].(map[string]any)["tag"]; tag != "v1.34.2" {
		t.Errorf("k8s version: cluster k8sVersion must win over defaults, got %v", tag)
	}

	var argo map[string]any
	if err := yaml.Unmarshal(files["vcluster/payments/system/argocd/values.yaml"], &argo); err != nil {
		t.Fatal(err)
	}
	if argo["server"].(map[string]any)["replicas"] != float64(2) || argo["configs"] == nil || argo["dex"] == nil {
		t.Errorf("argocd values must deep-merge cluster over defaults: %v", argo)
	}

	var ns map[string]any
	if err := yaml.Unmarshal(files["vcluster/payments/namespace.yaml"], &ns); err != nil {
		t.Fatal(err)
	}
	labels := ns["metadata"].(map[string]any)["labels"].(map[string]any)
	for k, v := range map[string]any{
		"tenant.kubectl-tenant.io/name": "payments", "tenant.kubectl-tenant.io/pool": "payments",
		"app.kubernetes.io/managed-by": "kubectl-tenant", "team": "payments", "cost-center": "platform",
	} {
		if labels[k] != v {
			t.Errorf("namespace label %s=%v, want %v", k, labels[k], v)
		}
	}

	tfvars := strings.Join(strings.Fields(string(files["terraform/terraform.tfvars"])), " ")
	for _, want := range []string{`payments-gpu = {`, `project = "payments"`, `effect = "NoSchedule" key = "project" value = "payments"`, `sys = {`} {
		if !strings.Contains(tfvars, want) {
			t.Errorf("terraform.tfvars lacks %q:\n%s", want, tfvars)
		}
	}
	if strings.Contains(string(files["vcluster/search/namespace.yaml"]), "v1.34.2") {
		t.Error("search must keep the defaults' k8s version")
	}
}

// TestHostDefaults: render writes the host defaults ConfigMap from
// config.yaml, and kubectl-tenant reads it back without complaint.
func TestHostDefaults(t *testing.T) {
	cfg := mustLoad(t, "full")
	cfg.WarmPools = map[string]warmpool.Config{"project-x": {Size: 2, State: warmpool.StateSleeping}}
	files := mustRender(t, cfg)
	b := files[path.Join(HostDefaultsDir, "configmap.yaml")]
	var cm struct {
		Kind     string
		Metadata struct{ Name, Namespace string }
		Data     map[string]string
	}
	for _, doc := range strings.Split(string(b), "\n---\n") {
		if strings.Contains(doc, "kind: ConfigMap") {
			if err := yaml.Unmarshal([]byte(doc), &cm); err != nil {
				t.Fatal(err)
			}
		}
	}
	if cm.Kind != "ConfigMap" || cm.Metadata.Namespace != hostconfig.Namespace || cm.Metadata.Name != hostconfig.Name {
		t.Fatalf("first object is %s %s/%s", cm.Kind, cm.Metadata.Namespace, cm.Metadata.Name)
	}
	d, err := hostconfig.Parse(cm.Data)
	if err != nil {
		t.Fatal(err)
	}
	if d.Data[hostconfig.KeyChartRepo] == "" || d.Data[hostconfig.KeyChartVersion] == "" {
		t.Errorf("host defaults lack the chart: %v", d.Data)
	}
	if w := d.WarmPools["project-x"]; w.Size != 2 || !w.Sleeping() {
		t.Errorf("host defaults' warm pools: %v", d.WarmPools)
	}
	if _, ok := files[HostDefaultsApplicationPath]; !ok {
		t.Errorf("no Application syncs %s", HostDefaultsDir)
	}
}

// TestGCCronJob: the gc CronJob is rendered by default with the
// configured image, and not at all when disabled.
func TestGCCronJob(t *testing.T) {
	files := mustRender(t, mustLoad(t, "full"))
	cj := string(files["system/tenant-gc/cronjob.yaml"])
	for _, want := range []string{"image: registry.example.com/platform/kubectl-tenant:v1.2.0", "schedule: 0 * * * *", "namespace: platform-gc", "- gc", "- --pools=false"} {
		if !strings.Contains(cj, want) {
			t.Errorf("cronjob.yaml lacks %q:\n%s", want, cj)
		}
	}
	cfg := mustLoad(t, "minimal")
	off := false
	cfg.GC.Enabled = &off
	for p := range mustRender(t, cfg) {
		if strings.HasPrefix(p, GCDir) || strings.Contains(p, "tenant-gc") {
			t.Errorf("gc disabled but %s rendered", p)
		}
	}
}

// TestGCRBACAndImage: the gc may delete GitOps tenants (their Application)
// through a Role in Argo CD's namespace only, and its default image is the
// rendering tool's version, never latest (M7, M8).
func TestGCRBACAndImage(t *testing.T) {
	files := mustRender(t, mustLoad(t, "minimal"))
	var docs []map[string]any
	for _, d := range strings.Split(string(files["system/tenant-gc/rbac.yaml"]), "\n---\n") {
		var m map[string]any
		if err := yaml.Unmarshal([]byte(d), &m); err != nil {
			t.Fatal(err)
		}
		docs = append(docs, m)
	}
	kinds := map[string]map[string]any{}
	for _, d := range docs {
		kinds[d["kind"].(string)] = d
	}
	role, cr := kinds["Role"], kinds["ClusterRole"]
	if role == nil || kinds["RoleBinding"] == nil || role["metadata"].(map[string]any)["namespace"] != "argocd" {
		t.Fatalf("want a Role and RoleBinding in namespace argocd, got %v", kinds)
	}
	rules := func(o map[string]any) string { b, _ := yaml.Marshal(o["rules"]); return string(b) }
	if r := rules(role); !strings.Contains(r, "applications") || !strings.Contains(r, "- patch") {
		t.Errorf("Role rules:\n%s", r)
	}
	// The only things gc may create are the tenant's Lease (held while
	// deleting) and a port-forward into a vCluster (token renewal); it patches only namespaces and control-plane workloads
	// (idle sleep, issue #27).
	for _, rule := range cr["rules"].([]any) {
		r, _ := yaml.Marshal(rule)
		lease := strings.Contains(string(r), "coordination.k8s.io") && strings.Contains(string(r), "- leases") ||
			strings.TrimSpace(string(r)) == "apiGroups:\n- \"\"\nresources:\n- pods/portforward\nverbs:\n- create" // token renewal reaches the vCluster
		sleeps := strings.Contains(string(r), "- namespaces") || strings.Contains(string(r), "- statefulsets")
		if strings.Contains(string(r), "argoproj.io") || (!sleeps && strings.Contains(string(r), "patch")) || (!lease && strings.Contains(string(r), "create")) {
			t.Errorf("ClusterRole must not reach Argo CD's resources, create anything but its Lease or patch anything but namespaces and workloads:\n%s", r)
		}
	}
	cj := string(files["system/tenant-gc/cronjob.yaml"])
	if !strings.Contains(cj, "image: ghcr.io/kubectl-tenant/kubectl-tenant:v1.2.3") || !strings.Contains(cj, "value: argocd") {
		t.Errorf("cronjob:\n%s", cj)
	}
	for v, want := range map[string]string{"1.2.3": ":v1.2.3", "v0.4.0": ":v0.4.0", "dev": ":dev", "": ":dev"} {
		if got := GCImage(v); got != DefaultGCImageRepo+want {
			t.Errorf("GCImage(%q) = %s", v, got)
		}
	}
	for img, ok := range map[string]bool{"r.example.com:5000/k:v1": true, "k@sha256:abc": true, "k:latest": false, "r.example.com:5000/k": false} {
		_, err := Parse("c.yaml", []byte(okHead+"gc:\n  image: "+img+"\n"))
		if (err == nil) != ok {
			t.Errorf("gc.image %s: %v", img, err)
		}
	}
}

// TestTenantAdminHasNoDefaultGroup: without groups nobody is bound to the
// tenant-admin Role (it reads the vCluster's admin Secret); groups of every
// user are refused (L15).
func TestTenantAdminHasNoDefaultGroup(t *testing.T) {
	files := mustRender(t, mustLoad(t, "minimal"))
	rb := string(files["vcluster/project-x/rbac.yaml"])
	if strings.Contains(rb, "kind: RoleBinding") || strings.Contains(rb, "kind: Group") {
		t.Errorf("no groups: want no RoleBinding, got\n%s", rb)
	}
	files = mustRender(t, mustLoad(t, "full"))
	if rb := string(files["vcluster/payments/rbac.yaml"]); !strings.Contains(rb, "name: payments-devs") || !strings.Contains(rb, "kind: RoleBinding") {
		t.Errorf("named groups are bound:\n%s", rb)
	}
	_, err := Parse("c.yaml", []byte(okHead+"defaults:\n  groups: [system:authenticated]\n"))
	if err == nil || !strings.Contains(err.Error(), "defaults.groups[0]") {
		t.Errorf("system:authenticated: %v", err)
	}
}

// TestProbeTimingsFollowTheChart: the tenant values carry the tool's
// startup-probe timings for the default chart, and none for a chart older
// than 0.26, whose schema refuses them.
func TestProbeTimingsFollowTheChart(t *testing.T) {
	for version, want := range map[string]bool{"": true, "0.34.0": true, "0.25.0": false} {
		cfg := mustLoad(t, "minimal")
		cfg.VClusterChart.Version = version
		files := mustRender(t, cfg)
		vals := string(files["vcluster/project-x/helm/values.yaml"])
		if vals == "" {
			t.Fatalf("chart %q: no vcluster/project-x/helm/values.yaml rendered", version)
		}
		if got := strings.Contains(vals, "periodSeconds: 1"); got != want {
			t.Errorf("chart %q: startup probe timings in the values = %v, want %v:\n%s", version, got, want, vals)
		}
	}
}
