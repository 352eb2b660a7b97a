package gitops

import (
	"regexp"
	"sync"
)

// lazyRE compiles expr on first use: only render and create --gitops
// validate a config, and every other command would pay for compiling the
// expressions at start (GODEBUG=inittrace=1: 50 kB).
func lazyRE(expr string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })
}
