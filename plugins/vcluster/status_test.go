package vcluster

import (
	"context"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer/json"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
)

func i32(v int32) *int32 { return &v }

// cpMeta is a control plane's metadata with managedFields and labels, so
// the parser skips what a real object carries.
func cpMeta(ns string, ann map[string]string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: "vcluster", Namespace: ns, Annotations: ann, Generation: 3,
		Labels:        map[string]string{"app": "vcluster", "release": tenant.ReleaseName},
		ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "helm", FieldsType: "FieldsV1", FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:spec":{}}`)}}}}
}

func podTemplate() corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "syncer", Image: "ghcr.io/loft-sh/vcluster-pro:0.34.0",
		Env: []corev1.EnvVar{{Name: "POD_NAME", Value: "x"}}}}}}
}

var (
	testSTS = appsv1.StatefulSetList{Items: []appsv1.StatefulSet{
		{ObjectMeta: cpMeta("vcluster-a", map[string]string{"other": "true"}), Spec: appsv1.StatefulSetSpec{Replicas: i32(1), Template: podTemplate()},
			Status: appsv1.StatefulSetStatus{ObservedGeneration: 3, Replicas: 1, ReadyReplicas: 1, CurrentReplicas: 1, AvailableReplicas: 1}},
		{ObjectMeta: cpMeta("vcluster-b", map[string]string{"loft.sh/paused": "true", "loft.sh/paused-replicas": "1"}),
			Spec: appsv1.StatefulSetSpec{Replicas: i32(0), Template: podTemplate()}},
	}}
	testDeps = appsv1.DeploymentList{Items: []appsv1.Deployment{
		// readyReplicas is field 7 of DeploymentStatus; the others around
		// it must not be taken for it.
		{ObjectMeta: cpMeta("vcluster-c", nil), Spec: appsv1.DeploymentSpec{Replicas: i32(2), Template: podTemplate()},
			Status: appsv1.DeploymentStatus{Replicas: 2, UpdatedReplicas: 2, ReadyReplicas: 1, AvailableReplicas: 2, UnavailableReplicas: 1}},
		{ObjectMeta: cpMeta("vcluster-d", nil), Spec: appsv1.DeploymentSpec{Template: podTemplate()}},
	}}
	wantCPs = map[string]tenant.ControlPlane{
		"vcluster-a": {Kind: KindStatefulSet, Replicas: 1, Ready: 1},
		"vcluster-b": {Kind: KindStatefulSet, Paused: true},
		"vcluster-c": {Kind: KindDeployment, Replicas: 2, Ready: 1},
		"vcluster-d": {Kind: KindDeployment, Replicas: 1}, // replicas unset: the API's default
	}
)

// apiServer answers the two list paths in protobuf (or JSON) as
// kube-apiserver encodes them, and records each request's query.
func apiServer(t *testing.T, proto bool) (*httptest.Server, *[]string) {
	var mu sync.Mutex
	var queries []string
	var enc runtime.Encoder = protobuf.NewSerializer(scheme.Scheme, scheme.Scheme)
	ctype := "application/vnd.kubernetes.protobuf"
	if !proto {
		enc, ctype = json.NewSerializerWithOptions(json.DefaultMetaFactory, scheme.Scheme, scheme.Scheme, json.SerializerOptions{}), "application/json"
	}
	codec := scheme.Codecs.EncoderForVersion(enc, appsv1.SchemeGroupVersion)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		queries = append(queries, r.URL.Path+"?"+r.URL.RawQuery)
		mu.Unlock()
		var obj runtime.Object
		switch {
		case strings.HasSuffix(r.URL.Path, "/statefulsets"):
			obj = testSTS.DeepCopy()
		case strings.HasSuffix(r.URL.Path, "/deployments"):
			obj = testDeps.DeepCopy()
		default:
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", ctype)
		if err := codec.Encode(obj, w); err != nil {
			t.Error(err)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &queries
}

// ControlPlanes reads replicas, readiness and the pause annotation of both
// workload kinds off the apiserver's protobuf (or JSON) answer, only the
// kinds asked for, from the watch cache when the scope allows it.
func TestControlPlanes(t *testing.T) {
	for _, proto := range []bool{true, false} {
		srv, queries := apiServer(t, proto)
		kube, err := kubernetes.NewForConfig(&rest.Config{Host: srv.URL})
		if err != nil {
			t.Fatal(err)
		}
		b := &Backend{Kube: kube}
		ctx := context.Background()
		got, err := b.ControlPlanes(ctx, tenant.Scope{Cached: true})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, wantCPs) {
			t.Errorf("proto=%v: got %+v\nwant %+v", proto, got, wantCPs)
		}
		for _, q := range *queries {
			if !strings.Contains(q, "resourceVersion=0") || !strings.Contains(q, "labelSelector=app%3Dvcluster%2Crelease%3Dvcluster") {
				t.Errorf("cached list query %s: want resourceVersion=0 and the chart's selector", q)
			}
		}
		*queries = nil
		got, err = b.ControlPlanes(ctx, tenant.Scope{Namespace: "vcluster-c", Kinds: []string{KindDeployment}})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got["vcluster-c"] != wantCPs["vcluster-c"] {
			t.Errorf("deployments only: got %+v", got)
		}
		if len(*queries) != 1 || !strings.HasPrefix((*queries)[0], "/apis/apps/v1/namespaces/vcluster-c/deployments?") || strings.Contains((*queries)[0], "resourceVersion") {
			t.Errorf("one kind in one namespace, consistently: %q", *queries)
		}
		if _, err := b.ControlPlanes(ctx, tenant.Scope{Kinds: []string{"DaemonSet"}}); err == nil {
			t.Error("an unknown kind was accepted")
		}
	}
}

// A truncated answer is an error, never a half-read list.
func TestParseWorkloadListTruncated(t *testing.T) {
	data, err := runtime.Encode(scheme.Codecs.EncoderForVersion(protobuf.NewSerializer(scheme.Scheme, scheme.Scheme), appsv1.SchemeGroupVersion), testSTS.DeepCopy())
	if err != nil {
		t.Fatal(err)
	}
	if ws, err := parseWorkloadList(data, KindStatefulSet); err != nil || len(ws) != 2 {
		t.Fatalf("whole answer: %v, %d workloads", err, len(ws))
	}
	for _, cut := range []int{len(data) - 1, len(data) / 2, 6} {
		if _, err := parseWorkloadList(data[:cut], KindStatefulSet); err == nil {
			t.Errorf("answer cut at %d of %d bytes was accepted", cut, len(data))
		}
	}
}
