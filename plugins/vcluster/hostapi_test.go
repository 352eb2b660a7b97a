package vcluster

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
)

func apiSlice(port int32, addrs ...string) *discoveryv1.EndpointSlice {
	name, tcp := "https", corev1.ProtocolTCP
	return &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Name: "kubernetes", Namespace: "default",
			Labels: map[string]string{discoveryv1.LabelServiceName: "kubernetes"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints:   []discoveryv1.Endpoint{{Addresses: addrs}},
		Ports:       []discoveryv1.EndpointPort{{Name: &name, Port: &port, Protocol: &tcp}},
	}
}

// TestIsolationLetsTheControlPlaneReachTheHostAPI: the chart's control-plane
// policy admits the host API on 443, 6443 and 8443 only, and a policy sees
// the API Service's traffic at the API server's endpoint; with --isolation
// on a host whose API listens elsewhere (the playground, MicroK8s), the
// rendered vc-cp policy also admits that port to the API's addresses.
// Without isolation, or on a usual port, nothing is added.
func TestIsolationLetsTheControlPlaneReachTheHostAPI(t *testing.T) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/loft-sh/vcluster").Output()
	if err != nil {
		t.Fatalf("locating the vcluster module: %v", err)
	}
	chart := filepath.Join(strings.TrimSpace(string(out)), "chart")
	ctx := context.Background()
	want := []any{map[string]any{
		"ports": []any{map[string]any{"port": float64(39999), "protocol": "TCP"}},
		"to":    []any{map[string]any{"ipBlock": map[string]any{"cidr": "10.214.0.1/32"}}},
	}}
	for _, tc := range []struct {
		name      string
		port      int32
		isolation bool
		want      []any
	}{
		{"isolation, API on 39999", 39999, true, want},
		{"isolation, API on 6443", 6443, true, nil},
		{"no isolation", 39999, false, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := memBackend(t)
			b.Kube = fake.NewSimpleClientset(apiSlice(tc.port, "10.214.0.1"))
			req := tenant.InstallRequest{Name: "demo", Namespace: "vcluster-demo",
				Spec: tenant.Spec{Pool: "project-x", Chart: chart, Isolation: tc.isolation}}
			if err := b.Install(ctx, req); err != nil {
				t.Fatal(err)
			}
			rel := lastConfig(t, b)
			got, _ := pathOf(rel.Config, "policies", "networkPolicy", "controlPlane", "egress").([]any)
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("controlPlane egress = %#v, want %#v", got, tc.want)
			}
			if ch, err := b.Inspect(ctx, req); err != nil || ch.ValuesChanged {
				t.Fatalf("Inspect of the same request: %+v, %v; want no values change", ch, err)
			}
			if !tc.isolation {
				return
			}
			cp := renderedObject(t, rel.Manifest, "NetworkPolicy", "vc-cp-"+tenant.ReleaseName)
			egress, _, _ := unstructured.NestedSlice(cp.Object, "spec", "egress")
			found := false
			for _, r := range egress {
				ports, _, _ := unstructured.NestedSlice(r.(map[string]any), "ports")
				to, _, _ := unstructured.NestedSlice(r.(map[string]any), "to")
				if len(ports) == 1 && len(to) == 1 && fmt.Sprint(ports[0].(map[string]any)["port"]) == "39999" &&
					reflect.DeepEqual(to[0], map[string]any{"ipBlock": map[string]any{"cidr": "10.214.0.1/32"}}) {
					found = true
				}
			}
			if found != (tc.want != nil) {
				t.Fatalf("vc-cp egress %v: rule for 10.214.0.1:39999 found=%v, want %v", egress, found, tc.want != nil)
			}
		})
	}
}

func renderedObject(t *testing.T, manifest, kind, name string) *unstructured.Unstructured {
	t.Helper()
	dec := utilyaml.NewYAMLOrJSONDecoder(strings.NewReader(manifest), 4096)
	for {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			break
		}
		o := &unstructured.Unstructured{Object: m}
		if o.GetKind() == kind && o.GetName() == name {
			return o
		}
	}
	t.Fatalf("no %s %s in the manifest", kind, name)
	return nil
}
