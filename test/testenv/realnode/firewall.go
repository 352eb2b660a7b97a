package realnode

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/kubectl-tenant/kubectl-tenant/test/testenv/internal/kubeutil"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// The real nodes' NetworkPolicy enforcer: kube-router's network-policy
// controller (github.com/cloudnativelabs/kube-router/v2's netpol package,
// run by build/kube-router's main as upstream's `--run-firewall=true
// --run-router=false --run-service-proxy=false` runs it: no BGP routing, no
// service proxy, kube-proxy stays), one per node in the node's network
// namespace. It watches the host cluster's
// pods, namespaces and NetworkPolicies and programs the namespace's
// iptables filter chains (KUBE-ROUTER-INPUT/FORWARD/OUTPUT, jumped to from
// the built-in ones) and ipsets, so traffic between the bridge CNI's pods is
// filtered as the policies say (bridged traffic goes through iptables:
// br_netfilter, setupNet's bridge-nf-call-iptables). It sees a packet after
// kube-proxy's DNAT, so a policy applies to the Service's backend pod, as
// on any cluster. What `create --isolation` writes is then enforced, not
// assumed (realnodes' TestIsolationOnRealNode).
const (
	// FirewallUser is the identity of the nodes' kube-router (its client
	// certificate's CN), bound to FirewallClusterRole.
	FirewallUser        = "system:kube-router"
	FirewallClusterRole = "kubectl-tenant-playground:kube-router"
	// firewallChain is the chain kube-router jumps to from FORWARD: once
	// it exists, the node's policies are being enforced.
	firewallChain = "KUBE-ROUTER-FORWARD"
	// firewallHealthPort is kube-router's health port inside the node's
	// namespace (its default).
	firewallHealthPort = 20244
)

// FirewallKubeconfig is node n's kube-router kubeconfig (the caller writes
// it, with a client certificate for FirewallUser).
func FirewallKubeconfig(n Node) string { return filepath.Join(n.Dir, "kube-router.kubeconfig") }

// CreateFirewallRBAC gives FirewallUser what the network-policy controller
// reads: pods, namespaces and NetworkPolicies (its informers) and its node
// (addresses); read-only, cluster-wide.
func CreateFirewallRBAC(ctx context.Context, cs kubernetes.Interface) error {
	read := []string{"get", "list", "watch"}
	if err := kubeutil.Create(ctx, cs.RbacV1().ClusterRoles().Create, &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: FirewallClusterRole},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"pods", "namespaces", "nodes"}, Verbs: read},
			{APIGroups: []string{"networking.k8s.io"}, Resources: []string{"networkpolicies"}, Verbs: read},
		}}); err != nil {
		return fmt.Errorf("kube-router's ClusterRole: %w", err)
	}
	if err := kubeutil.Create(ctx, cs.RbacV1().ClusterRoleBindings().Create, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: FirewallClusterRole},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: FirewallClusterRole},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: "User", Name: FirewallUser}},
	}); err != nil {
		return fmt.Errorf("kube-router's ClusterRoleBinding: %w", err)
	}
	return nil
}

// FirewallCommand is how node n's kube-router runs (bin is the built
// kube-router), in the node's network namespace: the firewall only, the
// node found by its name, serviceCIDR the host cluster's Service range
// (kube-router lets traffic to it through INPUT; Services are kube-proxy's).
func FirewallCommand(n Node, bin, serviceCIDR string) (string, []string) {
	return InNetNS(n.NetNS, bin,
		"--run-firewall=true", "--run-router=false", "--run-service-proxy=false",
		"--kubeconfig="+FirewallKubeconfig(n),
		"--hostname-override="+n.Name,
		"--service-cluster-ip-range="+serviceCIDR,
		fmt.Sprintf("--health-port=%d", firewallHealthPort),
		"--metrics-port=0",
	)
}

// FirewallReady says whether node n's kube-router has set up its chains
// (the jump from FORWARD to KUBE-ROUTER-FORWARD): from then on every new
// connection between the node's pods passes its policy chains.
func FirewallReady(ctx context.Context, n Node) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	bin, args := InNetNS(n.NetNS, "iptables", "-w", "5", "-t", "filter", "-S", "FORWARD")
	out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("iptables -S FORWARD on %s: %v: %s", n.Name, err, strings.TrimSpace(string(out)))
	}
	if !strings.Contains(string(out), "-j "+firewallChain) {
		return fmt.Errorf("kube-router has not set up its chains on %s yet (no jump to %s in FORWARD)", n.Name, firewallChain)
	}
	return nil
}
