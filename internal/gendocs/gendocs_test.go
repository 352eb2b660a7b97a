package main

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestReferenceUpToDate fails when docs/reference is not what the command
// tree generates today.
func TestReferenceUpToDate(t *testing.T) {
	const committed = "../../docs/reference"
	got := t.TempDir()
	if err := generate(got); err != nil {
		t.Fatal(err)
	}
	gen, want := mdFiles(t, got), mdFiles(t, committed)
	if !slices.Equal(gen, want) {
		t.Fatalf("docs are stale: run go run ./internal/gendocs\n generated: %v\n committed: %v", gen, want)
	}
	for _, name := range gen {
		a, err := os.ReadFile(filepath.Join(got, name))
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(committed, name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("docs are stale: run go run ./internal/gendocs (%s differs)", name)
		}
	}
}

// TestReferenceIsMachineIndependent checks nothing of this machine (its home
// directory) leaks into the reference.
func TestReferenceIsMachineIndependent(t *testing.T) {
	home, err := os.UserHomeDir()
	if err != nil || len(home) < 2 {
		t.Fatalf("this check needs a home directory to look for: %q %v", home, err)
	}
	dir := t.TempDir()
	if err := generate(dir); err != nil {
		t.Fatal(err)
	}
	for _, name := range mdFiles(t, dir) {
		b, _ := os.ReadFile(filepath.Join(dir, name))
		if bytes.Contains(b, []byte(home+"/")) {
			t.Errorf("%s contains the home directory %s", name, home)
		}
	}
}

func mdFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, 0, len(m))
	for _, f := range m {
		out = append(out, filepath.Base(f))
	}
	slices.Sort(out)
	return out
}
