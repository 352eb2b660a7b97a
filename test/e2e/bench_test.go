package e2e

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/session"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
	"github.com/kubectl-tenant/kubectl-tenant/plugins/vcluster"
)

// BenchmarkList1000 lists 1,000 tenants from the real apiserver: labelled
// namespaces that record their control plane's kind, Helm release Secrets
// with a 64 KiB payload, and each tenant's control-plane StatefulSet as the
// real chart renders it (paused: 0 replicas, so no pods). Sub-benchmarks, on
// the same data in the same process:
//   - list: Engine.List as the CLI runs it (calls/op is counted);
//   - before-13: the reads list made before issue #13 (a consistent
//     namespace list and a consistent metadata-only release list,
//     concurrently; no workload read), the figure #13 must stay within 10% of.
func BenchmarkList1000(b *testing.B) {
	w := newWorld(b)
	setupCfg, err := w.env.RESTConfig()
	if err != nil {
		b.Fatal(err)
	}
	setupCfg.QPS, setupCfg.Burst = 500, 500 // client-go's default 5 QPS makes the set-up take 10 minutes
	cs, err := kubernetes.NewForConfig(setupCfg)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	sts := renderedStatefulSet(b, w.env.VClusterChart)
	const n = 1000
	// Created by 16 workers.
	work := make(chan int)
	var setup sync.WaitGroup
	var setupErr atomic.Value
	for range 16 {
		setup.Add(1)
		go func() {
			defer setup.Done()
			for i := range work {
				if err := createBenchTenant(ctx, cs, sts, i); err != nil {
					setupErr.CompareAndSwap(nil, err)
				}
			}
		}()
	}
	for i := range n {
		work <- i
	}
	close(work)
	setup.Wait()
	if err, _ := setupErr.Load().(error); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		for i := range n {
			_ = cs.CoreV1().Namespaces().Delete(ctx, tenant.NamespaceFor(fmt.Sprintf("bench-%04d", i)), metav1.DeleteOptions{})
		}
	})
	cfg, err := w.env.RESTConfig()
	if err != nil {
		b.Fatal(err)
	}
	cfg.QPS, cfg.Burst = 50, 100 // as the CLI's factory
	var calls atomic.Int64
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(r *http.Request) (*http.Response, error) {
			calls.Add(1)
			return rt.RoundTrip(r)
		})
	})
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		b.Fatal(err)
	}
	meta, err := metadata.NewForConfig(cfg)
	if err != nil {
		b.Fatal(err)
	}
	e := &tenant.Engine{Host: tenant.Host{Kube: kube, REST: cfg, Backend: &vcluster.Backend{Kube: kube, Meta: meta},
		Sessions: session.Store{Dir: b.TempDir()}}}
	b.Run("list", func(b *testing.B) {
		calls.Store(0)
		for b.Loop() {
			ts, err := e.List(ctx)
			if err != nil {
				b.Fatal(err)
			}
			if len(ts) < n || ts[0].Status != tenant.StatusSleeping {
				b.Fatalf("listed %d tenants (first %s), want >= %d Sleeping", len(ts), ts[0].Status, n)
			}
		}
		b.ReportMetric(float64(calls.Load())/float64(b.N), "calls/op")
	})
	b.Run("before-13", func(b *testing.B) {
		calls.Store(0)
		for b.Loop() {
			var wg sync.WaitGroup
			var rels map[string]tenant.Release
			var relErr error
			wg.Add(1)
			go func() { defer wg.Done(); rels, relErr = e.Backend.Releases(ctx, tenant.Scope{}) }()
			nss, err := kube.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: tenant.LabelName})
			wg.Wait()
			if err != nil || relErr != nil || len(nss.Items) < n || len(rels) < n {
				b.Fatal(err, relErr)
			}
		}
		b.ReportMetric(float64(calls.Load())/float64(b.N), "calls/op")
	})
}

// BenchmarkConnect measures connect: read the credentials, open a
// port-forward to the real vCluster, write the kubeconfig context.
func BenchmarkConnect(b *testing.B) {
	w := newWorld(b)
	r := w.run(context.Background(), "create", "bench-connect", "--pool", "project-x", "--connect=false")
	if r.code != 0 {
		b.Fatalf("create: %s", r.stderr)
	}
	b.Cleanup(func() { w.run(context.Background(), "delete", "bench-connect", "--yes") })
	e := w.engine()
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		c, err := e.Connect(ctx, tenant.ConnectOptions{Name: "bench-connect", Activate: true})
		if err != nil {
			b.Fatal(err)
		}
		c.Close()
	}
}
