package tui

import (
	"os"

	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
)

// styles are built from one renderer, so NO_COLOR, a non-terminal output or
// a test's Ascii profile turn every one of them into plain text.
type styles struct {
	title, dim, bold, ok, warn, bad, sel, key, header, errBox lipgloss.Style
}

func newStyles(r *lipgloss.Renderer) styles {
	if r == nil {
		r = lipgloss.DefaultRenderer()
	}
	if os.Getenv("NO_COLOR") != "" {
		r.SetColorProfile(termenv.Ascii)
	}
	// Plain ANSI colours only: adaptive colours would query the terminal.
	return styles{
		title:  r.NewStyle().Bold(true),
		dim:    r.NewStyle().Faint(true),
		bold:   r.NewStyle().Bold(true),
		ok:     r.NewStyle().Foreground(lipgloss.Color("2")),
		warn:   r.NewStyle().Foreground(lipgloss.Color("3")),
		bad:    r.NewStyle().Foreground(lipgloss.Color("1")),
		sel:    r.NewStyle().Reverse(true),
		key:    r.NewStyle().Bold(true),
		header: r.NewStyle().Bold(true).Underline(true),
		errBox: r.NewStyle().Foreground(lipgloss.Color("1")).Bold(true),
	}
}
