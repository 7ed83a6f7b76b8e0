package attack

import (
	"fmt"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/edgelab/edgelab/engine"
	"github.com/edgelab/edgelab/live/internal/clock"
	"github.com/edgelab/edgelab/workloads"
)

// pacerSlice bounds how long vegeta sleeps on a Pacer's word once the
// pacer can be cancelled: a longer wait is spent inside Pace, where a
// cancellation ends it at once (vegeta's own sleep cannot be interrupted).
const pacerSlice = 50 * time.Millisecond

// vegetaPacer is a vegeta.Pacer that replays a scenario's open-loop arrival
// times: the n-th hit leaves at the simulator's n-th arrival time
// (workloads.ArrivalClock on the "arrivals" stream of the seed and
// replication), so that a live run offers the very schedule the simulation
// does. It stops before the first arrival at or after warmup + duration.
//
// A Pacer draws the arrival times one at a time as vegeta asks for them:
// its memory is constant, whatever the number of requests. Pace must be
// called from one goroutine at a time, as vegeta's attack loop does; Rate
// may be called from any goroutine.
type vegetaPacer struct {
	next func() time.Duration        // the next arrival time since the run began
	rate func(time.Duration) float64 // the process's rate at a run time
	end  time.Duration               // no arrival at or after it

	// origin is the run time at vegeta's elapsed 0: the attack began that
	// long after the run's start instant.
	origin time.Duration
	// done, when set, cancels a wait in progress inside Pace.
	done <-chan struct{}

	n     uint64                  // arrivals drawn
	at    time.Duration           // time of arrival n
	clock *workloads.ArrivalClock // nil for newSchedulePacer's own schedules
	timer *time.Timer             // reused for waits spent inside Pace

	// skew, when set, learns how late vegeta's sleeps end (timer
	// granularity and the hand-off to a worker) and aims early by that
	// much, so that requests leave on schedule on average. expect is when
	// the last wait handed to vegeta should have ended (0: none).
	skew   *clock.Skew
	aimed  time.Duration
	expect time.Duration
}

var _ vegeta.Pacer = (*vegetaPacer)(nil)

// newPacer returns the pacer of replication rep of the scenario. A closed
// loop (clients.arrival.process: closed) cannot be paced by vegeta, whose
// send times do not depend on answers: newPacer returns an input error
// naming the field (workloads.IsInputError reports true).
func newPacer(sc *workloads.Scenario, rep int) (*vegetaPacer, error) {
	a := &sc.Clients.Arrival
	if a.Process == workloads.ProcessClosed {
		return nil, sc.FieldError("clients.arrival.process",
			"live mode cannot send a closed loop (users waiting for answers): vegeta paces open-loop arrivals only; use an open-loop process such as poisson or constant at the rate you expect")
	}
	clock, err := sc.ArrivalClock(engine.Source(sc.Seed, rep, "arrivals"))
	if err != nil {
		return nil, fmt.Errorf("live attack: %w", err)
	}
	p := newSchedulePacer(clock.Next, sc.Warmup.D()+sc.Duration.D(), a.RateAt)
	p.clock = clock
	return p, nil
}

// close closes the pacer's trace, if it replays one.
func (p *vegetaPacer) close() error {
	if p.clock != nil {
		return p.clock.Close()
	}
	return nil
}

// newSchedulePacer returns a pacer over any non-decreasing schedule: next
// yields the arrival times in order, end is the first time not sent and
// rate is the instantaneous rate reported by Rate.
func newSchedulePacer(next func() time.Duration, end time.Duration, rate func(time.Duration) float64) *vegetaPacer {
	return &vegetaPacer{next: next, end: end, rate: rate}
}

// Pace implements vegeta.Pacer: it returns how long to wait, elapsed into
// the attack, until arrival number hits+1 is due (0 when it is overdue),
// and stop = true once that arrival would fall at or after the end of the
// run. Arrival times are drawn forward as hits grows; a hits count smaller
// than one already seen gets the latest arrival drawn.
//
// When the pacer can be cancelled (inside Attack), a wait longer than a
// short slice is spent here, so that a cancellation is noticed at once;
// Pace then returns the remainder, or stop = true if cancelled.
func (p *vegetaPacer) Pace(elapsed time.Duration, hits uint64) (time.Duration, bool) {
	for p.n <= hits {
		p.at = p.next()
		p.n++
	}
	if p.at >= p.end {
		return 0, true
	}
	now := p.origin + elapsed
	if p.skew != nil && p.expect > 0 {
		p.skew.Observe(p.aimed, p.aimed+now-p.expect)
		p.expect = 0
	}
	wait := p.at - now
	if wait <= 0 {
		return 0, false
	}
	if p.done != nil && wait > pacerSlice {
		t0 := time.Now()
		if !p.sleep(wait - pacerSlice) {
			return 0, true
		}
		wait = max(0, wait-time.Since(t0))
		now += time.Since(t0)
	}
	if p.skew != nil && wait > 0 {
		p.aimed = p.skew.Aim(wait)
		p.expect = now + p.aimed
		return p.aimed, false
	}
	return wait, false
}

// sleep waits for d or until done is closed; it reports false if done was.
func (p *vegetaPacer) sleep(d time.Duration) bool {
	if p.timer == nil {
		p.timer = time.NewTimer(d)
	} else {
		p.timer.Reset(d)
	}
	select {
	case <-p.timer.C:
		return true
	case <-p.done:
		p.timer.Stop()
		return false
	}
}

// Rate implements vegeta.Pacer: the arrival process's rate in requests per
// second at the given elapsed time into the attack.
func (p *vegetaPacer) Rate(elapsed time.Duration) float64 {
	if p.rate == nil {
		return 0
	}
	return p.rate(p.origin + elapsed)
}
