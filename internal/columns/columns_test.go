package columns

import "testing"

func TestClean(t *testing.T) {
	for in, want := range map[string]string{
		"alice":                       "alice",
		"jürgen 名前":                   "jürgen 名前",
		"\x1b]0;owned\a":              `\x1b]0;owned\x07`,
		"a\rb\nc\td":                  `a\x0db\x0ac\x09d`,
		"\x1b[2J\x1b[31mred":          `\x1b[2J\x1b[31mred`,
		"\u009b31m":                   `\x9b31m`, // C1 CSI
		"evil\u202egnp.exe":           `evil\u202egnp.exe`,
		"del\x7f":                     `del\x7f`,
		"":                            "",
		"plain text with spaces: 1/2": "plain text with spaces: 1/2",
	} {
		if got := Clean(in); got != want {
			t.Errorf("Clean(%q) = %q, want %q", in, got, want)
		}
	}
}
