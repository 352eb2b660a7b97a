package vclustervalues

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	vclusterconfig "github.com/loft-sh/vcluster/config"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// full are values with every field of Values set (TestEveryFieldIsSet
// holds that), so the checks below cover the whole struct.
func full(t *testing.T) map[string]any {
	t.Helper()
	m, err := For("demo", "project-x", "v1.34.2", true)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestEveryFieldIsSet(t *testing.T) {
	var walk func(path string, v reflect.Value)
	walk = func(path string, v reflect.Value) {
		if v.Kind() != reflect.Struct {
			if v.IsZero() {
				t.Errorf("%s is not set by Tenant(..., isolation), so the schema tests do not cover it", path)
			}
			return
		}
		for i := range v.NumField() {
			walk(path+"."+v.Type().Field(i).Name, v.Field(i))
		}
	}
	walk("Values", reflect.ValueOf(Tenant("demo", "project-x", "v1.34.2", true)))
}

// vclusterModule is the directory of the vcluster Go module, which ships
// the chart under chart/ (the version go.mod requires).
func vclusterModule(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/loft-sh/vcluster").Output()
	dir := strings.TrimSpace(string(out))
	if err != nil || dir == "" {
		t.Fatalf("locating the vcluster module (go mod download): %v", err)
	}
	return dir
}

// chartSchema compiles the chart's values.schema.json, which sets
// additionalProperties: false on every object, so an unknown or renamed
// field is an error.
func chartSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	path := filepath.Join(vclusterModule(t), "chart", "values.schema.json")
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("values.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("values.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// asJSON gives v the types jsonschema validates (numbers as json.Number).
func asJSON(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	out, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestValuesMatchChartSchema(t *testing.T) {
	s := chartSchema(t)
	if err := s.Validate(asJSON(t, full(t))); err != nil {
		t.Fatalf("the tool's values break the chart's schema: %#v", err)
	}
	// The schema is strict: a misspelt field is caught.
	bad := Merge(full(t), map[string]any{"controlPlane": map[string]any{"proxy": map[string]any{"extraSAN": []any{"x"}}}})
	if err := s.Validate(asJSON(t, bad)); err == nil {
		t.Fatal("the chart's schema accepted controlPlane.proxy.extraSAN")
	}
}

// TestValuesAreVClusterConfig decodes the values into vCluster's own
// config types, refusing unknown fields, and checks that they read back
// unchanged: same names, same types. The vcluster/config package is linked
// into this test only, not into the binary (see TestImportRules).
func TestValuesAreVClusterConfig(t *testing.T) {
	want := full(t)
	b, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	var c vclusterconfig.Config
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		t.Fatalf("vcluster config rejects the tool's values: %v", err)
	}
	back, err := json.Marshal(&c)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]any{}
	if err := json.Unmarshal(back, &got); err != nil {
		t.Fatal(err)
	}
	prune(got)
	if !reflect.DeepEqual(got, want) {
		g, _ := json.MarshalIndent(got, "", " ")
		w, _ := json.MarshalIndent(want, "", " ")
		t.Fatalf("through vcluster config:\n%s\nwant:\n%s", g, w)
	}
}

// prune drops the empty maps vcluster's config marshals for unset structs.
func prune(m map[string]any) {
	for k, v := range m {
		if sub, ok := v.(map[string]any); ok {
			prune(sub)
			if len(sub) == 0 {
				delete(m, k)
			}
		}
	}
}

// vclusterModuleAt downloads (or finds in the module cache) the vcluster
// module at version v, for its chart's schema.
func vclusterModuleAt(t *testing.T, v string) string {
	t.Helper()
	out, err := exec.Command("go", "mod", "download", "-json", "github.com/loft-sh/vcluster@"+v).Output()
	var info struct{ Dir, Error string }
	_ = json.Unmarshal(out, &info)
	if err != nil || info.Dir == "" {
		t.Fatalf("go mod download github.com/loft-sh/vcluster@%s: %v %s", v, err, info.Error)
	}
	return info.Dir
}

// OldestChartVersion is where the tool's values start to fit the chart's
// own schema: they break 0.23's (no controlPlane.distro.k8s.image there) and
// fit OldestChartVersion's without the probe timings, which
// ProbeTimingsChartVersion's takes and OldestChartVersion's refuses. The
// plugin refuses charts older than OldestChartVersion.
func TestOldestChartIsWhereTheValuesStartToFit(t *testing.T) {
	for _, c := range []struct {
		version string
		fits    bool
		fitted  bool // WithoutProbeTimings applied, as for a chart that refuses them
	}{
		{"v0.23.0", false, true},
		{"v" + OldestChartVersion, false, false},
		{"v" + OldestChartVersion, true, true},
		{"v" + ProbeTimingsChartVersion, true, false},
	} {
		if got := TakesProbeTimings(c.version); got != (c.version == "v"+ProbeTimingsChartVersion) {
			t.Errorf("TakesProbeTimings(%s) = %v", c.version, got)
		}
		f, err := os.Open(filepath.Join(vclusterModuleAt(t, c.version), "chart", "values.schema.json"))
		if err != nil {
			t.Fatal(err)
		}
		doc, err := jsonschema.UnmarshalJSON(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		comp := jsonschema.NewCompiler()
		if err := comp.AddResource("values.schema.json", doc); err != nil {
			t.Fatal(err)
		}
		s, err := comp.Compile("values.schema.json")
		if err != nil {
			t.Fatal(err)
		}
		vals := full(t)
		if c.fitted {
			vals = WithoutProbeTimings(vals)
		}
		err = s.Validate(asJSON(t, vals))
		if (err == nil) != c.fits {
			t.Errorf("chart %s (probe timings dropped: %v): the tool's values fit its schema = %v (%v), want %v", c.version, c.fitted, err == nil, err, c.fits)
		}
	}
}
