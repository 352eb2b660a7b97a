package argocd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
)

// Actions of a Renewal.
const (
	RenewRenewed    = "renewed"
	RenewWould      = "would renew"
	RenewSkipped    = "skipped"
	RenewFailed     = "failed"
	StepRenewTokens = "renew argocd tokens"
)

// RenewOptions are the inputs of RenewTokens.
type RenewOptions struct {
	// Lifetime of the new tokens (0: DefaultTokenLifetime).
	Lifetime time.Duration
	// Before: a token that expires within it is renewed; 0 renews a token
	// once half of its own lifetime has passed.
	Before time.Duration
	DryRun bool
	// Now is the clock (nil: time.Now).
	Now func() time.Time
}

// Renewal is what RenewTokens did for one registered tenant whose token
// was due.
type Renewal struct {
	Name   string `json:"name"`
	Server string `json:"server"`
	Action string `json:"action"`
	// ExpiresAt is the expiry of the token Argo CD holds now.
	ExpiresAt *time.Time `json:"expiresAt,omitempty"`
	// Reason says why a renewal was skipped or failed.
	Reason string `json:"reason,omitempty"`
}

// tokenDue says whether the token recorded on a cluster Secret's
// annotations is due for renewal at now: no recorded expiry (a long-lived
// token of an earlier registration) is due at once.
func tokenDue(ann map[string]string, before time.Duration, now time.Time) (bool, *time.Time) {
	exp, err := time.Parse(time.RFC3339, ann[AnnotationTokenExpiresAt])
	if err != nil {
		return true, nil
	}
	if before <= 0 {
		issued, err := time.Parse(time.RFC3339, ann[AnnotationTokenIssuedAt])
		if err != nil || !issued.Before(exp) {
			return true, &exp
		}
		before = exp.Sub(issued) / 2
	}
	return !now.Before(exp.Add(-before)), &exp
}

// RenewTokens replaces every registered tenant's Argo CD token that is due
// (tokenDue, from the annotations of Argo CD's cluster Secrets, read in
// one list): it mints a new token bound to a new Secret in the vCluster,
// gives it to Argo CD (the API's upsert, as register does; when the API
// cannot be used, or for a declarative registration, by updating the
// cluster Secret, which Argo CD watches), and only then deletes the other
// token Secrets, so the replaced token is rejected from then on. A tenant
// that is not running is skipped (its token is renewed by a later run, or
// by register). No Argo CD namespace is nothing to do.
func (r *Registrar) RenewTokens(ctx context.Context, o RenewOptions, report tenant.Reporter) ([]Renewal, error) {
	now := time.Now
	if o.Now != nil {
		now = o.Now
	}
	ns := r.ns()
	secrets := r.Kube.CoreV1().Secrets(ns)
	list, err := secrets.List(ctx, metav1.ListOptions{LabelSelector: SecretTypeLabel + "=" + SecretTypeCluster + "," + tenant.LabelName})
	switch {
	case apierrors.IsNotFound(err):
		return nil, nil
	case err != nil:
		return nil, kubeError(err)
	}
	sort.Slice(list.Items, func(i, j int) bool { return list.Items[i].Name < list.Items[j].Name })
	var (
		out      []Renewal
		sess     *Session
		loginErr error
	)
	defer func() { sess.Close() }()
	login := func() (*Session, error) {
		if sess == nil && loginErr == nil {
			sess, loginErr = Login(ctx, r.Kube, r.REST, r.Options)
		}
		return sess, loginErr
	}
	for i := range list.Items {
		sec := &list.Items[i]
		name := sec.Labels[tenant.LabelName]
		due, exp := tokenDue(sec.Annotations, o.Before, now())
		if !due || name == "" {
			continue
		}
		rn := Renewal{Name: name, Server: strings.TrimRight(string(sec.Data["server"]), "/"), ExpiresAt: exp}
		if o.DryRun {
			rn.Action = RenewWould
			out = append(out, rn)
			continue
		}
		t, err := r.Tenants.Get(ctx, name)
		switch {
		case errors.Is(err, tenant.ErrNotFound):
			continue // gone: gc's deletes deregister it
		case err != nil:
			rn.Action, rn.Reason = RenewFailed, tenant.FirstLine(err.Error())
		case t.Status != tenant.StatusReady:
			rn.Action, rn.Reason = RenewSkipped, "tenant is "+string(t.Status)
		default:
			tok, err := r.renewOne(ctx, sec, o.Lifetime, login, report)
			if err != nil {
				rn.Action, rn.Reason = RenewFailed, tenant.FirstLine(err.Error())
			} else {
				rn.Action, rn.ExpiresAt = RenewRenewed, &tok.Expires
			}
		}
		out = append(out, rn)
	}
	return out, nil
}

// renewOne renews the token of the registration stored in sec.
func (r *Registrar) renewOne(ctx context.Context, sec *corev1.Secret, lifetime time.Duration, login func() (*Session, error), report tenant.Reporter) (*boundToken, error) {
	name := sec.Labels[tenant.LabelName]
	acc, err := r.Tenants.Open(ctx, name)
	if err != nil {
		return nil, err
	}
	defer acc.Close()
	kc, err := kubernetes.NewForConfig(acc.Config)
	if err != nil {
		return nil, err
	}
	sa, err := kc.CoreV1().ServiceAccounts(ManagerNamespace).Get(ctx, ManagerServiceAccount, metav1.GetOptions{})
	if apierrors.IsNotFound(err) || err == nil && sa.Labels[labelComponent] != componentValue {
		return nil, fmt.Errorf("ServiceAccount %s/%s made by kubectl-tenant is not in the vCluster: run `kubectl tenant register %s` again", ManagerNamespace, ManagerServiceAccount, name)
	}
	if err != nil {
		return nil, err
	}
	tok, err := mintToken(ctx, kc, lifetime)
	if err != nil {
		return nil, err
	}
	if err := r.handOver(ctx, sec, tok, login, report); err != nil {
		dropToken(ctx, kc, tok)
		return nil, err
	}
	revokeQuietly(ctx, kc, tok.Secret, StepRenewTokens, report)
	return tok, nil
}

// handOver gives Argo CD tok in place of the token its cluster Secret sec
// holds.
func (r *Registrar) handOver(ctx context.Context, sec *corev1.Secret, tok *boundToken, login func() (*Session, error), report tenant.Reporter) error {
	if sec.Annotations[managedByAnnotation] == managedByArgoCD {
		s, err := login()
		if err == nil {
			cl, err := clusterOf(sec, tok)
			if err != nil {
				return err
			}
			if _, err := s.UpsertCluster(ctx, cl); err != nil {
				var ae *APIError
				if errors.As(err, &ae) {
					return fmt.Errorf("Argo CD refused the cluster: %s", strings.ReplaceAll(ae.Message, tok.Token, "<redacted>"))
				}
				return err
			}
			return nil
		}
		report.Emit(StepRenewTokens, tenant.PhaseWarning, "Argo CD API unavailable ("+tenant.FirstLine(err.Error())+"): updating its cluster Secret "+sec.Namespace+"/"+sec.Name+" directly", nil)
	}
	return r.updateSecretToken(ctx, sec, tok)
}

// clusterOf is the cluster stored in Argo CD's Secret sec, with tok.
func clusterOf(sec *corev1.Secret, tok *boundToken) (*Cluster, error) {
	var cfg ClusterConfig
	if err := json.Unmarshal(sec.Data["config"], &cfg); err != nil {
		return nil, fmt.Errorf("cluster Secret %s/%s: unreadable config", sec.Namespace, sec.Name)
	}
	cfg.BearerToken = tok.Token
	labels := maps.Clone(sec.Labels)
	delete(labels, SecretTypeLabel)
	ann := maps.Clone(sec.Annotations)
	if ann == nil {
		ann = map[string]string{}
	}
	delete(ann, managedByAnnotation)
	maps.Copy(ann, tok.annotations())
	cl := &Cluster{
		Server: string(sec.Data["server"]), Name: string(sec.Data["name"]), Labels: labels, Annotations: ann, Config: cfg,
		Project: string(sec.Data["project"]), ClusterResources: string(sec.Data["clusterResources"]) == "true",
	}
	if ns := string(sec.Data["namespaces"]); ns != "" {
		cl.Namespaces = strings.Split(ns, ",")
	}
	return cl, nil
}

// updateSecretToken writes tok into the cluster Secret sec (its config's
// bearerToken, every other field kept) and records it in the annotations.
func (r *Registrar) updateSecretToken(ctx context.Context, sec *corev1.Secret, tok *boundToken) error {
	var cfg map[string]any
	if err := json.Unmarshal(sec.Data["config"], &cfg); err != nil || cfg == nil {
		return fmt.Errorf("cluster Secret %s/%s: unreadable config", sec.Namespace, sec.Name)
	}
	cfg["bearerToken"] = tok.Token
	b, err := json.Marshal(cfg)
	if err != nil {
		return err
	}
	c := sec.DeepCopy()
	c.Data["config"] = b
	c.Annotations = mergeLabels(c.Annotations, tok.annotations())
	if _, err := r.Kube.CoreV1().Secrets(sec.Namespace).Update(ctx, c, metav1.UpdateOptions{}); err != nil {
		return kubeError(err)
	}
	return nil
}
