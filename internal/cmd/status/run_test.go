package status

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-tenant/kubectl-tenant/internal/cmdutil"
	"github.com/kubectl-tenant/kubectl-tenant/internal/cmdutil/cmdutiltest"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant/tenanttest"
)

// run runs `status ARGS...` through its flags and the real Run on e.
func run(t *testing.T, e *tenant.Engine, args ...string) (string, error) {
	t.Helper()
	out, _, err := cmdutiltest.Run(NewCmdStatus, func(o *Options) {
		o.Engine = tenanttest.EngineFunc(e)
	}, args...)
	return out, err
}

func TestStatus(t *testing.T) {
	e, cs, _ := tenanttest.NewEngine(t)
	tenanttest.Create(t, e, tenant.CreateOptions{Name: "demo", Spec: tenant.Spec{Pool: "p1", Isolation: true}})
	now := time.Now()
	for i, reason := range []string{"Scheduled", "Pulled", "Started"} {
		_, err := cs.CoreV1().Events("vcluster-demo").Create(context.Background(), &corev1.Event{
			ObjectMeta: metav1.ObjectMeta{Name: reason, Namespace: "vcluster-demo"},
			Type:       "Normal", Reason: reason, Message: "m-" + reason,
			InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: "vcluster-0"},
			LastTimestamp:  metav1.NewTime(now.Add(time.Duration(i-3) * time.Minute)), // 3m, 2m, 1m ago
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
	}
	out, err := run(t, e, "demo", "--events", "2")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Name:", "demo", "Status:", "Ready", "Pool:", "p1", "Kubernetes:", tenanttest.ServerVersion, "Isolation:", "true", "Events:", "Pulled", "Started"} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "Scheduled") {
		t.Errorf("--events 2 shows the oldest event:\n%s", out)
	}
	// Oldest first, each with its age, as `kubectl get events` shows them.
	pulled := regexp.MustCompile(`\s2m\s+Normal\s+Pulled\s`).FindStringIndex(out)
	started := regexp.MustCompile(`\s60s\s+Normal\s+Started\s`).FindStringIndex(out)
	if !strings.Contains(out, "LAST SEEN") || pulled == nil || started == nil || started[0] < pulled[0] {
		t.Errorf("events are not listed oldest first with their age:\n%s", out)
	}
	out, err = run(t, e, "demo", "-o", "json")
	var got tenant.Tenant
	if err != nil || json.Unmarshal([]byte(out), &got) != nil || got.Name != "demo" || got.Status != tenant.StatusReady {
		t.Errorf("-o json: %q, %v", out, err)
	}
}

func TestStatusErrors(t *testing.T) {
	e, _, _ := tenanttest.NewEngine(t)
	for _, args := range [][]string{{"Demo"}, {"demo", "-o", "name"}} {
		if _, err := run(t, e, args...); cmdutil.ExitCode(err) != cmdutil.ExitUsage {
			t.Errorf("%v: %v, want a usage error", args, err)
		}
	}
	if _, err := run(t, e, "ghost"); err == nil || !strings.Contains(err.Error(), `tenant "ghost"`) {
		t.Errorf("a missing tenant: %v", err)
	}
}
