// Package archtest asserts the import rules of docs/architecture.md with
// `go list` over the module: the layers stay layered as the code grows.
package archtest

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/kubectl-tenant/kubectl-tenant"

// list runs `go list -f format args...` in the module and returns its lines.
func list(t *testing.T, format string, args ...string) []string {
	t.Helper()
	cmd := exec.Command("go", append([]string{"list", "-f", format}, args...)...)
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("go list %v: %v\n%s", args, err, stderr)
	}
	return strings.Split(strings.TrimSpace(string(out)), "\n")
}

// TestCommandsDoNotImportEachOther: a verb's package never reaches into
// another's (what two verbs share lives in internal/cmdutil or pkg/); only
// root, which assembles the tree, imports them all.
func TestCommandsDoNotImportEachOther(t *testing.T) {
	prefix := module + "/internal/cmd/"
	lines := list(t, `{{.ImportPath}} {{join .Imports " "}} {{join .TestImports " "}}`, module+"/internal/cmd/...")
	if len(lines) < 10 {
		t.Fatalf("go list found %d command packages: %v", len(lines), lines)
	}
	for _, l := range lines {
		f := strings.Fields(l)
		if f[0] == prefix+"root" {
			continue
		}
		for _, imp := range f[1:] {
			if strings.HasPrefix(imp, prefix) && imp != f[0] {
				t.Errorf("%s imports %s: move what they share to internal/cmdutil or pkg/", strings.TrimPrefix(f[0], module+"/"), strings.TrimPrefix(imp, module+"/"))
			}
		}
	}
}

// uiLinked are pkg/ packages that still link cobra indirectly, and why.
// Remove an entry as soon as its cause is gone.
var uiLinked = map[string]string{}

// TestEngineHasNoUI: nothing under pkg/ imports a CLI or TUI framework or
// the internal packages, and none links one indirectly (but uiLinked).
func TestEngineHasNoUI(t *testing.T) {
	// pflag is only banned as a direct import: client-go's clientcmd links it.
	banned := []string{"github.com/spf13/cobra", "github.com/charmbracelet/", module + "/internal/"}
	isBanned := func(d string) bool {
		return slices.ContainsFunc(banned, func(b string) bool { return strings.HasPrefix(d, b) })
	}
	lines := list(t, `{{.ImportPath}} {{join .Imports " "}}`, module+"/pkg/...")
	for _, l := range lines {
		f := strings.Fields(l)
		for _, imp := range f[1:] {
			if isBanned(imp) || strings.HasPrefix(imp, "github.com/spf13/pflag") {
				t.Errorf("%s imports %s", f[0], imp)
			}
		}
	}
	for _, l := range lines {
		pkg := strings.Fields(l)[0]
		if _, ok := uiLinked[pkg]; ok {
			continue
		}
		deps := list(t, `{{join .Deps "\n"}}`, pkg)
		if i := slices.IndexFunc(deps, isBanned); i >= 0 {
			t.Errorf("%s links %s", pkg, deps[i])
		}
	}
}
