package plan

import (
	"time"

	"github.com/edgelab/edgelab/reports"
	"github.com/edgelab/edgelab/workloads"
)

// Failure is one failure window of one instance: a crash, hang, slow or
// errors failure over [Start, End), as both worlds play it.
type Failure struct {
	// Gateway is true when Target is a gateway instance, false when it is
	// a server (an index into Servers).
	Gateway bool
	// Target is the failing instance.
	Target int
	// ID names the instance in results ("web-0", "gateway-1").
	ID string
	// Kind is what happens: crash, hang, slow or errors (a random crash
	// expands to crash windows).
	Kind string
	// Label names the window in results: the failure's kind as written.
	Label string
	// Start is when the failure begins, from the start of the run (warm-up
	// included); End when it ends, negative for never.
	Start, End time.Duration
	// Factor divides the instance's speed (slow; 0 = unchanged), Latency
	// is added to its answers (slow), Rate is the probability that an
	// answer is a 5xx (errors).
	Factor  float64
	Latency time.Duration
	Rate    float64
}

// MaxWindows bounds the failure windows listed in results.
const MaxWindows = 10000

// Failures expands every failure schedule of the scenario into the
// failure windows of replication rep of a run ending at end (warm-up plus
// duration): each server group's schedule over its instances, in scenario
// order, then the gateway tier's. Random crashes draw their up and down
// times from a stream of their own per instance (workloads.FailureStream),
// so every strategy, and both worlds, meet the same crashes. Windows
// starting at or after end are left out.
func Failures(sc *workloads.Scenario, rep int, end time.Duration) []Failure {
	var out []Failure
	base := 0
	for gi := range sc.Servers {
		g := &sc.Servers[gi]
		for fi := range g.Failures {
			for i := 0; i < g.Slots(); i++ {
				out = expand(out, sc.Seed, rep, end, &g.Failures[fi], i, Failure{Target: base + i, ID: ServerID(g.Name, i)},
					workloads.FailureStream(g.Name, fi, i))
			}
		}
		base += g.Slots()
	}
	if g := sc.Gateway; g != nil {
		for fi := range g.Failures {
			for i := 0; i < g.Instances; i++ {
				out = expand(out, sc.Seed, rep, end, &g.Failures[fi], i, Failure{Gateway: true, Target: i, ID: GatewayID(i)},
					workloads.FailureStream("gateway", fi, i))
			}
		}
	}
	return out
}

// expand appends failure f's windows for instance i (workloads.Failure.Windows).
func expand(out []Failure, seed uint64, rep int, end time.Duration, f *workloads.Failure, i int, target Failure, stream string) []Failure {
	if !f.Affects(i) {
		return out
	}
	for _, w := range f.Windows(seed, rep, stream, end) {
		c := target
		c.Kind, c.Label, c.Start, c.End = w.Kind, w.Label, w.Start, w.End
		if f.Kind != workloads.FailRandomCrash {
			c.Factor, c.Latency, c.Rate = f.Factor, f.Latency.D(), f.Rate
		}
		out = append(out, c)
	}
	return out
}

// Windows lists the first MaxWindows failures as results.json reports
// them, each end clipped to the run's end (never-ending ones end there).
func Windows(fails []Failure, end time.Duration) []reports.FailureWindow {
	var out []reports.FailureWindow
	for _, f := range fails[:min(len(fails), MaxWindows)] {
		e := f.End
		if e < 0 || e > end {
			e = end
		}
		out = append(out, reports.FailureWindow{Server: f.ID, Kind: f.Label, StartS: f.Start.Seconds(), EndS: e.Seconds()})
	}
	return out
}

// Condition is the state failures leave an instance in. Failures overlap
// freely: crashes and hangs count, slow factors multiply, added latencies
// add up, error rates combine as independent causes (ErrorRate), and each
// end undoes its own start. The simulated server, the simulated gateway
// instance and the emulated backend all hold one and act on the Change
// each start and end reports.
//
// What a change does to work already under way, in both worlds (as a real
// process would):
//   - a crash fails everything the instance holds (queued, in service,
//     answers held back) with a connection reset, and refuses new
//     connections until the last crash ends;
//   - a hang stops all progress: work in service resumes where it stopped
//     when the hang ends;
//   - a slow factor applies from the instant it starts: work in service is
//     booked at the old speed up to then and goes on at the new one;
//   - added latency holds back answers that leave service while it lasts;
//     an answer already held back keeps its delivery time;
//   - an errors failure decides answers given while it lasts.
type Condition struct {
	// Down counts active crashes; Hung active hangs.
	Down, Hung int
	// Factor is the product of active slow factors (1 = none).
	Factor float64
	// Latency is the sum of active added latencies.
	Latency time.Duration
	// Errors lists the error rates of active errors failures.
	Errors []float64
}

// Healthy is the condition of an instance no failure touches.
func Healthy() Condition { return Condition{Factor: 1} }

// Change is what a failure's start or end did to a Condition.
type Change uint8

// The changes a failure's start or end can make.
const (
	// Crashed: the first crash began; the instance must drop everything.
	Crashed Change = iota
	// Repaired: the last crash ended; the instance accepts again.
	Repaired
	// Unchanged: a crash began or ended while another one lasts.
	Unchanged
	// RateChanged: a hang or slow failure changed the rate of service (or
	// the added latency); work in service must be re-booked.
	RateChanged
	// ErrorsChanged: the error rate changed; nothing under way is affected.
	ErrorsChanged
)

// Start applies the start of failure f.
func (c *Condition) Start(f *Failure) Change {
	switch f.Kind {
	case workloads.FailCrash:
		c.Down++
		if c.Down == 1 {
			return Crashed
		}
		return Unchanged
	case workloads.FailHang:
		c.Hung++
	case workloads.FailSlow:
		if f.Factor > 0 {
			c.Factor *= f.Factor
		}
		c.Latency += f.Latency
	case workloads.FailErrors:
		c.Errors = append(c.Errors, f.Rate)
		return ErrorsChanged
	}
	return RateChanged
}

// End applies the end of failure f, which must have started.
func (c *Condition) End(f *Failure) Change {
	switch f.Kind {
	case workloads.FailCrash:
		c.Down--
		if c.Down == 0 {
			return Repaired
		}
		return Unchanged
	case workloads.FailHang:
		c.Hung--
	case workloads.FailSlow:
		if f.Factor > 0 {
			c.Factor /= f.Factor
		}
		c.Latency -= f.Latency
	case workloads.FailErrors:
		for k, r := range c.Errors {
			if r == f.Rate {
				c.Errors = append(c.Errors[:k], c.Errors[k+1:]...)
				break
			}
		}
		return ErrorsChanged
	}
	return RateChanged
}

// Rate is the work one busy worker of an instance of the given speed does
// per unit of time: speed / Factor, or 0 while hung.
func (c *Condition) Rate(speed float64) float64 {
	if c.Hung > 0 {
		return 0
	}
	return speed / c.Factor
}

// ErrorRate combines an instance's own error probability with the active
// errors failures: an answer is good only if no source fails it.
func (c *Condition) ErrorRate(base float64) float64 {
	if len(c.Errors) == 0 {
		return base
	}
	good := 1 - base
	for _, r := range c.Errors {
		good *= 1 - r
	}
	return 1 - good
}
