package tui

import (
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
)

// Wizard fields, in order; fieldCreate is the submit button.
const (
	fieldName = iota
	fieldPool
	fieldVersion
	fieldTTL
	fieldRegister
	fieldCreate
	fieldCount
)

// wizard asks for what `create` takes; the name is validated as you type
// with the engine's own check.
type wizard struct {
	st          styles
	focus       int
	name        textinput.Model
	version     textinput.Model
	ttl         textinput.Model
	poolText    textinput.Model // when no pool could be listed
	pools       []string
	poolsLoaded bool
	poolsErr    error
	pool        int
	poolTouched bool
	defaultPool string // offered when no pool is named like the tenant
	canRegister bool
	register    bool
	existing    map[string]bool
	nameErr     string
	ttlErr      string
	tried       bool
}

func newWizard(st styles, canRegister bool, ts []tenant.Tenant) wizard {
	w := wizard{st: st, canRegister: canRegister}
	w.name = newInput("", "lowercase letters, digits and -")
	w.name.CharLimit = 63
	w.version = newInput("", "chart default (e.g. v1.33)")
	w.ttl = newInput("", "never expires (e.g. 8h, 30m)")
	w.poolText = newInput("", "the tenant name")
	w.setExisting(ts)
	w.validate()
	return w
}

func (w *wizard) setExisting(ts []tenant.Tenant) {
	w.existing = map[string]bool{}
	for _, t := range ts {
		w.existing[t.Name] = true
	}
}

func (w *wizard) setPools(ps []string, err error) {
	w.pools, w.poolsErr, w.poolsLoaded = ps, err, true
	w.pickDefaultPool()
}

// pickDefaultPool follows the name (the engine's default pool is the tenant
// name) until the user chooses a pool.
func (w *wizard) pickDefaultPool() {
	if w.poolTouched {
		return
	}
	w.pool = 0
	for i, p := range w.pools {
		if p == w.defaultPool {
			w.pool = i
		}
	}
	for i, p := range w.pools {
		if p == w.name.Value() {
			w.pool = i
		}
	}
}

func (w *wizard) validate() {
	w.nameErr, w.ttlErr = "", ""
	if err := tenant.ValidateName(w.name.Value()); err != nil {
		w.nameErr = err.Error()
	}
	if v := strings.TrimSpace(w.ttl.Value()); v != "" {
		d, err := time.ParseDuration(v)
		switch {
		case err != nil:
			w.ttlErr = fmt.Sprintf("%q is not a duration (e.g. 8h, 90m)", v)
		case d < 0:
			w.ttlErr = "must not be negative"
		}
	}
}

func (w wizard) valid() bool { return w.nameErr == "" && w.ttlErr == "" }

func (w *wizard) setFocus(i int) tea.Cmd {
	if p := w.inputPtr(w.focus); p != nil {
		p.Blur()
	}
	w.focus = (i + fieldCount) % fieldCount
	if p := w.inputPtr(w.focus); p != nil {
		return p.Focus()
	}
	return nil
}

// inputPtr is input on the wizard itself (not a copy).
func (w *wizard) inputPtr(i int) *textinput.Model {
	switch i {
	case fieldName:
		return &w.name
	case fieldVersion:
		return &w.version
	case fieldTTL:
		return &w.ttl
	case fieldPool:
		if len(w.pools) == 0 {
			return &w.poolText
		}
	}
	return nil
}

// key handles one key; submit says the user asked to create.
func (w wizard) key(k tea.KeyMsg) (wizard, tea.Cmd, bool) {
	switch k.String() {
	case "tab", "down":
		return w, w.setFocus(w.focus + 1), false
	case "shift+tab", "up":
		return w, w.setFocus(w.focus - 1), false
	case "enter":
		if w.focus == fieldCreate || k.Alt {
			w.tried = true
			if !w.valid() {
				if w.nameErr != "" {
					return w, w.setFocus(fieldName), false
				}
				return w, w.setFocus(fieldTTL), false
			}
			return w, nil, true
		}
		return w, w.setFocus(w.focus + 1), false
	case "ctrl+s":
		w.tried = true
		return w, nil, w.valid()
	case "left", "right", " ":
		d := 1
		if k.String() == "left" {
			d = -1
		}
		switch {
		case w.focus == fieldPool && len(w.pools) > 0:
			w.pool = (w.pool + d + len(w.pools)) % len(w.pools)
			w.poolTouched = true
			return w, nil, false
		case w.focus == fieldRegister:
			w.register = w.canRegister && !w.register
			return w, nil, false
		}
	}
	w, cmd := w.update(k)
	return w, cmd, false
}

// update passes a message to the focused text input and re-validates.
func (w wizard) update(msg tea.Msg) (wizard, tea.Cmd) {
	p := w.inputPtr(w.focus)
	if p == nil {
		return w, nil
	}
	var cmd tea.Cmd
	*p, cmd = p.Update(msg)
	w.validate()
	if w.focus == fieldName {
		w.pickDefaultPool()
	}
	return w, cmd
}

// options are the CreateOptions the wizard asks for.
func (w wizard) options() tenant.CreateOptions {
	o := tenant.CreateOptions{Name: w.name.Value(), Spec: tenant.Spec{K8sVersion: strings.TrimSpace(w.version.Value())}}
	if len(w.pools) > 0 {
		o.Pool = w.pools[w.pool]
	} else {
		o.Pool = strings.TrimSpace(w.poolText.Value())
	}
	if d, err := time.ParseDuration(strings.TrimSpace(w.ttl.Value())); err == nil {
		o.TTL = d
	}
	return o
}

func (w wizard) view(width int) string {
	var b strings.Builder
	b.WriteString(w.st.title.Render("New tenant") + "\n\n")
	row := func(i int, label, value string) {
		mark := "  "
		if w.focus == i {
			mark = "› "
			label = w.st.bold.Render(fmt.Sprintf("%-24s", label))
		} else {
			label = fmt.Sprintf("%-24s", label)
		}
		b.WriteString(mark + label + value + "\n")
	}
	indent := strings.Repeat(" ", 26)
	note := func(style func(...string) string, s string) {
		if width > 30 {
			s = ansi.Wrap(s, width-1-len(indent), " ")
		}
		for _, l := range strings.Split(s, "\n") {
			b.WriteString(indent + style(l) + "\n")
		}
	}

	row(fieldName, "Name", w.name.View())
	switch {
	case w.nameErr != "" && (w.name.Value() != "" || w.tried):
		note(w.st.bad.Render, "✗ "+w.nameErr)
	case w.nameErr != "":
		note(w.st.dim.Render, "namespace "+tenant.NamespaceFor("NAME"))
	case w.existing[w.name.Value()]:
		note(w.st.warn.Render, "! exists already: create converges it to these settings")
	default:
		note(w.st.ok.Render, "✓ namespace "+tenant.NamespaceFor(w.name.Value()))
	}

	switch {
	case len(w.pools) > 0:
		row(fieldPool, "Pool", "‹ "+w.pools[w.pool]+" ›")
		note(w.st.dim.Render, fmt.Sprintf("%d pools (nodes labelled %s=POOL); ←/→ to choose", len(w.pools), tenant.PoolLabel))
	default:
		row(fieldPool, "Pool", w.poolText.View())
		switch {
		case !w.poolsLoaded:
			note(w.st.dim.Render, "looking for node pools…")
		case w.poolsErr != nil:
			note(w.st.warn.Render, "cannot list nodes: "+tenant.FirstLine(w.poolsErr.Error()))
		default:
			note(w.st.warn.Render, fmt.Sprintf("no nodes labelled %s=POOL: the tenant would stay Pending", tenant.PoolLabel))
		}
	}

	row(fieldVersion, "Kubernetes version", w.version.View())
	row(fieldTTL, "Time to live", w.ttl.View())
	if w.ttlErr != "" {
		note(w.st.bad.Render, "✗ "+w.ttlErr)
	}
	switch {
	case !w.canRegister:
		row(fieldRegister, "Register with Argo CD", w.st.dim.Render("not available"))
	case w.register:
		row(fieldRegister, "Register with Argo CD", "‹ yes ›")
	default:
		row(fieldRegister, "Register with Argo CD", "‹ no ›")
	}
	b.WriteString("\n")
	button := "[ Create ]"
	if w.focus == fieldCreate {
		button = w.st.sel.Render("› Create ‹")
	}
	if !w.valid() {
		button = w.st.dim.Render(button)
	}
	b.WriteString("  " + button + "\n\n")
	b.WriteString(keyHelp(w.st, "tab/↓", "next", "shift+tab/↑", "previous", "←/→", "choose", "enter", "next / create", "esc", "cancel"))
	if width > 0 {
		lines := strings.Split(b.String(), "\n")
		for i, l := range lines {
			lines[i] = clipWidth(l, width-1)
		}
		return strings.Join(lines, "\n")
	}
	return b.String()
}

func keyHelp(st styles, kv ...string) string {
	var parts []string
	for i := 0; i+1 < len(kv); i += 2 {
		parts = append(parts, st.key.Render(kv[i])+" "+st.dim.Render(kv[i+1]))
	}
	return strings.Join(parts, st.dim.Render(" · ")) + "\n"
}
