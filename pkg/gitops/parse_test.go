package gitops

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const okHead = "repoURL: https://git.example.com/p.git\n"

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		src  string
		want []string // substrings of the error
	}{
		{"unknown top-level key", okHead + "cluster: []\n",
			[]string{"bad.yaml:2:1: cluster: unknown field", `did you mean "clusters"?`}},
		{"unknown nested key", okHead + "clusters:\n  - project: a\n    nodePools:\n      - name: w\n        machinType: c1.2\n",
			[]string{"bad.yaml:6:9: clusters[0].nodePools[0].machinType: unknown field", `"machineType"`}},
		{"unknown key lists known fields", okHead + "terraform:\n  bogus: 1\n",
			[]string{"bad.yaml:3:3: terraform.bogus: unknown field (known fields: clusterName, kubernetesVersion, projectID, region, systemPool)"}},
		{"duplicate project", okHead + "clusters:\n  - project: a\n    nodePools: [{name: w1}]\n  - project: a\n    nodePools: [{name: w2}]\n",
			[]string{"bad.yaml:5:14: clusters[1].project: duplicate project \"a\" (first clusters[0].project at line 3)"}},
		{"duplicate pool across projects", okHead + "clusters:\n  - project: a\n    nodePools: [{name: w}]\n  - project: b\n    nodePools: [{name: w}]\n",
			[]string{"bad.yaml:6:24: clusters[1].nodePools[0].name: duplicate node pool \"w\" (first clusters[0].nodePools[0].name at line 4)"}},
		{"pool named like the system pool", okHead + "clusters:\n  - project: a\n    nodePools: [{name: system}]\n",
			[]string{"bad.yaml:4:24: clusters[0].nodePools[0].name: duplicate node pool \"system\""}},
		{"invalid project name", okHead + "clusters:\n  - project: Project_X\n    nodePools: [{name: w}]\n",
			[]string{"bad.yaml:3:14: clusters[0].project: invalid tenant name \"Project_X\""}},
		{"project name too long for the namespace", okHead + "clusters:\n  - project: " + strings.Repeat("a", 60) + "\n    nodePools: [{name: w}]\n",
			[]string{"bad.yaml:3:14: clusters[0].project:", "would be 69 characters"}},
		{"missing project", okHead + "clusters:\n  - nodePools: [{name: w}]\n",
			[]string{"bad.yaml:3:5: clusters[0].project: required"}},
		{"missing node pools", okHead + "clusters:\n  - project: a\n",
			[]string{"bad.yaml:3:5: clusters[0].nodePools: required"}},
		{"pool name too long for SKE", okHead + "clusters:\n  - project: a\n    nodePools: [{name: abcdefghijklmnop}]\n",
			[]string{"bad.yaml:4:24: clusters[0].nodePools[0].name: invalid name \"abcdefghijklmnop\": at most 15 characters"}},
		{"duplicate key", okHead + "clusters:\n  - project: a\n    project: b\n    nodePools: [{name: w}]\n",
			[]string{"bad.yaml:4:5: clusters[0].project: duplicate key (first at line 3)"}},
		{"wrong type", okHead + "defaults:\n  maxSize: lots\n",
			[]string{"bad.yaml:3:12: defaults.maxSize: expected an integer, got \"lots\""}},
		{"list instead of mapping", okHead + "defaults: [1]\n",
			[]string{"bad.yaml:2:11: defaults: expected a mapping, got a list"}},
		{"min over max across levels", okHead + "defaults:\n  minSize: 4\nclusters:\n  - project: a\n    nodePools:\n      - name: w\n        maxSize: 2\n",
			[]string{"bad.yaml:7:9: clusters[0].nodePools[0]: minSize 4 is greater than maxSize 2"}},
		{"bad duration", okHead + "defaults:\n  ttl: 3 days\n",
			[]string{"bad.yaml:3:8: defaults.ttl: invalid duration \"3 days\""}},
		{"bad k8s version", okHead + "clusters:\n  - project: a\n    k8sVersion: 1.34\n    nodePools: [{name: w}]\n",
			[]string{"bad.yaml:4:17: clusters[0].k8sVersion: \"1.34\" is not a Kubernetes version like v1.34.2"}},
		{"reserved label", okHead + "clusters:\n  - project: a\n    labels:\n      project: b\n    nodePools: [{name: w}]\n",
			[]string{"bad.yaml:5:16: clusters[0].labels.project: label \"project\" is set by kubectl-tenant"}},
		{"bad label value", okHead + "defaults:\n  labels:\n    team: \"a b\"\n",
			[]string{"bad.yaml:4:11: defaults.labels.team: invalid label value \"a b\""}},
		{"bad CIDR", okHead + "defaults:\n  loadBalancer:\n    sourceRanges: [10.0.0.0/33]\n",
			[]string{"bad.yaml:4:20: defaults.loadBalancer.sourceRanges[0]: \"10.0.0.0/33\" is not a CIDR"}},
		{"bad gc schedule", okHead + "gc:\n  schedule: hourly\n",
			[]string{"bad.yaml:3:13: gc.schedule: \"hourly\" is not a cron schedule"}},
		{"bad gc namespace", okHead + "gc:\n  namespace: GC\n",
			[]string{"bad.yaml:3:14: gc.namespace:"}},
		{"missing repoURL", "clusters: []\n",
			[]string{"bad.yaml:1:1: repoURL: required"}},
		{"empty file", "",
			[]string{"bad.yaml: repoURL: required"}},
		{"bad repoURL", "repoURL: not a url\n",
			[]string{"bad.yaml:1:10: repoURL: \"not a url\" is not a Git URL"}},
		{"alias", okHead + "defaults: &d\n  maxSize: 2\nterraform:\n  systemPool: *d\n",
			[]string{"bad.yaml:5:15: YAML aliases are not supported"}},
		{"two documents", okHead + "---\nclusters: []\n",
			[]string{"bad.yaml:2:1: only one YAML document is allowed"}}, // the second "---"
		{"syntax error", okHead + "clusters:\n  - project: a\n   nodePools: x\n",
			// The YAML parser names the line of the enclosing block.
			[]string{"bad.yaml:2:1: invalid YAML: did not find expected '-' indicator"}},
		{"NaN helm value", okHead + "defaults:\n  argocdValues:\n    x: .nan\n",
			[]string{"bad.yaml:4:8: defaults.argocdValues.x: .nan is not a valid Helm value"}},
		{"SKE cluster name too long", okHead + "terraform:\n  clusterName: much-too-long\n",
			[]string{"bad.yaml:3:16: terraform.clusterName: invalid name \"much-too-long\": at most 11 characters"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("bad.yaml", []byte(tc.src))
			if err == nil {
				t.Fatalf("no error for:\n%s", tc.src)
			}
			var list ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("error is %T, want ErrorList: %v", err, err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error\n  %v\nlacks\n  %s", err, w)
				}
			}
		})
	}
}

func TestParseReportsEveryError(t *testing.T) {
	if _, err := Parse("c.yaml", []byte(okHead+"warmPools:\n  project-x: {size: 99}\nclusters:\n  - project: project-x\n")); err == nil || !strings.Contains(err.Error(), "warmPools.project-x") {
		t.Errorf("warm pool of 99: %v", err)
	}
	_, err := Parse("c.yaml", []byte(okHead+"clusters:\n  - project: A\n    nodePools: [{name: w, bogus: 1}]\n  - project: b\n"))
	var list ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("got %v", err)
	}
	// Unknown keys stop the parse before semantic checks; fix them first.
	if len(list) != 1 || !strings.Contains(list[0].Error(), "c.yaml:4:") {
		t.Fatalf("want the one unknown field, got %d errors:\n%v", len(list), err)
	}
	_, err = Parse("c.yaml", []byte(okHead+"clusters:\n  - project: A\n    nodePools: [{name: w}]\n  - project: b\n"))
	if !errors.As(err, &list) || len(list) != 2 {
		t.Fatalf("want 2 errors (bad name, missing pools), got:\n%v", err)
	}
	if list[0].Line != 3 || list[1].Line != 5 {
		t.Errorf("errors not in file order: %v", err)
	}
}

func TestParseAcceptsNullsAsUnset(t *testing.T) {
	cfg, err := Parse("c.yaml", []byte(okHead+"defaults:\n  machineType:\n  labels: ~\nclusters:\n  - project: a\n    nodePools:\n      - name: w\n"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Defaults.MachineType != "" || cfg.Defaults.Labels != nil {
		t.Errorf("nulls must leave fields unset: %+v", cfg.Defaults)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "config.yaml"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("got %v", err)
	}
}

func TestValidateProgrammaticConfig(t *testing.T) {
	c := &Config{RepoURL: "https://x/y.git", Clusters: []Cluster{{Project: "Bad"}}}
	if _, err := Render(c); err == nil || !strings.Contains(err.Error(), "config: clusters[0].project: invalid tenant name") {
		t.Fatalf("got %v", err)
	}
}

// FuzzParse: Parse never panics, reports errors against the file, and what
// it accepts renders, deterministically.
func FuzzParse(f *testing.F) {
	for _, name := range goldenConfigs {
		b, err := os.ReadFile(filepath.Join("testdata", name+".yaml"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		"", "{}", "[]", "repoURL: x@y:z\nclusters: [{project: a, nodePools: [{name: b}]}]\n",
		okHead + "defaults: {argocdValues: {a: [1, {b: c}], d: 0x10, e: 2001-01-01}}\n",
		okHead + "a: &x [*x]\n", okHead + "clusters: [{project: a, nodePools: [{name: b, minSize: 1e3}]}]\n",
		okHead + "? [a]\n: b\n", okHead + "<<: {a: 1}\n", okHead + "defaults: {ttl: -1h}\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse("fuzz.yaml", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.yaml") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		a, err := Render(cfg)
		if err != nil {
			t.Fatalf("accepted config does not render: %v\n%s", err, data)
		}
		b, err := Render(cfg)
		if err != nil {
			t.Fatal(err)
		}
		for p := range a {
			if string(a[p]) != string(b[p]) {
				t.Fatalf("%s: render is not deterministic", p)
			}
		}
	})
}

func TestLoadRefusesHugeConfig(t *testing.T) {
	p := filepath.Join(t.TempDir(), "config.yaml")
	big := okHead + "# " + strings.Repeat("x", MaxConfigSize) + "\n"
	if err := os.WriteFile(p, []byte(big), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load(p)
	if err == nil || !strings.Contains(err.Error(), "larger than 1024 KiB") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("Load of a %d-byte config: %v; want a one-line size error", len(big), err)
	}
	if _, err := Parse("big.yaml", []byte(big)); err == nil || !strings.Contains(err.Error(), "big.yaml: config is larger") {
		t.Fatalf("Parse: %v", err)
	}
}

func TestInClusterIsNoProjectName(t *testing.T) {
	_, err := Parse("bad.yaml", []byte(okHead+"clusters:\n  - project: in-cluster\n    nodePools: [{name: w}]\n"))
	if err == nil || !strings.Contains(err.Error(), "bad.yaml:3:14: clusters[0].project: \"in-cluster\" is Argo CD's name for the host cluster") {
		t.Fatalf("got %v", err)
	}
}

// TestWarmPoolsParseIntoTheOneConfig: config.yaml's warmPools keep their
// shape ({size, state} by pool) and decode into warmpool.Config.
func TestWarmPoolsParseIntoTheOneConfig(t *testing.T) {
	c, err := Parse("c.yaml", []byte(okHead+"warmPools:\n  project-x: {size: 2, state: sleeping}\nclusters:\n  - project: project-x\n    nodePools: [{name: w}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if w := c.WarmPools["project-x"]; w.Size != 2 || !w.Sleeping() {
		t.Errorf("warmPools: %+v", c.WarmPools)
	}
	if _, err := Parse("c.yaml", []byte(okHead+"warmPools:\n  project-x: {size: 2, state: asleep}\nclusters:\n  - project: project-x\n    nodePools: [{name: w}]\n")); err == nil || !strings.Contains(err.Error(), "not running or sleeping") {
		t.Errorf("state asleep: %v", err)
	}
}
