package vcluster

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
)

// tableAccept asks the apiserver for the server-side table kubectl get
// prints, with each row's object metadata (annotations) but not its spec.
const tableAccept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"

// ControlPlanes reads the vCluster workload of every tenant namespace
// (namespace "") or of one: the apiserver's tables of StatefulSets and of
// Deployments (the chart renders a Deployment when persistence is off), two
// calls made concurrently. A table row has the READY column (ready and
// desired replicas) and the row's metadata (the pause annotations `vcluster
// pause` and `kubectl tenant sleep` set), a few hundred bytes where the
// object itself is tens of KiB, so a list of 1,000 tenants stays cheap.
func (b *Backend) ControlPlanes(ctx context.Context, namespace string) (map[string]tenant.ControlPlane, error) {
	kinds := []string{"statefulsets", "deployments"}
	res := make([]map[string]tenant.ControlPlane, len(kinds))
	errs := make([]error, len(kinds))
	var wg sync.WaitGroup
	for i, resource := range kinds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := b.Kube.AppsV1().RESTClient().Get().Resource(resource).
				Param("labelSelector", "app=vcluster,release="+tenant.ReleaseName).
				Param("includeObject", string(metav1.IncludeMetadata)).
				SetHeader("Accept", tableAccept)
			if namespace != "" {
				req = req.Namespace(namespace)
			}
			raw, err := req.Do(ctx).Raw()
			if err == nil {
				res[i], err = parseTable(raw)
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	out := map[string]tenant.ControlPlane{}
	for i := range kinds {
		if errs[i] != nil {
			return nil, errs[i]
		}
		for ns, cp := range res[i] {
			out[ns] = cp
		}
	}
	return out, nil
}

func parseTable(raw []byte) (map[string]tenant.ControlPlane, error) {
	var t metav1.Table
	if err := json.Unmarshal(raw, &t); err != nil || t.Kind != "Table" {
		if err == nil {
			err = fmt.Errorf("the API server answered a %q, not a Table", t.Kind)
		}
		return nil, fmt.Errorf("control-plane table: %w", err)
	}
	ready := -1
	for i, c := range t.ColumnDefinitions {
		if strings.EqualFold(c.Name, "ready") {
			ready = i
		}
	}
	if ready < 0 {
		return nil, fmt.Errorf("control-plane table has no READY column")
	}
	out := map[string]tenant.ControlPlane{}
	for _, row := range t.Rows {
		var m metav1.PartialObjectMetadata
		if err := json.Unmarshal(row.Object.Raw, &m); err != nil {
			return nil, fmt.Errorf("control-plane table row: %w", err)
		}
		if ready >= len(row.Cells) {
			continue
		}
		cell, _ := row.Cells[ready].(string)
		r, d, ok := strings.Cut(cell, "/")
		readyN, err1 := strconv.Atoi(r)
		desired, err2 := strconv.Atoi(d)
		if !ok || err1 != nil || err2 != nil {
			return nil, fmt.Errorf("%s/%s: READY %q is not N/M", m.Namespace, m.Name, cell)
		}
		out[m.Namespace] = tenant.ControlPlane{
			Replicas: desired,
			Ready:    readyN,
			Paused:   m.Annotations[pausedAnnotation] == "true",
		}
	}
	return out, nil
}
