package tenant

import (
	"context"
	"sort"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Pools names the node pools: the distinct values of the nodes' PoolLabel,
// sorted, from one node list. The TUI offers them when creating a tenant.
func (h *Host) Pools(ctx context.Context) ([]string, error) {
	nodes, err := h.Kube.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: PoolLabel})
	if err != nil {
		return nil, apiError(err)
	}
	seen := map[string]bool{}
	var out []string
	for _, n := range nodes.Items {
		if p := n.Labels[PoolLabel]; p != "" && !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out, nil
}
