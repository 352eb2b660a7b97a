package gitops

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeAll(t *testing.T, dir string, files Files, opts WriteOptions) (*Result, string) {
	t.Helper()
	var out bytes.Buffer
	opts.Out = &out
	res, err := Write(dir, files, opts)
	if err != nil {
		t.Fatal(err)
	}
	return res, out.String()
}

func TestWriteLifecycle(t *testing.T) {
	dir := t.TempDir()
	cfg := mustLoad(t, "minimal")
	files := mustRender(t, cfg)

	// First write: every file written, one line each, in path order.
	_, out := writeAll(t, dir, files, WriteOptions{})
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != len(files) {
		t.Fatalf("%d lines for %d files:\n%s", len(lines), len(files), out)
	}
	for i, p := range files.Paths() {
		if lines[i] != "written   "+p {
			t.Errorf("line %d: %q, want written %s", i, lines[i], p)
		}
	}

	// Files that are not ours survive everything below.
	userFiles := map[string]string{
		"vcluster/project-z/extra.yaml":      "kind: ConfigMap\n",
		"terraform/backend.tf":               "terraform {}\n",
		"terraform/.terraform/x.tf":          Header,
		"README.md":                          "# platform\n",
		"vcluster/project-z/helm/notes.yaml": "notes: true\n",
	}
	for p, s := range userFiles {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	before := mtimes(t, dir)

	// Second write: nothing changes, not even modification times.
	res, out := writeAll(t, dir, files, WriteOptions{})
	if res.OutOfDate() != 0 || strings.Count(out, "unchanged ") != len(files) {
		t.Fatalf("second write changed something:\n%s", out)
	}
	if after := mtimes(t, dir); !equalMaps(before, after) {
		t.Error("an unchanged write touched files")
	}

	// Check on an up-to-date tree passes and prints nothing.
	res, out = writeAll(t, dir, files, WriteOptions{Check: true})
	if res.OutOfDate() != 0 || out != "" || res.Diff != "" {
		t.Fatalf("check of an up-to-date tree: %d out of date, %q", res.OutOfDate(), out)
	}

	// Remove project-z: its generated files go, ours only.
	cfg.Clusters = cfg.Clusters[:1]
	files2 := mustRender(t, cfg)

	// Checking first writes nothing and returns the diff.
	var buf bytes.Buffer
	res, err := Write(dir, files2, WriteOptions{Check: true, Out: &buf})
	if !errors.Is(err, ErrOutOfDate) {
		t.Fatalf("check: %v", err)
	}
	if buf.Len() != 0 {
		t.Errorf("check printed %q", buf.String())
	}
	for _, want := range []string{
		"--- a/applications/app-vcluster-project-z.yaml\n+++ /dev/null\n",
		"-  name: vcluster-project-z\n",
		"--- a/terraform/terraform.tfvars\n+++ b/terraform/terraform.tfvars\n",
		"-  workload-2 = {\n",
	} {
		if !strings.Contains(res.Diff, want) {
			t.Errorf("diff lacks %q:\n%s", want, res.Diff)
		}
	}
	if after := mtimes(t, dir); !equalMaps(before, after) {
		t.Error("check modified the tree")
	}

	_, out = writeAll(t, dir, files2, WriteOptions{})
	for _, want := range []string{
		"deleted   applications/app-vcluster-project-z.yaml",
		"deleted   vcluster/project-z/namespace.yaml",
		"deleted   vcluster/project-z/system/argocd/values.yaml",
		"written   terraform/terraform.tfvars",
		"unchanged applications/app-vcluster-project-x.yaml",
	} {
		if !strings.Contains(out, want+"\n") {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	for p := range userFiles {
		if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(p))); err != nil {
			t.Errorf("user file %s: %v", p, err)
		}
	}
	// Emptied directories are removed; ones holding user files stay.
	if _, err := os.Stat(filepath.Join(dir, "vcluster/project-z/system")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("vcluster/project-z/system should be gone: %v", err)
	}
	got := readTree(t, dir)
	for p, b := range files2 {
		if !bytes.Equal(got[p], b) {
			t.Errorf("%s not as rendered", p)
		}
	}

	// Sections limit what is owned: with --only vcluster, removed projects'
	// Applications are not deleted.
	cfg.Clusters = nil
	files3 := mustRender(t, cfg).Select(SectionVCluster)
	_, out = writeAll(t, dir, files3, WriteOptions{Sections: []string{SectionVCluster}})
	if strings.Contains(out, "applications/") || !strings.Contains(out, "deleted   vcluster/project-x/namespace.yaml") {
		t.Errorf("--only vcluster output:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(dir, "applications/app-vcluster-project-x.yaml")); err != nil {
		t.Error("a section not selected was touched")
	}
}

func TestWriteRefusesForeignFiles(t *testing.T) {
	dir := t.TempDir()
	files := mustRender(t, mustLoad(t, "minimal"))
	foreign := filepath.Join(dir, "vcluster", "project-x", "namespace.yaml")
	if err := os.MkdirAll(filepath.Dir(foreign), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(foreign, []byte("apiVersion: v1\nkind: Namespace\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Write(dir, files, WriteOptions{})
	if err == nil || !strings.Contains(err.Error(), "refusing to overwrite vcluster/project-x/namespace.yaml") {
		t.Fatalf("got %v", err)
	}
	// Nothing else was written.
	if got := readTree(t, dir); len(got) != 1 {
		t.Errorf("a refused write left %d files", len(got))
	}
}

func TestWriteRejectsPathsOutsideSections(t *testing.T) {
	for _, p := range []string{"../x.yaml", "/etc/x.yaml", "other/x.yaml", "vcluster/../../x.yaml"} {
		if _, err := Write(t.TempDir(), Files{p: []byte(Header)}, WriteOptions{}); err == nil {
			t.Errorf("%s accepted", p)
		}
	}
}

func mtimes(t *testing.T, dir string) map[string]int64 {
	t.Helper()
	m := map[string]int64{}
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		fi, err := e.Info()
		if err != nil {
			return err
		}
		m[p] = fi.ModTime().UnixNano()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func equalMaps(a, b map[string]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestWriteNeverFollowsSymlinksOut: a symlinked directory under --out is
// refused before anything is written, inside or outside (L2).
func TestWriteNeverFollowsSymlinksOut(t *testing.T) {
	root := t.TempDir()
	out, outside := filepath.Join(root, "out"), filepath.Join(root, "outside")
	for _, d := range []string{out, outside} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("../outside", filepath.Join(out, "vcluster")); err != nil {
		t.Fatal(err)
	}
	files := Files{
		"applications/app.yaml":          []byte(Header + "a: 1\n"),
		"vcluster/project-x/helm/v.yaml": []byte(Header + "b: 1\n"),
	}
	_, err := Write(out, files, WriteOptions{})
	if err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Fatalf("Write through a symlinked directory: %v", err)
	}
	for _, d := range []string{outside, filepath.Join(out, "applications")} {
		if entries, _ := os.ReadDir(d); len(entries) > 0 {
			t.Errorf("%s: %d entries written, want none", d, len(entries))
		}
	}
	// A dangling symlink where a directory goes: refused up front too.
	if err := os.Remove(filepath.Join(out, "vcluster")); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(out, "vcluster", "project-x"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/nonexistent", filepath.Join(out, "vcluster", "project-x", "helm")); err != nil {
		t.Fatal(err)
	}
	if _, err := Write(out, files, WriteOptions{}); err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Fatalf("Write through a dangling symlink: %v", err)
	}
	if _, err := os.Stat(filepath.Join(out, "applications", "app.yaml")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a refused render wrote files: %v", err)
	}
}

// TestWriteIsAllOrNothing: an I/O error while writing leaves the directory
// as it was: no new file, no changed file, no new directory, no temp file (L2).
func TestWriteIsAllOrNothing(t *testing.T) {
	out := t.TempDir()
	if _, err := Write(out, Files{"applications/a.yaml": []byte(Header + "v: 1\n")}, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	n := 0
	createTemp = func(dir, pattern string) (*os.File, error) {
		if n++; n == 3 {
			return nil, errors.New("no space left on device")
		}
		return os.CreateTemp(dir, pattern)
	}
	t.Cleanup(func() { createTemp = os.CreateTemp })
	files := Files{
		"applications/a.yaml":            []byte(Header + "v: 2\n"),
		"applications/b.yaml":            []byte(Header + "v: 2\n"),
		"vcluster/project-x/helm/v.yaml": []byte(Header + "v: 2\n"),
	}
	if _, err := Write(out, files, WriteOptions{}); err == nil || !strings.Contains(err.Error(), "no space") {
		t.Fatalf("got %v", err)
	}
	var left []string
	_ = filepath.WalkDir(out, func(p string, _ fs.DirEntry, _ error) error {
		rel, _ := filepath.Rel(out, p)
		left = append(left, rel)
		return nil
	})
	if strings.Join(left, ",") != ".,applications,applications/a.yaml" {
		t.Errorf("after a failed write: %v", left)
	}
	if b, _ := os.ReadFile(filepath.Join(out, "applications", "a.yaml")); !strings.Contains(string(b), "v: 1") {
		t.Errorf("a.yaml changed: %q", b)
	}
}
