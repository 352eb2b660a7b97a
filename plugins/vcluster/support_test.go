package vcluster

import (
	"errors"
	"strings"
	"testing"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
)

// Charts older than the values fit are refused with one line, as a usage
// error, before anything is fetched or installed.
func TestSupportedChart(t *testing.T) {
	for _, c := range []struct {
		version string
		ok      bool
	}{
		{"0.20.0", false}, {"v0.23.1", false}, {"0.25.0", true}, {"0.30.0", true}, {"0.34.0", true},
		{"", true}, {"^0.30", true}, // left to Helm
	} {
		err := supportedChart(c.version)
		if (err == nil) != c.ok {
			t.Errorf("supportedChart(%q) = %v, want ok=%v", c.version, err, c.ok)
			continue
		}
		if err != nil && (!errors.As(err, new(*tenant.UsageError)) || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "0.25.0 or newer")) {
			t.Errorf("supportedChart(%q) = %q: want one line naming the oldest supported version, as a usage error", c.version, err)
		}
	}
}
