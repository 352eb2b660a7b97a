package tenant

import (
	"errors"
	"strings"
	"testing"
)

func TestValidateName(t *testing.T) {
	long := strings.Repeat("a", 63-len(NamespacePrefix))
	for _, tc := range []struct {
		name string
		ok   bool
		want string
	}{
		{"demo", true, ""},
		{"project-x", true, ""},
		{long, true, ""},
		{long + "a", false, "would be 64 characters"},
		{"", false, "required"},
		{"Demo", false, "RFC 1123"},
		{"-demo", false, "RFC 1123"},
		{"de_mo", false, "RFC 1123"},
		{"demo.x", false, "dots"},
	} {
		err := ValidateName(tc.name)
		if (err == nil) != tc.ok {
			t.Errorf("ValidateName(%q) = %v, want ok=%v", tc.name, err, tc.ok)
			continue
		}
		if err != nil {
			var ue *UsageError
			if !errors.As(err, &ue) {
				t.Errorf("ValidateName(%q): %T is not a UsageError", tc.name, err)
			}
			if !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("ValidateName(%q) = %q, want one line containing %q", tc.name, err, tc.want)
			}
		}
	}
}

func TestServiceSANs(t *testing.T) {
	got := ServiceSANs("vcluster-demo")
	want := []string{"vcluster.vcluster-demo.svc", "vcluster.vcluster-demo.svc.cluster.local"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("ServiceSANs = %v, want %v", got, want)
	}
}
