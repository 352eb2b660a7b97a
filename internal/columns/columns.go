// Package columns formats tenant fields the same way in `list` and the TUI.
package columns

import (
	"fmt"
	"strings"
	"time"
	"unicode"

	"k8s.io/apimachinery/pkg/util/duration"
)

// Dash shows an empty value as "-".
func Dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// YesNo shows an unknown (nil) flag as "-".
func YesNo(b *bool) string {
	switch {
	case b == nil:
		return "-"
	case *b:
		return "yes"
	}
	return "no"
}

// Age is kubectl's human duration since t.
func Age(t, now time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return duration.HumanDuration(now.Sub(t))
}

// Expires says when a tenant expires: never, expired, or "in 3h".
func Expires(t *time.Time, now time.Time) string {
	switch {
	case t == nil:
		return "never"
	case t.Before(now):
		return "expired"
	}
	return "in " + duration.HumanDuration(t.Sub(now))
}

// Clean makes text from the cluster (annotation values, event and error
// messages) safe to print on a terminal: control characters (escape
// sequences, carriage returns, newlines, C1 codes) and bidirectional
// overrides are shown escaped, as \x1b or \u202e, instead of being
// interpreted by the terminal. Other text, non-ASCII included, is unchanged.
func Clean(s string) string {
	i := strings.IndexFunc(s, unsafe)
	if i < 0 {
		return s
	}
	var b strings.Builder
	b.WriteString(s[:i])
	for _, r := range s[i:] {
		switch {
		case !unsafe(r):
			b.WriteRune(r)
		case r < 0x100:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			fmt.Fprintf(&b, `\u%04x`, r)
		}
	}
	return b.String()
}

func unsafe(r rune) bool {
	return unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r)
}
