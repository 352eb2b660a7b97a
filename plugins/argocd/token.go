package argocd

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
)

// Argo CD's token for a tenant expires and is replaced (issue #25): a
// TokenRequest for argocd-manager with the configured lifetime, bound to a
// Secret of its own in kube-system (labelled LabelToken). The vCluster's
// API server accepts the token only while that Secret exists with the UID
// it was bound to, so deleting the Secret revokes exactly that token, and a
// token not revoked stops working at its expiry anyway. A renewal mints a
// new one bound to a new Secret, gives it to Argo CD, then deletes the
// other token Secrets.

// LabelToken marks the Secrets argocd-manager's tokens are bound to.
const LabelToken = "tenant.kubectl-tenant.io/argocd-token"

// Annotations on Argo CD's cluster (and so on its cluster Secret): when the
// token Argo CD holds was issued and expires, and the Secret it is bound
// to. gc reads them from the Secrets' metadata to decide what to renew
// without calling any tenant.
const (
	AnnotationTokenIssuedAt  = "tenant.kubectl-tenant.io/argocd-token-issued-at"
	AnnotationTokenExpiresAt = "tenant.kubectl-tenant.io/argocd-token-expires-at"
	AnnotationTokenSecret    = "tenant.kubectl-tenant.io/argocd-token-secret"
)

// DefaultTokenLifetime is the lifetime of a token when the caller sets none
// (hostconfig's built-in argocdTokenLifetime).
const DefaultTokenLifetime = 24 * time.Hour

// boundToken is one minted token: a credential, never printed.
type boundToken struct {
	Token    string
	Secret   string // kube-system/<Secret> it is bound to
	IssuedAt time.Time
	Expires  time.Time
}

// annotations are the cluster annotations that record t.
func (t *boundToken) annotations() map[string]string {
	return map[string]string{
		AnnotationTokenIssuedAt:  t.IssuedAt.UTC().Format(time.RFC3339),
		AnnotationTokenExpiresAt: t.Expires.UTC().Format(time.RFC3339),
		AnnotationTokenSecret:    t.Secret,
	}
}

// mintToken creates a Secret (argocd-manager-token-RANDOM) and a
// token for argocd-manager bound to it, valid for lifetime (the API server
// may shorten it: the expiry recorded is the one it returns). When the
// TokenRequest fails the Secret is removed again.
func mintToken(ctx context.Context, kc kubernetes.Interface, lifetime time.Duration) (*boundToken, error) {
	if lifetime <= 0 {
		lifetime = DefaultTokenLifetime
	}
	secrets := kc.CoreV1().Secrets(ManagerNamespace)
	suffix := make([]byte, 4)
	if _, err := rand.Read(suffix); err != nil {
		return nil, err
	}
	meta := managerMeta(ManagerServiceAccount+"-token-"+hex.EncodeToString(suffix), ManagerNamespace)
	meta.Labels[LabelToken] = "true"
	meta.Annotations = map[string]string{"kubectl-tenant.io/purpose": "deleting this Secret revokes the token Argo CD holds for this cluster"}
	obj, err := secrets.Create(ctx, &corev1.Secret{ObjectMeta: meta, Type: corev1.SecretTypeOpaque}, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("token Secret %s/%s: %w", ManagerNamespace, meta.Name, err)
	}
	secs := int64(lifetime / time.Second)
	tr, err := kc.CoreV1().ServiceAccounts(ManagerNamespace).CreateToken(ctx, ManagerServiceAccount, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{
			ExpirationSeconds: &secs,
			BoundObjectRef:    &authenticationv1.BoundObjectReference{Kind: "Secret", APIVersion: "v1", Name: obj.Name, UID: obj.UID},
		},
	}, metav1.CreateOptions{})
	if err == nil && tr.Status.Token == "" {
		err = fmt.Errorf("the vCluster returned no token")
	}
	if err != nil {
		_ = secrets.Delete(context.WithoutCancel(ctx), obj.Name, metav1.DeleteOptions{})
		return nil, fmt.Errorf("token for ServiceAccount %s/%s: %w", ManagerNamespace, ManagerServiceAccount, err)
	}
	issued := obj.CreationTimestamp.Time
	if issued.IsZero() {
		issued = time.Now()
	}
	exp := tr.Status.ExpirationTimestamp.Time
	if exp.IsZero() {
		exp = issued.Add(lifetime)
	}
	return &boundToken{Token: tr.Status.Token, Secret: obj.Name, IssuedAt: issued.Truncate(time.Second), Expires: exp}, nil
}

// revokeTokens deletes the token Secrets this tool made except keep (""
// keeps none) and the long-lived token Secret of earlier versions: every
// token bound to them is rejected from then on.
func revokeTokens(ctx context.Context, kc kubernetes.Interface, keep string) error {
	secrets := kc.CoreV1().Secrets(ManagerNamespace)
	l, err := secrets.List(ctx, metav1.ListOptions{LabelSelector: managerSelector + "," + LabelToken})
	if err != nil {
		return err
	}
	for _, s := range l.Items {
		if s.Name == keep {
			continue
		}
		if err := secrets.Delete(ctx, s.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return err
		}
	}
	return deleteIfLabelled(ctx, secrets.Get, secrets.Delete, ManagerTokenSecret)
}

// revokeQuietly is revokeTokens(keep) after a successful hand-over: a
// failure is a warning (the old tokens still expire), never a failed
// registration.
func revokeQuietly(ctx context.Context, kc kubernetes.Interface, keep, step string, report tenant.Reporter) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 20*time.Second)
	defer cancel()
	if err := revokeTokens(ctx, kc, keep); err != nil {
		report.Emit(step, tenant.PhaseWarning, "could not revoke Argo CD's earlier token (it still expires): "+tenant.FirstLine(err.Error()), nil)
	}
}

// dropToken deletes one token Secret (a token minted for a hand-over that
// failed), best effort.
func dropToken(ctx context.Context, kc kubernetes.Interface, t *boundToken) {
	if t == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 20*time.Second)
	defer cancel()
	_ = kc.CoreV1().Secrets(ManagerNamespace).Delete(ctx, t.Secret, metav1.DeleteOptions{})
}
