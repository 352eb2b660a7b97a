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

// A warm spare's name is not a tenant's (audit N7): every verb refuses it
// with one usage line, before any API call.
func TestValidateNameRefusesSpareNames(t *testing.T) {
	err := ValidateName("spare-0badc0de")
	var ue *UsageError
	if err == nil || !errors.As(err, &ue) || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "reserved for warm spares") {
		t.Errorf("ValidateName(spare-0badc0de) = %v, want a one-line usage error", err)
	}
	if err := validateName("spare-0badc0de"); err != nil {
		t.Errorf("the pool's own check refused its spare: %v", err)
	}
	if err := ValidateName("spares"); err != nil {
		t.Errorf("spares: %v", err)
	}
}
