package workloads

import (
	"math"
	"math/rand/v2"
	"time"
)

// ArrivalClock yields an open-loop run's arrival times, since the run
// began, in order. The simulator and the live attacker both read it from
// the same stream, so a live run replays the simulated arrival times.
type ArrivalClock struct {
	gap Sampler
	t   time.Duration
}

// Clock returns the arrival times of an open-loop process drawn from src.
func (a *Arrival) Clock(src *rand.PCG) *ArrivalClock {
	return &ArrivalClock{gap: a.Interarrival(src)}
}

// Next returns the next arrival time.
func (c *ArrivalClock) Next() time.Duration {
	c.t += Nanos(c.gap.Sample())
	return c.t
}

// Nanos rounds a sampled time in nanoseconds to a Duration: negative and
// NaN samples are 0, huge ones are capped far beyond any run.
func Nanos(ns float64) time.Duration {
	if !(ns > 0) { // also catches NaN
		return 0
	}
	if ns > float64(math.MaxInt64/4) {
		return math.MaxInt64 / 4
	}
	return time.Duration(ns + 0.5)
}
