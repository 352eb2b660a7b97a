package testenv

import "github.com/kubectl-tenant/kubectl-tenant/test/testenv/realnode"

// Env describes a running playground. It is written as JSON to
// <Dir>/env.json so tests, the Makefile and the vCluster runner share one
// description of what runs where.
type Env struct {
	// Dir holds all state: pids, logs, data, certificates.
	Dir string `json:"dir"`
	// Kubeconfig is the admin kubeconfig (context "playground").
	Kubeconfig string `json:"kubeconfig"`
	// Context is the context name in Kubeconfig.
	Context string `json:"context"`
	// APIServerURL is the host kube-apiserver, e.g. https://127.0.0.1:PORT.
	APIServerURL string `json:"apiServerURL"`
	// Pools are the tenant kwok node pools (node <pool>-0), each labelled
	// project=<pool> and tainted project=<pool>:NoSchedule. The untainted
	// SystemPool (node system-0, label pool=system) is not listed.
	Pools []string `json:"pools"`
	// VClusterChart is the path of the vcluster Helm chart (chart/ in the
	// github.com/loft-sh/vcluster module at VClusterVersion).
	VClusterChart string `json:"vclusterChart"`
	// ChartRepoURL is a Helm repository (http://127.0.0.1:PORT) serving that
	// chart as vcluster version VClusterVersion without the "v", for Argo CD.
	ChartRepoURL string `json:"chartRepoURL"`
	// ArgoCDNamespace is where argocd-server runs (Service argocd-server);
	// argocd-repo-server and argocd-application-controller run beside it.
	ArgoCDNamespace string `json:"argocdNamespace"`
	// ArgoCDs are the Argo CDs running: ArgoCDVersion in ArgoCDNamespace
	// first, then (Options.ArgoCDV2) ArgoCDV2Version in ArgoCDV2Namespace.
	ArgoCDs []ArgoCD `json:"argocds"`
	// Bins are the built binaries by name.
	Bins Binaries `json:"bins"`
	// CAFile is the cluster CA (PEM). The apiserver's serving certificate
	// names localhost, 127.0.0.1 and the host's addresses at Up time; a
	// client using another address (a veth made later) should set
	// tls-server-name=localhost rather than skip verification.
	CAFile string `json:"caFile"`
	// Ports are the ports in use.
	Ports Ports `json:"ports"`
	// RealNodes are the real nodes (Options.RealNodes); their pools have no
	// kwok node.
	RealNodes []realnode.Node `json:"realNodes,omitempty"`
	// Parts are the running processes, in start order.
	Parts []Part `json:"parts"`
}

// ArgoCDNamespaceOf is the namespace of the running Argo CD of version, or
// "" if none runs.
func (e *Env) ArgoCDNamespaceOf(version string) string {
	for _, a := range e.ArgoCDs {
		if a.Version == version {
			return a.Namespace
		}
	}
	return ""
}
