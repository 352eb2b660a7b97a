package vcluster

import (
	"reflect"
	"testing"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
)

// A StatefulSet table as kube-apiserver v1.34 answers it (trimmed).
const stsTable = `{"kind":"Table","apiVersion":"meta.k8s.io/v1","metadata":{"resourceVersion":"42"},
"columnDefinitions":[{"name":"Name","type":"string","format":"name","priority":0},{"name":"Ready","type":"string","priority":0},
{"name":"Age","type":"string","priority":0},{"name":"Containers","type":"string","priority":1},{"name":"Images","type":"string","priority":1}],
"rows":[
{"cells":["vcluster","1/1","5m","syncer","ghcr.io/loft-sh/vcluster-pro:0.34.0"],"object":{"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1","metadata":{"name":"vcluster","namespace":"vcluster-a"}}},
{"cells":["vcluster","0/0","5m","syncer","x"],"object":{"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1","metadata":{"name":"vcluster","namespace":"vcluster-b","annotations":{"loft.sh/paused":"true","loft.sh/paused-replicas":"1"}}}},
{"cells":["vcluster","0/1","5m","syncer","x"],"object":{"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1","metadata":{"name":"vcluster","namespace":"vcluster-c"}}}
]}`

func TestParseTable(t *testing.T) {
	got, err := parseTable([]byte(stsTable))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]tenant.ControlPlane{
		"vcluster-a": {Replicas: 1, Ready: 1},
		"vcluster-b": {Paused: true},
		"vcluster-c": {Replicas: 1},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	if _, err := parseTable([]byte(`{"kind":"StatefulSetList","items":[]}`)); err == nil {
		t.Error("a list that is not a Table was accepted")
	}
}
