package e2e

import (
	"net/http"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
)

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// report records p50/p95 (nearest rank) of ds as the benchmark's metrics.
func report(b *testing.B, ds []time.Duration) {
	slices.Sort(ds)
	b.ReportMetric(tenant.Percentile(ds, 50).Seconds(), "p50-s")
	b.ReportMetric(tenant.Percentile(ds, 95).Seconds(), "p95-s")
	b.ReportMetric(float64(len(ds)), "runs")
	b.Logf("runs (s): %v", secs(ds))
}

func secs(ds []time.Duration) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = strconv.FormatFloat(d.Seconds(), 'f', 2, 64)
	}
	return out
}
