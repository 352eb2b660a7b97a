package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	authnv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
)

// TestTTLGCExtendStats: two tenants, one already expired when it is ready
// (--ttl 1s) and connected, one with hours to live. gc --dry-run changes
// nothing; extend moves the live one's expiry; stats reports what create and
// connect recorded; two gc processes at once both succeed and delete only
// the expired tenant, completely.
func TestTTLGCExtendStats(t *testing.T) {
	w := newWorld(t)
	const old, live = "e2e-ttl-old", "e2e-ttl-live"
	w.deleteAtEnd(old, live)
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for _, args := range [][]string{
		{"create", old, "--pool", "project-x", "--ttl", "1s", "--wait", "10m"},
		{"create", live, "--pool", "project-z", "--ttl", "2h", "--wait", "10m", "--connect=false"},
	} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 11*time.Minute)
			defer cancel()
			if r := w.run(ctx, args...); r.code != 0 {
				errs <- fmt.Errorf("%v: exit %d\n%s", args, r.code, r.stderr)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	before := w.list()
	o, l := before[old], before[live]
	if o.ExpiresAt == nil || l.ExpiresAt == nil || o.TimeToReady <= 0 || l.TimeToReady <= 0 {
		t.Fatalf("list after create: %+v\n%+v", o, l)
	}
	// connect (run by create) recorded its use; the unconnected one has none.
	if o.LastConnectedAt == nil || l.LastConnectedAt != nil {
		t.Errorf("last-connected-at: %s %v, %s %v", old, o.LastConnectedAt, live, l.LastConnectedAt)
	}

	// stats reports exactly what the tenants carry.
	st := runJSON[tenant.Stats](w, "stats", "-o", "json", "--idle", "1000h")
	fast, slow := min(o.TimeToReady, l.TimeToReady), max(o.TimeToReady, l.TimeToReady)
	if st.Total != len(before) || st.ByStatus[tenant.StatusReady] != 2 || st.Recent.Creates != 2 || st.Recent.Ready != 2 ||
		st.Recent.P50 != fast || st.Recent.P95 != slow || !slices.Equal(st.Expired, []string{old}) || len(st.Idle) != 0 {
		t.Errorf("stats %+v, want 2 Ready, p50 %s, p95 %s, expired [%s], none idle", st, fast, slow, old)
	}
	r := w.mustRun("stats")
	if !strings.Contains(r.stdout, fmt.Sprintf("p50 %s, p95 %s", fast, slow)) || !strings.Contains(r.stdout, "1: "+old) {
		t.Errorf("stats table:\n%s", r.stdout)
	}

	// gc --dry-run names the expired tenant and changes nothing.
	r = w.mustRun("gc", "--dry-run", "-o", "json")
	if g := stdoutJSON[gcOut](t, r); !g.DryRun || len(g.Items) != 1 || g.Items[0].Name != old || g.Items[0].Action != tenant.GCWouldDelete {
		t.Fatalf("gc --dry-run: %s", r.stdout)
	}
	if r = w.mustRun("gc", "--dry-run"); !strings.Contains(r.stdout, "tenant/"+old+" deleted (dry run)") {
		t.Errorf("gc --dry-run table: %s", r.stdout)
	}
	after := w.list()
	if _, ok := after[old]; !ok || !after[old].Connected {
		t.Fatalf("gc --dry-run changed %s: %+v", old, after[old])
	}

	// extend moves the expiry forward from now.
	ext := runJSON[tenant.Tenant](w, "extend", live, "--ttl", "5h", "-o", "json")
	if ext.ExpiresAt == nil || !ext.ExpiresAt.After(*l.ExpiresAt) {
		t.Fatalf("extend --ttl 5h: expires %v (was %v)", ext.ExpiresAt, l.ExpiresAt)
	}
	if got := w.list()[live].ExpiresAt; got == nil || !got.Equal(*ext.ExpiresAt) {
		t.Errorf("list shows expiry %v after extend, want %v", got, ext.ExpiresAt)
	}
	if r := w.run(context.Background(), "extend", "e2e-ttl-ghost", "--ttl", "1h"); r.code != 1 || !strings.Contains(oneLineError(t, r), "not found") {
		t.Errorf("extend of a missing tenant: exit %d, %s", r.code, r.stderr)
	}

	// Two gc runs at once: both succeed, the expired tenant is deleted
	// completely, the other one is untouched.
	sess := w.session(old)
	var runs [2]result
	for i := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
			defer cancel()
			runs[i] = w.run(ctx, "gc")
		}()
	}
	wg.Wait()
	for i, r := range runs {
		t.Logf("gc %d: exit %d\nstdout:\n%s\nstderr:\n%s", i, r.code, r.stdout, r.stderr)
		if r.code != 0 {
			t.Errorf("concurrent gc %d: exit %d", i, r.code)
		}
		if strings.Contains(r.stdout, live) {
			t.Errorf("gc %d acted on %s", i, live)
		}
	}
	if !strings.Contains(runs[0].stdout+runs[1].stdout, "tenant/"+old+" deleted") {
		t.Errorf("neither gc reported deleting %s", old)
	}
	w.assertGone(old, sess)
	if _, ok := w.list()[live]; !ok {
		t.Fatalf("gc deleted %s, which has not expired", live)
	}
	// Nothing left to collect.
	if r := w.mustRun("gc"); !strings.Contains(r.stdout, "nothing to delete") {
		t.Errorf("gc after gc: %s", r.stdout)
	}
}

// TestGCResumesAcrossAPIServerRestart restarts the host apiserver while gc
// is deleting an expired tenant: gc rides through the outage and the tenant
// is gone completely.
func TestGCResumesAcrossAPIServerRestart(t *testing.T) {
	w := newWorld(t)
	const name = "e2e-gc-restart"
	w.deleteAtEnd(name)
	w.mustRun("create", name, "--pool", "project-x", "--ttl", "1s", "--wait", "10m", "--connect=false")
	cs, err := w.env.Clientset()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	done := make(chan result, 1)
	go func() { done <- w.run(ctx, "gc") }()

	// Restart once gc has started deleting: the namespace is terminating
	// (or, on a fast machine, already gone: then the restart hits the end).
	ns := tenant.NamespaceFor(name)
	for {
		n, err := cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		if err != nil || n.DeletionTimestamp != nil {
			t.Logf("namespace before the restart: deleting=%v (err %v)", err == nil, err)
			break
		}
		select {
		case r := <-done:
			t.Fatalf("gc ended before deleting the namespace: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
		case <-time.After(50 * time.Millisecond):
		}
	}
	start := time.Now()
	if err := w.env.RestartAPIServer(ctx, 2*time.Second); err != nil {
		t.Fatalf("restart apiserver: %v", err)
	}
	t.Logf("apiserver restarted in %s", time.Since(start).Round(100*time.Millisecond))
	var r result
	select {
	case r = <-done:
	case <-ctx.Done():
		t.Fatal("gc did not end")
	}
	t.Logf("gc: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	if r.code != 0 || !strings.Contains(r.stdout, "tenant/"+name+" deleted") {
		t.Fatalf("gc across the restart: exit %d", r.code)
	}
	w.assertGone(name, nil)
}

// TestGCAsRenderedServiceAccount runs the rendered CronJob's command (its
// arguments as rendered) with nothing but the rights of the rendered
// ServiceAccount (its ClusterRole and its Role in Argo CD's namespace
// applied for real, a token of its own): an expired Helm tenant and an
// expired GitOps tenant (an Argo CD Application, which gc deletes so Argo CD
// prunes the vCluster) are deleted completely, and an idle tenant is put to
// sleep (issue #27's in-cluster sleep), so the rendered RBAC is enough.
func TestGCAsRenderedServiceAccount(t *testing.T) {
	w := newWorld(t)
	const name, gitName, idleName = "e2e-gc-sa", "e2e-gc-sa-git", "e2e-gc-sa-idle"
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	w.deleteAtEnd(name)
	w.deleteAtEnd(gitName)
	w.deleteAtEnd(idleName)
	dir := t.TempDir()
	cfgPath, repo := filepath.Join(dir, "config.yaml"), filepath.Join(dir, "repo")
	cfg := "repoURL: https://git.example.com/platform.git\nargocdNamespace: " + w.env.ArgoCDNamespace + "\nclusters: []\n"
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	w.mustRun("render", "-f", cfgPath, "--out", repo, "--only", "system")

	cs, dyn, mapper := w.clients()
	var sa, ns string
	var gcArgs []string
	for _, m := range renderedManifests(t, repo) {
		if !strings.HasPrefix(filepath.ToSlash(m.path), "system/tenant-gc/") {
			// Only gc's own objects: system/host-defaults would replace the
			// playground's host defaults (its chart repository) for every
			// later test.
			continue
		}
		if m.obj.GetKind() == "CronJob" {
			// kwok nodes run no Jobs: its command runs as the binary below.
			cs, _, _ := unstructured.NestedSlice(m.obj.Object, "spec", "jobTemplate", "spec", "template", "spec", "containers")
			if len(cs) == 1 {
				cmd, _, _ := unstructured.NestedStringSlice(cs[0].(map[string]any), "command")
				if len(cmd) > 1 && cmd[0] == "kubectl-tenant" {
					gcArgs = cmd[1:]
				}
			}
			continue
		}
		switch m.obj.GetKind() {
		case "ServiceAccount":
			sa, ns = m.obj.GetName(), m.obj.GetNamespace()
		case "Namespace":
			t.Cleanup(func() { deleteNamespace(t, cs.CoreV1().Namespaces(), m.obj.GetName()) })
		default: // RBAC and the admission policy: removed at the end
			t.Cleanup(func() { deleteManifest(dyn, mapper, m.obj) })
		}
		if err := apply(ctx, dyn, mapper, m.obj, false); err != nil {
			t.Fatalf("apply %s %s: %v", m.obj.GetKind(), m.obj.GetName(), err)
		}
	}
	if sa == "" {
		t.Fatal("no ServiceAccount rendered under system/")
	}
	if len(gcArgs) == 0 || gcArgs[0] != "gc" {
		t.Fatalf("rendered CronJob's command: kubectl-tenant %v, want kubectl-tenant gc ...", gcArgs)
	}
	tok, err := cs.CoreV1().ServiceAccounts(ns).CreateToken(ctx, sa, &authnv1.TokenRequest{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ca, err := os.ReadFile(w.env.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	saKubeconfig := filepath.Join(dir, "gc-kubeconfig")
	kc := clientcmdapi.NewConfig()
	kc.Clusters["host"] = &clientcmdapi.Cluster{Server: w.env.APIServerURL, CertificateAuthorityData: ca}
	kc.AuthInfos["gc"] = &clientcmdapi.AuthInfo{Token: tok.Status.Token}
	kc.Contexts["gc"] = &clientcmdapi.Context{Cluster: "host", AuthInfo: "gc"}
	kc.CurrentContext = "gc"
	if err := clientcmd.WriteToFile(*kc, saKubeconfig); err != nil {
		t.Fatal(err)
	}

	// RBAC lets the ServiceAccount delete any namespace; the rendered
	// admission policy lets it delete only tenant namespaces. Checked with
	// dry-run deletes (admission runs, nothing is deleted) until the policy
	// is in force.
	const fence = "e2e-gc-fence"
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: fence}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	t.Cleanup(func() { deleteNamespace(t, cs.CoreV1().Namespaces(), fence) })
	saCfg, err := clientcmd.BuildConfigFromFlags("", saKubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	saCS, err := kubernetes.NewForConfig(saCfg)
	if err != nil {
		t.Fatal(err)
	}
	var fenceErr error
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(time.Second) {
		fenceErr = saCS.CoreV1().Namespaces().Delete(ctx, fence, metav1.DeleteOptions{DryRun: []string{metav1.DryRunAll}})
		if apierrors.IsForbidden(fenceErr) || apierrors.IsInvalid(fenceErr) {
			break
		}
	}
	if fenceErr == nil || !strings.Contains(fenceErr.Error(), "only tenant objects") {
		t.Fatalf("the gc ServiceAccount may delete namespace %s, which is no tenant's: %v", fence, fenceErr)
	}

	// The ServiceAccount may not create tenants: the admin does.
	w.mustRun("create", name, "--pool", "project-x", "--ttl", "1s", "--wait", "10m", "--connect=false")
	if r := w.run(ctx, "create", gitName, "--gitops", "--pool", "project-x", "--chart-repo", w.env.ChartRepoURL,
		"--ttl", "1s", "--wait", "10m", "--connect=false"); r.code != 0 {
		t.Fatalf("create --gitops: exit %d\nstderr: %s", r.code, r.stderr)
	}
	w.waitApplication(gitName)
	w.mustRun("create", idleName, "--pool", "project-x", "--sleep-after", "1s", "--connect=false")
	time.Sleep(1100 * time.Millisecond) // idle for longer than its limit
	r := w.run(ctx, append(slices.Clone(gcArgs), "--kubeconfig", saKubeconfig, "--wait", "5m")...)
	t.Logf("kubectl-tenant %s as %s/%s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(gcArgs, " "), ns, sa, r.code, r.stdout, r.stderr)
	if r.code != 0 || !strings.Contains(r.stdout, "tenant/"+name+" deleted") || !strings.Contains(r.stdout, "tenant/"+gitName+" deleted") ||
		!strings.Contains(r.stdout, "tenant/"+idleName+" slept") {
		t.Fatalf("gc with the rendered RBAC: exit %d", r.code)
	}
	w.assertGone(name, nil)
	w.assertNoApplication(gitName)
	w.assertGone(gitName, nil)
	if got := w.list()[idleName]; got.Status != tenant.StatusSleeping {
		t.Fatalf("%s after the in-cluster gc: %s, want %s", idleName, got.Status, tenant.StatusSleeping)
	}
}

// TestGCInterruptedThenRerun kills gc while it waits for the expired
// tenant's namespace to go; the namespace goes anyway, and the next gc
// finishes the job: it stops the forwarder and removes the kubeconfig
// entries the killed run did not get to.
func TestGCInterruptedThenRerun(t *testing.T) {
	w := newWorld(t)
	const name = "e2e-gc-int"
	w.deleteAtEnd(name)
	w.mustRun("create", name, "--pool", "project-x", "--ttl", "1s", "--wait", "10m")
	sess := w.session(name)
	cs, err := w.env.Clientset()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	gcCtx, kill := context.WithCancel(ctx)
	done := make(chan result, 1)
	go func() { done <- w.run(gcCtx, "gc") }()
	ns := tenant.NamespaceFor(name)
	for {
		n, err := cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		if err == nil && n.DeletionTimestamp != nil {
			break
		}
		select {
		case r := <-done:
			t.Fatalf("gc ended before deleting the namespace (namespace err %v): exit %d\n%s\n%s", err, r.code, r.stdout, r.stderr)
		case <-time.After(50 * time.Millisecond):
		}
	}
	kill()
	r := <-done
	t.Logf("killed gc: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	deleteNamespace(t, cs.CoreV1().Namespaces(), ns) // waits until it is gone
	if _, ok := w.list()[name]; ok {
		t.Fatalf("%s still listed", name)
	}

	r = w.mustRun("gc")
	t.Logf("gc again:\n%s%s", r.stdout, r.stderr)
	if !strings.Contains(r.stdout, "tenant/"+name+" deleted, gone from the cluster") {
		t.Errorf("second gc did not clean up after the first: %s", r.stdout)
	}
	w.assertGone(name, sess)
}
