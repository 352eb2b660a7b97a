package testenv

import (
	"os"
	"strconv"

	"github.com/kubectl-tenant/kubectl-tenant/test/testenv/realnode"

	"github.com/kubectl-tenant/kubectl-tenant/test/testenv/vcrunner"
)

// argoNet is where Argo CD's server and application-controller run and how
// they reach the playground's other parts. Both must reach registered
// tenants at their in-cluster address (https://vcluster.vcluster-NAME):
//
//   - With real nodes they run in the first real node's network namespace
//     with a pod's resolver (resolv.conf: the host cluster's CoreDNS, the
//     argocd namespace's search path) bind-mounted over /etc/resolv.conf in
//     a private mount namespace: the tenant's Service name resolves through
//     CoreDNS and its ClusterIP is routed by kube-proxy, the same path as a
//     pod's. They listen on the node's address and reach the apiserver,
//     redis and repo-server at the veth's host address.
//   - Without, in a private mount namespace with the vCluster runner's hosts
//     file over /etc/hosts (see vcrunner/service.go): a loopback proxy per
//     tenant stands in for Service DNS and routing.
type argoNet struct {
	node *realnode.Node // nil: kwok-only playground
	// listen is the address server and controller are reached at, bind the
	// one they listen on (argocd-server's REST gateway dials its own gRPC
	// port on loopback: inside the node's namespace that is all of its
	// addresses, which only the playground has); host is where they reach
	// the apiserver, redis and the repo-server.
	listen, bind, host string
	// kubeconfig is the admin kubeconfig as seen from where they run.
	kubeconfig string
	wrap       func(bin string, args ...string) (string, []string)
}

// podResolvConf is the resolver of a pod in namespace ns (ClusterFirst).
func podResolvConf(ns string) string {
	return "nameserver " + realnode.ClusterDNSIP + "\nsearch " + ns + ".svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n"
}

func (u *upper) argoNet(kubeconfig string) (argoNet, error) {
	// The runner keeps the hosts file (kwok tenants) in either case.
	hosts := u.path(vcrunner.HostsFile)
	if _, err := os.Stat(hosts); os.IsNotExist(err) {
		if err := os.WriteFile(hosts, []byte(vcrunner.HostsHeader), 0o644); err != nil {
			return argoNet{}, err
		}
	}
	if len(u.realNodes) == 0 {
		return argoNet{listen: "127.0.0.1", bind: "127.0.0.1", host: "127.0.0.1", kubeconfig: kubeconfig,
			wrap: func(bin string, args ...string) (string, []string) {
				return "unshare", withHosts(hosts, bin, args...)
			}}, nil
	}
	n := &u.realNodes[0]
	resolv := u.path("argocd-resolv.conf")
	if err := os.WriteFile(resolv, []byte(podResolvConf(ArgoCDNamespace)), 0o644); err != nil {
		return argoNet{}, err
	}
	kc := u.path("pki", "argocd-netns.kubeconfig")
	if err := writeKubeconfig(kc, "https://"+n.HostIP+":"+strconv.Itoa(u.ports.APIServer), u.pki); err != nil {
		return argoNet{}, err
	}
	return argoNet{node: n, listen: n.NodeIP, bind: "0.0.0.0", host: n.HostIP, kubeconfig: kc,
		wrap: func(bin string, args ...string) (string, []string) {
			return "nsenter", append([]string{"--net=/run/netns/" + n.NetNS, "--",
				"unshare", "-m", "--propagation", "private", "/bin/sh", "-c",
				`mount --bind "$0" /etc/resolv.conf && exec "$@"`, resolv, bin}, args...)
		}}, nil
}
