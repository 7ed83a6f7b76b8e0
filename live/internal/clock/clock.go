// Package clock holds the timing helpers live mode's attacker, backends
// and sampler share: a corrector for timer lateness and a cancellable
// sleep.
package clock

import (
	"context"
	"sync/atomic"
	"time"
)

// Skew learns how late this machine's timers fire and lets sleepers aim
// early by that much. Go timers fire at or after their deadline; on Linux
// the runtime's poller waits in whole milliseconds, so a sleep overshoots
// by up to a millisecond, about half of one on average — 2.5% of a 20 ms
// service time, paid again by the attacker's pacer. Aiming early by the
// learned mean overshoot makes sleeps last their intended time on average,
// which is what a comparison with the simulator's exact clock needs.
// The zero Skew aims at the deadline itself.
type Skew struct{ ns atomic.Int64 }

// maxSkew bounds the correction: lateness beyond it is load, not timer
// granularity, and must show in the results.
const maxSkew = 2 * time.Millisecond

// Aim returns how long to sleep for a wait of d.
func (s *Skew) Aim(d time.Duration) time.Duration {
	return max(0, d-time.Duration(s.ns.Load()))
}

// Observe records that a sleep of aimed lasted took: an exponentially
// weighted mean (weight 1/16) of the overshoot. Concurrent observers may
// lose an update now and then, which a mean does not mind.
func (s *Skew) Observe(aimed, took time.Duration) {
	late := min(max(took-aimed, 0), maxSkew)
	old := s.ns.Load()
	s.ns.Store(old + (int64(late)-old)/16)
}

// SleepUntil waits until t; it reports false if ctx ends first.
func SleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}
