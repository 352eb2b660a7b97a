package testenv

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-tenant/kubectl-tenant/test/testenv/realnode"
)

// TestImagesRunInContainerd assembles the pause and testweb images, imports
// them into a containerd started by hand (own root, state and socket, as a
// real node's), and runs testweb from its image: the archives are valid
// images under the exact references the manifests use. A missing
// containerd fails the test.
func TestImagesRunInContainerd(t *testing.T) {
	if err := realnode.Preflight(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	tools, err := ensureTools(ctx, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var archives []string
	for _, s := range imageSpecs(Binaries{}, tools, nil) {
		if s.name != "pause" && s.name != "testweb" {
			continue
		}
		path := filepath.Join(dir, s.name+".tar")
		if err := writeImage(path, s); err != nil {
			t.Fatalf("image %s: %v", s.name, err)
		}
		archives = append(archives, path)
	}
	sock := filepath.Join(dir, "containerd.sock")
	cfg := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(cfg, []byte(`version = 2
root = "`+filepath.Join(dir, "root")+`"
state = "`+filepath.Join(dir, "state")+`"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "`+sock+`"
[ttrpc]
  address = "`+sock+`.ttrpc"
`), 0o644); err != nil {
		t.Fatal(err)
	}
	ctrd := exec.Command("containerd", "--config", cfg)
	ctrd.Stdout, ctrd.Stderr = os.Stderr, os.Stderr
	if err := ctrd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = ctrd.Process.Kill()
		_ = ctrd.Wait()
		for _, m := range realnode.MountsUnder(dir) {
			_ = exec.Command("umount", "-l", m).Run()
		}
	}()
	ctr := func(args ...string) string {
		t.Helper()
		out, err := exec.CommandContext(ctx, "ctr", append([]string{"--address", sock, "-n", "k8s.io"}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("ctr %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	if err := poll(ctx, "containerd did not answer", func() error {
		return exec.Command("ctr", "--address", sock, "version").Run()
	}); err != nil {
		t.Fatal(err)
	}
	for _, a := range archives {
		ctr("images", "import", a)
	}
	list := ctr("images", "ls", "-q")
	for _, ref := range []string{PauseImage, TestWebImage} {
		if !strings.Contains(list, ref+"\n") {
			t.Errorf("image %s not in containerd after import; images:\n%s", ref, list)
		}
	}
	// The container has a network namespace of its own (lo only): `testweb
	// get` finds nothing there and fails with testweb's own message, which
	// proves the image's binary ran.
	out, _ := exec.CommandContext(ctx, "ctr", "--address", sock, "-n", "k8s.io", "run", "--rm",
		TestWebImage, "tw-probe", "/testweb", "get", "--timeout", "0s", "http://127.0.0.1:1/").CombinedOutput()
	if !strings.Contains(string(out), "testweb:") {
		t.Errorf("testweb from its image did not run; ctr run said:\n%s", out)
	}
	out, _ = exec.CommandContext(ctx, "ctr", "--address", sock, "-n", "k8s.io", "run", "--rm",
		TestWebImage, "sh-probe", "/bin/sh", "-c", "echo busybox-ok").CombinedOutput()
	if !strings.Contains(string(out), "busybox-ok") {
		t.Errorf("busybox sh in the testweb image did not run; ctr run said:\n%s", out)
	}
}
