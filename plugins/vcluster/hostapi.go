package vcluster

import (
	"context"
	"fmt"
	"net"
	"slices"
	"sort"

	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// chartAPIPorts are the host API ports the chart's control-plane
// NetworkPolicy (vc-cp-<release>) lets the vCluster pod reach: 443, 6443
// and 8443, to any address.
var chartAPIPorts = []int32{443, 6443, 8443}

// hostAPIEgress are the egress rules the isolated control plane needs
// besides the chart's to reach the host's API: a NetworkPolicy sees a
// connection to the `kubernetes` Service after the Service's DNAT, i.e. at
// an endpoint of the API server, and the chart admits only the usual API
// ports. A host whose API server listens on another port (MicroK8s' 16443,
// the playground's free port) would leave the syncer cut off from the host
// under an enforcing CNI: the tenant never becomes ready. One rule per such
// port, to the endpoint addresses of default/kubernetes (as /32 or /128).
// None when every endpoint port is one the chart admits, or when the
// endpoints cannot be read (the chart's rules then stand alone).
func (b *Backend) hostAPIEgress(ctx context.Context) ([]any, error) {
	if b.Kube == nil {
		return nil, nil
	}
	list, err := b.Kube.DiscoveryV1().EndpointSlices(metav1.NamespaceDefault).List(ctx, metav1.ListOptions{
		LabelSelector: discoveryv1.LabelServiceName + "=kubernetes"})
	if apierrors.IsForbidden(err) || apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the host API's endpoints (default/kubernetes): %w", err)
	}
	return apiEgressRules(list.Items), nil
}

// apiEgressRules builds hostAPIEgress' rules from the API's EndpointSlices.
func apiEgressRules(eps []discoveryv1.EndpointSlice) []any {
	cidrs := map[int32]map[string]bool{}
	for _, s := range eps {
		for _, p := range s.Ports {
			if p.Port == nil || slices.Contains(chartAPIPorts, *p.Port) ||
				(p.Protocol != nil && *p.Protocol != "TCP") {
				continue
			}
			for _, e := range s.Endpoints {
				for _, a := range e.Addresses {
					ip := net.ParseIP(a)
					if ip == nil {
						continue
					}
					bits := "/32"
					if ip.To4() == nil {
						bits = "/128"
					}
					if cidrs[*p.Port] == nil {
						cidrs[*p.Port] = map[string]bool{}
					}
					cidrs[*p.Port][ip.String()+bits] = true
				}
			}
		}
	}
	ports := make([]int, 0, len(cidrs))
	for p := range cidrs {
		ports = append(ports, int(p))
	}
	sort.Ints(ports)
	var rules []any
	for _, p := range ports {
		var to []any
		var list []string
		for c := range cidrs[int32(p)] {
			list = append(list, c)
		}
		sort.Strings(list)
		for _, c := range list {
			to = append(to, map[string]any{"ipBlock": map[string]any{"cidr": c}})
		}
		// float64: values hold JSON's numbers, as a stored release's do.
		rules = append(rules, map[string]any{
			"ports": []any{map[string]any{"port": float64(p), "protocol": "TCP"}},
			"to":    to,
		})
	}
	return rules
}

// controlPlaneEgress reads policies.networkPolicy.controlPlane.egress.
func controlPlaneEgress(vals map[string]any) []any {
	pol, _ := vals["policies"].(map[string]any)
	np, _ := pol["networkPolicy"].(map[string]any)
	cp, _ := np["controlPlane"].(map[string]any)
	l, _ := cp["egress"].([]any)
	return l
}
