package live

import (
	"sync/atomic"
	"time"
)

// skew learns how late this machine's timers fire and lets sleepers aim
// early by that much. Go timers fire at or after their deadline; on Linux
// the runtime's poller waits in whole milliseconds, so a sleep overshoots
// by up to a millisecond, about half of one on average — 2.5% of a 20 ms
// service time, paid again by the attacker's pacer. Aiming early by the
// learned mean overshoot makes sleeps last their intended time on average,
// which is what a comparison with the simulator's exact clock needs.
type skew struct{ ns atomic.Int64 }

// maxSkew bounds the correction: lateness beyond it is load, not timer
// granularity, and must show in the results.
const maxSkew = 2 * time.Millisecond

// aim returns how long to sleep for a wait of d.
func (s *skew) aim(d time.Duration) time.Duration {
	return max(0, d-time.Duration(s.ns.Load()))
}

// observe records that a sleep of aimed lasted took: an exponentially
// weighted mean (weight 1/16) of the overshoot. Concurrent observers may
// lose an update now and then, which a mean does not mind.
func (s *skew) observe(aimed, took time.Duration) {
	late := min(max(took-aimed, 0), maxSkew)
	old := s.ns.Load()
	s.ns.Store(old + (int64(late)-old)/16)
}
