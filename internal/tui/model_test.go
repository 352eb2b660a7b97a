package tui

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
)

func TestMain(m *testing.M) {
	// Goldens and string checks are plain text, whatever the terminal.
	lipgloss.SetColorProfile(termenv.Ascii)
	os.Exit(m.Run())
}

func key(s string) tea.KeyMsg {
	types := map[string]tea.KeyType{"enter": tea.KeyEnter, "esc": tea.KeyEsc, "tab": tea.KeyTab, "shift+tab": tea.KeyShiftTab,
		"up": tea.KeyUp, "down": tea.KeyDown, "left": tea.KeyLeft, "right": tea.KeyRight, "ctrl+c": tea.KeyCtrlC,
		"backspace": tea.KeyBackspace, "space": tea.KeySpace}
	if t, ok := types[s]; ok {
		return tea.KeyMsg{Type: t}
	}
	return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(s)}
}

// update feeds msgs in order and returns the model and the last command.
func update(m tea.Model, msgs ...tea.Msg) (tea.Model, tea.Cmd) {
	var cmd tea.Cmd
	for _, msg := range msgs {
		m, cmd = m.Update(msg)
	}
	return m, cmd
}

func typeText(m tea.Model, s string) tea.Model {
	for _, r := range s {
		m, _ = m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}})
	}
	return m
}

// drain delivers what is on the bus now.
func drain(m tea.Model, b *Bus) tea.Model {
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		msg := b.next(ctx)
		cancel()
		if msg == nil {
			return m
		}
		m, _ = m.Update(busMsg{msg})
	}
}

func home(t *testing.T) (tea.Model, *fakeEngine, Config) {
	t.Helper()
	f, cfg := newFake()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	m, _ := update(New(ctx, cfg), tea.WindowSizeMsg{Width: 100, Height: 30}, listMsg{tenants: f.tenants, at: t0})
	return m, f, cfg
}

func wantIn(t *testing.T, view string, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if !strings.Contains(view, s) {
			t.Errorf("view lacks %q:\n%s", s, view)
		}
	}
}

func wantNotIn(t *testing.T, view string, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if strings.Contains(view, s) {
			t.Errorf("view has %q:\n%s", s, view)
		}
	}
}

func TestHomeListsAndNavigates(t *testing.T) {
	m, _, _ := home(t)
	v := m.View()
	wantIn(t, v, "3 tenants", "› demo", "Ready", "project-x", "in 6h", "never", "yes", "refreshed 12:00:00", "26h")
	m, _ = update(m, key("down"))
	wantIn(t, m.View(), "› dev-2")
	// The cursor stays on its tenant when a refresh reorders the list.
	ts := sampleTenants()
	ts[0], ts[1] = ts[1], ts[0]
	m, _ = update(m, listMsg{tenants: append([]tenant.Tenant{{Name: "aaa", Status: tenant.StatusInstalling}}, ts...), at: t0})
	wantIn(t, m.View(), "› dev-2", "4 tenants", "Installing")
	m, _ = update(m, listMsg{tenants: ts[:1], at: t0})
	wantIn(t, m.View(), "1 tenant ")
}

func TestHomeFilter(t *testing.T) {
	m, _, _ := home(t)
	m, _ = update(m, key("/"))
	m = typeText(m, "pend")
	v := m.View()
	wantIn(t, v, "1 of 3 tenants", "› dev-2")
	wantNotIn(t, v, "demo ")
	m, _ = update(m, key("enter"))
	wantIn(t, m.View(), "filter: pend")
	m, _ = update(m, key("esc"))
	wantIn(t, m.View(), "3 tenants")
}

func TestHomeEmptyAndListError(t *testing.T) {
	_, cfg := newFake()
	m, _ := update(New(context.Background(), cfg), tea.WindowSizeMsg{Width: 100, Height: 30})
	wantIn(t, m.View(), "loading tenants")
	m, _ = update(m, listMsg{at: t0})
	wantIn(t, m.View(), "no tenants yet: press n")
	m, _ = update(m, listMsg{err: errors.New("cannot reach the Kubernetes API at https://x: refused"), at: t0})
	wantIn(t, m.View(), "cannot list tenants: cannot reach the Kubernetes API")
}

func TestConnectAndDisconnect(t *testing.T) {
	m, _, cfg := home(t)
	var got string
	cfg.Connect = func(_ context.Context, name string) error { got = name; return nil }
	mm := m.(Model)
	mm.cfg.Connect = cfg.Connect
	m, cmd := update(mm, key("down"), key("c"))
	wantIn(t, m.View(), "connecting dev-2")
	m, _ = update(m, cmd())
	if got != "dev-2" {
		t.Fatalf("connected %q, want dev-2", got)
	}
	wantIn(t, m.View(), `connected: context "dev-2" is current`)
	m, _ = update(m, key("x"))
	wantIn(t, m.View(), "dev-2 is not connected")
	m, cmd = update(m, key("up"), key("x"))
	m, _ = update(m, cmd())
	wantIn(t, m.View(), "disconnected from demo")
}

func TestRegisterNotAvailable(t *testing.T) {
	m, _, _ := home(t)
	m, _ = update(m, key("r"))
	wantIn(t, m.View(), "registration with Argo CD is not available")
	m, _ = update(m, key("n"))
	wantIn(t, m.View(), "Register with Argo CD", "not available")
}

// TestDeleteClaimedSpare: a tenant that claimed a warm spare lives in the
// spare's namespace; d asks about the namespace the engine listed for it,
// and keeps naming it when a refresh no longer lists the tenant while the
// question is open; y deletes it by name (the engine resolves it).
func TestDeleteClaimedSpare(t *testing.T) {
	m, f, cfg := home(t)
	claimed := tenant.Tenant{Name: "dev", Namespace: "vcluster-spare-1a2b3c4d", Status: tenant.StatusReady, Pool: "project-x", CreatedAt: t0}
	m, _ = update(m, listMsg{tenants: []tenant.Tenant{claimed}, at: t0})
	m, _ = update(m, key("d"))
	want := "Delete tenant dev and everything in namespace vcluster-spare-1a2b3c4d? [y/N]"
	wantIn(t, m.View(), want)
	m, _ = update(m, listMsg{at: t0.Add(3 * time.Second)}) // a refresh without it
	wantIn(t, m.View(), want)
	m, cmd := update(m, key("y"))
	if cmd() != nil {
		t.Fatal("the operation's result goes through the bus")
	}
	wantIn(t, drain(m, cfg.Bus).View(), "✓ tenant dev deleted")
	if len(f.deleted) != 1 || f.deleted[0] != "dev" {
		t.Errorf("deleted %v", f.deleted)
	}
}

func TestDeleteAsksFirst(t *testing.T) {
	m, f, cfg := home(t)
	m, _ = update(m, key("d"))
	wantIn(t, m.View(), "Delete tenant demo and everything in namespace vcluster-demo? [y/N]")
	m, _ = update(m, key("n"))
	wantIn(t, m.View(), "not deleted")
	m, cmd := update(m, key("d"), key("y"))
	wantIn(t, m.View(), "Deleting tenant demo", "uninstall", "delete namespace", "local cleanup")
	if cmd() != nil {
		t.Fatal("the operation's result goes through the bus")
	}
	m = drain(m, cfg.Bus)
	v := m.View()
	wantIn(t, v, "✓ uninstall", "1.0s", "skipped", "✓ tenant demo deleted", "enter back to the list")
	if len(f.deleted) != 1 || f.deleted[0] != "demo" {
		t.Errorf("deleted %v", f.deleted)
	}
	m, cmd = update(m, key("enter"))
	m, _ = update(m, cmd())
	wantIn(t, m.View(), "2 tenants")
}

func TestSleepThenConnectAsksToWake(t *testing.T) {
	m, _, cfg := home(t)
	m, cmd := update(m, key("s"))
	wantIn(t, m.View(), "Putting tenant demo to sleep", "disconnect", "scale down")
	cmd()
	m = drain(m, cfg.Bus)
	wantIn(t, m.View(), "✓ scale down", "tenant demo is sleeping (w wakes it)")
	m, cmd = update(m, key("enter"))
	m, _ = update(m, cmd())
	wantIn(t, m.View(), "Sleeping")
	m, _ = update(m, key("c"))
	wantIn(t, m.View(), "demo is sleeping: press w to wake it")
	m, cmd = update(m, key("w"))
	wantIn(t, m.View(), "Waking tenant demo", "scale up", "api ready")
	cmd()
	m = drain(m, cfg.Bus)
	wantIn(t, m.View(), "✓ scale up", "tenant demo is awake (Ready)")
}

func TestWizardValidatesAsYouTypeAndCreates(t *testing.T) {
	m, f, cfg := home(t)
	mm := m.(Model)
	mm.cfg.Defaults = func(o *tenant.CreateOptions) error {
		o.ValuesFiles = append([]string{"/v.yaml"}, o.ValuesFiles...)
		return nil
	}
	m, _ = update(mm, key("n"))
	wantIn(t, m.View(), "New tenant", "looking for node pools")
	m, _ = update(m, poolsMsg{pools: f.pools})
	m = typeText(m, "New")
	wantIn(t, m.View(), `✗ invalid tenant name "New"`)
	m, _ = update(m, key("backspace"), key("backspace"), key("backspace"))
	m = typeText(m, "project-y")
	v := m.View()
	wantIn(t, v, "✓ namespace vcluster-project-y", "‹ project-y ›") // the pool follows the name
	m, _ = update(m, key("backspace"), key("backspace"))
	m = typeText(m, "-1")
	wantIn(t, m.View(), "‹ project-x ›")
	// An existing name converges.
	m, _ = update(m, key("tab"), key("right"), key("tab"), key("tab"))
	wantIn(t, m.View(), "‹ project-y ›")
	m = typeText(m, "8x")
	wantIn(t, m.View(), `"8x" is not a duration`)
	m, _ = update(m, key("backspace"))
	m = typeText(m, "h")
	m, _ = update(m, key("enter"), key("enter"))
	m, cmd := update(m, key("enter"))
	if cmd == nil {
		t.Fatalf("enter on Create starts nothing:\n%s", m.View())
	}
	wantIn(t, m.View(), "Creating tenant project-1 on pool project-y", "· api ready")
	cmd()
	m = drain(m, cfg.Bus)
	wantIn(t, m.View(), "✓ api ready", "✓ tenant project-1 is Ready (ready in 41.8s)", "c connect")
	o := f.created[0]
	if o.Name != "project-1" || o.Pool != "project-y" || o.TTL != 8*time.Hour || o.Wait != 5*time.Minute ||
		len(o.ValuesFiles) != 1 || o.ValuesFiles[0] != "/v.yaml" {
		t.Errorf("create options %+v", o)
	}
	m, cmd = update(m, key("c"))
	wantIn(t, m.View(), "connecting project-1")
	_ = cmd
}

func TestWizardRefusesInvalidSubmit(t *testing.T) {
	m, f, _ := home(t)
	m, _ = update(m, key("n"), poolsMsg{})
	wantIn(t, m.View(), "no nodes labelled project=POOL")
	m, cmd := update(m, key("shift+tab"), key("enter"))
	if len(f.created) != 0 {
		t.Fatal("created with an empty name")
	}
	_ = cmd
	wantIn(t, m.View(), "✗ tenant name is required", "› Name")
	m, _ = update(m, key("esc"))
	wantIn(t, m.View(), "3 tenants")
}

func TestStepsFailureShowsErrorAndHint(t *testing.T) {
	m, f, cfg := home(t)
	f.createScript = failingCreate
	m, _ = update(m, key("n"), poolsMsg{pools: f.pools})
	m = typeText(m, "slow")
	m, cmd := update(m, key("ctrl+s"))
	cmd()
	m = drain(m, cfg.Bus)
	v := m.View()
	wantIn(t, v, "✗ schedule", "5m00s", "Error: timed out: pod vcluster-0 Pending", "Hint: the control-plane pod cannot run", "· kubeconfig secret")
	wantNotIn(t, v, "skipped", "c connect")
	m, _ = update(m, key("c"))
	wantIn(t, m.View(), "Creating tenant slow") // no connect after a failure
}

func TestCtrlCCancelsRunningStepThenQuits(t *testing.T) {
	m, f, cfg := home(t)
	f.createScript = stuckCreate
	m, _ = update(m, key("n"), poolsMsg{pools: f.pools})
	m = typeText(m, "stuck")
	m, cmd := update(m, key("ctrl+s"))
	done := make(chan struct{})
	go func() { cmd(); close(done) }()
	time.Sleep(50 * time.Millisecond)
	m = drain(m, cfg.Bus)
	wantIn(t, m.View(), "schedule", "pod vcluster-0 Pending: 0/3 nodes", "! no nodes labelled project=empty")
	m, cmd = update(m, key("ctrl+c"))
	if cmd != nil {
		t.Fatal("the first ctrl+c quits instead of cancelling")
	}
	wantIn(t, m.View(), "cancelling create stuck")
	<-done
	m = drain(m, cfg.Bus)
	wantIn(t, m.View(), "Hint: interrupted: run `kubectl tenant create stuck` again to finish")
	_, cmd = update(m, key("ctrl+c"))
	if _, ok := cmd().(tea.QuitMsg); !ok {
		t.Fatal("ctrl+c after the operation does not quit")
	}
}

func TestHelpAndQuit(t *testing.T) {
	m, _, _ := home(t)
	m, _ = update(m, key("?"))
	wantIn(t, m.View(), "keys", "background forwarder")
	m, _ = update(m, key("j"))
	wantIn(t, m.View(), "3 tenants")
	_, cmd := update(m, key("q"))
	if _, ok := cmd().(tea.QuitMsg); !ok {
		t.Fatal("q does not quit")
	}
}

func TestStepsInsertUnplannedStep(t *testing.T) {
	s := newSteps("Deleting tenant a", "delete", "a", tenant.DeletePlan(), newStyles(nil), now)
	s.apply(tenant.Event{Time: t0, Step: tenant.StepDeregister, Phase: tenant.PhaseStarted})
	s.apply(tenant.Event{Time: t0, Step: tenant.StepDeregister, Phase: tenant.PhaseDone})
	s.apply(tenant.Event{Time: t0, Step: tenant.StepUninstall, Phase: tenant.PhaseStarted})
	s.apply(tenant.Event{Time: t0, Step: "extra", Phase: tenant.PhaseStarted})
	var names []string
	for _, st := range s.steps {
		names = append(names, st.name)
	}
	if got := strings.Join(names, ","); got != "deregister,uninstall,extra,delete namespace,local cleanup" {
		t.Errorf("order %s", got)
	}
}

func TestNoColorMeansNoANSI(t *testing.T) {
	var b strings.Builder
	r := lipgloss.NewRenderer(&b)
	r.SetColorProfile(termenv.TrueColor)
	if s := newStyles(r).bad.Render("x"); s == "x" {
		t.Fatal("TrueColor renderer renders no colour: the check below proves nothing")
	}
	t.Setenv("NO_COLOR", "1")
	st := newStyles(r)
	for _, s := range []string{st.bad.Render("x"), st.sel.Render("x"), st.title.Render("x")} {
		if s != "x" {
			t.Errorf("NO_COLOR: %q", s)
		}
	}
}

func TestRegisterAsksFirstThenRuns(t *testing.T) {
	m, f, cfg := home(t)
	reg := &fakeRegistration{f: f}
	mm := m.(Model)
	mm.cfg.Registration = reg
	m, _ = update(mm, key("down"), key("r"))
	wantIn(t, m.View(), "Register dev-2 with Argo CD (argocd-manager gets cluster-admin in the tenant)? [y/N]")
	m, _ = update(m, key("n"))
	wantIn(t, m.View(), "not registered")
	m, cmd := update(m, key("r"), key("y"))
	wantIn(t, m.View(), "Registering tenant dev-2 with Argo CD", "· argocd login")
	cmd()
	m = drain(m, cfg.Bus)
	wantIn(t, m.View(), "✓ argocd login", "✓ register", "✓ tenant dev-2 registered with Argo CD")
	// The wizard offers registration now, and create runs it after the engine.
	m, _ = update(m, key("enter"), key("n"), poolsMsg{pools: f.pools})
	m = typeText(m, "reg")
	m, _ = update(m, key("tab"), key("tab"), key("tab"), key("tab"), key("right"))
	wantIn(t, m.View(), "Register with Argo CD   ‹ yes ›")
	m, cmd = update(m, key("ctrl+s"))
	wantIn(t, m.View(), "· api ready", "· argocd login", "· register")
	cmd()
	m = drain(m, cfg.Bus)
	wantIn(t, m.View(), "tenant reg is Ready (ready in 41.8s); registered with Argo CD")
	if strings.Join(reg.got, ",") != "dev-2,reg" {
		t.Errorf("registered %v", reg.got)
	}
}
