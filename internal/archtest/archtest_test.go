// Package archtest asserts the import rules of docs/architecture.md with
// `go list` over the module: the layers stay layered as the code grows.
package archtest

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os/exec"
	"path/filepath"
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

// envReaders are the files allowed to read the process environment, and
// why. The Factory reads it once (cmdutil.ReadEnv) and hands it down; the
// terminal's own variables stay with the packages that draw.
var envReaders = map[string]string{
	"internal/cmdutil/env.go":    "ReadEnv: the one read, by factory.New",
	"internal/tui/styles.go":     "NO_COLOR, a terminal setting of the interactive app",
	"internal/progress/lines.go": "TERM=dumb, a terminal setting of the step view",
}

// TestEnvironmentIsReadOnce: no file of the engine, the plugins, the
// commands or their shared code reads os.Getenv, os.LookupEnv or
// os.Environ (but envReaders); they take the Factory's Env.
func TestEnvironmentIsReadOnce(t *testing.T) {
	root := "../.."
	for _, dir := range []string{"pkg", "plugins", "internal", "cmd"} {
		err := filepath.WalkDir(filepath.Join(root, dir), func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return err
			}
			rel, _ := filepath.Rel(root, path)
			if _, ok := envReaders[filepath.ToSlash(rel)]; ok {
				return nil
			}
			f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
			if err != nil {
				return err
			}
			ast.Inspect(f, func(n ast.Node) bool {
				sel, ok := n.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				if x, ok := sel.X.(*ast.Ident); ok && x.Name == "os" && slices.Contains([]string{"Getenv", "LookupEnv", "Environ"}, sel.Sel.Name) {
					t.Errorf("%s reads os.%s: take the Factory's Env (cmdutil.Env) instead", rel, sel.Sel.Name)
				}
				return true
			})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestOnlyTheFactoryLinksTheBackends: the commands and what they share
// link no backend: internal/factory wires the vCluster backend (and with
// it the Helm SDK) into the Factory main hands them, so a command's unit
// tests build without Helm and a new backend touches one package.
func TestOnlyTheFactoryLinksTheBackends(t *testing.T) {
	backend := []string{"helm.sh/", "github.com/loft-sh/", module + "/plugins/vcluster", module + "/internal/factory"}
	pkgs := list(t, `{{.ImportPath}}`, module+"/internal/cmdutil", module+"/internal/cmd/...")
	for _, pkg := range pkgs {
		deps := list(t, `{{join .Deps "\n"}}`, pkg)
		if i := slices.IndexFunc(deps, func(d string) bool {
			return slices.ContainsFunc(backend, func(b string) bool { return strings.HasPrefix(d, b) })
		}); i >= 0 {
			t.Errorf("%s links %s: take it through the Factory (internal/factory wires it)", pkg, deps[i])
		}
	}
}

// TestNoOptionsHoldTheFactory: a command's Options (any struct of a
// command package or of cmdutil) hold the funcs they use, never the
// Factory, so a test gives each one its own.
func TestNoOptionsHoldTheFactory(t *testing.T) {
	root := "../.."
	dirs, err := filepath.Glob(filepath.Join(root, "internal", "cmd", "*"))
	if err != nil {
		t.Fatal(err)
	}
	dirs = append(dirs, filepath.Join(root, "internal", "cmdutil"))
	checked := 0
	for _, dir := range dirs {
		files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
		for _, path := range files {
			if strings.HasSuffix(path, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
			if err != nil {
				t.Fatal(err)
			}
			ast.Inspect(f, func(n ast.Node) bool {
				st, ok := n.(*ast.StructType)
				if !ok {
					return true
				}
				checked++
				for _, fld := range st.Fields.List {
					typ := fld.Type
					if s, ok := typ.(*ast.StarExpr); ok {
						typ = s.X
					}
					switch x := typ.(type) {
					case *ast.SelectorExpr: // cmdutil.Factory
						if x.Sel.Name == "Factory" {
							t.Errorf("%s: a struct holds the Factory; take the funcs it uses", path)
						}
					case *ast.Ident: // Factory, inside cmdutil
						if x.Name == "Factory" {
							t.Errorf("%s: a struct holds the Factory; take the funcs it uses", path)
						}
					}
				}
				return true
			})
		}
	}
	if checked < 20 {
		t.Fatalf("checked %d structs: the walk found too few", checked)
	}
}

// TestWarmPoolIsARoom: the engine reaches the warm pool only through its
// Claimer hook (pkg/tenant never links pkg/warmpool), and pkg/warmpool
// does not import the configuration packages: hostconfig and gitops use
// its Config, the one type of a pool's configuration.
func TestWarmPoolIsARoom(t *testing.T) {
	pool := module + "/pkg/warmpool"
	for _, d := range list(t, `{{join .Deps "\n"}}`, module+"/pkg/tenant") {
		if d == pool {
			t.Errorf("pkg/tenant links %s: create reaches the pool through tenant.Claimer", pool)
		}
	}
	for _, l := range list(t, `{{.ImportPath}} {{join .Imports " "}}`, module+"/pkg/warmpool") {
		for _, imp := range strings.Fields(l)[1:] {
			if imp == module+"/pkg/hostconfig" || imp == module+"/pkg/gitops" {
				t.Errorf("pkg/warmpool imports %s: the configuration reads the pool's Config, not the other way", imp)
			}
		}
	}
}
