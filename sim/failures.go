package sim

import (
	"time"

	"github.com/edgelab/edgelab/plan"
)

// planFailures schedules the start and end of every failure window of
// the run (plan.Failures) and the active health probes.
func (m *model) planFailures(rep int) {
	m.fails = plan.Failures(m.sc, rep, m.end)
	for i := range m.fails {
		f := &m.fails[i]
		if !f.Gateway {
			m.srv[f.Target].tracked = true
		}
		m.eng.Schedule(f.Start, m.h, evFailStart, int64(i))
		if f.End >= 0 {
			m.eng.Schedule(f.End, m.h, evFailEnd, int64(i))
		}
	}
	m.windows = plan.Windows(m.fails, m.end)
	if g := m.sc.Gateway; g != nil && g.Health != nil {
		for i := 0; i < g.Instances; i++ {
			m.eng.Schedule(g.Health.Interval.D()*time.Duration(i)/time.Duration(g.Instances), m.h, evGwProbe, int64(i))
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

// failStart starts failure i: its instance's condition changes, and the
// instance acts on the change (plan.Condition says how).
func (m *model) failStart(now time.Duration, i int) {
	f := &m.fails[i]
	if f.Gateway {
		g := &m.gw.inst[f.Target]
		old := g.rate()
		switch g.Start(f) {
		case plan.Crashed:
			m.gwCrash(now, f.Target)
		case plan.RateChanged:
			m.gwRateChanged(now, f.Target, old)
		}
		return
	}
	s := &m.srv[f.Target]
	old := s.rate()
	switch s.Start(f) {
	case plan.Crashed:
		m.crash(now, f.Target)
	case plan.RateChanged:
		s.updateRate()
		m.rateChanged(now, f.Target, old)
	}
}

// failEnd ends failure i.
func (m *model) failEnd(now time.Duration, i int) {
	f := &m.fails[i]
	if f.Gateway {
		g := &m.gw.inst[f.Target]
		old := g.rate()
		if g.End(f) == plan.RateChanged {
			m.gwRateChanged(now, f.Target, old)
		}
		return
	}
	s := &m.srv[f.Target]
	old := s.rate()
	if s.End(f) == plan.RateChanged {
		s.updateRate()
		m.rateChanged(now, f.Target, old)
	}
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
	case s.Down > 0:
		m.probeResult(now, ep, false)
	case s.Hung > 0 || s.Latency >= a.Timeout.D():
		m.eng.Schedule(now+a.Timeout.D(), m.h, evProbeFail, int64(ep))
	default:
		m.probeResult(now, ep, true)
	}
	if next := now + a.Interval.D(); next < m.end {
		m.eng.Schedule(next, m.h, evProbe, int64(ep))
	}
}
