// Package tui is the interactive face of kubectl-tenant: a bubbletea app
// (tenant list, new-tenant wizard, live step view) that drives the same
// lifecycle engine as the flags and has no logic of its own. Every call to the
// engine runs in a tea.Cmd; engine events reach the model in order through a
// Bus read by a tea.Cmd.
package tui

import (
	"context"
	"sync"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/kubectl-tenant/kubectl-tenant/pkg/tenant"
)

// Engine is what the TUI needs from the lifecycle engine; *tenant.Engine
// implements it.
type Engine interface {
	List(ctx context.Context) ([]tenant.Tenant, error)
	Pools(ctx context.Context) ([]string, error)
	Create(ctx context.Context, o tenant.CreateOptions) (*tenant.Tenant, error)
	Delete(ctx context.Context, o tenant.DeleteOptions) error
	Sleep(ctx context.Context, o tenant.SleepOptions) (*tenant.Tenant, error)
	Wake(ctx context.Context, o tenant.WakeOptions) (*tenant.Tenant, error)
}

var _ Engine = (*tenant.Engine)(nil)

// Config wires the app to the engine and to what lives outside it.
type Config struct {
	Engine Engine
	// Bus receives the engine's events: Engine is built reporting to
	// Bus.Reporter() (tenant.Engine.With). Nil: a new Bus (events are then
	// only what the model itself posts).
	Bus *Bus
	// Connect starts a background connection to a tenant (context NAME,
	// made current); nil: connecting is not available.
	Connect func(ctx context.Context, name string) error
	// Disconnect ends the tenant's connection; nil: not available.
	Disconnect func(ctx context.Context, name string) error
	// Registration registers a tenant with Argo CD, reporting its steps
	// (its Plan) on the bus: the r key, and the wizard's register choice
	// (create's own last steps); nil: not available.
	Registration tenant.Registration
	// Defaults fills what the wizard leaves unset in a create (chart,
	// values, TTL and isolation from the environment and the host
	// defaults) and checks it (the host's maximum TTL); nil: nothing.
	Defaults func(o *tenant.CreateOptions) error
	// DefaultPool is the pool the wizard offers first when none is named
	// like the tenant (the host defaults' pool).
	DefaultPool string
	// Wait bounds how long create and wake wait for the API, delete for the
	// namespace and sleep for the control plane to stop (default 5m).
	Wait time.Duration
	// Refresh is the tenant list's background refresh period (default 3s).
	Refresh time.Duration
	// Now is the clock (tests pin it).
	Now func() time.Time
}

// Bus is an unbounded, ordered queue of messages for the model: engine
// events (through Reporter, which never blocks the engine) and operation
// results posted after them, so a result never overtakes its last events.
type Bus struct {
	mu     sync.Mutex
	items  []tea.Msg
	ready  chan struct{}
	closed bool
}

// NewBus returns an empty Bus.
func NewBus() *Bus { return &Bus{ready: make(chan struct{}, 1)} }

// Reporter returns a tenant.Reporter posting every event on the bus.
func (b *Bus) Reporter() tenant.Reporter {
	return func(ev tenant.Event) { b.Post(eventMsg(ev)) }
}

// Post queues a message; after Close it is dropped.
func (b *Bus) Post(m tea.Msg) {
	b.mu.Lock()
	if !b.closed {
		b.items = append(b.items, m)
	}
	b.mu.Unlock()
	select {
	case b.ready <- struct{}{}:
	default:
	}
}

// Close makes next return busClosedMsg once the queue is drained.
func (b *Bus) Close() {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	select {
	case b.ready <- struct{}{}:
	default:
	}
}

// next blocks until a message is queued, the bus is closed and drained, or
// ctx ends.
func (b *Bus) next(ctx context.Context) tea.Msg {
	for {
		b.mu.Lock()
		if len(b.items) > 0 {
			m := b.items[0]
			b.items = b.items[1:]
			b.mu.Unlock()
			return m
		}
		closed := b.closed
		b.mu.Unlock()
		if closed {
			return busClosedMsg{}
		}
		select {
		case <-b.ready:
		case <-ctx.Done():
			return nil
		}
	}
}

// listen is the tea.Cmd that reads the bus; the model re-arms it after
// every message it delivers.
func (b *Bus) listen(ctx context.Context) tea.Cmd {
	return func() tea.Msg { return busMsg{b.next(ctx)} }
}

type (
	// eventMsg is one engine event.
	eventMsg tenant.Event
	// busMsg wraps what the bus delivered, so the model knows to listen again.
	busMsg       struct{ msg tea.Msg }
	busClosedMsg struct{}
)
