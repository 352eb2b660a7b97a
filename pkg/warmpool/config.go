package warmpool

import (
	"fmt"

	"k8s.io/apimachinery/pkg/util/validation"
)

// State is what a pool's ready spares do while they wait: run, or sleep
// (a claim wakes one).
type State string

// Pool states; the empty State is StateRunning.
const (
	StateRunning  State = "running"
	StateSleeping State = "sleeping"
)

// ParseState reads a state as config.yaml, the host defaults and `pool set
// --state` write it; "" is running.
func ParseState(s string) (State, error) {
	switch State(s) {
	case "", StateRunning:
		return StateRunning, nil
	case StateSleeping:
		return StateSleeping, nil
	}
	return "", fmt.Errorf("state %q is not running or sleeping", s)
}

// String is the state's name ("running" for the empty State).
func (s State) String() string {
	if s == "" {
		return string(StateRunning)
	}
	return string(s)
}

// MaxSize bounds a pool's size: spares cost a control plane each.
const MaxSize = 50

// Config is one warm pool's configuration: node pool Pool keeps Size
// spare tenants, running or sleeping. It is the one shape of a pool
// everywhere: the host defaults' warmPools entry and config.yaml's
// warmPools (both a map of pool to {size, state}, the key giving Pool),
// `pool set`, and what top-up, claim and status work from.
type Config struct {
	Pool  string `json:"pool,omitempty" yaml:"-"`
	Size  int    `json:"size" yaml:"size"`
	State State  `json:"state,omitempty" yaml:"state"`
}

// Sleeping says the pool's spares are kept asleep.
func (c Config) Sleeping() bool { return c.State == StateSleeping }

// Validate checks the pool name, the size and the state.
func (c Config) Validate() error {
	if errs := validation.IsValidLabelValue(c.Pool); len(errs) > 0 || c.Pool == "" {
		return fmt.Errorf("pool %q is not a node pool name (a label value)", c.Pool)
	}
	if c.Size < 0 || c.Size > MaxSize {
		return fmt.Errorf("pool %s: size %d is not between 0 and %d", c.Pool, c.Size, MaxSize)
	}
	if _, err := ParseState(string(c.State)); err != nil {
		return fmt.Errorf("pool %s: %v", c.Pool, err)
	}
	return nil
}

// Keyed sets each entry's Pool from its key, as a map of pool to {size,
// state} gives it, and validates it; an entry naming another pool is an
// error.
func Keyed(m map[string]Config) (map[string]Config, error) {
	out := make(map[string]Config, len(m))
	for p, c := range m {
		if c.Pool != "" && c.Pool != p {
			return nil, fmt.Errorf("pool %s: entry names pool %q", p, c.Pool)
		}
		c.Pool = p
		if err := c.Validate(); err != nil {
			return nil, err
		}
		out[p] = c
	}
	return out, nil
}
