// Package argocd registers tenants with Argo CD: a small typed client for the
// few REST endpoints it needs (session, clusters, version, can-i), login
// through an in-process port-forward to argocd-server, the `argocd cluster
// add` equivalent inside the vCluster, the declarative cluster Secret, the
// bootstrap ApplicationSet, and the engine's tenant.Registrar.
//
// It does not import github.com/argoproj/argo-cd: that module needs replace
// directives in every module that imports it (Argo CD's own docs say so), and
// the main module must stay free of them. The JSON types below are the
// subset of Argo CD's v1alpha1 types this tool reads and writes; their field
// names are the same in v2.14 and v3.x (test/e2e runs register, deregister,
// bootstrap and create --gitops against v2.14.21 and v3.2.11).
package argocd

import (
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
)

// Cluster is Argo CD's v1alpha1.Cluster as the REST API speaks it.
type Cluster struct {
	Server           string            `json:"server"`
	Name             string            `json:"name"`
	Config           ClusterConfig     `json:"config"`
	Namespaces       []string          `json:"namespaces,omitempty"`
	ClusterResources bool              `json:"clusterResources,omitempty"`
	Project          string            `json:"project,omitempty"`
	Labels           map[string]string `json:"labels,omitempty"`
	Annotations      map[string]string `json:"annotations,omitempty"`
	// ConnectionState is deprecated by Argo CD in favour of Info's; older
	// servers fill only this one. Read it through State.
	ConnectionState *ConnectionState `json:"connectionState,omitempty"`
	ServerVersion   string           `json:"serverVersion,omitempty"`
	Info            *ClusterInfo     `json:"info,omitempty"`
}

// ClusterConfig holds how Argo CD authenticates to the cluster. It carries a
// bearer token: never print or log it.
type ClusterConfig struct {
	BearerToken     string          `json:"bearerToken,omitempty"`
	TLSClientConfig TLSClientConfig `json:"tlsClientConfig"`
}

// TLSClientConfig is Argo CD's TLS settings for a cluster; CAData is PEM
// (base64 in JSON, like every []byte).
type TLSClientConfig struct {
	Insecure   bool   `json:"insecure"`
	ServerName string `json:"serverName,omitempty"`
	CAData     []byte `json:"caData,omitempty"`
}

// ClusterInfo is what Argo CD's cache knows about a cluster.
type ClusterInfo struct {
	ConnectionState ConnectionState `json:"connectionState"`
	ServerVersion   string          `json:"serverVersion,omitempty"`
}

// ConnectionState is Successful, Failed or Unknown, with a message.
type ConnectionState struct {
	Status  string `json:"status"`
	Message string `json:"message,omitempty"`
}

// State is the cluster's connection state from info (v2.x and v3) or the
// deprecated top-level field.
func (c *Cluster) State() ConnectionState {
	if c.Info != nil && c.Info.ConnectionState.Status != "" {
		return c.Info.ConnectionState
	}
	if c.ConnectionState != nil {
		return *c.ConnectionState
	}
	return ConnectionState{}
}

// ClusterList is GET /api/v1/clusters.
type ClusterList struct {
	Items []Cluster `json:"items"`
}

// ConnectionSuccessful is the state of a cluster Argo CD reached.
const ConnectionSuccessful = "Successful"

// APIError is an error answer of the Argo CD API (a gRPC status carried over
// grpc-gateway: {"code":16,"message":"..."}; v2 also sets "error").
type APIError struct {
	HTTPStatus int
	Code       int // gRPC code: 16 unauthenticated, 7 permission denied, 5 not found
	Message    string
}

func (e *APIError) Error() string { return e.Message }

// Unauthenticated says Argo CD rejected the credentials.
func (e *APIError) Unauthenticated() bool {
	return e.HTTPStatus == http.StatusUnauthorized || e.Code == 16
}

// PermissionDenied says Argo CD's RBAC denied the call.
func (e *APIError) PermissionDenied() bool {
	return e.HTTPStatus == http.StatusForbidden || e.Code == 7
}

// Client talks to one Argo CD API server. Token, once set by Login or
// SetToken, is sent as a bearer token and never printed.
type Client struct {
	base  *url.URL
	http  *http.Client
	token string
	// session: token is a session this client created (Login), which
	// Logout ends; a token given to SetToken is the user's and never is.
	session bool
	// Via, when set, says in errors how the server is reached (e.g.
	// "through a port-forward to argocd/argocd-server-abc:8080"); "at HOST"
	// otherwise.
	Via string
	// InsecureHint is how the failing command skips TLS verification,
	// named in TLS errors (default --insecure, register's flag).
	InsecureHint string
}

// NewClient returns a client for base (http:// or https://host[:port][/root]).
// tlsConfig may be nil (system roots, verified).
func NewClient(base string, tlsConfig *tls.Config) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(base, "/"))
	if err != nil {
		return nil, fmt.Errorf("Argo CD server %q: %w", base, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("Argo CD server %q: want http(s)://HOST[:PORT]", base)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil // the API server is reached directly (or through our own forward)
	tr.TLSClientConfig = tlsConfig
	tr.TLSHandshakeTimeout = 5 * time.Second
	return &Client{base: u, http: &http.Client{
		Transport: tr,
		Timeout:   60 * time.Second,
		// Argo CD answers plain HTTP on a TLS port with a redirect to
		// https: never follow it with credentials.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}, nil
}

// BaseURL is the server's URL as the client reaches it.
func (c *Client) BaseURL() string { return c.base.String() }

// SetToken makes the client use an existing token (ARGOCD_AUTH_TOKEN, the
// argocd CLI's config).
func (c *Client) SetToken(token string) { c.token, c.session = token, false }

// Login creates a session (POST /api/v1/session) and keeps its token.
func (c *Client) Login(ctx context.Context, username, password string) error {
	var out struct {
		Token string `json:"token"`
	}
	err := c.do(ctx, http.MethodPost, "/api/v1/session", nil, map[string]string{"username": username, "password": password}, &out)
	if err != nil {
		return err
	}
	if out.Token == "" {
		return errors.New("Argo CD created a session without a token")
	}
	c.token, c.session = out.Token, true
	return nil
}

// Logout ends the session Login created (DELETE /api/v1/session: Argo CD
// revokes the token) and forgets the token. A token given to SetToken is
// not the client's to end: Logout leaves it alone.
func (c *Client) Logout(ctx context.Context) error {
	if !c.session {
		return nil
	}
	err := c.do(ctx, http.MethodDelete, "/api/v1/session", nil, nil, nil)
	c.token, c.session = "", false
	return err
}

// Version is GET /api/version (no login needed).
func (c *Client) Version(ctx context.Context) (string, error) {
	var out struct {
		Version string `json:"Version"`
	}
	if err := c.do(ctx, http.MethodGet, "/api/version", nil, nil, &out); err != nil {
		return "", err
	}
	if out.Version == "" {
		return "", errors.New("the server answered /api/version without a version: is it Argo CD?")
	}
	return out.Version, nil
}

// CanI asks whether the session may do action on resource/object, e.g.
// ("clusters", "create", "*"). A rejected token surfaces here with Argo CD's
// reason (expired, invalid signature), which is why login checks with it.
func (c *Client) CanI(ctx context.Context, resource, action, object string) (bool, error) {
	var out struct {
		Value string `json:"value"`
	}
	p := "/api/v1/account/can-i/" + url.PathEscape(resource) + "/" + url.PathEscape(action) + "/" + escapeSegment(object)
	if err := c.do(ctx, http.MethodGet, p, nil, nil, &out); err != nil {
		return false, err
	}
	return out.Value == "yes", nil
}

// ListClusters is GET /api/v1/clusters.
func (c *Client) ListClusters(ctx context.Context) ([]Cluster, error) {
	var out ClusterList
	if err := c.do(ctx, http.MethodGet, "/api/v1/clusters", nil, nil, &out); err != nil {
		return nil, err
	}
	return out.Items, nil
}

// UpsertCluster is POST /api/v1/clusters?upsert=true: create, or replace the
// cluster with the same server. Argo CD connects to the cluster first and
// refuses it when it cannot.
func (c *Client) UpsertCluster(ctx context.Context, cl *Cluster) (*Cluster, error) {
	var out Cluster
	if err := c.do(ctx, http.MethodPost, "/api/v1/clusters", url.Values{"upsert": {"true"}}, cl, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteCluster is DELETE /api/v1/clusters/{server}. Argo CD answers
// "permission denied" for a server it does not know: look it up first.
func (c *Client) DeleteCluster(ctx context.Context, server string) error {
	return c.do(ctx, http.MethodDelete, "/api/v1/clusters/"+escapeSegment(server), url.Values{"id.type": {"server"}}, nil, nil)
}

// escapeSegment escapes a server URL as one path segment the way Argo CD's UI
// does (encodeURIComponent): grpc-gateway only routes it with ':' escaped too.
func escapeSegment(s string) string {
	return strings.ReplaceAll(url.PathEscape(s), ":", "%3A")
}

func (c *Client) do(ctx context.Context, method, path string, q url.Values, in, out any) error {
	// path is already escaped: a server URL in it keeps its %2F.
	u := *c.base
	u.RawPath = c.base.EscapedPath() + path
	p, err := url.PathUnescape(u.RawPath)
	if err != nil {
		return err
	}
	u.Path = p
	u.RawQuery = q.Encode()
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Content-Type", "application/json") // even without a body: DELETE wants it (415 otherwise)
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return c.transportError(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return c.transportError(err)
	}
	if resp.StatusCode >= 300 {
		return apiError(resp, b)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("Argo CD %s %s: unexpected answer (%s): %v", method, path, resp.Header.Get("Content-Type"), err)
	}
	return nil
}

func apiError(resp *http.Response, b []byte) error {
	var e struct {
		Error   string `json:"error"`
		Code    int    `json:"code"`
		Message string `json:"message"`
	}
	msg := ""
	if json.Unmarshal(b, &e) == nil {
		msg = cmp.Or(e.Message, e.Error)
	}
	if msg == "" {
		msg = strings.TrimSpace(string(b))
		if len(msg) > 200 || strings.HasPrefix(msg, "<") {
			msg = ""
		}
	}
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		msg = "redirected to " + resp.Header.Get("Location")
	}
	if msg == "" {
		msg = resp.Status
	}
	return &APIError{HTTPStatus: resp.StatusCode, Code: e.Code, Message: tenant.FirstLine(strings.TrimSpace(msg))}
}

// TLSError is a failed TLS verification of the Argo CD server, with the
// flag that gets past it.
type TLSError struct {
	Server     string // "at HOST" or "through ..."
	SelfSigned bool
	Err        error
	// Hint is the flag (or setting) of the failing command that skips
	// verification (default --insecure).
	Hint string
}

func (e *TLSError) Error() string {
	hint := cmp.Or(e.Hint, DefaultFlags.Insecure)
	if e.SelfSigned {
		return fmt.Sprintf("Argo CD %s presents a self-signed certificate (Argo CD's default when argocd-server-tls is not set): "+
			"pass %s to skip verification, or give argocd-server a certificate from a trusted CA", e.Server, hint)
	}
	return fmt.Sprintf("Argo CD %s: TLS verification failed: %v (pass %s to skip verification)", e.Server, e.Err, hint)
}

func (e *TLSError) Unwrap() error { return e.Err }

// UnreachableError says the Argo CD server could not be reached at all.
type UnreachableError struct {
	Server string
	Err    error
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("cannot reach Argo CD %s: %v", e.Server, e.Err)
}

func (e *UnreachableError) Unwrap() error { return e.Err }

func (c *Client) where() string { return cmp.Or(c.Via, "at "+c.base.Host) }

func (c *Client) transportError(err error) error {
	if errors.Is(err, context.Canceled) {
		return err
	}
	var (
		ua  x509.UnknownAuthorityError
		hn  x509.HostnameError
		cie x509.CertificateInvalidError
		tve *tls.CertificateVerificationError
	)
	switch {
	case errors.As(err, &ua):
		return &TLSError{Server: c.where(), SelfSigned: selfSigned(ua.Cert), Err: err, Hint: c.InsecureHint}
	case errors.As(err, &hn), errors.As(err, &cie), errors.As(err, &tve):
		return &TLSError{Server: c.where(), Err: unwrapURL(err), Hint: c.InsecureHint}
	}
	err = unwrapURL(err)
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) {
		err = fmt.Errorf("the connection was closed without an answer (%v): is argocd-server running?", err)
	}
	return &UnreachableError{Server: c.where(), Err: err}
}

// selfSigned says whether cert signed itself (issuer is subject and its own
// key verifies its signature), as Argo CD's generated default is.
func selfSigned(cert *x509.Certificate) bool {
	if cert == nil || !bytes.Equal(cert.RawIssuer, cert.RawSubject) {
		return false
	}
	return cert.CheckSignature(cert.SignatureAlgorithm, cert.RawTBSCertificate, cert.Signature) == nil
}

func unwrapURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		return oe.Err
	}
	return err
}
