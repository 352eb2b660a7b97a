package argocd

import (
	"encoding/json"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
)

func TestTokenDue(t *testing.T) {
	issued := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	ann := (&boundToken{IssuedAt: issued, Expires: issued.Add(24 * time.Hour), Secret: "s"}).annotations()
	for _, c := range []struct {
		at     time.Duration // after issue
		before time.Duration
		want   bool
	}{
		{11 * time.Hour, 0, false}, // half the lifetime not passed
		{12 * time.Hour, 0, true},
		{23 * time.Hour, 2 * time.Hour, true},
		{21 * time.Hour, 2 * time.Hour, false},
		{time.Minute, 24 * time.Hour, true}, // renew-before >= lifetime: every run
		{25 * time.Hour, time.Minute, true}, // expired
	} {
		if got, _ := tokenDue(ann, c.before, issued.Add(c.at)); got != c.want {
			t.Errorf("at +%s, before %s: due %v, want %v", c.at, c.before, got, c.want)
		}
	}
	// A long-lived token of an earlier registration records no expiry.
	if due, exp := tokenDue(map[string]string{}, 0, issued); !due || exp != nil {
		t.Errorf("no annotations: due %v exp %v, want due now", due, exp)
	}
}

// clusterOf rebuilds the registration from Argo CD's Secret with the new
// token: the user's labels and namespaces kept, Argo CD's own marks dropped.
func TestClusterOfKeepsTheRegistration(t *testing.T) {
	cfg, _ := json.Marshal(ClusterConfig{BearerToken: "old", TLSClientConfig: TLSClientConfig{CAData: []byte("PEM")}})
	sec := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "cluster-x", Namespace: "argocd",
			Labels:      map[string]string{SecretTypeLabel: SecretTypeCluster, tenant.LabelName: "demo", "team": "a"},
			Annotations: map[string]string{managedByAnnotation: managedByArgoCD, "keep": "me"}},
		Data: map[string][]byte{"name": []byte("demo"), "server": []byte("https://vcluster.vcluster-demo"), "config": cfg, "namespaces": []byte("apps,jobs")},
	}
	tok := &boundToken{Token: "new", Secret: "argocd-manager-token-1", IssuedAt: time.Unix(0, 0), Expires: time.Unix(600, 0)}
	cl, err := clusterOf(sec, tok)
	if err != nil {
		t.Fatal(err)
	}
	if cl.Config.BearerToken != "new" || string(cl.Config.TLSClientConfig.CAData) != "PEM" || cl.Name != "demo" || cl.Server != "https://vcluster.vcluster-demo" {
		t.Errorf("cluster %+v", cl)
	}
	if _, ok := cl.Labels[SecretTypeLabel]; ok || cl.Labels["team"] != "a" || cl.Labels[tenant.LabelName] != "demo" {
		t.Errorf("labels %v", cl.Labels)
	}
	if _, ok := cl.Annotations[managedByAnnotation]; ok || cl.Annotations["keep"] != "me" || cl.Annotations[AnnotationTokenSecret] != tok.Secret ||
		cl.Annotations[AnnotationTokenExpiresAt] != "1970-01-01T00:10:00Z" {
		t.Errorf("annotations %v", cl.Annotations)
	}
	if len(cl.Namespaces) != 2 || cl.Namespaces[1] != "jobs" {
		t.Errorf("namespaces %v", cl.Namespaces)
	}
}
