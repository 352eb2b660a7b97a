package vcrunner

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// env is the part of testenv.Env (env.json) the runner needs. It is decoded
// here rather than imported so that package testenv may import vcrunner.
type env struct {
	Dir          string            `json:"dir"`
	Kubeconfig   string            `json:"kubeconfig"`
	Context      string            `json:"context"`
	APIServerURL string            `json:"apiServerURL"`
	Bins         map[string]string `json:"bins"`
	// RealNodes are nodes with a real kubelet (testenv.Options.RealNodes):
	// the runner leaves their pods alone.
	RealNodes []struct {
		Name string `json:"name"`
	} `json:"realNodes"`
}

func (e *env) realNode(name string) bool {
	for _, n := range e.RealNodes {
		if n.Name == name {
			return true
		}
	}
	return false
}

// binaries the runner needs from env.Bins. kube-scheduler is optional (only
// used if the vCluster config enables its virtual scheduler).
var requiredBins = []string{"vcluster", "etcd", "kube-apiserver", "kube-controller-manager"}

func loadEnv(path string) (*env, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("vcluster-runner: read env: %w", err)
	}
	var e env
	if err := json.Unmarshal(b, &e); err != nil {
		return nil, fmt.Errorf("vcluster-runner: parse %s: %w", path, err)
	}
	if e.Dir == "" {
		e.Dir = filepath.Dir(path)
	}
	if e.Dir, err = filepath.Abs(e.Dir); err != nil {
		return nil, err
	}
	// Up passes the components' own admin kubeconfig in KUBECONFIG (users
	// may edit <dir>/kubeconfig); env.json's is the fallback.
	if k := os.Getenv("KUBECONFIG"); k != "" && !strings.Contains(k, string(os.PathListSeparator)) {
		e.Kubeconfig = k
	}
	if e.Kubeconfig == "" {
		e.Kubeconfig = filepath.Join(e.Dir, "kubeconfig")
	}
	for _, b := range requiredBins {
		p := e.Bins[b]
		if p == "" {
			return nil, fmt.Errorf("vcluster-runner: env.json has no binary %q", b)
		}
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("vcluster-runner: binary %s: %w", b, err)
		}
	}
	return &e, nil
}

// tag is a short stable name for one playground directory; it prefixes the
// network namespaces and veth devices so that two playgrounds on one machine
// never touch each other's devices.
func tag(dir string) string {
	h := sha256.Sum256([]byte(dir))
	return hex.EncodeToString(h[:])[:6]
}

func tenantsDir(dir string) string { return filepath.Join(dir, "vcluster") }
