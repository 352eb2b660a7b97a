// Package columns formats tenant fields the same way in `list` and the TUI.
package columns

import (
	"time"

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
