package support_test

import (
	"os"
	"strings"
	"testing"

	"github.com/kubectl-tenant/kubectl-tenant/internal/support"
)

// TestREADMESupportTable: README.md's "Support" section holds exactly the
// table of support.Matrix, so the README claims no version e2e does not run.
func TestREADMESupportTable(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	i := strings.Index(readme, "\n## Support\n")
	if i < 0 {
		t.Fatalf("README.md has no \"## Support\" section; add one with:\n%s", support.Table())
	}
	section := readme[i+len("\n## Support\n"):]
	if j := strings.Index(section, "\n## "); j >= 0 {
		section = section[:j]
	}
	var rows []string
	for _, l := range strings.Split(section, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "|") {
			rows = append(rows, strings.TrimSpace(l))
		}
	}
	if got, want := strings.Join(rows, "\n")+"\n", support.Table(); got != want {
		t.Errorf("README.md's Support table is not support.Matrix's:\n%s\nwant:\n%s", got, want)
	}
}
