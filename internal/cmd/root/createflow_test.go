package root

import (
	"bytes"
	"context"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/exp/teatest"
	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-tenant/kubectl-tenant/internal/cmd/create"
	"github.com/kubectl-tenant/kubectl-tenant/internal/cmdutil/cmdutiltest"
	"github.com/kubectl-tenant/kubectl-tenant/internal/tui"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/hostconfig"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant/tenanttest"
	"github.com/kubectl-tenant/kubectl-tenant/plugins/argocd"
)

// registration stands in for Argo CD: it reports a registration's steps.
type registration struct{ names []string }

func (r *registration) Plan() []string { return argocd.RegisterPlan(false) }

func (r *registration) Register(_ context.Context, name string, report tenant.Reporter) error {
	r.names = append(r.names, name)
	for _, s := range r.Plan() {
		_ = report.Step(s, func() error { return nil })
	}
	return nil
}

func pool(name string) *corev1.Node {
	return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n-" + name, Labels: map[string]string{tenant.PoolLabel: name}}}
}

// lineStep is one of progress.Lines' outcome lines: "15:04:05 STEP(padded) done".
var lineStep = regexp.MustCompile(`^\d\d:\d\d:\d\d (.{18}) (done|failed)`)

// cliSteps runs `create NAME ARGS...` on a fake host and returns the steps
// its plain progress lines finish, in order.
func cliSteps(t *testing.T, reg *registration, args ...string) []string {
	t.Helper()
	e, _, _ := tenanttest.NewEngine(t, pool("demo"))
	out, errOut, err := cmdutiltest.Run(create.NewCmdCreate, func(o *create.Options) {
		o.Engine = tenanttest.EngineFunc(e)
		o.Defaults = func(context.Context, *pflag.FlagSet) (hostconfig.Resolver, error) { return hostconfig.Resolver{}, nil }
		o.Registration = func(context.Context, argocd.Options, argocd.RegisterOptions) (tenant.Registration, error) {
			return reg, nil
		}
	}, args...)
	if err != nil {
		t.Fatalf("create %v: %v\n%s", args, err, errOut)
	}
	var steps []string
	for _, l := range strings.Split(errOut, "\n") {
		if m := lineStep.FindStringSubmatch(l); m != nil {
			steps = append(steps, strings.TrimSpace(m[1]))
		}
	}
	if !strings.Contains(out, "tenant demo created") {
		t.Errorf("stdout %q", out)
	}
	return steps
}

// tuiSteps creates tenant demo with registration in the interactive app
// (the real bubbletea loop) on a fake host and returns the steps its step
// view shows done, in order.
func tuiSteps(t *testing.T, reg *registration) []string {
	t.Helper()
	e, _, _ := tenanttest.NewEngine(t, pool("demo"))
	bus := tui.NewBus()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	tm := teatest.NewTestModel(t, tui.New(ctx, tui.Config{Engine: e.With(bus.Reporter()), Bus: bus, Registration: reg}),
		teatest.WithInitialTermSize(100, 40))
	wait := func(s string) {
		t.Helper()
		teatest.WaitFor(t, tm.Output(), func(b []byte) bool { return bytes.Contains(b, []byte(s)) },
			teatest.WithDuration(20*time.Second), teatest.WithCheckInterval(20*time.Millisecond))
	}
	wait("no tenants")
	tm.Send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("n")})
	wait("Register with Argo CD")
	tm.Type("demo")
	for range 4 {
		tm.Send(tea.KeyMsg{Type: tea.KeyTab})
	}
	tm.Send(tea.KeyMsg{Type: tea.KeyRight})
	wait("‹ yes ›")
	tm.Send(tea.KeyMsg{Type: tea.KeyCtrlS})
	wait("registered with Argo CD")
	if err := tm.Quit(); err != nil {
		t.Fatal(err)
	}
	view := tm.FinalModel(t, teatest.WithFinalTimeout(10*time.Second)).View()
	var steps []string
	for _, l := range strings.Split(view, "\n") {
		l = strings.TrimSpace(l)
		if name, ok := strings.CutPrefix(l, "✓ "); ok && !strings.HasPrefix(name, "tenant ") {
			// "✓ api ready   0.0s": the name, then its elapsed time.
			name = strings.TrimSpace(regexp.MustCompile(`\s+\d+(\.\d+)?(ms|s|m)\S*$`).ReplaceAllString(name, ""))
			steps = append(steps, name)
		}
	}
	if len(steps) == 0 {
		t.Fatalf("no steps in the final view:\n%s", view)
	}
	return steps
}

// TestCLIAndTUIRunTheSameCreate: `create --register` and the app's wizard
// with registration make the same engine call, so they show the same steps
// in the same order: the engine's plan.
func TestCLIAndTUIRunTheSameCreate(t *testing.T) {
	cliReg, tuiReg := &registration{}, &registration{}
	cli := cliSteps(t, cliReg, "demo", "--connect=false", "--register")
	app := tuiSteps(t, tuiReg)
	want := tenant.CreatePlan(tenant.CreateOptions{Wait: time.Minute, Register: cliReg})
	t.Logf("CLI %v\nTUI %v", cli, app)
	if !slices.Equal(cli, want) {
		t.Errorf("CLI steps %v, want %v", cli, want)
	}
	if !slices.Equal(app, cli) {
		t.Errorf("TUI steps %v, CLI steps %v", app, cli)
	}
	if !slices.Equal(cliReg.names, []string{"demo"}) || !slices.Equal(tuiReg.names, []string{"demo"}) {
		t.Errorf("registered: CLI %v, TUI %v", cliReg.names, tuiReg.names)
	}
}
