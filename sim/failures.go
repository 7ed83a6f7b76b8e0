package sim

import (
	"time"

	"github.com/edgelab/edgelab/reports"
	"github.com/edgelab/edgelab/workloads"
)

// failure is one failure of one instance over [start, end).
type failure struct {
	gw         bool // ep is a gateway instance
	ep         int
	kind       string
	start, end time.Duration // end < 0: until the run is over
	factor     float64
	latency    time.Duration
	rate       float64
}

// maxWindows bounds the failure windows listed in results.
const maxWindows = 10000

// planFailures expands every group's failure schedule into per-instance
// failures and schedules their start and end. Random crashes draw their
// up and down times from a stream of their own per instance, so every
// strategy meets the same crashes.
func (m *model) planFailures(rep int) {
	base := 0
	for gi := range m.sc.Servers {
		g := &m.sc.Servers[gi]
		for fi := range g.Failures {
			for i := 0; i < g.Slots(); i++ {
				stream := workloads.FailureStream(g.Name, fi, i)
				m.planFailure(rep, &g.Failures[fi], i, failure{ep: base + i}, stream)
			}
		}
		base += g.Slots()
	}
	if g := m.sc.Gateway; g != nil {
		for fi := range g.Failures {
			for i := 0; i < g.Instances; i++ {
				stream := workloads.FailureStream("gateway", fi, i)
				m.planFailure(rep, &g.Failures[fi], i, failure{gw: true, ep: i}, stream)
			}
		}
		if h := g.Health; h != nil {
			for i := 0; i < g.Instances; i++ {
				m.eng.Schedule(h.Interval.D()*time.Duration(i)/time.Duration(g.Instances), m.h, evGwProbe, int64(i))
			}
		}
	}
	if a := m.probe; a != nil {
		n := len(m.srv)
		for i := range m.srv {
			// Stagger the probes evenly over one interval.
			m.eng.Schedule(a.Interval.D()*time.Duration(i)/time.Duration(n), m.h, evProbe, int64(i))
		}
	}
}

// planFailure expands failure f for instance i of its group (or gateway
// tier) into timed failures of target (workloads.Failure.Windows: a random
// crash alternates exponential up and down times, drawn from the named
// stream, until the run ends).
func (m *model) planFailure(rep int, f *workloads.Failure, i int, target failure, stream string) {
	if !f.Affects(i) {
		return
	}
	for _, w := range f.Windows(m.sc.Seed, rep, stream, m.end) {
		c := target
		c.kind, c.start, c.end = w.Kind, w.Start, w.End
		if f.Kind != workloads.FailRandomCrash {
			c.factor, c.latency, c.rate = f.Factor, f.Latency.D(), f.Rate
		}
		m.addFailure(c, w.Label)
	}
}

func (m *model) addFailure(f failure, label string) {
	if f.start >= m.end {
		return // starts after the run: never happens
	}
	id := ""
	if f.gw {
		id = m.gw.inst[f.ep].id
	} else {
		m.srv[f.ep].tracked = true
		id = m.srv[f.ep].id
	}
	i := len(m.fails)
	m.fails = append(m.fails, f)
	m.eng.Schedule(f.start, m.h, evFailStart, int64(i))
	if f.end >= 0 {
		m.eng.Schedule(f.end, m.h, evFailEnd, int64(i))
	}
	if len(m.windows) < maxWindows {
		end := f.end
		if end < 0 || end > m.end {
			end = m.end
		}
		m.windows = append(m.windows, reports.FailureWindow{
			Server: id, Kind: label, StartS: f.start.Seconds(), EndS: end.Seconds(),
		})
	}
}

func (m *model) failStart(now time.Duration, i int) {
	f := &m.fails[i]
	if f.gw {
		g := &m.gw.inst[f.ep]
		switch f.kind {
		case workloads.FailCrash:
			g.down++
			if g.down == 1 {
				m.gwCrash(now, f.ep)
			}
		case workloads.FailHang:
			g.hung++
		case workloads.FailSlow:
			g.factor *= f.factor
		}
		return
	}
	s := &m.srv[f.ep]
	old := s.rate()
	switch f.kind {
	case workloads.FailCrash:
		s.down++
		if s.down == 1 {
			m.crash(now, f.ep)
		}
		return
	case workloads.FailHang:
		s.hung++
	case workloads.FailSlow:
		if f.factor > 0 {
			s.factor *= f.factor
		}
		s.latency += f.latency
	case workloads.FailErrors:
		s.errFail = append(s.errFail, f.rate)
		return
	}
	s.updateRate()
	m.rateChanged(now, f.ep, old)
}

func (m *model) failEnd(now time.Duration, i int) {
	f := &m.fails[i]
	if f.gw {
		g := &m.gw.inst[f.ep]
		switch f.kind {
		case workloads.FailCrash:
			g.down--
		case workloads.FailHang:
			g.hung--
		case workloads.FailSlow:
			g.factor /= f.factor
		}
		m.gwRateChanged(now, f.ep)
		return
	}
	s := &m.srv[f.ep]
	old := s.rate()
	switch f.kind {
	case workloads.FailCrash:
		s.down--
		return
	case workloads.FailHang:
		s.hung--
	case workloads.FailSlow:
		if f.factor > 0 {
			s.factor /= f.factor
		}
		s.latency -= f.latency
	case workloads.FailErrors:
		for k, r := range s.errFail {
			if r == f.rate {
				s.errFail = append(s.errFail[:k], s.errFail[k+1:]...)
				break
			}
		}
		return
	}
	s.updateRate()
	m.rateChanged(now, f.ep, old)
}

// runProbe is one active health check of endpoint ep. The probe travels to
// the server and sees its state: a crashed server refuses it at once; a
// hung one, or one whose answers are delayed beyond the probe timeout,
// fails it when the timeout expires; otherwise it succeeds (a health
// endpoint costs no worker time).
func (m *model) runProbe(now time.Duration, ep int) {
	a := m.probe
	s := &m.srv[ep]
	switch {
	case s.down > 0:
		m.probeResult(now, ep, false)
	case s.hung > 0 || s.latency >= a.Timeout.D():
		m.eng.Schedule(now+a.Timeout.D(), m.h, evProbeFail, int64(ep))
	default:
		m.probeResult(now, ep, true)
	}
	if next := now + a.Interval.D(); next < m.end {
		m.eng.Schedule(next, m.h, evProbe, int64(ep))
	}
}
