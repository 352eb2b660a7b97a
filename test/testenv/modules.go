package testenv

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// moduleDirs are the module-cache directories of modules whose files (CRDs,
// the vcluster chart) the playground uses at the versions it builds.
type moduleDirs struct {
	kwok, argocd, vcluster, vclusterOld string
}

// resolveModuleDirs asks the go command where the wrapper modules' main
// dependencies are, downloading them if the module cache lost them;
// vclusterOld's only with old (Options.VClusterOld).
func resolveModuleDirs(ctx context.Context, old bool) (moduleDirs, error) {
	src, err := moduleDir()
	if err != nil {
		return moduleDirs{}, err
	}
	var m moduleDirs
	for _, x := range []struct {
		dst     *string
		wrapper string
		module  string
	}{
		{&m.kwok, "kwok", "sigs.k8s.io/kwok"},
		{&m.argocd, "argocd", "github.com/argoproj/argo-cd/v3"},
		{&m.vcluster, "vcluster", "github.com/loft-sh/vcluster"},
		{&m.vclusterOld, "vcluster-old", "github.com/loft-sh/vcluster"},
	} {
		if x.dst == &m.vclusterOld && !old {
			continue
		}
		cmd := exec.CommandContext(ctx, "go", "mod", "download", "-json", x.module)
		cmd.Dir = filepath.Join(src, "build", x.wrapper)
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=readonly", "GOTOOLCHAIN=local")
		out, err := cmd.Output()
		var info struct{ Dir, Error string }
		_ = json.Unmarshal(out, &info)
		if err != nil || info.Dir == "" {
			return m, fmt.Errorf("locate module %s (in build/%s): %v %s", x.module, x.wrapper, err, info.Error)
		}
		*x.dst = info.Dir
	}
	return m, nil
}

// runnerBinary returns a binary with the "vcluster-runner" subcommand under
// Dir/bin. A given executable is copied there, because `go run` deletes its
// temporary binary when it exits while the runner keeps going; otherwise
// cmd/playground is built (tests, whose own binary is not the playground).
func (u *upper) runnerBinary(ctx context.Context) (string, error) {
	dst := u.path("bin", "playground")
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return "", err
	}
	if u.runnerExe != "" {
		return dst, copyFile(u.runnerExe, dst)
	}
	src, err := moduleDir()
	if err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-o", dst, "./cmd/playground")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build of cmd/playground (the vcluster-runner) failed: %v: %s", err, tail(string(out), 10))
	}
	return dst, nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// ensureRedis finds Debian's redis-server, installing it with apt-get when
// it is missing and we are root (the only package source besides Go's).
func ensureRedis(ctx context.Context, logf func(string, ...any)) (string, error) {
	if p, err := exec.LookPath("redis-server"); err == nil {
		return p, nil
	}
	if os.Geteuid() != 0 {
		return "", fmt.Errorf("redis-server is not installed (Argo CD needs it): run `sudo apt-get install -y redis-server`")
	}
	logf("installing redis-server with apt-get ...")
	cmd := exec.CommandContext(ctx, "apt-get", "install", "-y", "--no-install-recommends", "redis-server")
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("apt-get install redis-server failed: %v: %s", err, strings.TrimSpace(tail(string(out), 5)))
	}
	return exec.LookPath("redis-server")
}
