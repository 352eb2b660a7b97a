package argocd

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/hostconfig"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/portforward"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
	"github.com/kubectl-tenant/kubectl-tenant/plugins/argocd/application"
)

// Names Argo CD's manifests use.
const (
	DefaultNamespace   = application.DefaultNamespace
	ServerService      = "argocd-server"
	InitialAdminSecret = "argocd-initial-admin-secret"
	adminUser          = "admin"
)

// Auth methods.
const (
	// AuthAuto uses ARGOCD_AUTH_TOKEN when set, else the argocd CLI's token
	// for an explicit --server, else the initial admin password.
	AuthAuto         = ""
	AuthInitialAdmin = "initial-admin"
	AuthToken        = "token"
)

// ErrNotInstalled says there is no Argo CD where it was looked for.
var ErrNotInstalled = errors.New("Argo CD is not installed")

// Options say where Argo CD is and how to log in.
type Options struct {
	// Namespace of argocd-server and its Secrets (default argocd).
	Namespace string
	// Server is an explicit API address (https://HOST[:PORT], or http:// for
	// a plain-HTTP server, which needs Insecure); empty opens a port-forward
	// to Service argocd-server, as `kubectl port-forward svc/argocd-server`
	// would.
	Server string
	// ServerFrom says where Server came from, for errors: the flag, the
	// environment variable or the host ConfigMap, as hostconfig.Value.Origin
	// names it.
	ServerFrom string
	// Auth is AuthAuto, AuthInitialAdmin or AuthToken.
	Auth string
	// Insecure skips TLS verification of the Argo CD server, and allows an
	// explicit Server over plain HTTP (credentials in clear text).
	Insecure bool
	// Plaintext speaks plain HTTP (argocd-server started with --insecure).
	// Through the port-forward this is detected by itself; see Login. With
	// an explicit Server it needs Insecure.
	Plaintext bool
	// Flags name Insecure and Plaintext in errors as the command that
	// failed spells them (zero: DefaultFlags, register's).
	Flags FlagNames
	// Getenv is the environment the caller read: $ARGOCD_AUTH_TOKEN and
	// where the argocd CLI keeps its config. nil reads none; the plugin
	// never reads the process environment itself.
	Getenv func(string) string

	envErr error // a malformed environment variable (OptionsFrom)
}

// FlagNames are how a command sets Options.Insecure and Options.Plaintext,
// so an error advises what exists on that command.
type FlagNames struct {
	Insecure  string
	Plaintext string
}

// Flag names of the commands and of the environment.
var (
	// DefaultFlags are register's and deregister's.
	DefaultFlags = FlagNames{Insecure: "--insecure", Plaintext: "--plaintext"}
	// PrefixedFlags are create's, where --insecure would be ambiguous.
	PrefixedFlags = FlagNames{Insecure: "--argocd-insecure", Plaintext: "--argocd-plaintext"}
	// EnvFlags are what commands without Argo CD flags (list, delete, gc,
	// the interactive app) read.
	EnvFlags = FlagNames{Insecure: hostconfig.EnvArgoCDInsecure + "=true", Plaintext: hostconfig.EnvArgoCDPlaintext + "=true"}
)

// OptionsFrom are the Options of a resolved Argo CD location a (where no
// flag applies: list, delete, gc, the interactive app), with EnvFlags for
// errors and getenv for the token. A malformed boolean variable is
// reported by Validate (so by the first Argo CD call), not here.
func OptionsFrom(a hostconfig.ArgoCD, getenv func(string) string) Options {
	o := Options{Namespace: a.Namespace.Value, Server: a.Server.Value, Insecure: a.Insecure, Plaintext: a.Plaintext,
		Flags: EnvFlags, Getenv: getenv, envErr: a.Err}
	if o.Server != "" {
		o.ServerFrom = a.Server.Origin()
	}
	return o
}

func (o Options) flags() FlagNames {
	f := o.Flags
	if f.Insecure == "" {
		f.Insecure = DefaultFlags.Insecure
	}
	if f.Plaintext == "" {
		f.Plaintext = DefaultFlags.Plaintext
	}
	return f
}

func (o Options) namespace() string { return cmp.Or(o.Namespace, DefaultNamespace) }

// getenv reads o's environment (none when o has no Getenv).
func (o Options) getenv(key string) string {
	if o.Getenv == nil {
		return ""
	}
	return o.Getenv(key)
}

// Validate checks the options without any network call.
func (o Options) Validate() error {
	if o.envErr != nil {
		return o.envErr
	}
	switch o.Auth {
	case AuthAuto, AuthInitialAdmin, AuthToken:
	default:
		return tenant.NewUsageError(fmt.Sprintf("unknown --auth %q (use initial-admin or token)", o.Auth))
	}
	if o.Server != "" {
		u, err := serverURL(o.Server, o.Plaintext)
		if err != nil {
			return tenant.NewUsageError(err.Error())
		}
		if u.Scheme == "http" && !o.Insecure {
			return tenant.NewUsageError(o.plainHTTPRefused(u))
		}
	}
	return nil
}

// plainHTTPRefused is the error of an explicit server over plain HTTP
// without Insecure: the admin password or token would cross the network
// in clear text, to an address that may have come from the host defaults.
func (o Options) plainHTTPRefused(u *url.URL) string {
	from := o.ServerFrom
	if from == "" {
		from = "--argocd-server"
	}
	how := "use https://"
	if o.Plaintext && !strings.HasPrefix(o.Server, "http://") {
		from += ", plain HTTP by " + o.flags().Plaintext
		how = "drop " + o.flags().Plaintext
	}
	return fmt.Sprintf("refusing Argo CD server %s (from %s): plain HTTP would send the Argo CD password or token unencrypted; %s, or pass %s to allow it",
		u, from, how, o.flags().Insecure)
}

// Session is a logged-in Argo CD client; Close ends its port-forward.
type Session struct {
	*Client
	// Version is the server's version, e.g. v3.2.11+abc.
	Version string
	// User is who the session is (admin, or where the token came from).
	User string
	// Plaintext is true when the server speaks plain HTTP.
	Plaintext bool
	forward   *portforward.Forward
}

// Close logs out a session Login created with a password (a user's token
// stays valid) and ends the port-forward, if any. It is best effort and
// bounded: a server that is gone does not hold it up.
func (s *Session) Close() {
	if s == nil {
		return
	}
	if s.Client != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = s.Logout(ctx)
		cancel()
	}
	if s.forward != nil {
		s.forward.Close()
	}
}

// Login reaches Argo CD and logs in:
//
//   - Address: o.Server, else an in-process port-forward to Service
//     argocd-server in o.Namespace (its https port's targetPort on a Running
//     pod, resolved as kubectl does).
//   - TLS: verified (through the forward under the name
//     argocd-server.NAMESPACE.svc, which Argo CD's generated certificate
//     covers) unless o.Insecure. A self-signed certificate fails with an
//     error that says so and names the flag that skips it (o.Flags).
//   - Plain HTTP: argocd-server started with --insecure speaks no TLS.
//     Through the port-forward — already an authenticated, encrypted tunnel
//     through the Kubernetes API — a plain-HTTP GET /api/version (no
//     credentials) comes first: a TLS server answers it with a redirect to
//     https and is then used over verified TLS; a server that answers it
//     with its version is used in plain HTTP. An explicit o.Server never
//     falls back: it must say http:// or set o.Plaintext, and plain HTTP to
//     an explicit server is refused unless o.Insecure (Validate), before
//     any request.
//   - Auth: see Options.Auth. The session is checked with an authenticated
//     call, so an expired or foreign token fails here with Argo CD's reason.
//
// Errors are one line; rejected credentials are tenant.ForbiddenError.
func Login(ctx context.Context, kube kubernetes.Interface, cfg *rest.Config, o Options) (*Session, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	s, err := dial(ctx, kube, cfg, o)
	if err != nil {
		return nil, err
	}
	if err := s.authenticate(ctx, kube, o); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// dial reaches the server and reads its version (no credentials sent).
func dial(ctx context.Context, kube kubernetes.Interface, cfg *rest.Config, o Options) (*Session, error) {
	ns := o.namespace()
	if o.Server != "" {
		u, _ := serverURL(o.Server, o.Plaintext)
		c, err := NewClient(u.String(), tlsConfig(o.Insecure, ""))
		if err != nil {
			return nil, err
		}
		c.InsecureHint = o.flags().Insecure
		v, err := c.Version(ctx)
		var ue *UnreachableError
		if errors.As(err, &ue) && u.Scheme == "https" {
			plain, _ := NewClient("http://"+u.Host, nil)
			if _, perr := plain.Version(ctx); perr == nil {
				return nil, fmt.Errorf("Argo CD at %s speaks plain HTTP, not TLS: use --argocd-server http://%s or %s, with %s (credentials then cross the network unencrypted)", u.Host, u.Host, o.flags().Plaintext, o.flags().Insecure)
			}
		}
		if err != nil {
			return nil, err
		}
		return &Session{Client: c, Version: v, Plaintext: u.Scheme == "http"}, nil
	}
	pod, port, err := serverPod(ctx, kube, ns)
	if err != nil {
		return nil, err
	}
	fw, err := portforward.Start(ctx, cfg, ns, pod, 0, port)
	if err != nil {
		return nil, fmt.Errorf("port-forward to Argo CD (pod %s/%s port %d): %w", ns, pod, port, err)
	}
	via := fmt.Sprintf("through a port-forward to %s/%s:%d", ns, pod, port)
	local := fmt.Sprintf("127.0.0.1:%d", fw.LocalPort)
	fail := func(err error) (*Session, error) { fw.Close(); return nil, err }
	scheme := "https"
	if o.Plaintext {
		scheme = "http"
	}
	var c *Client
	var v string
	if scheme == "https" {
		// First a plain-HTTP GET /api/version (no credentials): a TLS
		// argocd-server answers it with a redirect to https, one started
		// with --insecure with its version. (A TLS hello to the latter is
		// not refused, only left unanswered until a timeout.)
		// No HTTP answer at all means nothing listens behind the pod port
		// (a TLS server would have answered too): say so now rather than
		// after a TLS handshake timeout.
		plain, _ := NewClient("http://"+local, nil)
		plain.Via = via
		pv, perr := plain.Version(ctx)
		var ue *UnreachableError
		switch {
		case perr == nil:
			c, v, scheme = plain, pv, "http"
		case errors.As(perr, &ue):
			return fail(perr)
		}
	}
	if c == nil {
		c, err = NewClient(scheme+"://"+local, tlsConfig(o.Insecure, ServerService+"."+ns+".svc"))
		if err != nil {
			return fail(err)
		}
		c.Via, c.InsecureHint = via, o.flags().Insecure
		if v, err = c.Version(ctx); err != nil {
			return fail(err)
		}
	}
	return &Session{Client: c, Version: v, Plaintext: scheme == "http", forward: fw}, nil
}

// serverURL parses an explicit --server: a bare HOST[:PORT] means https.
func serverURL(s string, plaintext bool) (*url.URL, error) {
	if !strings.Contains(s, "://") {
		s = "https://" + s
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, fmt.Errorf("invalid --argocd-server %q: want https://HOST[:PORT] (or http:// for a plain-HTTP server)", s)
	}
	if plaintext {
		u.Scheme = "http"
	}
	u.Path = strings.TrimRight(u.Path, "/")
	return u, nil
}

func tlsConfig(insecure bool, serverName string) *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: insecure, ServerName: serverName} //nolint:gosec // only with --insecure
}

// serverPod resolves Service argocd-server to a Running pod and the pod port
// its https (else http, else first) port targets, as `kubectl port-forward
// svc/...` does.
func serverPod(ctx context.Context, kube kubernetes.Interface, ns string) (string, int, error) {
	svc, err := kube.CoreV1().Services(ns).Get(ctx, ServerService, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		if _, nerr := kube.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); apierrors.IsNotFound(nerr) {
			return "", 0, fmt.Errorf("%w: there is no namespace %s (use --argocd-namespace)", ErrNotInstalled, ns)
		}
		return "", 0, fmt.Errorf("%w: there is no Service %s in namespace %s (use --argocd-namespace, or --server)", ErrNotInstalled, ServerService, ns)
	}
	if err != nil {
		return "", 0, kubeError(err)
	}
	if len(svc.Spec.Ports) == 0 || len(svc.Spec.Selector) == 0 {
		return "", 0, fmt.Errorf("Service %s/%s has no ports or no selector: use --server", ns, ServerService)
	}
	sp := svc.Spec.Ports[0]
	for _, want := range []func(corev1.ServicePort) bool{
		func(p corev1.ServicePort) bool { return p.Name == "https" || p.Port == 443 },
		func(p corev1.ServicePort) bool { return p.Name == "http" || p.Port == 80 },
	} {
		found := false
		for _, p := range svc.Spec.Ports {
			if want(p) {
				sp, found = p, true
				break
			}
		}
		if found {
			break
		}
	}
	pods, err := kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: labels.SelectorFromSet(svc.Spec.Selector).String()})
	if err != nil {
		return "", 0, kubeError(err)
	}
	var pod *corev1.Pod
	for i := range pods.Items {
		p := &pods.Items[i]
		if p.Status.Phase != corev1.PodRunning || p.DeletionTimestamp != nil {
			continue
		}
		if pod == nil || (podReady(p) && !podReady(pod)) {
			pod = p
		}
	}
	if pod == nil {
		return "", 0, fmt.Errorf("Argo CD is down: Service %s/%s has no running pod", ns, ServerService)
	}
	port := sp.TargetPort.IntValue()
	if sp.TargetPort.StrVal != "" {
		port = 0
		for _, c := range pod.Spec.Containers {
			for _, cp := range c.Ports {
				if cp.Name == sp.TargetPort.StrVal {
					port = int(cp.ContainerPort)
				}
			}
		}
		if port == 0 {
			return "", 0, fmt.Errorf("Service %s/%s targets port %q, which pod %s does not name", ns, ServerService, sp.TargetPort.StrVal, pod.Name)
		}
	}
	if port == 0 {
		port = int(sp.Port)
	}
	return pod.Name, port, nil
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// authenticate logs in as o.Auth says and checks the session.
func (s *Session) authenticate(ctx context.Context, kube kubernetes.Interface, o Options) error {
	ns := o.namespace()
	auth := o.Auth
	var token, source string
	if auth == AuthAuto || auth == AuthToken {
		if t := o.getenv(TokenEnv); t != "" {
			token, source = t, "$"+TokenEnv
		} else if o.Server != "" || auth == AuthToken {
			// The argocd CLI's token for this server; through the
			// port-forward only a context of `argocd login
			// --port-forward` (never a named server's token), and only
			// with --auth token.
			t, src, err := tokenFromLocalConfig(o.getenv, o.Server)
			if err != nil && auth == AuthToken {
				return err
			}
			token, source = t, src
		}
		if token == "" && auth == AuthToken {
			if o.Server == "" {
				return tenant.NewUsageError("--auth token: no token for the port-forwarded argocd-server: set " + TokenEnv +
					", log in with `argocd login --port-forward --port-forward-namespace " + ns + "`, or name the server whose argocd CLI token to use with --argocd-server")
			}
			return tenant.NewUsageError("--auth token: no token: set " + TokenEnv + " or log in with `argocd login` first")
		}
		if token != "" {
			auth = AuthToken
		} else {
			auth = AuthInitialAdmin
		}
	}
	if auth == AuthToken {
		s.SetToken(token)
		s.User = "the token from " + source
		if _, err := s.CanI(ctx, "clusters", "get", "*"); err != nil {
			return credentialError(err, "Argo CD rejected the token from "+source, "log in again, or use --auth initial-admin")
		}
		return nil
	}
	sec, err := kube.CoreV1().Secrets(ns).Get(ctx, InitialAdminSecret, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return fmt.Errorf("Secret %s/%s not found (Argo CD's initial admin password, often deleted after the first login): use --auth token with %s or `argocd login`", ns, InitialAdminSecret, TokenEnv)
	case apierrors.IsForbidden(err):
		return tenant.NewForbiddenError(fmt.Sprintf("not allowed to read Secret %s/%s (the initial admin password): use --auth token with %s", ns, InitialAdminSecret, TokenEnv))
	case err != nil:
		return kubeError(err)
	}
	pw := string(sec.Data["password"])
	if pw == "" {
		return fmt.Errorf("Secret %s/%s has no key password", ns, InitialAdminSecret)
	}
	if err := s.Login(ctx, adminUser, pw); err != nil {
		return credentialError(err, fmt.Sprintf("Argo CD rejected the admin password from Secret %s/%s", ns, InitialAdminSecret), "was it changed? use --auth token")
	}
	s.User = adminUser
	return nil
}

// credentialError makes Argo CD's 401 a ForbiddenError (exit code 4) with
// what was tried and what to do; other errors pass.
func credentialError(err error, what, hint string) error {
	var ae *APIError
	if errors.As(err, &ae) && ae.Unauthenticated() {
		return tenant.NewForbiddenError(fmt.Sprintf("%s: %s (%s)", what, ae.Message, hint))
	}
	return err
}

// Require fails unless the session may do action on clusters/object (a
// server URL). Argo CD cannot route a can-i object whose last path segment
// holds a ':' (a server with a port: grpc-gateway takes it for a verb); for
// those the pre-check is skipped and the call itself decides.
func (s *Session) Require(ctx context.Context, action, object string) error {
	if i := strings.LastIndex(object, "/"); strings.Contains(object[i+1:], ":") {
		return nil
	}
	ok, err := s.CanI(ctx, "clusters", action, object)
	if err != nil {
		return err
	}
	if !ok {
		return tenant.NewForbiddenError(fmt.Sprintf("Argo CD does not allow %s to %s clusters (%s): ask for an Argo CD role that does", s.User, action, object))
	}
	return nil
}

// kubeError keeps the Kubernetes API's message and maps authorization
// failures to ForbiddenError.
func kubeError(err error) error {
	if apierrors.IsForbidden(err) || apierrors.IsUnauthorized(err) {
		return tenant.NewForbiddenError(err.Error())
	}
	return err
}
