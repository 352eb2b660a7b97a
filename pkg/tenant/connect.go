package tenant

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/kubeconfig"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/portforward"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/session"
)

// ConnectOptions are the inputs of Connect.
type ConnectOptions struct {
	Name string
	// ContextName is the kubeconfig context to write; defaults to Name.
	ContextName string
	// LocalPort is the local port of the forward; 0 picks a free one.
	LocalPort int
	// Activate switches the current context to the tenant.
	Activate bool
	// Record saves a session (with PID, when a background forwarder holds
	// it) so disconnect and delete can find it.
	Record bool
	PID    int
	// Credential, when set, makes the context hold no key: an exec
	// credential plugin mints short-lived certificates (the backend must
	// be a ClientCAReader). Without it the context carries the tenant's
	// admin credentials (only a backend that cannot mint, in unit tests).
	Credential *ContextCredential
}

// Connection is a tenant context backed by a port-forward (or by the
// tenant's exposed endpoint, then forward is nil).
type Connection struct {
	Session session.Session
	e       *Engine
	opts    ConnectOptions
	ns      string // the tenant's namespace
	// proxy holds the local port the context names; forward (guarded by
	// mu, replaced on reconnect) is the port-forward behind it.
	proxy   *portforward.Proxy
	mu      sync.Mutex
	pod     string
	forward *portforward.Forward
	// up closes when the next forward is set; demand asks Hold for one.
	up     chan struct{}
	demand chan struct{}
	// lastUse is when activity was last recorded (unix seconds).
	lastUse atomic.Int64
	// lock is held while a recorded connection lives (see session.Lock).
	lock *session.Lock
	// recorded closes when the last-connected-at patch is done.
	recorded <-chan struct{}
}

// connectRecordEvery throttles the last-connected-at patch: idleness is
// judged in hours, so one write a minute is plenty.
const connectRecordEvery = time.Minute

// recordConnect patches last-connected-at in the background, off connect's
// critical path (the credential read and the port-forward take longer than
// the patch). It is best effort: a user who may connect but not patch
// namespaces (the GitOps tenant-admin Role) connects all the same.
func (h *Host) recordConnect(ctx context.Context, ns *corev1.Namespace) <-chan struct{} {
	done := make(chan struct{})
	now := h.now()
	if v, err := time.Parse(time.RFC3339, ns.Annotations[AnnotationLastConnectedAt]); err == nil && now.Sub(v) < connectRecordEvery {
		close(done)
		return done
	}
	patch := annotationPatch(AnnotationLastConnectedAt, now.UTC().Format(time.RFC3339))
	go func() {
		defer close(done)
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_, _ = h.Kube.CoreV1().Namespaces().Patch(ctx, ns.Name, types.MergePatchType, patch, metav1.PatchOptions{})
	}()
	return done
}

// Connect writes a kubeconfig context for the tenant whose server is a fresh
// in-process port-forward to the vCluster pod (or its LoadBalancer address),
// with the tenant CA so TLS is verified.
func (e *Engine) Connect(ctx context.Context, o ConnectOptions) (*Connection, error) {
	if err := ValidateName(o.Name); err != nil {
		return nil, err
	}
	if o.ContextName == "" {
		o.ContextName = ContextFor(o.Name)
	}
	if err := e.CheckContext(o.Name, o.ContextName); err != nil {
		return nil, err
	}
	entry := kubeconfig.Entry{Name: o.ContextName, Tenant: o.Name, Host: e.HostContext, Namespace: "default"}
	nsObj, err := e.awakeNamespace(ctx, o.Name)
	if err != nil {
		return nil, err
	}
	ns := nsObj.Name
	c := &Connection{e: e, opts: o, ns: ns, recorded: e.recordConnect(ctx, nsObj), up: make(chan struct{}), demand: make(chan struct{}, 1)}
	c.lastUse.Store(e.now().Unix())
	if o.Record {
		// One holder per context: an older connection of it is replaced
		// (its holder proven by the lock it holds), a concurrent one loses.
		e.Sessions.StopHolder(e.Kubeconfig.Path, o.ContextName, 5*time.Second)
		if c.lock, err = e.Sessions.Lock(e.Kubeconfig.Path, o.ContextName); err != nil {
			c.Close()
			return nil, err
		}
	}
	// The first credential is minted beside the reads and the forward
	// below, so the gate's two API calls add no round trip of their own.
	var minted chan mintResult
	if o.Credential != nil {
		minted = make(chan mintResult, 1)
		go func() {
			b, err := e.MintCredential(ctx, CredentialOptions{Name: o.Name, Namespace: ns, Lifetime: o.Credential.Lifetime})
			minted <- mintResult{b, err}
		}()
	}
	fail := func(err error) (*Connection, error) {
		if minted != nil {
			<-minted
		}
		c.Close()
		return nil, err
	}
	creds, err := e.Backend.Credentials(ctx, ns)
	if err != nil {
		if minted != nil {
			<-minted
		}
		c.Close()
		if errors.Is(err, ErrNotFound) {
			return nil, fmt.Errorf("tenant %s has no credentials yet (is it ready? see `kubectl tenant status %s`)", o.Name, o.Name)
		}
		return nil, apiError(err)
	}
	server, err := e.exposedEndpoint(ctx, ns)
	if err != nil {
		return fail(err)
	}
	if server == "" {
		if err := c.forwardOnce(ctx); err != nil {
			return fail(err)
		}
		if c.proxy, err = portforward.Listen(o.LocalPort, c.dial, c.deadForward); err != nil {
			return fail(fmt.Errorf("listen on 127.0.0.1:%d: %w", o.LocalPort, err))
		}
		server = fmt.Sprintf("https://127.0.0.1:%d", c.proxy.LocalPort)
	}
	entry.Server, entry.CA = server, creds.CA
	if minted != nil {
		m := <-minted
		minted = nil
		if m.err != nil {
			return fail(m.err)
		}
		if err := o.Credential.Cache.Store(m.cred); err != nil {
			return fail(fmt.Errorf("caching the tenant credential: %w", err))
		}
		exec := o.Credential.Exec
		exec.Args = append(append([]string(nil), exec.Args...), "--tenant-namespace="+ns)
		entry.Exec = &exec
	} else {
		entry.ClientCert, entry.ClientKey = creds.ClientCert, creds.ClientKey
	}
	dropCache := func() {
		if o.Credential != nil {
			_ = o.Credential.Cache.Remove()
		}
	}
	prev, err := e.Kubeconfig.Upsert(entry, o.Activate)
	if err != nil {
		dropCache()
		c.Close()
		return nil, contextError(err)
	}
	if old, ok, _ := e.Sessions.Get(e.Kubeconfig.Path, o.ContextName); ok && prev == "" && old.PreviousContext != o.ContextName {
		prev = old.PreviousContext // reconnecting a context of an older version (no mark)
	}
	c.Session = session.Session{
		Tenant: o.Name, Namespace: ns, Context: o.ContextName, Kubeconfig: e.Kubeconfig.Path,
		PreviousContext: prev, HostContext: e.HostContext, Server: server, PID: o.PID, Started: e.now(),
	}
	if o.Record {
		if err := e.Sessions.Save(c.Session); err != nil {
			// Leave no switched context behind that nothing records.
			_, _ = e.Kubeconfig.RemoveContext(o.ContextName, prev)
			dropCache()
			c.Close()
			return nil, err
		}
	}
	return c, nil
}

type mintResult struct {
	cred []byte
	err  error
}

// CheckContext refuses, as a usage error, a context name Connect could not
// write: invalid, or taken by a context the tool did not write for this
// tenant and host.
func (h *Host) CheckContext(name, contextName string) error {
	if err := ValidateContextName(contextName); err != nil {
		return err
	}
	return contextError(h.Kubeconfig.Check(kubeconfig.Entry{Name: contextName, Tenant: name, Host: h.HostContext}))
}

// contextError turns a refused context name into a usage error.
func contextError(err error) error {
	var ce *kubeconfig.ConflictError
	if errors.As(err, &ce) {
		return usageErrorf("%s", ce.Error())
	}
	return err
}

// forwardOnce starts a port-forward to the running control-plane pod (on a
// free port: the proxy's port is the stable one).
func (c *Connection) forwardOnce(ctx context.Context) error {
	ns := c.ns
	pod, msg, err := c.e.controlPlanePod(ctx, ns)
	if err != nil {
		return err
	}
	if pod == nil || pod.Status.Phase != corev1.PodRunning {
		return c.e.notRunning(ctx, c.opts.Name, ns, pod, msg)
	}
	fw, err := portforward.Start(ctx, c.e.REST, ns, pod.Name, 0, c.e.Backend.APIPort())
	if err != nil {
		return apiError(err)
	}
	c.setForward(fw, pod.Name)
	return nil
}

// exposedEndpoint returns https://<address> when the vCluster Service is a
// LoadBalancer with an address, so no port-forward is needed.
func (h *Host) exposedEndpoint(ctx context.Context, ns string) (string, error) {
	svc, err := h.Kube.CoreV1().Services(ns).Get(ctx, ReleaseName, metav1.GetOptions{})
	if err != nil || svc.Spec.Type != corev1.ServiceTypeLoadBalancer {
		return "", nil // no Service yet or not exposed: forward to the pod
	}
	for _, in := range svc.Status.LoadBalancer.Ingress {
		if h := cmp.Or(in.Hostname, in.IP); h != "" {
			return "https://" + h, nil
		}
	}
	return "", nil
}

// Close stops the port-forward (the kubeconfig entry stays until Disconnect),
// lets the last-connected-at patch finish and gives up the session lock.
func (c *Connection) Close() {
	if c.proxy != nil {
		c.proxy.Close()
	}
	if fw := c.currentForward(); fw != nil {
		fw.Close()
	}
	if c.recorded != nil {
		<-c.recorded
	}
	c.lock.Release()
}

// Disconnect ends a connection by context name (default: the tenant's name):
// stops its holder, removes the tenant's kubeconfig entries and restores
// the context that was current before connect. A context the tool wrote
// without a session (lost state directory, a killed connect) is removed as
// well, restoring the context its mark records.
func (e *Engine) Disconnect(ctx context.Context, contextName string) (*session.Session, error) {
	s, ok, err := e.Sessions.Get(e.Kubeconfig.Path, contextName)
	if err != nil {
		return nil, err
	}
	if !ok {
		return e.disconnectUnrecorded(contextName)
	}
	s.Stop(5 * time.Second) // never this process (a foreground connect)
	if _, err := (kubeconfig.Store{Path: s.Kubeconfig}).RemoveContext(s.Context, s.PreviousContext); err != nil {
		return nil, err
	}
	return &s, e.Sessions.Unlink(s)
}

func (h *Host) disconnectUnrecorded(contextName string) (*session.Session, error) {
	m, owned := h.Kubeconfig.Owned(contextName)
	if !owned {
		return nil, fmt.Errorf("no connection named %q (see `kubectl tenant list`)", contextName)
	}
	h.Sessions.StopHolder(h.Kubeconfig.Path, contextName, 5*time.Second)
	if _, err := h.Kubeconfig.RemoveContext(contextName, ""); err != nil {
		return nil, err
	}
	s := &session.Session{Tenant: m.Tenant, Context: contextName, Kubeconfig: h.Kubeconfig.Path, HostContext: m.Host}
	if c, err := h.Kubeconfig.Load(); err == nil {
		s.PreviousContext = c.CurrentContext
	}
	return s, nil
}

// CurrentSession names the connection to end for `disconnect` without a
// name: the current context when the tool wrote it, else the only session
// of this kubeconfig.
func (h *Host) CurrentSession() (string, error) {
	c, err := h.Kubeconfig.Load()
	if err != nil {
		return "", err
	}
	if _, ok := kubeconfig.MarkOf(c.Contexts[c.CurrentContext]); ok {
		return c.CurrentContext, nil
	}
	if _, ok, _ := h.Sessions.Get(h.Kubeconfig.Path, c.CurrentContext); ok {
		return c.CurrentContext, nil
	}
	ss, err := h.Sessions.List()
	if err != nil {
		return "", err
	}
	var mine []session.Session
	for _, s := range ss {
		if s.Same(h.Kubeconfig.Path, s.Context) {
			mine = append(mine, s)
		}
	}
	if len(mine) == 1 {
		return mine[0].Context, nil
	}
	return "", fmt.Errorf("current context %q is not a tenant connection: name the tenant to disconnect", c.CurrentContext)
}
