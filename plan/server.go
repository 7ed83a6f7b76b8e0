package plan

import (
	"math"
	"time"

	"github.com/edgelab/edgelab/engine"
	"github.com/edgelab/edgelab/strategies"
)

// What a server instance does that the simulated server and the emulated
// backend share: the dice that decide an answer's status, the load it
// reports, and processor sharing's bookkeeping.

// DownSignal is what a balancer sees of an instance that answers nothing
// (crashed, or a spare not yet started): the worst possible load.
var DownSignal = strategies.Signal{InFlight: math.MaxInt32, Utilization: 1, ServiceTime: time.Duration(math.MaxInt64 / 4)}

// Signal is the load an instance in this condition reports: inFlight
// requests queued, in service or held back by added latency, busy of its
// conc workers, and the mean service time at its current rate (speed
// divided by the slow factors; the worst while hung) plus the added
// latency, as its own latency histogram would show. A crashed instance
// reports DownSignal.
func (c *Condition) Signal(inFlight, busy, conc int, speed, meanDemand float64) strategies.Signal {
	if c.Down > 0 {
		return DownSignal
	}
	sig := strategies.Signal{InFlight: inFlight, Utilization: float64(busy) / float64(conc)}
	if r := c.Rate(speed); r > 0 {
		sig.ServiceTime = time.Duration(meanDemand/r) + c.Latency
	} else {
		sig.ServiceTime = DownSignal.ServiceTime
	}
	return sig
}

// AnswersError reports whether an instance whose own error probability is
// base answers attempt number attempt of request serial with a 5xx (its
// errors failures included): a counter-based draw on (serial, attempt)
// from the "errors" key, so every strategy, and both worlds, throw the
// same dice for the same attempt.
func (c *Condition) AnswersError(base float64, key, serial, attempt uint64) bool {
	if base == 0 && len(c.Errors) == 0 {
		return false
	}
	p := c.ErrorRate(base)
	return p > 0 && engine.Uniform(key, serial, attempt) < p
}

// Sharing is processor sharing's clock: n requests present share an
// instance's conc workers, each progressing at rate·min(1, conc/n). V is
// the work (ns at speed 1) every request present has received since the
// instance started; a request arriving when V = v0 with demand d leaves
// when V reaches v0 + d, so the next to leave is the smallest tag.
type Sharing struct {
	// V is the work each present request has received; Last is when it
	// was last advanced.
	V    float64
	Last time.Duration
}

// Share is the rate at which each of n requests progresses on conc
// workers of the given rate.
func Share(n, conc int, rate float64) float64 {
	if n <= conc {
		return rate
	}
	return rate * float64(conc) / float64(n)
}

// Advance books the work done since Last by n requests present at rate,
// up to now (a clock read in the past changes nothing).
func (s *Sharing) Advance(now time.Duration, n, conc int, rate float64) {
	if n > 0 && now > s.Last {
		s.V += Share(n, conc, rate) * float64(now-s.Last)
	}
	s.Last = max(s.Last, now)
}
