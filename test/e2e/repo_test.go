package e2e

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// platformRepo renders config (with REPO replaced by the repository's
// file:// URL and CHARTS by the playground's Helm repository) into a fresh
// local git repository, as a platform team would commit it, and returns the
// config's path.
func (w *world) platformRepo(config string) string {
	w.t.Helper()
	repo := filepath.Join(w.t.TempDir(), "platform")
	if err := os.MkdirAll(repo, 0o755); err != nil {
		w.t.Fatal(err)
	}
	config = strings.NewReplacer("REPO", "file://"+repo, "CHARTS", w.env.ChartRepoURL).Replace(config)
	cfg := filepath.Join(repo, "config.yaml")
	if err := os.WriteFile(cfg, []byte(config), 0o644); err != nil {
		w.t.Fatal(err)
	}
	w.mustRun("render", "-f", cfg, "--out", repo)
	gitCommitAll(w.t, repo, "platform")
	return cfg
}

// gitCommitAll makes dir a git repository (branch main) with one commit of
// everything in it.
func gitCommitAll(t testing.TB, dir, msg string) {
	t.Helper()
	for _, args := range [][]string{
		{"init", "-q", "-b", "main"},
		{"add", "-A"},
		{"-c", "user.name=e2e", "-c", "user.email=e2e@example.com", "commit", "-q", "-m", msg},
	} {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
}

type manifest struct {
	path string
	obj  *unstructured.Unstructured
}

// renderedManifests reads the Kubernetes objects of the rendered tree:
// applications/*.yaml, vcluster/<project>/*.yaml (Helm values under helm/
// and system/ are not manifests) and system/<component>/*.yaml.
func renderedManifests(t *testing.T, repo string) []manifest {
	t.Helper()
	var out []manifest
	err := filepath.WalkDir(repo, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() || filepath.Ext(p) != ".yaml" {
			return err
		}
		rel, _ := filepath.Rel(repo, p)
		parts := strings.Split(filepath.ToSlash(rel), "/")
		if !(parts[0] == "applications" && len(parts) == 2 || (parts[0] == "vcluster" || parts[0] == "system") && len(parts) == 3) {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(b), 4096)
		for {
			var u unstructured.Unstructured
			if err := dec.Decode(&u.Object); err != nil {
				if errors.Is(err, io.EOF) {
					break
				}
				return err
			}
			if len(u.Object) > 0 {
				out = append(out, manifest{rel, &u})
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatal("no manifests rendered")
	}
	return out
}
