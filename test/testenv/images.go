package testenv

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// Image references the playground's real nodes have without a registry:
// each is an OCI image assembled from binaries the playground builds,
// imported into every node's containerd under exactly these names, so
// imagePullPolicy IfNotPresent never pulls.
const (
	// PauseImage is the sandbox image (containerd's sandbox_image).
	PauseImage = "registry.k8s.io/pause:3.10"
	// TestWebImage serves "testweb <hostname>" on port 80 and, run as
	// `testweb get URL`, fetches URL until it answers (cmd/testweb).
	TestWebImage = "kubectl-tenant.local/testweb:v1"
	// CoreDNSImage is the host cluster's DNS; the same image is also
	// imported as VClusterCoreDNSImage.
	CoreDNSImage = "registry.k8s.io/coredns/coredns:" + CoreDNSVersion
	// VClusterCoreDNSImage is the in-tenant CoreDNS vCluster v0.34 deploys
	// for Kubernetes 1.34 ("coredns/coredns:1.12.1", Docker Hub).
	VClusterCoreDNSImage = "docker.io/coredns/coredns:1.12.1"
	// VClusterImage is the chart's control-plane container ("syncer"):
	// `/vcluster start` built from the vCluster module. The chart's default
	// repository is loft-sh/vcluster-pro; this is the OSS build, so the
	// playground's host defaults choose loft-sh/vcluster-oss, as the chart's
	// values.yaml says to for the pure OSS build.
	VClusterImage = "ghcr.io/loft-sh/vcluster-oss:" + VClusterChartVersion
	// VClusterDistroImage is the chart's init container "kubernetes": it runs
	// `cp -r /kubernetes/. /binaries/`, giving the syncer kube-apiserver,
	// kube-controller-manager, kube-scheduler and kine. The chart defaults
	// to v1.35.0; the playground builds Kubernetes KubeVersion, so its host
	// defaults pin controlPlane.distro.k8s.image.tag to it.
	VClusterDistroImage = "ghcr.io/loft-sh/kubernetes:" + KubeVersion
	// VClusterRewriteHostsImage is the init container vCluster adds to a
	// tenant's StatefulSet pods to rewrite /etc/hosts (the chart's
	// sync.toHost.pods.rewriteHosts.initContainer.image): busybox's sh and
	// sed stand in for Alpine's.
	VClusterRewriteHostsImage = "mirror.gcr.io/library/alpine:3.20"
	// ArgoCDImage and ArgoCDRedisImage (argocd_chart.go) are the images of
	// the Argo CD install the playground serves (chart argo-cd): the argocd
	// binary the playground builds under its multi-call names, and Debian's
	// redis-server with the shared libraries it links.
)

// imageFile is one entry of an image's single layer: a regular file copied
// from src or holding data, a symlink (link), or a directory (dir).
type imageFile struct {
	path string // inside the image, relative (e.g. "bin/sh")
	src  string
	data string
	link string
	dir  bool
	mode int64
	uid  int // owner (uid = gid); root by default
}

// imageSpec is an image the playground assembles.
type imageSpec struct {
	name       string   // cache file name
	refs       []string // references it is imported under
	files      []imageFile
	entrypoint []string
	cmd        []string
	user       string // the image's user ("": root)
}

// key identifies the archive built from spec: its files' sources are paths
// in content-keyed cache directories or hashed below by the caller.
func (s imageSpec) key(extra string) string {
	h := sha256.New()
	fmt.Fprintln(h, s.refs, s.entrypoint, s.cmd, s.user, extra, runtime.Version())
	for _, f := range s.files {
		fmt.Fprintln(h, f.path, f.src, f.link, f.dir, f.mode, f.uid, len(f.data), f.data)
		if fi, err := os.Stat(f.src); err == nil {
			fmt.Fprintln(h, fi.Size(), fi.ModTime().UnixNano())
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:12]
}

// Images maps an image's cache name to its archive (docker-archive format,
// all of the image's references as RepoTags).
type Images map[string]string

// busyboxFiles are /bin/busybox (Debian busybox-static) and the applets an
// image needs as symlinks.
func busyboxFiles(applets ...string) []imageFile {
	files := []imageFile{{path: "bin", dir: true, mode: 0o755}, {path: "bin/busybox", src: "/bin/busybox", mode: 0o755}}
	for _, a := range applets {
		files = append(files, imageFile{path: "bin/" + a, link: "busybox"})
	}
	return files
}

// argoCDUID is the argocd user of Argo CD's image (the manifests run its
// containers as non-root; redis as 999 too).
const argoCDUID = 999

// argoCDNames are the multi-call names of the argocd binary (the manifests
// run /usr/local/bin/argocd-repo-server etc.; the repo-server's copyutil
// init container copies /usr/local/bin/argocd).
var argoCDNames = []string{"argocd-server", "argocd-repo-server", "argocd-application-controller",
	"argocd-applicationset-controller", "argocd-cmp-server", "argocd-dex", "argocd-notifications",
	"argocd-commit-server", "argocd-k8s-auth", "argocd-git-ask-pass"}

// argoCDImageFiles are the files of ArgoCDImage: the argocd binary and its
// names in /usr/local/bin, helm (the repo-server renders charts with it),
// busybox's sh and cp (copyutil runs /bin/cp -n), the argocd user and its
// home. No git or gpg: the playground's sources are Helm repositories, and
// its bootstrap values set ARGOCD_GPG_ENABLED=false.
func argoCDImageFiles(bins Binaries) []imageFile {
	files := []imageFile{
		{path: "usr", dir: true, mode: 0o755}, {path: "usr/local", dir: true, mode: 0o755},
		{path: "usr/local/bin", dir: true, mode: 0o755},
		{path: "usr/local/bin/argocd", src: bins["argocd"], mode: 0o755},
		{path: "usr/local/bin/helm", src: bins["helm"], mode: 0o755},
		{path: "etc/passwd", mode: 0o644, data: "root:x:0:0:root:/root:/bin/sh\nargocd:x:999:999:argocd:/home/argocd:/bin/sh\n"},
		{path: "etc/group", mode: 0o644, data: "root:x:0:\nargocd:x:999:\n"},
		{path: "home", dir: true, mode: 0o755}, {path: "home/argocd", dir: true, mode: 0o755, uid: argoCDUID},
		{path: "app", dir: true, mode: 0o755}, {path: "app/config", dir: true, mode: 0o755},
	}
	for _, n := range argoCDNames {
		files = append(files, imageFile{path: "usr/local/bin/" + n, link: "argocd"})
	}
	return append(files, busyboxFiles("sh", "cp", "ls", "cat")...)
}

// sharedLibs are the shared libraries bin links (ldd), as image files at
// the paths the loader looks for them.
func sharedLibs(bin string) ([]imageFile, error) {
	out, err := exec.Command("ldd", bin).Output()
	if err != nil {
		return nil, fmt.Errorf("ldd %s: %w", bin, err)
	}
	dirs := map[string]bool{}
	var files []imageFile
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		var lib string
		switch {
		case len(f) >= 3 && f[1] == "=>" && strings.HasPrefix(f[2], "/"):
			lib = f[2]
		case len(f) >= 1 && strings.HasPrefix(f[0], "/"):
			lib = f[0] // the loader
		default:
			continue // linux-vdso
		}
		for d := filepath.Dir(lib); d != "/" && !dirs[d]; d = filepath.Dir(d) {
			dirs[d] = true
			files = append(files, imageFile{path: strings.TrimPrefix(d, "/"), dir: true, mode: 0o755})
		}
		files = append(files, imageFile{path: strings.TrimPrefix(lib, "/"), src: lib, mode: 0o755})
	}
	return files, nil
}

// redisImageFiles are the files of ArgoCDRedisImage: redis-server (at
// redis, Debian's) and its shared libraries.
func redisImageFiles(redis string) ([]imageFile, error) {
	libs, err := sharedLibs(redis)
	if err != nil {
		return nil, err
	}
	return append([]imageFile{{path: "usr", dir: true, mode: 0o755}, {path: "usr/bin", dir: true, mode: 0o755},
		{path: "usr/bin/redis-server", src: redis, mode: 0o755},
		{path: "data", dir: true, mode: 0o755, uid: argoCDUID}}, libs...), nil
}

// imageSpecs lists the images of real nodes, from the built binaries bins,
// the small playground commands in tools (pause, testweb) and the files of
// the redis image.
func imageSpecs(bins Binaries, tools map[string]string, redisFiles []imageFile) []imageSpec {
	base := func(extra ...imageFile) []imageFile {
		files := []imageFile{{path: "tmp", dir: true, mode: 0o1777}, {path: "etc", dir: true, mode: 0o755}}
		return append(files, extra...)
	}
	return []imageSpec{
		{name: "pause", refs: []string{PauseImage},
			files:      base(imageFile{path: "pause", src: tools["pause"], mode: 0o755}),
			entrypoint: []string{"/pause"}},
		{name: "testweb", refs: []string{TestWebImage},
			files: append(base(imageFile{path: "testweb", src: tools["testweb"], mode: 0o755}),
				busyboxFiles("sh", "cat", "ls", "wget", "nslookup", "sleep")...),
			entrypoint: []string{"/testweb"}},
		{name: "coredns", refs: []string{CoreDNSImage, VClusterCoreDNSImage},
			files:      base(imageFile{path: "coredns", src: bins["coredns"], mode: 0o755}),
			entrypoint: []string{"/coredns"}},
		{name: "vcluster", refs: []string{VClusterImage},
			files: append(base(imageFile{path: "vcluster", src: bins["vcluster"], mode: 0o755}),
				busyboxFiles("sh", "cat", "ls", "cp", "mkdir", "rm", "tar")...),
			entrypoint: []string{"/vcluster", "start"}},
		{name: "kubernetes", refs: []string{VClusterDistroImage},
			files: append(base(
				imageFile{path: "kubernetes", dir: true, mode: 0o755},
				imageFile{path: "kubernetes/kube-apiserver", src: bins["kube-apiserver"], mode: 0o755},
				imageFile{path: "kubernetes/kube-controller-manager", src: bins["kube-controller-manager"], mode: 0o755},
				imageFile{path: "kubernetes/kube-scheduler", src: bins["kube-scheduler"], mode: 0o755},
				imageFile{path: "kubernetes/kine", src: bins["kine"], mode: 0o755}),
				busyboxFiles("sh", "cp")...)},
		{name: "rewrite-hosts", refs: []string{VClusterRewriteHostsImage},
			files: base(busyboxFiles("sh", "sed", "cat")...), entrypoint: []string{"/bin/sh"}},
		// No entrypoint: the manifests give the command as args. User 999
		// as upstream's: the manifests ask for runAsNonRoot without a uid.
		{name: "argocd", refs: []string{ArgoCDImage}, files: base(argoCDImageFiles(bins)...), user: strconv.Itoa(argoCDUID)},
		{name: "argocd-redis", refs: []string{ArgoCDRedisImage}, files: base(redisFiles...),
			entrypoint: []string{"/usr/bin/redis-server"}},
	}
}

// ensureTools builds the playground's own small commands that go into
// images (cmd/pause, cmd/testweb), static, cached by their sources' hash.
func ensureTools(ctx context.Context, logf BuildLogf) (map[string]string, error) {
	src, err := moduleDir()
	if err != nil {
		return nil, err
	}
	cmds := []string{"pause", "testweb"}
	h := sha256.New()
	fmt.Fprintln(h, runtime.Version())
	for _, c := range cmds {
		b, err := os.ReadFile(filepath.Join(src, "cmd", c, "main.go"))
		if err != nil {
			return nil, err
		}
		h.Write(b)
	}
	dir := filepath.Join(CacheRoot(), "tools-"+hex.EncodeToString(h.Sum(nil))[:12])
	out := map[string]string{}
	for _, c := range cmds {
		out[c] = filepath.Join(dir, c)
	}
	if _, err := os.Stat(filepath.Join(dir, ".complete")); err == nil {
		return out, nil
	}
	tmp, err := os.MkdirTemp(CacheRoot(), "tools.tmp-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	for _, c := range cmds {
		cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags", "-s -w", "-o", filepath.Join(tmp, c), "./cmd/"+c)
		cmd.Dir = src
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOTOOLCHAIN=local")
		if b, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("build of cmd/%s failed: %v: %s", c, err, tail(string(b), 10))
		}
	}
	logf("built pause and testweb")
	if err := os.WriteFile(filepath.Join(tmp, ".complete"), nil, 0o644); err != nil {
		return nil, err
	}
	_ = os.RemoveAll(dir)
	return out, os.Rename(tmp, dir)
}

// EnsureImages assembles (or finds cached) the image archives of real nodes.
// bins must hold the real-node binaries (EnsureBinaries with
// Extras.RealNodes); redis-server must be installed (hack/deps.sh).
func EnsureImages(ctx context.Context, bins Binaries, logf BuildLogf) (Images, error) {
	tools, err := ensureTools(ctx, logf)
	if err != nil {
		return nil, err
	}
	redis, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, fmt.Errorf("redis-server is not installed (Argo CD's redis image is built from it): run hack/deps.sh")
	}
	redisFiles, err := redisImageFiles(redis)
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(CacheRoot(), "images")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	out := Images{}
	for _, s := range imageSpecs(bins, tools, redisFiles) {
		for _, f := range s.files {
			if !f.dir && f.link == "" && f.src == "" && f.data == "" {
				return nil, fmt.Errorf("image %s: no source for /%s", s.name, f.path)
			}
		}
		path := filepath.Join(dir, s.name+"-"+s.key("")+".tar")
		out[s.name] = path
		if _, err := os.Stat(path); err == nil {
			continue
		}
		start := time.Now()
		if err := writeImage(path, s); err != nil {
			return nil, fmt.Errorf("image %s: %w", s.name, err)
		}
		logf("assembled image %s in %s", strings.Join(s.refs, ", "), time.Since(start).Round(100*time.Millisecond))
	}
	return out, nil
}

// writeImage writes spec as a docker-archive (what `ctr images import`
// reads) to path, atomically.
func writeImage(path string, s imageSpec) error {
	layerTar, err := os.CreateTemp(filepath.Dir(path), "layer-*.tar")
	if err != nil {
		return err
	}
	defer os.Remove(layerTar.Name())
	if err := writeLayer(layerTar, s.files); err != nil {
		layerTar.Close()
		return err
	}
	if err := layerTar.Close(); err != nil {
		return err
	}
	layer, err := tarball.LayerFromFile(layerTar.Name(), tarball.WithCompressionLevel(gzip.BestSpeed), tarball.WithCompressedCaching)
	if err != nil {
		return err
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		return err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", runtime.GOARCH
	cf.Created = v1.Time{Time: time.Unix(0, 0).UTC()}
	cf.Config.Entrypoint, cf.Config.Cmd, cf.Config.User = s.entrypoint, s.cmd, s.user
	cf.Config.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		return err
	}
	refs := map[name.Reference]v1.Image{}
	for _, r := range s.refs {
		tag, err := name.NewTag(r)
		if err != nil {
			return err
		}
		refs[tag] = img
	}
	tmp := fmt.Sprintf("%s.tmp-%d", path, os.Getpid()) // two Ups may assemble at once
	if err := tarball.MultiRefWriteToFile(tmp, refs); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
}

// writeLayer writes files as an uncompressed layer tar, in path order, owned
// by root, with a fixed time (the archive depends only on its inputs).
func writeLayer(w io.Writer, files []imageFile) error {
	sorted := append([]imageFile(nil), files...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].path < sorted[j].path })
	tw := tar.NewWriter(w)
	mtime := time.Unix(0, 0)
	for _, f := range sorted {
		hdr := &tar.Header{Name: f.path, Mode: f.mode, ModTime: mtime, Format: tar.FormatPAX, Uid: f.uid, Gid: f.uid}
		switch {
		case f.dir:
			hdr.Typeflag, hdr.Name = tar.TypeDir, f.path+"/"
			if err := tw.WriteHeader(hdr); err != nil {
				return err
			}
		case f.link != "":
			hdr.Typeflag, hdr.Linkname, hdr.Mode = tar.TypeSymlink, f.link, 0o777
			if err := tw.WriteHeader(hdr); err != nil {
				return err
			}
		case f.src == "":
			hdr.Typeflag, hdr.Size = tar.TypeReg, int64(len(f.data))
			if err := tw.WriteHeader(hdr); err != nil {
				return err
			}
			if _, err := io.WriteString(tw, f.data); err != nil {
				return err
			}
		default:
			in, err := os.Open(f.src)
			if err != nil {
				return err
			}
			fi, err := in.Stat()
			if err != nil {
				in.Close()
				return err
			}
			hdr.Typeflag, hdr.Size = tar.TypeReg, fi.Size()
			if err := tw.WriteHeader(hdr); err != nil {
				in.Close()
				return err
			}
			_, err = io.Copy(tw, in)
			in.Close()
			if err != nil {
				return err
			}
		}
	}
	return tw.Close()
}
