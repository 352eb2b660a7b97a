package cmdutil_test

import (
	"slices"
	"testing"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-tenant/kubectl-tenant/internal/cmdutil"
	"github.com/kubectl-tenant/kubectl-tenant/internal/cmdutil/cmdutiltest"
	"github.com/kubectl-tenant/kubectl-tenant/internal/factory"
)

func TestCompleteTenantNames(t *testing.T) {
	kubeconfig, requests := cmdutiltest.FakeHost(t, "alpha", "beta", "alpaca")
	t.Setenv("KUBECONFIG", kubeconfig)
	t.Setenv("KUBECTL_TENANT_STATE_DIR", t.TempDir())
	streams, _, _, errOut := genericiooptions.NewTestIOStreams()
	f := factory.New(streams)
	complete := cmdutil.CompleteTenantNames(f)
	cmd := &cobra.Command{Use: "status"}

	names, dir := complete(cmd, nil, "")
	if want := []string{"alpaca", "alpha", "beta"}; !slices.Equal(names, want) || dir != cobra.ShellCompDirectiveNoFileComp {
		t.Errorf("complete(\"\") = %v, %v; want %v, NoFileComp", names, dir, want)
	}
	names, _ = complete(cmd, nil, "alp")
	if want := []string{"alpaca", "alpha"}; !slices.Equal(names, want) {
		t.Errorf("complete(\"alp\") = %v, want %v", names, want)
	}
	before := requests.Load()
	if names, dir := complete(cmd, []string{"alpha"}, ""); names != nil || dir != cobra.ShellCompDirectiveNoFileComp {
		t.Errorf("second argument: %v, %v; want nothing", names, dir)
	}
	if requests.Load() != before {
		t.Error("completing a second argument must not query the cluster")
	}
	if errOut.Len() != 0 {
		t.Errorf("completion wrote to stderr: %q", errOut)
	}
}

func TestCompleteTenantNamesWithoutCluster(t *testing.T) {
	t.Setenv("KUBECONFIG", t.TempDir()+"/missing")
	streams, _, _, errOut := genericiooptions.NewTestIOStreams()
	f := factory.New(streams)
	names, dir := cmdutil.CompleteTenantNames(f)(&cobra.Command{Use: "status"}, nil, "")
	if len(names) != 0 || dir != cobra.ShellCompDirectiveNoFileComp {
		t.Errorf("no cluster: %v, %v; want nothing, NoFileComp", names, dir)
	}
	if errOut.Len() != 0 {
		t.Errorf("completion wrote to stderr: %q", errOut)
	}
}
