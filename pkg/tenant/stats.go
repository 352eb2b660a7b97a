package tenant

import (
	"context"
	"math"
	"slices"
	"time"
)

// StatsOptions are the inputs of Stats.
type StatsOptions struct {
	// Since bounds "recent" creates (by created-at) for time-to-ready
	// (default 7 days).
	Since time.Duration
	// IdleAfter makes a Ready tenant idle when nobody connected to it (or,
	// never connected, since it became ready) for this long (default 24h).
	IdleAfter time.Duration
}

// Stats summarises the fleet from what the tool records on the tenant
// namespaces (created-at, time-to-ready, expires-at/ttl, last-connected-at,
// sleeping-since and slept).
// Deleted tenants leave no record, so only existing tenants count.
type Stats struct {
	Total    int            `json:"total"`
	ByStatus map[Status]int `json:"byStatus"`
	// Recent is the creates within Since and their time to ready.
	Recent RecentCreates `json:"recent"`
	// Expired tenants are past their expiry (gc deletes them).
	Expired []string `json:"expired"`
	// Idle tenants are Ready but unused for IdleAfter.
	Idle      []string      `json:"idle"`
	IdleAfter time.Duration `json:"idleAfter"`
	// Sleeping are the tenants asleep now.
	Sleeping []string `json:"sleeping"`
	// SleptHours is how long each tenant that ever slept has slept, in
	// hours (finished sleeps and the current one); TotalSleptHours sums
	// them: control-plane hours saved.
	SleptHours      map[string]float64 `json:"sleptHours"`
	TotalSleptHours float64            `json:"totalSleptHours"`
}

// RecentCreates are the time-to-ready figures of recent creates.
type RecentCreates struct {
	Since   time.Duration `json:"since"`
	Creates int           `json:"creates"`
	// Ready counts the recent creates that recorded a time to ready.
	Ready int `json:"ready"`
	// P50 and P95 are nearest-rank percentiles of those times (0: none).
	P50 time.Duration `json:"p50"`
	P95 time.Duration `json:"p95"`
	// Claimed and Fresh split those figures: creates that claimed a warm
	// spare, and creates that installed (nil when there were none).
	Claimed *ReadyTimes `json:"claimed,omitempty"`
	Fresh   *ReadyTimes `json:"fresh,omitempty"`
	// HitRate is the share of recent creates that claimed a spare.
	HitRate float64 `json:"hitRate"`
}

// ReadyTimes are the time-to-ready figures of one kind of create.
type ReadyTimes struct {
	Creates int           `json:"creates"`
	Ready   int           `json:"ready"`
	P50     time.Duration `json:"p50"`
	P95     time.Duration `json:"p95"`
}

func readyTimes(creates int, sorted []time.Duration) *ReadyTimes {
	if creates == 0 {
		return nil
	}
	return &ReadyTimes{Creates: creates, Ready: len(sorted), P50: Percentile(sorted, 50), P95: Percentile(sorted, 95)}
}

// Stats reads every tenant (one namespace list, one release list) and
// computes the fleet statistics.
func (h *Host) Stats(ctx context.Context, o StatsOptions) (*Stats, error) {
	ts, err := h.tenants(ctx)
	if err != nil {
		return nil, err
	}
	return ComputeStats(ts, h.now(), o), nil
}

// ComputeStats is the arithmetic of Stats on already listed tenants.
func ComputeStats(ts []Tenant, now time.Time, o StatsOptions) *Stats {
	if o.Since <= 0 {
		o.Since = 7 * 24 * time.Hour
	}
	if o.IdleAfter <= 0 {
		o.IdleAfter = 24 * time.Hour
	}
	s := &Stats{Total: len(ts), ByStatus: map[Status]int{}, Recent: RecentCreates{Since: o.Since},
		Expired: []string{}, Idle: []string{}, IdleAfter: o.IdleAfter, Sleeping: []string{}, SleptHours: map[string]float64{}}
	var ready, claimed, fresh []time.Duration
	var nClaimed, nFresh int
	for _, t := range ts {
		s.ByStatus[t.Status]++
		if !t.CreatedAt.IsZero() && now.Sub(t.CreatedAt) <= o.Since {
			s.Recent.Creates++
			kind, n := &fresh, &nFresh
			if t.ClaimedAt != nil {
				kind, n = &claimed, &nClaimed
			}
			*n++
			if t.TimeToReady > 0 {
				ready = append(ready, t.TimeToReady)
				*kind = append(*kind, t.TimeToReady)
			}
		}
		if t.ExpiresAt != nil && !t.ExpiresAt.After(now) {
			s.Expired = append(s.Expired, t.Name)
		}
		if t.Status == StatusReady && now.Sub(lastUse(t)) >= o.IdleAfter {
			s.Idle = append(s.Idle, t.Name)
		}
		if t.Status == StatusSleeping {
			s.Sleeping = append(s.Sleeping, t.Name)
		}
		if d := t.SleptAt(now); d > 0 {
			h := d.Hours()
			s.SleptHours[t.Name] = h
			s.TotalSleptHours += h
		}
	}
	slices.Sort(ready)
	s.Recent.Ready = len(ready)
	s.Recent.P50 = Percentile(ready, 50)
	s.Recent.P95 = Percentile(ready, 95)
	slices.Sort(claimed)
	slices.Sort(fresh)
	s.Recent.Claimed, s.Recent.Fresh = readyTimes(nClaimed, claimed), readyTimes(nFresh, fresh)
	if s.Recent.Creates > 0 {
		s.Recent.HitRate = float64(nClaimed) / float64(s.Recent.Creates)
	}
	return s
}

// lastUse is the last connect, else when the tenant became ready (created
// plus time to ready), else its creation; a later wake counts as use.
func lastUse(t Tenant) time.Time {
	last := t.CreatedAt.Add(t.TimeToReady)
	if t.LastConnectedAt != nil {
		last = *t.LastConnectedAt
	}
	if t.WokenAt != nil && t.WokenAt.After(last) {
		last = *t.WokenAt
	}
	return last
}

// Percentile is the nearest-rank p-th percentile of sorted durations: the
// smallest value with at least p% of the values at or below it (0 for none).
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}
