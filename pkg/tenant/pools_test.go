package tenant

import (
	"context"
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestPoolsFromNodeLabels(t *testing.T) {
	node := func(name string, labels map[string]string) *corev1.Node {
		return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
	}
	e, cs, _ := newEngine(t,
		node("y-0", map[string]string{PoolLabel: "project-y"}),
		node("x-0", map[string]string{PoolLabel: "project-x"}),
		node("x-1", map[string]string{PoolLabel: "project-x"}),
		node("system-0", map[string]string{"pool": "system"}),
	)
	got, err := e.Pools(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"project-x", "project-y"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Pools = %v, want %v", got, want)
	}
	if n := len(cs.Actions()); n != 1 {
		t.Errorf("%d API calls, want one node list", n)
	}
}
