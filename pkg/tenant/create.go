package tenant

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	authnv1 "k8s.io/api/authentication/v1"
	authzv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/yaml"
)

// CreateOptions are the inputs of Create.
type CreateOptions struct {
	Name string
	// Spec is what gets installed (Pool defaults to Name).
	Spec
	// Labels are set on the tenant namespace (for upgrade --selector).
	Labels map[string]string
	// TTL, when > 0, sets expires-at.
	TTL time.Duration
	// Wait bounds how long to wait for the control plane; 0 does not wait.
	Wait time.Duration
	// GitOps installs through Engine.GitOps (an Argo CD Application)
	// instead of the Backend.
	GitOps bool
	// Connect, when set, connects the tenant once it is ready (step
	// "connect"); Register, when set, then registers it (Register.Plan's
	// steps). Both run after the waits: with Wait 0 the tenant may not
	// answer yet, so callers set neither (the CLI refuses --register with
	// --wait 0 and does not connect).
	Connect  Connector
	Register Registration
	// Claimer, when set, may hand the tenant a warm spare of its pool
	// instead of installing it (nil: always a fresh install).
	Claimer Claimer
}

// NotRegisteredError is a create that made the tenant (ready, connected if
// asked) but could not register it: re-running the registration alone
// finishes it.
type NotRegisteredError struct {
	Tenant *Tenant
	Err    error
}

func (e *NotRegisteredError) Error() string {
	return fmt.Sprintf("tenant %s is created, but not registered: %v", e.Tenant.Name, e.Err)
}

func (e *NotRegisteredError) Unwrap() error { return e.Err }

// Step names, shared by every face (CLI lines, TUI, tests).
const (
	StepPreflight  = "preflight"
	StepNamespace  = "namespace"
	StepInstall    = "install"
	StepSync       = "argocd sync"
	StepSchedule   = "schedule"
	StepKubeconfig = "kubeconfig secret"
	StepReady      = "api ready"
	StepDeregister = "deregister"
	StepDeleteApp  = "delete application"
	StepUninstall  = "uninstall"
	StepDeleteNS   = "delete namespace"
	StepLocal      = "local cleanup"
	StepConnect    = "connect"
)

// Create installs (or converges) a tenant, waits for its API, then connects
// and registers it when o asks: the whole flow of `create` and of the
// interactive app's wizard, reporting the steps of CreatePlan(o).
func (e *Engine) Create(ctx context.Context, o CreateOptions) (*Tenant, error) {
	var topUp chan struct{}
	defer func() {
		if topUp != nil {
			<-topUp // the process must not end in the middle of a Helm install
		}
	}()
	t, err := e.install(ctx, o, &topUp)
	if err != nil {
		return nil, err
	}
	if o.Connect != nil {
		if err := e.Report.Step(StepConnect, func() error { return o.Connect.Connect(ctx, t.Name) }); err != nil {
			return nil, err
		}
		t.Connected = true
	}
	if o.Register != nil {
		if err := o.Register.Register(ctx, t.Name, e.Report); err != nil {
			return t, &NotRegisteredError{Tenant: t, Err: err}
		}
		registered := true
		t.Registered = &registered
	}
	return t, nil
}

// checkValuesFiles reads the values files before anything is created: a
// missing or malformed file is bad input (exit 2), not a namespace left
// behind by a failed install.
func checkValuesFiles(files []string) error {
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return usageErrorf("values file: %v", err)
		}
		var values map[string]any
		if err := yaml.Unmarshal(b, &values); err != nil {
			return usageErrorf("values file %s: %s", f, FirstLine(err.Error()))
		}
	}
	return nil
}

// CreatePlan names the steps Create(o) reports, in order (a step the plan
// does not name, such as a warning's, shows up where it starts).
func CreatePlan(o CreateOptions) []string {
	plan := []string{StepPreflight, StepNamespace, StepInstall}
	if o.Wait > 0 {
		if o.GitOps {
			plan = append(plan, StepSync)
		}
		plan = append(plan, StepSchedule, StepKubeconfig, StepReady)
	}
	if o.Connect != nil {
		plan = append(plan, StepConnect)
	}
	if o.Register != nil {
		plan = append(plan, o.Register.Plan()...)
	}
	return plan
}

// ValidateCreate checks o's input as Create does first, reading and
// making nothing: faces call it before they print anything about the
// create, so bad input is one line.
func (e *Engine) ValidateCreate(o CreateOptions) error {
	if err := ValidateName(o.Name); err != nil {
		return err
	}
	if o.Pool == "" {
		o.Pool = o.Name
	}
	if errs := validatePool(o.Pool); errs != nil {
		return errs
	}
	if o.GitOps && e.GitOps == nil {
		return usageErrorf("GitOps installation is not available")
	}
	if err := ValidateLabels(o.Labels); err != nil {
		return err
	}
	if err := e.checkChartVersion(o.ChartVersion); err != nil {
		return err
	}
	return checkValuesFiles(o.ValuesFiles)
}

// install is Create up to a ready tenant.
// When it claims a warm spare it starts the replacement's install and sets
// *topUp to a channel closed when that is done.
func (e *Engine) install(ctx context.Context, o CreateOptions, topUp *chan struct{}) (*Tenant, error) {
	if err := e.ValidateCreate(o); err != nil {
		return nil, err
	}
	if o.Pool == "" {
		o.Pool = o.Name
	}
	start := e.now()
	var (
		owner, app string
		t          *Target
		foreign    bool
	)
	err := e.Report.Step(StepPreflight, func() (err error) {
		if owner, err = e.preflight(ctx, NamespaceFor(o.Name), o.Pool); err != nil {
			return err
		}
		// The one lookup of the tenant: every later step works on t.
		t, err = e.Resolve(ctx, o.Name)
		switch {
		case errors.Is(err, ErrNotFound):
			t = &Target{Name: o.Name}
		case errors.Is(err, ErrForeign):
			t, foreign = &Target{Name: o.Name}, true // ensureNamespace says so, in create's words
		case err != nil:
			return err
		default:
			if err = e.checkInstallMode(ctx, o, t); err != nil {
				return err
			}
		}
		if !o.GitOps {
			return nil
		}
		app, err = e.GitOps.Preflight(ctx, o.Name)
		return err
	})
	if err != nil {
		return nil, err
	}
	// From the namespace on, the tenant is changed one run at a time
	// (another create, an upgrade, a delete...) under its lease, which
	// lives in the namespace: a new namespace is created first, then the
	// lease taken, then an existing namespace's metadata updated. A second
	// create waits for the first up to its --wait, then converges what the
	// first left.
	//
	// A new tenant (not GitOps) first tries to claim a warm spare of its
	// pool installed as it would be (o.Claimer); a claimed spare keeps its
	// namespace, which then carries the tenant's name. A new vcluster-NAME
	// is settled against the claims of the name (see Settle).
	var (
		lctx    context.Context
		unlock  func() error
		claimed bool
	)
	err = e.Report.StepMsg(StepNamespace, func() (string, error) {
		if t.NS == nil && !foreign && !o.GitOps && o.Claimer != nil {
			got, took, err := o.Claimer.Claim(ctx, &e.Host, o, owner, start)
			if err != nil {
				return "", err
			}
			if got != nil {
				t.NS, claimed = got, took
			}
		}
		ns := t.Namespace()
		created := false
		if !claimed {
			// Two creates of a new tenant race to create its namespace:
			// the loser reads it again.
			err := retry.OnError(retry.DefaultRetry, apierrors.IsAlreadyExists, func() (err error) {
				created, err = e.ensureNamespace(ctx, ns, o, owner, app, start, false)
				return err
			})
			if err != nil {
				return "", err
			}
			if created {
				if err := e.settleCreated(ctx, t); err != nil {
					return "", err
				}
				created = t.Namespace() == ns
				ns = t.Namespace()
			}
		}
		if lctx, unlock, err = e.lock(ctx, t, "create", StepNamespace, o.Wait); err != nil {
			return "", err
		}
		if !created && !claimed {
			err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
				_, err := e.ensureNamespace(lctx, ns, o, owner, app, start, true)
				return err
			})
		}
		if err != nil {
			_ = unlock()
			return "", err
		}
		if claimed {
			return "claimed warm spare " + ns, nil
		}
		return "", nil
	})
	if err != nil {
		return nil, err
	}
	// The claimed spare's replacement (Replace) installs while this tenant is woken,
	// waited for, connected and registered (Create waits for it at the end).
	if claimed {
		done := make(chan struct{})
		*topUp = done
		go func() {
			defer close(done)
			if err := o.Claimer.Replace(context.WithoutCancel(ctx), &e.Host, o); err != nil {
				e.Report.Emit(StepNamespace, PhaseWarning, "warm pool "+o.Pool+": the claimed spare's replacement did not install: "+FirstLine(err.Error()), nil)
			}
		}()
	}
	err = e.createLocked(lctx, o, t, start, claimed)
	if uerr := unlock(); errors.Is(uerr, errLeaseLost) {
		err = uerr
	}
	if err != nil {
		return nil, err
	}
	return e.current(ctx, t)
}

// createLocked is create's part under the tenant's lease: install, wake a
// sleeping tenant, wait for its API.
func (e *Engine) createLocked(ctx context.Context, o CreateOptions, t *Target, start time.Time, claimed bool) error {
	ns := t.Namespace()
	err := e.Report.StepMsg(StepInstall, func() (string, error) {
		if claimed {
			return e.rotateClaimed(ctx, t)
		}
		req := InstallRequest{Name: InstallName(ns), Namespace: ns, Spec: o.Spec}
		if o.GitOps {
			return "", e.GitOps.Apply(ctx, req)
		}
		return "", e.Backend.Install(ctx, req)
	})
	if err != nil {
		if ctx.Err() == nil {
			// Best effort: list and status then say Failed and why.
			_ = e.annotate(context.WithoutCancel(ctx), ns, AnnotationInstallFailed, flatten(err, 1024))
		}
		return err
	}
	if err := Fence(ctx); err != nil {
		return err
	}
	// Create converges to a running tenant: one put to sleep is woken (the
	// upgrade restored the chart's replicas but not the pause marks).
	if err := e.refresh(ctx, t); err != nil {
		return err
	}
	nsObj := t.NS
	if nsObj.Annotations[AnnotationInstallFailed] != "" {
		if err := e.annotate(ctx, ns, AnnotationInstallFailed, ""); err != nil {
			return err
		}
	}
	// Its wait below is create's even for a sleeping tenant: a claimed
	// spare's store was reset (rotateClaimed), so this is its first boot,
	// which creates what wake's wait leaves out.
	if isSleeping(nsObj) {
		if _, err := e.scaleUp(ctx, nsObj); err != nil {
			return err
		}
	}
	if o.Wait > 0 {
		wait := o.Wait
		if o.GitOps {
			// Argo CD, not this process, installs the chart: wait for its
			// sync first, so a broken source shows up as Argo CD's message
			// rather than as a pod that never appears.
			if err := e.Report.Step(StepSync, func() error { return e.waitSynced(ctx, o.Name, o.Wait) }); err != nil {
				return err
			}
			wait = max(o.Wait-e.now().Sub(start), time.Second)
		}
		if err := e.WaitReady(ctx, t, wait); err != nil {
			return err
		}
		if err := e.recordReady(ctx, ns, start); err != nil {
			return err
		}
	}
	return nil
}

func validatePool(pool string) error {
	if errs := validationIsLabelValue(pool); len(errs) > 0 {
		return usageErrorf("invalid pool %q: %s", pool, strings.Join(errs, "; "))
	}
	return nil
}

// preflight checks the API is reachable and the caller may create what create
// creates; it warns (does not fail) when the pool has no nodes. It returns
// the caller's user name for the owner annotation.
func (h *Host) preflight(ctx context.Context, ns, pool string) (string, error) {
	if err := h.ping(ctx); err != nil {
		return "", apiError(err)
	}
	checks := []authzv1.ResourceAttributes{
		{Verb: "create", Resource: "namespaces", Name: ns},
		{Verb: "create", Group: "apps", Resource: "statefulsets", Namespace: ns},
		{Verb: "create", Resource: "secrets", Namespace: ns},
		{Verb: "create", Resource: "services", Namespace: ns},
		{Verb: "create", Resource: "serviceaccounts", Namespace: ns},
		{Verb: "create", Group: "rbac.authorization.k8s.io", Resource: "roles", Namespace: ns},
		{Verb: "create", Group: "rbac.authorization.k8s.io", Resource: "rolebindings", Namespace: ns},
		{Verb: "create", Resource: "pods/portforward", Namespace: ns},
		{Verb: "create", Group: "coordination.k8s.io", Resource: "leases", Namespace: ns}, // the tenant's lease
	}
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		denied []string
		first  error
	)
	for _, ra := range checks {
		wg.Add(1)
		go func(ra authzv1.ResourceAttributes) {
			defer wg.Done()
			r, err := h.Kube.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx,
				&authzv1.SelfSubjectAccessReview{Spec: authzv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &ra}}, metav1.CreateOptions{})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil && first == nil:
				first = apiError(err)
			case err == nil && !r.Status.Allowed:
				res := ra.Resource
				if ra.Group != "" {
					res += "." + ra.Group
				}
				denied = append(denied, res)
			}
		}(ra)
	}
	wg.Wait()
	if first != nil {
		return "", first
	}
	if len(denied) > 0 {
		return "", &ForbiddenError{msg: fmt.Sprintf("not allowed to create %s in namespace %s (ask for a role that grants them)", strings.Join(denied, ", "), ns)}
	}
	nodes, err := h.Kube.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: PoolLabel + "=" + pool})
	switch {
	case apierrors.IsForbidden(err):
		h.Report.Emit(StepPreflight, PhaseWarning, "cannot list nodes to check pool "+pool, nil)
	case err != nil:
		return "", apiError(err)
	case len(nodes.Items) == 0:
		h.Report.Emit(StepPreflight, PhaseWarning, fmt.Sprintf("no nodes labelled %s=%s: the vCluster pod will stay Pending until the pool has nodes", PoolLabel, pool), nil)
	}
	owner := ""
	if r, err := h.Kube.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authnv1.SelfSubjectReview{}, metav1.CreateOptions{}); err == nil {
		owner = r.Status.UserInfo.Username
	}
	return owner, nil
}

// FirstLine is the first line of s: errors and messages shown on one line
// (a step, a table cell) keep only it.
func FirstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

func (e *Engine) waitSynced(ctx context.Context, name string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return e.poll(ctx, StepSync, func() (bool, string, error) { return e.GitOps.Synced(ctx, name) })
}

// checkInstallMode refuses to switch an existing tenant between Helm and
// GitOps installation: both would manage the same objects.
func (h *Host) checkInstallMode(ctx context.Context, o CreateOptions, t *Target) error {
	ns := t.NS
	app := ns.Annotations[AnnotationApplication]
	if app != "" && !o.GitOps {
		return usageErrorf("tenant %s is installed by Argo CD Application %s: re-run with --gitops, or delete it first", o.Name, app)
	}
	if app == "" && o.GitOps {
		rels, err := h.Backend.Releases(ctx, Scope{Namespace: ns.Name})
		if err != nil {
			return apiError(err)
		}
		if _, ok := rels[ns.Name]; ok {
			return usageErrorf("tenant %s is installed with Helm: create it without --gitops, or delete it first", o.Name)
		}
	}
	return nil
}

// ensureNamespace creates the tenant namespace or, with update, brings its
// labels up to date, keeping created-at and owner from the first create. app,
// when set, is the Argo CD Application that installs the tenant. It says
// whether it created the namespace; an existing one not the tenant's or
// being deleted is an error.
func (h *Host) ensureNamespace(ctx context.Context, nsName string, o CreateOptions, owner, app string, now time.Time, update bool) (bool, error) {
	nsc := h.Kube.CoreV1().Namespaces()
	ns, err := nsc.Get(ctx, nsName, metav1.GetOptions{})
	exists := err == nil
	if apierrors.IsNotFound(err) {
		ns = &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: nsName}}
	} else if err != nil {
		return false, apiError(err)
	} else if ns.Labels[LabelName] != o.Name {
		return false, fmt.Errorf("namespace %s already exists and is not a kubectl-tenant namespace: choose another name", nsName)
	} else if ns.DeletionTimestamp != nil {
		return false, fmt.Errorf("tenant %s is being deleted: wait for `kubectl tenant delete %s` to finish, then create again", o.Name, o.Name)
	} else if !update {
		return false, nil
	}
	if ns.Labels == nil {
		ns.Labels = map[string]string{}
	}
	if ns.Annotations == nil {
		ns.Annotations = map[string]string{}
	}
	for k, v := range o.Labels {
		ns.Labels[k] = v
	}
	for k, v := range Labels(o.Name, o.Pool) {
		ns.Labels[k] = v
	}
	ns.Labels[LabelPool] = o.Pool
	if o.Isolation {
		ns.Annotations[AnnotationIsolation] = "true"
	} else {
		delete(ns.Annotations, AnnotationIsolation)
	}
	setDefault(ns.Annotations, AnnotationCreatedAt, now.UTC().Format(time.RFC3339))
	if owner != "" {
		setDefault(ns.Annotations, AnnotationOwner, owner)
	}
	if o.K8sVersion != "" {
		ns.Annotations[AnnotationK8sVersion] = o.K8sVersion
	}
	if app != "" {
		ns.Annotations[AnnotationApplication] = app
	}
	if o.TTL > 0 {
		ns.Annotations[AnnotationExpiresAt] = now.Add(o.TTL).UTC().Format(time.RFC3339)
	}
	if !exists {
		_, err = nsc.Create(ctx, ns, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			return false, err // another create won the race: look again
		}
		return err == nil, apiError(err)
	}
	_, err = nsc.Update(ctx, ns, metav1.UpdateOptions{})
	if apierrors.IsConflict(err) {
		return false, err
	}
	return false, apiError(err)
}

func setDefault(m map[string]string, k, v string) {
	if _, ok := m[k]; !ok {
		m[k] = v
	}
}

// flatten is err's whole message on one line (the chart's schema errors
// come on lines after the first), at most limit bytes.
func flatten(err error, limit int) string {
	s := strings.Join(strings.Fields(err.Error()), " ")
	if len(s) > limit {
		s = s[:limit] + "…"
	}
	return s
}

// recordReady stores ready-at and time-to-ready once, on the first success.
func (h *Host) recordReady(ctx context.Context, nsName string, start time.Time) error {
	ns, err := h.Kube.CoreV1().Namespaces().Get(ctx, nsName, metav1.GetOptions{})
	if err != nil {
		return apiError(err)
	}
	if ns.Annotations[AnnotationReadyAt] != "" {
		return nil
	}
	now := h.now()
	created := start
	if v, err := time.Parse(time.RFC3339, ns.Annotations[AnnotationCreatedAt]); err == nil && v.Before(start) {
		created = v // a resumed create counts from the first attempt
	}
	ns.Annotations[AnnotationReadyAt] = now.UTC().Format(time.RFC3339)
	ns.Annotations[AnnotationTimeToReady] = now.Sub(created).Round(100 * time.Millisecond).String()
	_, err = h.Kube.CoreV1().Namespaces().Update(ctx, ns, metav1.UpdateOptions{})
	return apiError(err)
}

// checkChartVersion asks the backend, when it can tell, whether it supports
// the chart version.
func (h *Host) checkChartVersion(v string) error {
	if c, ok := h.Backend.(ChartChecker); ok && v != "" {
		return c.CheckChartVersion(v)
	}
	return nil
}
