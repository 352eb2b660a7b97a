// Package vcrunner runs a real vCluster control plane (`vcluster start`) for
// every vCluster pod that the playground's kube-scheduler places on a kwok
// node. kwok only simulates pods; this runner gives the simulated pod a real
// process behind it:
//
//   - one network namespace per pod (vCluster binds the fixed ports 6443,
//     8443, 10257 and 10099), joined to the host by a veth pair
//     10.213.N.1/30 (host) <-> 10.213.N.2/30 (namespace);
//   - a private mount namespace with a chroot whose /data, /binaries, /tmp
//     and /conf are the pod's own directories (the host root is untouched);
//   - a TLS etcd inside that network namespace as vCluster's backing store;
//   - a kwok PortForward rule sending the pod's port 8443 to 10.213.N.2:8443,
//     so `kubectl port-forward` through the host apiserver reaches the real
//     vCluster proxy.
//
// It runs as `playground vcluster-runner --env <dir>/env.json`.
package vcrunner

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// Main is the entry point of `playground vcluster-runner`. It returns when it
// receives SIGTERM or SIGINT, after stopping every vCluster it started.
func Main(args []string) error {
	fs := flag.NewFlagSet("vcluster-runner", flag.ContinueOnError)
	envPath := fs.String("env", "", "path of the playground's env.json")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *envPath == "" {
		return errors.New("vcluster-runner: --env <dir>/env.json is required")
	}
	env, err := loadEnv(*envPath)
	if err != nil {
		return err
	}
	if err := Preflight(); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	r, err := newRunner(env)
	if err != nil {
		return err
	}
	return r.run(ctx)
}

// logf writes one line to the runner's log (its stderr).
func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "vcluster-runner: "+format+"\n", args...)
}
