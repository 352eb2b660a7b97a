package argocd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// A config as `argocd login` writes it (v2.14 and v3 share the format).
const cliConfig = `contexts:
- name: localhost:8080
  server: localhost:8080
  user: localhost:8080
- name: argocd.example.com
  server: argocd.example.com
  user: argocd.example.com
current-context: localhost:8080
prompts-enabled: false
servers:
- grpc-web-root-path: ""
  insecure: true
  plain-text: true
  server: localhost:8080
- grpc-web-root-path: ""
  server: argocd.example.com
users:
- auth-token: tok-local
  name: localhost:8080
  refresh-token: r
- auth-token: tok-example
  name: argocd.example.com
`

func TestLocalConfigTokens(t *testing.T) {
	dir := t.TempDir()
	getenv := envOf(map[string]string{"ARGOCD_CONFIG_DIR": dir})
	path, err := LocalConfigPath(getenv)
	if err != nil || path != filepath.Join(dir, "config") {
		t.Fatalf("LocalConfigPath = %q, %v", path, err)
	}
	if tok, _, err := tokenFromLocalConfig(getenv, ""); err != nil || tok != "" {
		t.Errorf("no config file: token %q, err %v; want none and no error", tok, err)
	}
	if err := os.WriteFile(path, []byte(cliConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)
	for server, want := range map[string]string{
		"":                               "", // the current context is another server's (L11)
		"https://argocd.example.com":     "tok-example",
		"argocd.example.com:443":         "tok-example",
		"https://argocd.example.com:443": "tok-example",
		"http://localhost:8080/":         "tok-local",
		"https://other.example.com":      "",
	} {
		tok, src, err := tokenFromLocalConfig(getenv, server)
		if err != nil || tok != want {
			t.Errorf("server %q: token %q (%s), err %v; want %q", server, tok, src, err, want)
		}
		if tok != "" && (src == "" || contains(src, tok)) {
			t.Errorf("source %q must name the context, never the token", src)
		}
	}
	after, _ := os.ReadFile(path)
	if string(before) != string(after) {
		t.Error("reading the argocd CLI config changed it")
	}
}

// TestPortForwardTokenOnlyFromPortForwardContext: through the port-forward
// only the token of an `argocd login --port-forward` context is used, never
// the current context's when it belongs to a named server (L11).
func TestPortForwardTokenOnlyFromPortForwardContext(t *testing.T) {
	var c LocalConfig
	if err := yaml.Unmarshal([]byte(cliConfig), &c); err != nil {
		t.Fatal(err)
	}
	if tok, ctx, ok := c.Token(""); ok {
		t.Errorf("port-forward: got the token of context %q (%q), which belongs to another server", ctx, tok)
	}
	pf := cliConfig + `- auth-token: tok-pf
  name: port-forward
`
	pf = strings.Replace(pf, "current-context:", "- name: port-forward\n  server: port-forward\n  user: port-forward\ncurrent-context:", 1)
	if err := yaml.Unmarshal([]byte(pf), &c); err != nil {
		t.Fatal(err)
	}
	if tok, ctx, ok := c.Token(""); !ok || tok != "tok-pf" || ctx != "port-forward" {
		t.Errorf("port-forward context: got %q from %q (%v); want tok-pf", tok, ctx, ok)
	}
	if tok, _, _ := c.Token("https://argocd.example.com"); tok != "tok-example" {
		t.Errorf("named server: %q", tok)
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
