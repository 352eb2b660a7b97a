package cmdutil

import (
	"os"
	"sort"
	"strings"
)

// Env is the process environment, read once when the Factory is built:
// commands, the defaults resolver and the plugins take their settings from
// it, never from os.Getenv, so one run sees one environment and a test
// gives a command its own.
type Env map[string]string

// ReadEnv reads the process environment.
func ReadEnv() Env {
	env := Env{}
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	return env
}

// Get returns variable key ("" when unset); a nil Env has none.
func (e Env) Get(key string) string { return e[key] }

// List is e as KEY=VALUE lines, sorted: what a child process is given.
func (e Env) List() []string {
	out := make([]string, 0, len(e))
	for k, v := range e {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}
