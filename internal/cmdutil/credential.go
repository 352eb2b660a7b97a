package cmdutil

import (
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"k8s.io/cli-runtime/pkg/genericclioptions"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/credential"
)

// CredentialExec is the exec credential plugin of a tenant context: this
// binary's `credential NAME` with the lifetime, the cache file and the
// kubeconfig flags the user gave (so it reaches the same host context as
// the same identity), and KUBECONFIG as connect saw it (hostKubeconfig:
// the variable, else the file connect wrote), so it finds the host context
// even where KUBECONFIG names another file (`connect -- CMD`).
func CredentialExec(config *genericclioptions.ConfigFlags, hostContext, hostKubeconfig, name string, lifetime time.Duration, cachePath string) clientcmdapi.ExecConfig {
	args := []string{"credential", name, "--credential-lifetime=" + lifetime.String(), "--cache=" + cachePath}
	args = append(args, PassthroughFlags(config, hostContext)...)
	return clientcmdapi.ExecConfig{
		APIVersion:      credential.APIVersion,
		Command:         SelfCommand(),
		Args:            args,
		Env:             []clientcmdapi.ExecEnvVar{{Name: "KUBECONFIG", Value: hostKubeconfig}},
		InteractiveMode: clientcmdapi.NeverExecInteractiveMode,
	}
}

// SelfCommand is how a kubeconfig names this binary: the kubectl-tenant on
// $PATH when it is this very file (krew's ~/.krew/bin link, which survives
// upgrades, or go install's $GOPATH/bin), else this executable's absolute
// path (a binary run from elsewhere).
func SelfCommand() string {
	self, err := os.Executable()
	if err != nil {
		return "kubectl-tenant"
	}
	if p, err := exec.LookPath("kubectl-tenant"); err == nil {
		if abs, err := filepath.Abs(p); err == nil {
			a, errA := os.Stat(abs)
			b, errB := os.Stat(self)
			if errA == nil && errB == nil && os.SameFile(a, b) {
				return abs
			}
		}
	}
	return self
}
