package tui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/charmbracelet/bubbles/cursor"
	"github.com/charmbracelet/bubbles/spinner"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/kubectl-tenant/kubectl-tenant/internal/columns"
	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
)

type screen int

const (
	screenHome screen = iota
	screenWizard
	screenSteps
)

// Model is the whole app: home (tenant list), wizard and step view.
type Model struct {
	cfg    Config
	ctx    context.Context
	ops    *sync.WaitGroup
	st     styles
	width  int
	height int
	screen screen
	help   bool

	tenants   []tenant.Tenant
	loaded    bool
	listErr   error
	refreshed time.Time
	listing   bool
	cursor    int
	selected  string
	filter    textinput.Model
	filtering bool
	confirm   string // tenant awaiting confirmation of confirmOp
	confirmOp string // "delete" or "register"
	// confirmNS is the namespace a confirmed delete removes, as the
	// engine's list gave it when d was pressed (a claimed warm spare
	// keeps its own namespace).
	confirmNS string
	status    string
	statusBad bool
	busy      string
	spinner   spinner.Model

	wizard wizard
	steps  Steps
	op     *operation
}

// operation is the engine call the step view shows.
type operation struct {
	verb, name string
	cancel     context.CancelFunc
	cancelled  bool
	ok         bool
}

type (
	listMsg struct {
		tenants []tenant.Tenant
		err     error
		at      time.Time
	}
	refreshMsg struct{}
	poolsMsg   struct {
		pools []string
		err   error
	}
	opDoneMsg struct {
		result string
		err    error
	}
	connectedMsg struct {
		name       string
		disconnect bool
		err        error
	}
)

// New returns the app's model; ctx bounds every engine call it makes.
func New(ctx context.Context, cfg Config) Model {
	if cfg.Bus == nil {
		cfg.Bus = NewBus()
	}
	if cfg.Wait == 0 {
		cfg.Wait = 5 * time.Minute
	}
	if cfg.Refresh == 0 {
		cfg.Refresh = 3 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	m := Model{cfg: cfg, ctx: ctx, ops: &sync.WaitGroup{}, st: newStyles(nil)}
	m.filter = newInput("/ ", "filter by name, pool or status")
	m.spinner = spinner.New(spinner.WithSpinner(spinner.MiniDot))
	return m
}

func newInput(prompt, placeholder string) textinput.Model {
	ti := textinput.New()
	ti.Prompt = prompt
	ti.Placeholder = placeholder
	ti.CharLimit = 80
	ti.Cursor.SetMode(cursor.CursorStatic)
	return ti
}

// Init loads the list, starts the refresh timer and listens to the bus.
func (m Model) Init() tea.Cmd {
	return tea.Batch(m.listCmd(), m.refreshTick(), m.cfg.Bus.listen(m.ctx), m.spinner.Tick)
}

func (m Model) listCmd() tea.Cmd {
	eng, ctx, now := m.cfg.Engine, m.ctx, m.cfg.Now
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		ts, err := eng.List(ctx)
		return listMsg{ts, err, now()}
	}
}

func (m Model) refreshTick() tea.Cmd {
	return tea.Tick(m.cfg.Refresh, func(time.Time) tea.Msg { return refreshMsg{} })
}

// Update routes messages: global ones here, keys to the current screen.
func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.steps.width = msg.Width
		return m, nil
	case spinner.TickMsg:
		var cmd tea.Cmd
		m.spinner, cmd = m.spinner.Update(msg)
		return m, cmd
	case listMsg:
		m.listing = false
		m.refreshed = msg.at
		m.listErr = msg.err
		if msg.err == nil {
			m.tenants, m.loaded = msg.tenants, true
			m.clampCursor()
			m.wizard.setExisting(m.tenants)
		}
		return m, nil
	case refreshMsg:
		cmds := []tea.Cmd{m.refreshTick()}
		if !m.listing && m.screen == screenHome {
			m.listing = true
			cmds = append(cmds, m.listCmd())
		}
		return m, tea.Batch(cmds...)
	case poolsMsg:
		m.wizard.setPools(msg.pools, msg.err)
		return m, nil
	case connectedMsg:
		m.busy = ""
		switch {
		case msg.err != nil:
			m.setStatus(true, "%s: %s", msg.name, tenant.FirstLine(msg.err.Error()))
		case msg.disconnect:
			m.setStatus(false, "disconnected from %s; the previous context is current again", msg.name)
		default:
			m.setStatus(false, "connected: context %q is current (kept after you quit; x disconnects)", tenant.ContextFor(msg.name))
		}
		m.listing = true
		return m, m.listCmd()
	case busMsg:
		if msg.msg == nil {
			return m, nil // the context ended
		}
		var cmd tea.Cmd
		m, cmd = m.onBus(msg.msg)
		return m, tea.Batch(cmd, m.cfg.Bus.listen(m.ctx))
	case tea.KeyMsg:
		return m.onKey(msg)
	}
	return m.forwardToInputs(msg)
}

func (m Model) onBus(msg tea.Msg) (Model, tea.Cmd) {
	switch msg := msg.(type) {
	case eventMsg:
		ev := tenant.Event(msg)
		if m.op != nil && m.steps.Running() && ev.Step != "list" {
			m.steps.apply(ev)
		} else if ev.Phase == tenant.PhaseWarning || ev.Phase == tenant.PhaseFailed {
			m.setStatus(ev.Phase == tenant.PhaseFailed, "%s: %s", ev.Step, ev.Message)
		}
	case opDoneMsg:
		if m.op != nil {
			m.op.ok = msg.err == nil
			m.steps.finish(msg.err, msg.result)
		}
	}
	return m, nil
}

func (m *Model) setStatus(bad bool, format string, a ...any) {
	m.status, m.statusBad = columns.Clean(fmt.Sprintf(format, a...)), bad
}

func (m Model) forwardToInputs(msg tea.Msg) (tea.Model, tea.Cmd) {
	var cmd tea.Cmd
	switch {
	case m.screen == screenHome && m.filtering:
		m.filter, cmd = m.filter.Update(msg)
	case m.screen == screenWizard:
		m.wizard, cmd = m.wizard.update(msg)
	}
	return m, cmd
}

func (m Model) onKey(k tea.KeyMsg) (tea.Model, tea.Cmd) {
	if k.String() == "ctrl+c" {
		if m.op != nil && m.steps.Running() && !m.op.cancelled {
			m.op.cancelled = true
			m.op.cancel()
			m.setStatus(true, "cancelling %s %s… (ctrl+c again quits at once)", m.op.verb, m.op.name)
			return m, nil
		}
		return m, tea.Quit
	}
	if m.help {
		m.help = false
		return m, nil
	}
	switch m.screen {
	case screenWizard:
		return m.wizardKey(k)
	case screenSteps:
		return m.stepsKey(k)
	}
	return m.homeKey(k)
}

func (m Model) homeKey(k tea.KeyMsg) (tea.Model, tea.Cmd) {
	if m.filtering {
		switch k.String() {
		case "enter":
			m.filtering = false
			m.filter.Blur()
		case "esc":
			m.filtering = false
			m.filter.Blur()
			m.filter.SetValue("")
		default:
			var cmd tea.Cmd
			m.filter, cmd = m.filter.Update(k)
			m.cursor = 0
			m.clampCursor()
			return m, cmd
		}
		m.clampCursor()
		return m, nil
	}
	if m.confirm != "" {
		name, op := m.confirm, m.confirmOp
		m.confirm, m.confirmNS = "", ""
		if s := k.String(); s == "y" || s == "Y" {
			if op == "register" {
				return m.startRegister(name)
			}
			return m.startDelete(name)
		}
		if op == "register" {
			m.setStatus(false, "not registered")
		} else {
			m.setStatus(false, "not deleted")
		}
		return m, nil
	}
	sel, hasSel := m.current()
	switch k.String() {
	case "q":
		return m, tea.Quit
	case "esc":
		m.filter.SetValue("")
		m.clampCursor()
	case "?":
		m.help = true
	case "up", "k":
		m.move(-1)
	case "down", "j":
		m.move(1)
	case "home", "g":
		m.move(-len(m.tenants))
	case "end", "G":
		m.move(len(m.tenants))
	case "/":
		m.filtering = true
		return m, m.filter.Focus()
	case "n":
		m.screen = screenWizard
		m.wizard = newWizard(m.st, m.cfg.Registration != nil, m.tenants)
		m.wizard.defaultPool = m.cfg.DefaultPool
		eng, ctx := m.cfg.Engine, m.ctx
		return m, tea.Batch(m.wizard.name.Focus(), func() tea.Msg {
			ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
			defer cancel()
			ps, err := eng.Pools(ctx)
			return poolsMsg{ps, err}
		})
	case "enter", "c":
		if !hasSel {
			return m, nil
		}
		if sel.Status == tenant.StatusSleeping {
			m.setStatus(false, "%s is sleeping: press w to wake it, then connect", sel.Name)
			return m, nil
		}
		return m.startConnect(sel.Name)
	case "s":
		if hasSel {
			return m.startSleep(sel.Name)
		}
	case "w":
		if hasSel {
			return m.startWake(sel.Name)
		}
	case "x":
		if !hasSel {
			return m, nil
		}
		if m.cfg.Disconnect == nil {
			m.setStatus(true, "disconnect is not available here")
			return m, nil
		}
		if !sel.Connected {
			m.setStatus(false, "%s is not connected", sel.Name)
			return m, nil
		}
		m.busy = "disconnecting " + sel.Name
		fn, ctx, name := m.cfg.Disconnect, m.ctx, sel.Name
		return m, func() tea.Msg { return connectedMsg{name, true, fn(ctx, name)} }
	case "r":
		if !hasSel {
			return m, nil
		}
		if m.cfg.Registration == nil {
			m.setStatus(true, "registration with Argo CD is not available in this version")
			return m, nil
		}
		m.confirm, m.confirmOp = sel.Name, "register"
	case "d", "delete":
		if hasSel {
			m.confirm, m.confirmOp, m.confirmNS = sel.Name, "delete", sel.Namespace
		}
	case "ctrl+r", "R":
		if !m.listing {
			m.listing = true
			return m, m.listCmd()
		}
	}
	return m, nil
}

func (m Model) startConnect(name string) (tea.Model, tea.Cmd) {
	if m.cfg.Connect == nil {
		m.setStatus(true, "connect is not available here")
		return m, nil
	}
	m.screen = screenHome
	m.busy = "connecting " + name
	m.status = ""
	fn, ctx := m.cfg.Connect, m.ctx
	return m, func() tea.Msg { return connectedMsg{name, false, fn(ctx, name)} }
}

// startOp shows the step view of run, which calls the engine.
func (m Model) startOp(verb, name, title string, plan []string, run func(context.Context) (string, error)) (tea.Model, tea.Cmd) {
	ctx, cancel := context.WithCancel(m.ctx)
	m.op = &operation{verb: verb, name: name, cancel: cancel}
	m.steps = newSteps(title, verb, name, plan, m.st, m.cfg.Now)
	m.steps.width = m.width
	m.screen = screenSteps
	m.status, m.busy = "", ""
	bus, ops := m.cfg.Bus, m.ops
	ops.Add(1)
	return m, func() tea.Msg {
		defer ops.Done()
		defer cancel()
		res, err := run(ctx)
		bus.Post(opDoneMsg{res, err}) // after the events the engine posted
		return nil
	}
}

func (m Model) startDelete(name string) (tea.Model, tea.Cmd) {
	eng, wait := m.cfg.Engine, m.cfg.Wait
	return m.startOp("delete", name, "Deleting tenant "+name, tenant.DeletePlan(), func(ctx context.Context) (string, error) {
		if err := eng.Delete(ctx, tenant.DeleteOptions{Name: name, Wait: wait}); err != nil {
			return "", err
		}
		return fmt.Sprintf("tenant %s deleted", name), nil
	})
}

func (m Model) startSleep(name string) (tea.Model, tea.Cmd) {
	eng, wait := m.cfg.Engine, m.cfg.Wait
	return m.startOp("sleep", name, "Putting tenant "+name+" to sleep", tenant.SleepPlan(true), func(ctx context.Context) (string, error) {
		if _, err := eng.Sleep(ctx, tenant.SleepOptions{Name: name, Wait: wait}); err != nil {
			return "", err
		}
		return fmt.Sprintf("tenant %s is sleeping (w wakes it)", name), nil
	})
}

func (m Model) startWake(name string) (tea.Model, tea.Cmd) {
	eng, wait := m.cfg.Engine, m.cfg.Wait
	return m.startOp("wake", name, "Waking tenant "+name, tenant.WakePlan(true), func(ctx context.Context) (string, error) {
		t, err := eng.Wake(ctx, tenant.WakeOptions{Name: name, Wait: wait})
		if err != nil {
			return "", err
		}
		return tenant.AwakeLine(t, wait > 0), nil
	})
}

func (m Model) startRegister(name string) (tea.Model, tea.Cmd) {
	reg, report := m.cfg.Registration, m.cfg.Bus.Reporter()
	return m.startOp("register", name, "Registering tenant "+name+" with Argo CD", reg.Plan(), func(ctx context.Context) (string, error) {
		if err := reg.Register(ctx, name, report); err != nil {
			return "", err
		}
		return fmt.Sprintf("tenant %s registered with Argo CD", name), nil
	})
}

// startCreate makes the one engine call create makes (the CLI's too):
// install, wait, and register when the wizard asked.
func (m Model) startCreate(o tenant.CreateOptions, register bool) (tea.Model, tea.Cmd) {
	eng := m.cfg.Engine
	title := "Creating tenant " + o.Name
	if o.Pool != "" {
		title += " on pool " + o.Pool
	}
	if register {
		o.Register = m.cfg.Registration
	}
	return m.startOp("create", o.Name, title, tenant.CreatePlan(o), func(ctx context.Context) (string, error) {
		t, err := eng.Create(ctx, o)
		var nr *tenant.NotRegisteredError
		if errors.As(err, &nr) {
			return "", fmt.Errorf("tenant %s is created, but not registered with Argo CD (select it and press r to retry): %w", o.Name, nr.Err)
		}
		if err != nil {
			return "", err
		}
		return t.Summary(), nil
	})
}

func (m Model) stepsKey(k tea.KeyMsg) (tea.Model, tea.Cmd) {
	if m.steps.Running() {
		return m, nil
	}
	switch k.String() {
	case "q":
		return m, tea.Quit
	case "enter", "esc", "backspace":
	case "c":
		if m.op.verb != "create" || !m.op.ok {
			return m, nil
		}
		name := m.op.name
		m.op = nil
		m.listing = true
		mm, cmd := m.startConnect(name)
		return mm, tea.Batch(cmd, m.listCmd())
	default:
		return m, nil
	}
	if m.op.verb == "create" {
		m.selected = m.op.name
	}
	m.op = nil
	m.screen = screenHome
	m.listing = true
	return m, m.listCmd()
}

func (m Model) wizardKey(k tea.KeyMsg) (tea.Model, tea.Cmd) {
	if k.String() == "esc" {
		m.screen = screenHome
		return m, nil
	}
	w, cmd, submit := m.wizard.key(k)
	m.wizard = w
	if !submit {
		return m, cmd
	}
	o := m.wizard.options()
	o.Wait = m.cfg.Wait
	if m.cfg.Defaults != nil {
		if err := m.cfg.Defaults(&o); err != nil {
			m.wizard.ttlErr = err.Error()
			return m, nil
		}
	}
	return m.startCreate(o, m.wizard.register)
}

// visible is the filtered tenant list.
func (m Model) visible() []tenant.Tenant {
	f := strings.ToLower(strings.TrimSpace(m.filter.Value()))
	if f == "" {
		return m.tenants
	}
	var out []tenant.Tenant
	for _, t := range m.tenants {
		if strings.Contains(strings.ToLower(t.Name+" "+t.Pool+" "+string(t.Status)), f) {
			out = append(out, t)
		}
	}
	return out
}

func (m Model) current() (tenant.Tenant, bool) {
	v := m.visible()
	if m.cursor < 0 || m.cursor >= len(v) {
		return tenant.Tenant{}, false
	}
	return v[m.cursor], true
}

func (m *Model) move(d int) {
	v := m.visible()
	m.cursor = max(0, min(m.cursor+d, len(v)-1))
	if m.cursor < len(v) {
		m.selected = v[m.cursor].Name
	}
}

// clampCursor keeps the cursor on the selected tenant across refreshes.
func (m *Model) clampCursor() {
	v := m.visible()
	for i, t := range v {
		if t.Name == m.selected {
			m.cursor = i
			return
		}
	}
	m.cursor = max(0, min(m.cursor, len(v)-1))
	if m.cursor < len(v) {
		m.selected = v[m.cursor].Name
	}
}

// View renders the current screen.
func (m Model) View() string {
	if m.help {
		return m.helpView()
	}
	switch m.screen {
	case screenWizard:
		return m.wizard.view(m.width)
	case screenSteps:
		return m.stepsView()
	}
	return m.homeView()
}

func (m Model) homeView() string {
	var b strings.Builder
	now := m.cfg.Now()
	v := m.visible()
	head := m.st.title.Render("kubectl tenant")
	noun := "tenants"
	if len(m.tenants) == 1 {
		noun = "tenant"
	}
	count := fmt.Sprintf("%d %s", len(m.tenants), noun)
	if len(v) != len(m.tenants) {
		count = fmt.Sprintf("%d of %d %s", len(v), len(m.tenants), noun)
	}
	right := ""
	if !m.refreshed.IsZero() {
		right = "refreshed " + m.refreshed.Format("15:04:05")
	}
	b.WriteString(m.spread(head+"  "+m.st.dim.Render(count), m.st.dim.Render(right)) + "\n\n")
	cols := "%-2s%-22s %-12s %-14s %-6s %-10s %-10s %s"
	b.WriteString(m.st.header.Render(strings.TrimRight(fmt.Sprintf(cols, "", "NAME", "STATUS", "POOL", "AGE", "EXPIRES", "CONNECTED", "REGISTERED"), " ")) + "\n")
	switch {
	case !m.loaded && m.listErr == nil:
		b.WriteString("  " + m.spinner.View() + " loading tenants…\n")
	case len(m.tenants) == 0 && m.loaded:
		b.WriteString(m.st.dim.Render("  no tenants yet: press n to create one") + "\n")
	case len(v) == 0 && m.loaded:
		b.WriteString(m.st.dim.Render("  no tenant matches the filter (esc clears it)") + "\n")
	}
	rows := m.height - 8
	first := 0
	if rows > 0 && m.cursor >= rows {
		first = m.cursor - rows + 1
	}
	for i, t := range v {
		if i < first || (rows > 0 && i >= first+rows) {
			continue
		}
		mark := ""
		if i == m.cursor {
			mark = "›"
		}
		status := string(t.Status)
		switch t.Status {
		case tenant.StatusReady:
			status = m.st.ok.Render(fmt.Sprintf("%-12s", status))
		case tenant.StatusFailed:
			status = m.st.bad.Render(fmt.Sprintf("%-12s", status))
		default:
			status = m.st.warn.Render(fmt.Sprintf("%-12s", status))
		}
		line := fmt.Sprintf("%-2s%-22s %s %-14s %-6s %-10s %-10s %s", mark, t.Name, status, columns.Dash(t.Pool),
			columns.Age(t.CreatedAt, now), columns.Expires(t.ExpiresAt, now), columns.YesNo(&t.Connected), columns.YesNo(t.Registered))
		line = strings.TrimRight(line, " ")
		if i == m.cursor {
			line = m.st.sel.Render(line)
		}
		b.WriteString(line + "\n")
	}
	b.WriteString("\n")
	switch {
	case m.filtering:
		b.WriteString(m.filter.View() + "\n")
	case m.filter.Value() != "":
		b.WriteString(m.st.dim.Render("filter: "+m.filter.Value()+" (/ edit, esc clear)") + "\n")
	}
	switch {
	case m.confirm != "" && m.confirmOp == "register":
		b.WriteString(m.st.warn.Render(fmt.Sprintf("Register %s with Argo CD (argocd-manager gets cluster-admin in the tenant)? [y/N]", m.confirm)) + "\n")
	case m.confirm != "":
		b.WriteString(m.st.warn.Render(fmt.Sprintf("Delete tenant %s and everything in namespace %s? [y/N]", m.confirm, m.confirmNS)) + "\n")
	case m.busy != "":
		b.WriteString(m.spinner.View() + " " + m.busy + "…\n")
	case m.listErr != nil:
		b.WriteString(m.st.bad.Render("cannot list tenants: "+tenant.FirstLine(m.listErr.Error())) + "\n")
	case m.status != "":
		st := m.st.dim
		if m.statusBad {
			st = m.st.bad
		}
		b.WriteString(st.Render(m.status) + "\n")
	}
	// s (sleep) and w (wake) are listed under ? only: the footer is full.
	b.WriteString(m.keys("enter/c", "connect", "x", "disconnect", "n", "new", "r", "register", "d", "delete", "/", "filter", "?", "help", "q", "quit"))
	return m.fit(b.String())
}

func (m Model) stepsView() string {
	var b strings.Builder
	steps := m.steps
	steps.spinner = m.spinner // one spinner ticks for the whole app
	b.WriteString(steps.View())
	b.WriteString("\n")
	switch {
	case m.steps.Running() && m.op != nil && m.op.cancelled:
		b.WriteString(m.st.bad.Render(m.status) + "\n")
	case m.steps.Running():
		b.WriteString(m.keys("ctrl+c", "cancel (safe: re-running finishes or cleans)"))
	case m.op != nil && m.op.verb == "create" && m.op.ok:
		b.WriteString(m.keys("c", "connect", "enter", "back to the list", "q", "quit"))
	default:
		b.WriteString(m.keys("enter", "back to the list", "q", "quit"))
	}
	return m.fit(b.String())
}

func (m Model) helpView() string {
	rows := [][2]string{
		{"↑/↓ j/k", "move"},
		{"enter, c", "connect: a background forwarder keeps context NAME current, also after you quit"},
		{"x", "disconnect: stop the forwarder, restore the previous context"},
		{"s", "sleep: end connections, scale the tenant to zero, keep its data"},
		{"w", "wake a sleeping tenant and wait until it is ready"},
		{"n", "new tenant: name, pool, Kubernetes version, time to live, Argo CD registration"},
		{"r", "register the tenant with Argo CD"},
		{"d", "delete the tenant (asks first): registration, release, namespace, local entries"},
		{"/", "filter by name, pool or status; esc clears"},
		{"R", "refresh now (the list refreshes every " + m.cfg.Refresh.String() + ")"},
		{"ctrl+c", "cancel a running step (re-running finishes or cleans), or quit"},
		{"q", "quit"},
	}
	var b strings.Builder
	b.WriteString(m.st.title.Render("kubectl tenant · keys") + "\n\n")
	for _, r := range rows {
		b.WriteString(fmt.Sprintf("  %-10s %s\n", m.st.key.Render(r[0]), r[1]))
	}
	b.WriteString("\nThe same engine as the commands: `kubectl tenant create|connect|sleep|wake|delete|list --help`.\n")
	b.WriteString(m.st.dim.Render("press any key") + "\n")
	return m.fit(b.String())
}

// keys renders "k action · k action".
func (m Model) keys(kv ...string) string { return keyHelp(m.st, kv...) }

func (m Model) spread(left, right string) string {
	gap := m.width - 1 - visibleWidth(left) - visibleWidth(right)
	if m.width <= 0 || gap < 2 {
		return left + "  " + right
	}
	return left + strings.Repeat(" ", gap) + right
}

// fit clips lines to the window width.
func (m Model) fit(s string) string {
	if m.width <= 0 {
		return s
	}
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = clipWidth(l, m.width-1)
	}
	return strings.Join(lines, "\n")
}

func visibleWidth(s string) int { return ansi.StringWidth(s) }

func clipWidth(s string, w int) string {
	if w <= 0 || ansi.StringWidth(s) <= w {
		return s
	}
	return ansi.Truncate(s, w, "…")
}
