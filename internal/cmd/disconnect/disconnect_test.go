package disconnect

import (
	"strings"
	"testing"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/kubectl-tenant/kubectl-tenant/internal/cmdutil/cmdutiltest"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/kubeconfig"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant/tenanttest"
)

// run runs `disconnect ARGS...` through the real Run on e.
func run(t *testing.T, e *tenant.Engine, args ...string) (string, error) {
	t.Helper()
	out, _, err := cmdutiltest.Run(NewCmdDisconnect, func(o *Options) {
		o.Engine = tenanttest.EngineFunc(e)
	}, args...)
	return out, err
}

// TestDisconnectRestoresTheHostContext: disconnect without a name ends the
// current tenant context (here one whose forwarder and session are gone)
// and makes the context before it current again.
func TestDisconnectRestoresTheHostContext(t *testing.T) {
	e, _, _ := tenanttest.NewEngine(t)
	c := clientcmdapi.NewConfig()
	c.Clusters["host"] = &clientcmdapi.Cluster{Server: "https://127.0.0.1:6443"}
	c.AuthInfos["host"] = &clientcmdapi.AuthInfo{Token: "t"}
	c.Contexts["host"] = &clientcmdapi.Context{Cluster: "host", AuthInfo: "host"}
	c.CurrentContext = "host"
	if err := clientcmd.WriteToFile(*c, e.Kubeconfig.Path); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Kubeconfig.Upsert(kubeconfig.Entry{Name: "demo", Tenant: "demo", Host: "host", Server: "https://127.0.0.1:1", Token: "x"}, true); err != nil {
		t.Fatal(err)
	}
	out, err := run(t, e)
	if err != nil {
		t.Fatal(err)
	}
	if out != "disconnected demo; current context: host\n" {
		t.Errorf("stdout %q", out)
	}
	got, err := clientcmd.LoadFromFile(e.Kubeconfig.Path)
	if err != nil || got.CurrentContext != "host" || got.Contexts["demo"] != nil {
		t.Errorf("kubeconfig after: current %q, contexts %v, %v", got.CurrentContext, got.Contexts, err)
	}
	// Nothing left to end.
	if _, err := run(t, e); err == nil || !strings.Contains(err.Error(), `current context "host" is not a tenant connection`) {
		t.Errorf("second disconnect: %v", err)
	}
	if _, err := run(t, e, "demo"); err == nil || !strings.Contains(err.Error(), `no connection named "demo"`) {
		t.Errorf("disconnect demo again: %v", err)
	}
}
