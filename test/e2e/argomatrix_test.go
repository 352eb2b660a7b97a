package e2e

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/kubectl-tenant/kubectl-tenant/test/testenv"
)

// argoCDMatrix runs f once per Argo CD version of the e2e matrix,
// testenv.ArgoCDVersions (which internal/support's matrix must equal, see
// TestSupportMatrixIsTheHarness), as a subtest named by the version, with a
// world whose kubectl-tenant, Argo CD API calls and argocd CLI target the
// playground's Argo CD of that version. The subtests run one after the
// other; suffix ("" for ArgoCDVersion, "-v2" for ArgoCDV2Version) keeps
// tenant names apart where a test wants that.
func argoCDMatrix(t *testing.T, f func(t *testing.T, w *world, suffix string)) {
	for _, v := range testenv.ArgoCDVersions {
		t.Run(v, func(t *testing.T) {
			w := newWorld(t)
			w.forArgoCD(v)
			f(t, w, argoSuffix(v))
		})
	}
}

// forArgoCD points w at the playground's Argo CD of version.
func (w *world) forArgoCD(version string) {
	w.t.Helper()
	ns := w.env.ArgoCDNamespaceOf(version)
	if ns == "" {
		w.t.Fatalf("the playground runs no Argo CD %s (env.json argocds: %+v)", version, w.env.ArgoCDs)
	}
	w.argoNS = ns
	w.argoBin = "argocd"
	if version != testenv.ArgoCDVersion {
		w.argoBin = "argocd-v2"
	}
	// The server behind Service NS/argocd-server is that version
	// (GET /api/version answers e.g. "v2.14.21+unknown").
	a := &argo{t: w.t}
	addr, stop, err := w.env.ForwardService(context.Background(), ns, "argocd-server", 443)
	if err != nil {
		w.t.Fatalf("port-forward to %s/argocd-server: %v", ns, err)
	}
	defer stop()
	a.base = "http://" + addr
	var v struct{ Version string }
	if err := a.call(http.MethodGet, "/api/version", nil, &v); err != nil || !strings.HasPrefix(v.Version, version+"+") {
		w.t.Fatalf("Argo CD in %s answers version %q (err %v), want %s", ns, v.Version, err, version)
	}
}

func argoSuffix(version string) string {
	if version == testenv.ArgoCDVersion {
		return ""
	}
	return "-" + strings.SplitN(version, ".", 2)[0]
}
