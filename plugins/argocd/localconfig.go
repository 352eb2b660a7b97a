package argocd

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"sigs.k8s.io/yaml"
)

// TokenEnv is the argocd CLI's environment variable for an auth token.
const TokenEnv = "ARGOCD_AUTH_TOKEN"

// LocalConfig is the part of the argocd CLI's config file
// (~/.config/argocd/config) this tool reads. It is only ever read: the
// argocd CLI owns the file.
type LocalConfig struct {
	CurrentContext string `json:"current-context"`
	Contexts       []struct {
		Name   string `json:"name"`
		Server string `json:"server"`
		User   string `json:"user"`
	} `json:"contexts"`
	Users []struct {
		Name      string `json:"name"`
		AuthToken string `json:"auth-token,omitempty"`
	} `json:"users"`
}

// LocalConfigPath is where the argocd CLI keeps its config, resolved as the
// CLI does: $ARGOCD_CONFIG_DIR, else the legacy ~/.argocd when it exists,
// else $XDG_CONFIG_HOME/argocd, else ~/.config/argocd; getenv is the
// environment.
func LocalConfigPath(getenv func(string) string) (string, error) {
	if d := getenv("ARGOCD_CONFIG_DIR"); d != "" {
		return filepath.Join(d, "config"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", err
	}
	if st, err := os.Stat(filepath.Join(home, ".argocd")); err == nil && st.IsDir() {
		return filepath.Join(home, ".argocd", "config"), nil
	}
	if x := getenv("XDG_CONFIG_HOME"); x != "" {
		return filepath.Join(x, "argocd", "config"), nil
	}
	return filepath.Join(home, ".config", "argocd", "config"), nil
}

// ReadLocalConfig reads the argocd CLI config at path; a missing file
// returns an error satisfying errors.Is(err, os.ErrNotExist).
func ReadLocalConfig(path string) (*LocalConfig, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var c LocalConfig
	if err := yaml.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("argocd CLI config %s: %w", path, err)
	}
	return &c, nil
}

// PortForwardServer is the server the argocd CLI records for a context made
// with `argocd login --port-forward`: an argocd-server reached through a
// port-forward, as this tool reaches it without --argocd-server.
const PortForwardServer = "port-forward"

// Token returns the auth token of the context for server (an Argo CD
// address as given to `argocd login`, with or without scheme) and the
// context's name. An empty server means the port-forwarded argocd-server:
// only a context the CLI made with --port-forward belongs to it (the
// current one when it is such), never a context of a named server, whose
// token would be sent to a server it was not issued by.
func (c *LocalConfig) Token(server string) (token, context string, ok bool) {
	want := ""
	for _, x := range c.Contexts {
		switch {
		case server == "" && x.Server != PortForwardServer:
		case server != "" && !sameServer(x.Server, server):
		case want == "" || x.Name == c.CurrentContext:
			want = x.Name
		}
	}
	if want == "" {
		return "", "", false
	}
	for _, x := range c.Contexts {
		if x.Name != want {
			continue
		}
		for _, u := range c.Users {
			if u.Name == x.User && u.AuthToken != "" {
				return u.AuthToken, x.Name, true
			}
		}
	}
	return "", "", false
}

// sameServer compares Argo CD addresses ignoring scheme, default ports and
// a trailing slash: "argocd.example.com" == "https://argocd.example.com:443/".
func sameServer(a, b string) bool { return normServer(a) == normServer(b) }

func normServer(s string) string {
	s = strings.TrimSpace(s)
	if !strings.Contains(s, "://") {
		s = "https://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return s
	}
	host := strings.ToLower(u.Hostname())
	if p := u.Port(); p != "" && p != "443" && p != "80" {
		host += ":" + p
	}
	return host + strings.TrimRight(u.Path, "/")
}

// tokenFromLocalConfig finds a token for server in the argocd CLI config;
// the returned source names where it came from (never the token itself).
func tokenFromLocalConfig(getenv func(string) string, server string) (token, source string, err error) {
	path, err := LocalConfigPath(getenv)
	if err != nil {
		return "", "", err
	}
	c, err := ReadLocalConfig(path)
	if errors.Is(err, os.ErrNotExist) {
		return "", "", nil
	}
	if err != nil {
		return "", "", err
	}
	t, ctxName, ok := c.Token(server)
	if !ok {
		return "", "", nil
	}
	return t, fmt.Sprintf("argocd CLI context %q in %s", ctxName, path), nil
}
