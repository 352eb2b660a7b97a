package root

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-tenant/kubectl-tenant/internal/cmdutil"
	"github.com/kubectl-tenant/kubectl-tenant/internal/cmdutil/cmdutiltest"
	"github.com/kubectl-tenant/kubectl-tenant/internal/factory"
)

// The error paths of every verb, against the table in docs/exit-codes.md:
// usage errors 2, an unreachable API 1, a forbidding API 4, cancelled
// (Ctrl-C while the API does not answer) 3, the tenant not found 1. Each
// runs the real command tree, as main does (cmdutil.ExitCodeFor).
func TestExitCodesMatchTheDocs(t *testing.T) {
	const (
		usage       = "usage"
		unreachable = "unreachable"
		forbidden   = "forbidden"
		cancelled   = "cancelled"
		notFound    = "not found"
	)
	want := map[string]int{usage: 2, unreachable: 1, forbidden: 4, cancelled: 3, notFound: 1}
	documented := docTable(t)
	for scenario, code := range want {
		if documented[code] == "" {
			t.Errorf("docs/exit-codes.md has no row for exit %d (%s)", code, scenario)
		}
	}

	// Each verb: how to reach the API (args), plus one usage error of its own.
	verbs := []struct {
		args     []string
		bad      []string
		notFound bool // the verb names one tenant, which may not exist
	}{
		{[]string{"create", "demo", "--connect=false"}, []string{"create", "demo", "--wait", "-5s"}, false},
		{[]string{"connect", "demo"}, []string{"connect", "demo", "--local-port", "70000"}, true},
		{[]string{"delete", "demo", "--yes"}, []string{"delete", "demo", "--yes", "--wait", "-5s"}, true},
		{[]string{"list"}, []string{"list", "-o", "xml"}, false},
		{[]string{"status", "demo"}, []string{"status", "demo", "--events", "-1"}, true},
		{[]string{"sleep", "demo"}, []string{"sleep", "demo", "--wait", "-1s"}, true},
		{[]string{"wake", "demo"}, []string{"wake", "demo", "--wait", "-1s"}, true},
		{[]string{"extend", "demo", "--ttl", "1h"}, []string{"extend", "demo", "--ttl", "-1h"}, true},
		{[]string{"gc"}, []string{"gc", "--wait", "-1s"}, false},
		{[]string{"stats"}, []string{"stats", "--idle", "-1h"}, false},
		{[]string{"upgrade", "demo", "--chart-version", "0.34.0"}, []string{"upgrade", "demo", "--chart-version", "0.34.0", "--canary", "-1"}, true},
		{[]string{"register", "demo", "--yes"}, []string{"register", "demo", "--yes", "--argocd-server", "ftp://x"}, true},
		{[]string{"deregister", "demo"}, []string{"deregister", "Bad_Name"}, true},
	}

	for _, v := range verbs {
		verb := v.args[0]
		t.Run(verb+"/"+usage, func(t *testing.T) {
			code, errb := execute(t, context.Background(), "/nonexistent/kubeconfig", v.bad)
			if code != want[usage] {
				t.Errorf("%v: exit %d, want %d: %s", v.bad, code, want[usage], errb)
			}
			if verb == "register" && !strings.Contains(errb, "invalid --argocd-server") { // audit L17: it named kubectl's --server
				t.Errorf("%v: the error does not name --argocd-server: %s", v.bad, errb)
			}
		})
		t.Run(verb+"/"+unreachable, func(t *testing.T) {
			code, errb := execute(t, context.Background(), cmdutiltest.Kubeconfig(t, refusedURL(t), nil), v.args)
			if code != want[unreachable] {
				t.Errorf("%v: exit %d, want %d: %s", v.args, code, want[unreachable], errb)
			}
		})
		t.Run(verb+"/"+forbidden, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusForbidden)
				_, _ = w.Write([]byte(`{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"Forbidden","code":403,"message":"` + r.URL.Path + ` is forbidden: User \"me\" cannot do that"}`))
			}))
			t.Cleanup(srv.Close)
			code, errb := execute(t, context.Background(), cmdutiltest.Kubeconfig(t, srv.URL, nil), v.args)
			if code != want[forbidden] {
				t.Errorf("%v: exit %d, want %d: %s", v.args, code, want[forbidden], errb)
			}
		})
		t.Run(verb+"/"+cancelled, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			release := make(chan struct{})
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				cancel() // Ctrl-C while the API does not answer
				select {
				case <-release:
				case <-r.Context().Done():
				}
			}))
			t.Cleanup(srv.Close)
			t.Cleanup(func() { close(release) })
			code, errb := execute(t, ctx, cmdutiltest.Kubeconfig(t, srv.URL, nil), v.args)
			if code != want[cancelled] {
				t.Errorf("%v: exit %d, want %d: %s", v.args, code, want[cancelled], errb)
			}
		})
		if v.notFound {
			t.Run(verb+"/"+notFound, func(t *testing.T) {
				kc, _ := cmdutiltest.FakeHost(t) // a host with no tenants
				code, errb := execute(t, context.Background(), kc, v.args)
				if code != want[notFound] {
					t.Errorf("%v: exit %d, want %d: %s", v.args, code, want[notFound], errb)
				}
			})
		}
	}

	// Local verbs.
	for _, c := range []struct {
		args []string
		code int
	}{
		{[]string{"disconnect", "a", "b"}, 2},
		{[]string{"version", "-o", "xml"}, 2},
		{[]string{"completion", "tcsh"}, 2},
		{[]string{"render", "--only", "nope"}, 2},
		{[]string{"render", "-f", "/nonexistent/config.yaml", "--out", t.TempDir()}, 2},
		// Unknown subcommands and argument counts at every depth (cobra
		// answered `pool nope` with help and 0, `nope` with 1).
		{[]string{"nope"}, 2},
		{[]string{"pool", "nope"}, 2},
		{[]string{"config", "nope"}, 2},
		{[]string{"pool", "set"}, 2},
		{[]string{"config", "view", "extra"}, 2},
		{[]string{"pool"}, 0}, // a group alone prints its help
	} {
		code, errb := execute(t, context.Background(), "/nonexistent/kubeconfig", c.args)
		if code != c.code {
			t.Errorf("%v: exit %d, want %d: %s", c.args, code, c.code, errb)
		}
	}
}

// An unknown subcommand is named in one line, with cobra's suggestion.
func TestUnknownCommandSuggests(t *testing.T) {
	for args, want := range map[string]string{
		"craete":      `unknown command "craete" for "kubectl tenant"; did you mean "create"?`,
		"pool stauts": `unknown command "stauts" for "kubectl tenant pool"; did you mean "status"?`,
		"zzz":         `unknown command "zzz" for "kubectl tenant"`,
	} {
		code, errb := execute(t, context.Background(), "/nonexistent/kubeconfig", strings.Fields(args))
		if code != 2 || errb != "error: "+want {
			t.Errorf("%s: exit %d, stderr %q; want 2 and %q", args, code, errb, "error: "+want)
		}
	}
}

// execute runs the command tree like main and returns the exit code and
// stderr (main prints the error line; here it is appended).
func execute(t *testing.T, ctx context.Context, kubeconfig string, args []string) (int, string) {
	t.Helper()
	var out, errb bytes.Buffer
	streams := genericiooptions.IOStreams{In: &bytes.Buffer{}, Out: &out, ErrOut: &errb}
	t.Setenv("HOME", t.TempDir())
	t.Setenv("KUBECTL_TENANT_STATE_DIR", t.TempDir())
	cmd := NewCmdRoot(factory.New(streams))
	cmd.SetArgs(append(args, "--kubeconfig", kubeconfig, "--request-timeout", "20s"))
	err := cmd.ExecuteContext(ctx)
	if err != nil {
		errb.WriteString("error: " + cmdutil.OneLine(err))
	}
	return cmdutil.ExitCodeFor(ctx, err), errb.String()
}

// refusedURL is a loopback address nothing listens on.
func refusedURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}

// docTable reads docs/exit-codes.md: code -> meaning.
func docTable(t *testing.T) map[int]string {
	t.Helper()
	b, err := os.ReadFile("../../../docs/exit-codes.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := map[int]string{}
	for _, line := range strings.Split(string(b), "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 4 {
			continue
		}
		code := strings.TrimSpace(cells[1])
		if len(code) == 1 && code[0] >= '0' && code[0] <= '9' {
			rows[int(code[0]-'0')] = strings.TrimSpace(cells[2])
		}
	}
	return rows
}

// A plain-HTTP Argo CD address without --insecure is a usage error (exit 2,
// docs/exit-codes.md) before any API call, on register and create
// --register alike (audit N4).
func TestPlainHTTPArgoCDIsUsageError(t *testing.T) {
	for _, args := range [][]string{
		{"register", "demo", "--yes", "--argocd-server", "http://argocd.example"},
		{"create", "demo", "--register", "--argocd-server", "http://argocd.example"},
	} {
		code, errb := execute(t, context.Background(), "/nonexistent/kubeconfig", args)
		if code != 2 || !strings.Contains(errb, "refusing Argo CD server http://argocd.example (from flag --argocd-server)") {
			t.Errorf("%v: exit %d: %s", args, code, errb)
		}
	}
}
