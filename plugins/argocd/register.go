package argocd

import (
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	authzv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/session"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
	"github.com/kubectl-tenant/kubectl-tenant/plugins/argocd/application"
)

// Step names of register (deregister uses tenant.StepDeregister).
const (
	StepLogin       = "argocd login"
	StepCertificate = "certificate"
	StepManager     = "argocd-manager"
	StepRegister    = "register"
	StepBootstrap   = "bootstrap"
)

// Modes of registration.
const (
	ModeAPI         = "api"
	ModeDeclarative = "declarative"
)

// Server addresses.
const (
	// AddressInCluster is https://vcluster.NAMESPACE, NAMESPACE the
	// tenant's (vcluster-NAME, or a claimed warm spare's): the vCluster
	// Service by its in-cluster DNS name, which the host's Argo CD reaches
	// with no LoadBalancer and the vCluster certificate covers by default.
	AddressInCluster = "in-cluster"
	// AddressForwarded is the tenant's live `connect --background` forward,
	// https://127.0.0.1:PORT: only an Argo CD on this machine reaches it,
	// and only while the forwarder runs.
	AddressForwarded = "forwarded"
)

// InClusterName is the name Argo CD gives its own host cluster (server
// https://kubernetes.default.svc), with or without a cluster Secret: no
// tenant is registered under it.
const InClusterName = "in-cluster"

// Labels and annotations Argo CD gives cluster Secrets.
const (
	SecretTypeLabel     = "argocd.argoproj.io/secret-type"
	SecretTypeCluster   = "cluster"
	managedByAnnotation = "managed-by"
	managedByArgoCD     = "argocd.argoproj.io"
)

// DefaultLabels are the cluster labels when none are given: what the
// bootstrap ApplicationSet's cluster generator selects.
func DefaultLabels() map[string]string { return application.DefaultLabels() }

// Registrar registers tenants with Argo CD and is the engine's
// tenant.Registrar (delete deregisters, list shows REGISTERED).
type Registrar struct {
	// Kube and REST reach the host cluster; Sessions are this machine's
	// connections (--server-address forwarded); Tenants reads a tenant and
	// opens its API (the engine, built without this Registrar).
	Kube kubernetes.Interface
	REST *rest.Config
	// Dynamic reaches Argo CD's Applications and ApplicationSets on the
	// host; nil: one made from REST.
	Dynamic  dynamic.Interface
	Sessions session.Store
	Tenants  tenant.Opener
	// Meta lists cluster Secrets metadata-only for Registered.
	Meta metadata.Interface
	// Options say where Argo CD is and how to log in.
	Options Options
	// KeepSession keeps one Argo CD session (login and port-forward) for
	// the API calls of Registered and Deregister until Close, instead of a
	// login per call: the interactive app lists every few seconds. Without
	// it every call logs in and out.
	KeepSession bool

	mu         sync.Mutex
	kept       *Session
	loginErr   error     // the kept session's last failed login...
	loginAfter time.Time // ...reported again until then, not retried
}

var _ tenant.Registrar = (*Registrar)(nil)

// loginRetry is how long a kept session's failed login is not retried.
const loginRetry = 30 * time.Second

// withSession calls fn with a logged-in session: a new one, logged out
// again after fn, or with KeepSession the kept one. A kept session whose
// port-forward died or whose token Argo CD no longer accepts is replaced
// once.
func (r *Registrar) withSession(ctx context.Context, fn func(*Session) error) error {
	if !r.KeepSession {
		s, err := Login(ctx, r.Kube, r.REST, r.Options)
		if err != nil {
			return err
		}
		defer s.Close()
		return fn(s)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for {
		fresh := r.kept == nil
		if fresh {
			if r.loginErr != nil && time.Now().Before(r.loginAfter) {
				return r.loginErr
			}
			s, err := Login(ctx, r.Kube, r.REST, r.Options)
			if err != nil {
				if ctx.Err() == nil {
					r.loginErr, r.loginAfter = err, time.Now().Add(loginRetry)
				}
				return err
			}
			r.kept, r.loginErr = s, nil
		}
		err := fn(r.kept)
		if err == nil || fresh || !staleSession(err) {
			return err
		}
		r.kept.Close()
		r.kept = nil
	}
}

// staleSession says a kept session stopped working: its forward is gone or
// Argo CD no longer accepts its token.
func staleSession(err error) bool {
	var ue *UnreachableError
	var ae *APIError
	return errors.As(err, &ue) || errors.As(err, &ae) && ae.Unauthenticated()
}

// Close logs out the kept session (KeepSession) and ends its port-forward.
func (r *Registrar) Close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.kept.Close()
	r.kept = nil
}

// RegisterOptions are the inputs of Register.
type RegisterOptions struct {
	Name string
	// Labels of the Argo CD cluster (default env=vdev); the tool adds
	// tenant.kubectl-tenant.io/name and app.kubernetes.io/managed-by.
	Labels map[string]string
	// Mode is ModeAPI (default) or ModeDeclarative.
	Mode string
	// ServerAddress is AddressInCluster (default), AddressForwarded or an
	// https:// URL.
	ServerAddress string
	// Namespaces, when set, scope argocd-manager to Roles in these vCluster
	// namespaces instead of a ClusterRole.
	Namespaces []string
	// TokenLifetime is how long Argo CD's token is valid (0:
	// DefaultTokenLifetime); the command resolves it (hostconfig
	// argocdTokenLifetime).
	TokenLifetime time.Duration
}

// Result is what Register did.
type Result struct {
	Name          string            `json:"name"`
	Server        string            `json:"server"`
	Labels        map[string]string `json:"labels"`
	Mode          string            `json:"mode"`
	Connection    string            `json:"connectionState,omitempty"`
	ArgoCDVersion string            `json:"argocdVersion,omitempty"`
	Secret        string            `json:"secret,omitempty"` // declarative mode: namespace/name
	// TokenExpiresAt is when Argo CD's token expires (gc renews it before).
	TokenExpiresAt *time.Time `json:"tokenExpiresAt,omitempty"`
}

func (r *Registrar) ns() string { return r.Options.namespace() }

// dynamic is Dynamic, else a client from REST.
func (r *Registrar) dynamic() (dynamic.Interface, error) {
	switch {
	case r.Dynamic != nil:
		return r.Dynamic, nil
	case r.REST == nil:
		return nil, errors.New("no host API configuration")
	}
	return dynamic.NewForConfig(r.REST)
}

// Validate checks o without any API call.
func (o *RegisterOptions) Validate() error {
	if err := tenant.ValidateName(o.Name); err != nil {
		return err
	}
	if o.Name == InClusterName {
		return tenant.NewUsageError(fmt.Sprintf("tenant name %q is Argo CD's name for its own cluster: a tenant registered under it would make destination.name %s ambiguous", o.Name, o.Name))
	}
	switch o.Mode {
	case "", ModeAPI, ModeDeclarative:
	default:
		return tenant.NewUsageError(fmt.Sprintf("unknown --mode %q (use api or declarative)", o.Mode))
	}
	for k, v := range o.Labels {
		if errs := validation.IsQualifiedName(k); len(errs) > 0 {
			return tenant.NewUsageError(fmt.Sprintf("invalid label key %q: %s", k, strings.Join(errs, "; ")))
		}
		if errs := validation.IsValidLabelValue(v); len(errs) > 0 {
			return tenant.NewUsageError(fmt.Sprintf("invalid label value %q: %s", v, strings.Join(errs, "; ")))
		}
		if k == tenant.LabelName || k == SecretTypeLabel {
			return tenant.NewUsageError(fmt.Sprintf("label %s is set by kubectl-tenant", k))
		}
	}
	for _, ns := range o.Namespaces {
		if errs := validation.IsDNS1123Label(ns); len(errs) > 0 {
			return tenant.NewUsageError(fmt.Sprintf("--namespaces: invalid namespace %q: %s", ns, strings.Join(errs, "; ")))
		}
	}
	switch o.ServerAddress {
	case "", AddressInCluster, AddressForwarded:
	default:
		if _, err := addressURL(o.ServerAddress); err != nil {
			return tenant.NewUsageError(err.Error())
		}
	}
	return nil
}

func addressURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("invalid --server-address %q: use in-cluster, forwarded or an https:// URL", s)
	}
	return u, nil
}

// InClusterAddressIn is the vCluster Service's in-cluster URL in namespace
// ns: the tenant's namespace as the engine resolves it (Get, Resolve),
// never one derived from the tenant's name (a claimed warm spare keeps its
// own).
func InClusterAddressIn(ns string) string { return "https://" + tenant.ReleaseName + "." + ns }

// clusterLabels are the user's labels (default env=vdev) plus the tool's.
func clusterLabels(name string, user map[string]string) map[string]string {
	l := maps.Clone(user)
	if len(l) == 0 {
		l = DefaultLabels()
	}
	l[tenant.LabelName] = name
	l[tenant.LabelManagedBy] = tenant.ManagedByValue
	return l
}

// Register adds the tenant to Argo CD as `argocd cluster add NAME --upsert`
// would, with the vCluster's in-cluster address:
//
//  1. log in to Argo CD (api mode) or check the caller may write cluster
//     Secrets in its namespace (declarative mode) — before anything is
//     created, so bad credentials or a missing Argo CD change nothing;
//  2. check the vCluster's serving certificate covers the chosen address;
//  3. converge ServiceAccount argocd-manager (kube-system), its ClusterRole
//     (or Roles) and binding, and a long-lived token Secret in the vCluster;
//  4. upsert the cluster (POST /api/v1/clusters?upsert=true) or write the
//     equivalent Secret labelled argocd.argoproj.io/secret-type=cluster.
//
// A re-run is an upsert. If step 4 fails on a first registration, what
// step 3 made is removed again. The token is never printed or logged.
func (r *Registrar) Register(ctx context.Context, o RegisterOptions, report tenant.Reporter) (*Result, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if err := r.Options.Validate(); err != nil {
		return nil, err
	}
	if o.Mode == "" {
		o.Mode = ModeAPI
	}
	t, err := r.Tenants.Get(ctx, o.Name)
	if err != nil {
		return nil, err
	}
	server, note, err := r.serverAddress(o, t.Namespace)
	if err != nil {
		return nil, err
	}
	res := &Result{Name: o.Name, Server: server, Labels: clusterLabels(o.Name, o.Labels), Mode: o.Mode}

	var sess *Session
	if o.Mode == ModeAPI {
		err = report.StepMsg(StepLogin, func() (string, error) {
			s, err := Login(ctx, r.Kube, r.REST, r.Options)
			if err != nil {
				return "", err
			}
			sess = s
			if err := s.Require(ctx, "create", server); err != nil {
				return "", err
			}
			clusters, err := s.ListClusters(ctx)
			if err != nil {
				return "", err
			}
			if err := checkNameFree(o.Name, server, clusters); err != nil {
				return "", err
			}
			how := ""
			if s.Plaintext {
				how = ", plain HTTP"
			}
			return fmt.Sprintf("Argo CD %s as %s%s", s.Version, s.User, how), nil
		})
		if sess != nil {
			defer sess.Close()
		}
		if err != nil {
			return nil, err
		}
		res.ArgoCDVersion = sess.Version
	} else {
		err = report.StepMsg(StepLogin, func() (string, error) {
			if err := r.checkSecretAccess(ctx); err != nil {
				return "", err
			}
			clusters, err := r.clustersFromSecrets(ctx)
			if err != nil {
				return "", err
			}
			return "no login: writing the cluster Secret directly", checkNameFree(o.Name, server, clusters)
		})
		if err != nil {
			return nil, err
		}
	}

	acc, err := r.Tenants.Open(ctx, o.Name)
	if err != nil {
		return nil, err
	}
	defer acc.Close()
	err = report.StepMsg(StepCertificate, func() (string, error) {
		host := hostOf(server)
		return "the vCluster certificate covers " + host, checkServingCert(ctx, acc, o.Name, host)
	})
	if err != nil {
		return nil, err
	}

	kc, err := kubernetes.NewForConfig(acc.Config)
	if err != nil {
		return nil, err
	}
	var (
		tok     *boundToken
		created bool
	)
	err = report.StepMsg(StepManager, func() (string, error) {
		var err error
		tok, created, err = installManager(ctx, kc, o.Namespaces, o.TokenLifetime)
		scope := "cluster-wide"
		if len(o.Namespaces) > 0 {
			scope = "namespaces " + strings.Join(o.Namespaces, ",")
		}
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("ServiceAccount %s/%s with a token valid until %s (%s)", ManagerNamespace, ManagerServiceAccount, tok.Expires.UTC().Format(time.RFC3339), scope), nil
	})
	if err != nil {
		if created {
			r.rollback(kc, report)
		}
		return nil, err
	}
	res.TokenExpiresAt = &tok.Expires

	cl := &Cluster{
		Server: server, Name: o.Name, Labels: res.Labels, Namespaces: o.Namespaces, Annotations: tok.annotations(),
		Config: ClusterConfig{BearerToken: tok.Token, TLSClientConfig: TLSClientConfig{CAData: acc.CA}},
	}
	err = report.StepMsg(StepRegister, func() (string, error) {
		if o.Mode == ModeDeclarative {
			name, err := r.writeSecret(ctx, cl)
			res.Secret = r.ns() + "/" + name
			return "Secret " + res.Secret, err
		}
		state, err := r.upsert(ctx, sess, cl)
		res.Connection = state.Status
		if err != nil {
			return "", err
		}
		if state.Status != "" && state.Status != ConnectionSuccessful {
			report.Emit(StepRegister, tenant.PhaseWarning, fmt.Sprintf("Argo CD's connection to %s is %s: %s", server, state.Status, state.Message), nil)
		}
		return fmt.Sprintf("%s as %s, connection %s", o.Name, server, cmp.Or(state.Status, "not reported")), nil
	})
	if err != nil {
		if created {
			r.rollback(kc, report)
		} else {
			dropToken(ctx, kc, tok) // Argo CD keeps the token it had
		}
		return nil, err
	}
	// Argo CD has the new token: the ones it held before stop working now.
	revokeQuietly(ctx, kc, tok.Secret, StepRegister, report)
	if note != "" {
		report.Emit(StepRegister, tenant.PhaseWarning, note, nil)
	}
	return res, nil
}

// checkNameFree refuses a registration under a name another cluster
// already has: Argo CD resolves destination.name to exactly one cluster and
// fails every Application that names an ambiguous one ("there are 2
// clusters with the same name"). The tenant's own entries (its label, or
// the same server, which the upsert replaces) are no collision.
func checkNameFree(name, server string, clusters []Cluster) error {
	for _, c := range clusters {
		if c.Name != name || c.Labels[tenant.LabelName] == name || strings.TrimRight(c.Server, "/") == server {
			continue
		}
		return fmt.Errorf("Argo CD already has a cluster named %q (server %s) that is not tenant %s's: registering would make destination.name %s ambiguous; rename or remove that cluster, or use another tenant name",
			name, c.Server, name, name)
	}
	return nil
}

// clustersFromSecrets reads the names, servers and labels of the cluster
// Secrets in the Argo CD namespace (declarative mode has no API session).
func (r *Registrar) clustersFromSecrets(ctx context.Context) ([]Cluster, error) {
	l, err := r.Kube.CoreV1().Secrets(r.ns()).List(ctx, metav1.ListOptions{LabelSelector: SecretTypeLabel + "=" + SecretTypeCluster})
	if err != nil {
		return nil, kubeError(err)
	}
	out := make([]Cluster, 0, len(l.Items))
	for _, s := range l.Items {
		out = append(out, Cluster{Name: string(s.Data["name"]), Server: string(s.Data["server"]), Labels: s.Labels})
	}
	return out, nil
}

// rollback removes the manager objects of a first registration that failed.
func (r *Registrar) rollback(kc kubernetes.Interface, report tenant.Reporter) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := uninstallManager(ctx, kc); err != nil {
		report.Emit(StepManager, tenant.PhaseWarning, "could not remove argocd-manager after the failure: "+tenant.FirstLine(err.Error()), nil)
	}
}

// serverAddress resolves --server-address; note is a caveat to report.
// ns is the tenant's namespace (a claimed warm spare keeps its own).
func (r *Registrar) serverAddress(o RegisterOptions, ns string) (server, note string, err error) {
	switch o.ServerAddress {
	case "", AddressInCluster:
		return InClusterAddressIn(ns), "", nil
	case AddressForwarded:
		ss, err := r.Sessions.List()
		if err != nil {
			return "", "", err
		}
		for _, s := range ss {
			if s.Tenant == o.Name && s.Alive() && strings.HasPrefix(s.Server, "https://127.0.0.1:") {
				return s.Server, "--server-address forwarded: only an Argo CD on this machine reaches " + s.Server + ", and only while the forwarder runs", nil
			}
		}
		return "", "", fmt.Errorf("--server-address forwarded: tenant %s has no live port-forward (run `kubectl tenant connect %s --background` first)", o.Name, o.Name)
	}
	u, _ := addressURL(o.ServerAddress)
	return strings.TrimRight(u.String(), "/"), "", nil
}

func hostOf(server string) string {
	u, err := url.Parse(server)
	if err != nil {
		return server
	}
	return u.Hostname()
}

// checkServingCert reads the vCluster's serving certificate through the
// forward (verified with the tenant CA) and checks it names host.
func checkServingCert(ctx context.Context, acc *tenant.Access, name, host string) error {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(acc.CA) {
		return errors.New("the vCluster secret holds no valid CA certificate")
	}
	d := tls.Dialer{NetDialer: &net.Dialer{Timeout: 10 * time.Second},
		Config: &tls.Config{RootCAs: pool, ServerName: "localhost", MinVersion: tls.VersionTLS12}}
	conn, err := d.DialContext(ctx, "tcp", acc.Addr)
	if err != nil {
		return fmt.Errorf("reading the vCluster's serving certificate: %w", err)
	}
	defer conn.Close()
	certs := conn.(*tls.Conn).ConnectionState().PeerCertificates
	if len(certs) == 0 {
		return errors.New("the vCluster presented no certificate")
	}
	return certCovers(certs[0], name, host)
}

// certCovers explains, when the certificate does not name host, exactly
// which value adds it.
func certCovers(cert *x509.Certificate, name, host string) error {
	if cert.VerifyHostname(host) == nil {
		return nil
	}
	names := slices.Clone(cert.DNSNames)
	for _, ip := range cert.IPAddresses {
		names = append(names, ip.String())
	}
	return fmt.Errorf("the vCluster's serving certificate does not cover %s (it covers %s): add it with the chart value "+
		"controlPlane.proxy.extraSANs: [%s] (kubectl tenant create %s -f values.yaml converges the tenant), or register another --server-address",
		host, strings.Join(names, ", "), host, name)
}

// upsert registers cl through the API and returns Argo CD's view of the
// connection. Once Argo CD has it, a declarative Secret of this tenant (an
// earlier --mode declarative) is removed (best effort: it needs host RBAC),
// so switching modes never leaves two entries, and a failed upsert keeps
// the earlier registration.
func (r *Registrar) upsert(ctx context.Context, s *Session, cl *Cluster) (ConnectionState, error) {
	if _, err := s.UpsertCluster(ctx, cl); err != nil {
		var ae *APIError
		if errors.As(err, &ae) {
			// Argo CD's messages may quote the cluster spec: never the token.
			msg := strings.ReplaceAll(ae.Message, cl.Config.BearerToken, "<redacted>")
			return ConnectionState{}, fmt.Errorf("Argo CD refused the cluster: %s", msg)
		}
		return ConnectionState{}, err
	}
	secrets := r.Kube.CoreV1().Secrets(r.ns())
	if l, err := secrets.List(ctx, metav1.ListOptions{LabelSelector: clusterSecretSelector(cl.Name)}); err == nil {
		for _, sec := range l.Items {
			if sec.Annotations[managedByAnnotation] != managedByArgoCD {
				_ = secrets.Delete(ctx, sec.Name, metav1.DeleteOptions{})
			}
		}
	}
	items, err := s.ListClusters(ctx)
	if err != nil {
		return ConnectionState{}, err
	}
	for i := range items {
		if items[i].Server == cl.Server {
			return items[i].State(), nil
		}
	}
	return ConnectionState{}, fmt.Errorf("Argo CD accepted the cluster but does not list %s", cl.Server)
}

// clusterSecretSelector selects the tenant's Argo CD cluster Secrets and
// nothing else: other Secrets in the Argo CD namespace may carry the tenant
// label too (repository credentials a platform team labelled), and register,
// deregister and delete must never touch them.
func clusterSecretSelector(name string) string {
	return SecretTypeLabel + "=" + SecretTypeCluster + "," + tenant.LabelName + "=" + name
}

// SecretName is the name of a tenant's declarative cluster Secret.
func SecretName(name string) string { return "cluster-" + tenant.NamespaceFor(name) }

// ClusterSecret is the declarative equivalent of cl: what Argo CD itself
// stores for a cluster added through its API.
func ClusterSecret(ns string, cl *Cluster) (*corev1.Secret, error) {
	cfg, err := json.Marshal(cl.Config)
	if err != nil {
		return nil, err
	}
	labels := maps.Clone(cl.Labels)
	labels[SecretTypeLabel] = SecretTypeCluster
	data := map[string][]byte{"name": []byte(cl.Name), "server": []byte(cl.Server), "config": cfg}
	annotations := maps.Clone(cl.Annotations)
	if len(cl.Namespaces) > 0 {
		data["namespaces"] = []byte(strings.Join(cl.Namespaces, ","))
	}
	if cl.ClusterResources {
		data["clusterResources"] = []byte("true")
	}
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: SecretName(cl.Name), Namespace: ns, Labels: labels, Annotations: annotations},
		Type:       corev1.SecretTypeOpaque,
		Data:       data,
	}, nil
}

// writeSecret creates or replaces the tenant's declarative cluster Secret,
// and removes an API-made entry of the tenant (Argo CD would otherwise see
// two clusters with one server).
func (r *Registrar) writeSecret(ctx context.Context, cl *Cluster) (string, error) {
	want, err := ClusterSecret(r.ns(), cl)
	if err != nil {
		return "", err
	}
	secrets := r.Kube.CoreV1().Secrets(r.ns())
	cur, err := secrets.Get(ctx, want.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		_, err = secrets.Create(ctx, want, metav1.CreateOptions{})
	case err == nil:
		cur.Labels, cur.Data, cur.StringData = want.Labels, want.Data, nil
		cur.Annotations = mergeLabels(cur.Annotations, want.Annotations)
		_, err = secrets.Update(ctx, cur, metav1.UpdateOptions{})
	}
	if err != nil {
		return "", kubeError(err)
	}
	others, err := secrets.List(ctx, metav1.ListOptions{LabelSelector: clusterSecretSelector(cl.Name)})
	if err != nil {
		return "", kubeError(err)
	}
	for _, s := range others.Items {
		if s.Name != want.Name {
			if err := secrets.Delete(ctx, s.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
				return "", kubeError(err)
			}
		}
	}
	return want.Name, nil
}

// checkSecretAccess fails early, before the vCluster is touched, when there
// is no Argo CD namespace or the caller may not write Secrets in it.
func (r *Registrar) checkSecretAccess(ctx context.Context) error {
	ns := r.ns()
	if _, err := r.Kube.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); apierrors.IsNotFound(err) {
		return fmt.Errorf("%w: there is no namespace %s (use --argocd-namespace)", ErrNotInstalled, ns)
	} else if err != nil && !apierrors.IsForbidden(err) {
		return kubeError(err)
	}
	var denied []string
	for _, verb := range []string{"create", "update", "list", "delete"} {
		rv, err := r.Kube.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, &authzv1.SelfSubjectAccessReview{
			Spec: authzv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &authzv1.ResourceAttributes{Verb: verb, Resource: "secrets", Namespace: ns}},
		}, metav1.CreateOptions{})
		if err != nil {
			return kubeError(err)
		}
		if !rv.Status.Allowed {
			denied = append(denied, verb)
		}
	}
	if len(denied) > 0 {
		return tenant.NewForbiddenError(fmt.Sprintf("--mode declarative needs to %s Secrets in namespace %s: ask for that role, or use --mode api", strings.Join(denied, ", "), ns))
	}
	return nil
}

// Registered names the tenants with an Argo CD cluster entry, from ONE
// metadata-only list of the Secrets in the Argo CD namespace labelled
// argocd.argoproj.io/secret-type=cluster and tenant.kubectl-tenant.io/name.
// Argo CD stores every cluster as such a Secret and copies the cluster's
// labels onto it, so this is Argo CD's own view, read without a
// port-forward, login or token. Only when the caller may not list Secrets
// there does it ask the API (login + GET /api/v1/clusters). A missing Argo
// CD returns nil (list shows "-"), not an error.
func (r *Registrar) Registered(ctx context.Context) (map[string]bool, error) {
	ns := r.ns()
	sel := SecretTypeLabel + "=" + SecretTypeCluster + "," + tenant.LabelName
	// From the watch cache, as list reads the tenants (milliseconds stale
	// at worst, no quorum wait).
	list, err := r.Meta.Resource(schema.GroupVersionResource{Version: "v1", Resource: "secrets"}).Namespace(ns).
		List(ctx, metav1.ListOptions{LabelSelector: sel, ResourceVersion: "0"})
	switch {
	case apierrors.IsNotFound(err):
		return nil, nil
	case apierrors.IsForbidden(err):
		return r.registeredFromAPI(ctx)
	case err != nil:
		return nil, err
	}
	out := map[string]bool{}
	for _, s := range list.Items {
		out[s.Labels[tenant.LabelName]] = true
	}
	if len(out) == 0 && !r.installed(ctx) {
		return nil, nil
	}
	return out, nil
}

// installed says whether there is an Argo CD namespace with Service
// argocd-server (or the caller cannot tell, which counts as installed).
func (r *Registrar) installed(ctx context.Context) bool {
	_, err := r.Kube.CoreV1().Services(r.ns()).Get(ctx, ServerService, metav1.GetOptions{})
	return !apierrors.IsNotFound(err)
}

func (r *Registrar) registeredFromAPI(ctx context.Context) (map[string]bool, error) {
	out := map[string]bool{}
	err := r.withTenantClusters(ctx, func(_ *Session, c Cluster) error {
		out[c.Labels[tenant.LabelName]] = true
		return nil
	})
	if errors.Is(err, ErrNotInstalled) {
		return nil, nil
	}
	return out, err
}

// withTenantClusters calls fn for every cluster entry labelled as a
// tenant's, in a session of withSession.
func (r *Registrar) withTenantClusters(ctx context.Context, fn func(*Session, Cluster) error) error {
	return r.withSession(ctx, func(s *Session) error {
		items, err := s.ListClusters(ctx)
		if err != nil {
			return err
		}
		for _, c := range items {
			if c.Labels[tenant.LabelName] == "" {
				continue
			}
			if err := fn(s, c); err != nil {
				return err
			}
		}
		return nil
	})
}

// Deregister removes the tenant from Argo CD (tenant.Registrar; delete calls
// it first). Nothing registered, or no Argo CD at all, is not an error.
func (r *Registrar) Deregister(ctx context.Context, name string, report tenant.Reporter) error {
	_, err := r.Unregister(ctx, name, false, report)
	return err
}

// Unregister removes every Argo CD entry of the tenant — through the API
// (DELETE /api/v1/clusters/{server}) for entries Argo CD made, deleting the
// Secret for declarative ones — then, when the vCluster is reachable, the
// argocd-manager objects inside it (always with cleanManager, else only if
// an entry was found). It returns the servers deregistered.
//
// Entries are found by the tenant label on their Secrets (one list call).
// When the API cannot be used (Argo CD down, login refused) but the caller
// may delete Secrets, Argo CD's own Secret is deleted instead: Argo CD
// watches them, so the effect is the same, and a tenant can always be torn
// down.
func (r *Registrar) Unregister(ctx context.Context, name string, cleanManager bool, report tenant.Reporter) ([]string, error) {
	ns := r.ns()
	secrets := r.Kube.CoreV1().Secrets(ns)
	list, err := secrets.List(ctx, metav1.ListOptions{LabelSelector: clusterSecretSelector(name)})
	var servers []string
	switch {
	case apierrors.IsForbidden(err):
		if servers, err = r.unregisterViaAPI(ctx, name); err != nil {
			return nil, err
		}
	case err != nil:
		return nil, kubeError(err)
	default:
		var sess *Session
		var loginErr error
		defer func() { sess.Close() }()
		for _, sec := range list.Items {
			server := strings.TrimRight(string(sec.Data["server"]), "/")
			if sec.Annotations[managedByAnnotation] == managedByArgoCD && server != "" {
				if sess == nil && loginErr == nil {
					sess, loginErr = Login(ctx, r.Kube, r.REST, r.Options)
				}
				if loginErr == nil {
					err := sess.DeleteCluster(ctx, server)
					if err == nil {
						servers = append(servers, server)
						continue
					}
					loginErr = err
				}
				report.Emit(tenant.StepDeregister, tenant.PhaseWarning, "Argo CD API unavailable ("+tenant.FirstLine(loginErr.Error())+"): deleting its cluster Secret "+ns+"/"+sec.Name+" directly", nil)
			}
			if err := secrets.Delete(ctx, sec.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
				return servers, kubeError(err)
			}
			servers = append(servers, cmp.Or(server, sec.Name))
		}
	}
	r.removeGenerated(ctx, name, servers, report)
	if len(servers) > 0 || cleanManager {
		r.cleanManager(ctx, name, cleanManager, report)
	}
	sort.Strings(servers)
	return servers, nil
}

// removeGenerated deletes what an ApplicationSet (the bootstrap's) generated
// for the tenant, now that its cluster entries (servers) are gone; the
// in-cluster address counts too, so a re-run after the entries went still
// finds them. A caller who may not delete them is warned: the
// applicationset-controller removes them on its own.
func (r *Registrar) removeGenerated(ctx context.Context, name string, servers []string, report tenant.Reporter) {
	dyn, err := r.dynamic()
	if err != nil {
		report.Emit(tenant.StepDeregister, tenant.PhaseWarning, "generated Applications not removed: "+tenant.FirstLine(err.Error()), nil)
		return
	}
	servers = append(slices.Clone(servers), InClusterAddressIn(tenant.NamespaceFor(name)))
	removed, err := application.RemoveGenerated(ctx, dyn, r.ns(), name, servers)
	for _, app := range removed {
		report.Emit(tenant.StepDeregister, tenant.PhaseWaiting, "Application "+r.ns()+"/"+app+" removed", nil)
	}
	if err != nil {
		report.Emit(tenant.StepDeregister, tenant.PhaseWarning, "Applications generated for "+name+" not removed (the applicationset-controller removes them): "+tenant.FirstLine(err.Error()), nil)
	}
}

func (r *Registrar) unregisterViaAPI(ctx context.Context, name string) ([]string, error) {
	var servers []string
	err := r.withTenantClusters(ctx, func(s *Session, c Cluster) error {
		if c.Labels[tenant.LabelName] != name {
			return nil
		}
		if err := s.DeleteCluster(ctx, c.Server); err != nil {
			return err
		}
		servers = append(servers, c.Server)
		return nil
	})
	if errors.Is(err, ErrNotInstalled) {
		return nil, nil
	}
	return servers, err
}

// cleanManager removes argocd-manager from the vCluster when it is running;
// a tenant that is not (half-created, being deleted) is skipped quietly
// unless the user asked for the cleanup.
func (r *Registrar) cleanManager(ctx context.Context, name string, loud bool, report tenant.Reporter) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	warn := func(msg string) {
		if loud {
			report.Emit(tenant.StepDeregister, tenant.PhaseWarning, msg, nil)
		}
	}
	acc, err := r.Tenants.Open(ctx, name)
	if err != nil {
		warn("argocd-manager left in the vCluster: " + tenant.FirstLine(err.Error()))
		return
	}
	defer acc.Close()
	kc, err := kubernetes.NewForConfig(acc.Config)
	if err == nil {
		err = uninstallManager(ctx, kc)
	}
	if err != nil {
		report.Emit(tenant.StepDeregister, tenant.PhaseWarning, "could not remove argocd-manager from the vCluster: "+tenant.FirstLine(err.Error()), nil)
	}
}
