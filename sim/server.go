package sim

import (
	"time"

	"github.com/edgelab/edgelab/plan"
	"github.com/edgelab/edgelab/reports"
	"github.com/edgelab/edgelab/strategies"
)

// server is one instance with c workers and a FIFO or PS queue. Fields
// every request touches come first, to share cache lines.
type server struct {
	busy     int // FIFO: workers busy
	conc     int
	queueCap int         // -1: unbounded
	effRate  float64     // cached rate(): work per ns of one busy worker
	fifo     ring[int32] // FIFO: waiting attempts
	busyAvg  reports.TimeAverage
	queueAvg reports.TimeAverage
	sent     int64
	// Condition is what active failures do to the server: crashes,
	// hangs, slow factors, added latency, error rates.
	plan.Condition
	errors   float64 // own probability that an answer is a 5xx
	epoch    uint32  // bumped by a crash: the connections to it close
	group    int
	ps       bool
	tracked  bool // FIFO: keep inSvc (the server has failures)
	inactive bool // an autoscaler's spare slot, not serving

	id    string
	speed float64
	inSvc []int32 // FIFO: attempts in service
	// delivering holds served attempts whose answers a slow failure's
	// added latency still holds back; a crash resets them too.
	delivering []int32
	jobs       tagHeap      // PS: attempts by finish tag
	share      plan.Sharing // PS: the work every present job has received
	psGen      uint32

	finalUtil float64
	finalQ    float64
}

// rate is the work done per nanosecond by one busy worker (0 when hung).
func (s *server) rate() float64 { return s.effRate }

// updateRate recomputes the cached rate after a failure changed it.
func (s *server) updateRate() { s.effRate = s.Condition.Rate(s.speed) }

// arrive hands attempt ai to server ep.
func (m *model) arrive(now time.Duration, ep int, ai int32) {
	s := &m.srv[ep]
	if s.Down > 0 {
		m.attemptDone(now, ai, strategies.ConnectFail) // connection refused
		return
	}
	if s.ps {
		m.psArrive(now, ep, ai)
	} else {
		m.fifoArrive(now, ep, ai)
	}
}

func (m *model) startService(now time.Duration, s *server, ai int32) {
	a := &m.atts[ai]
	if s.tracked {
		a.pos = int32(len(s.inSvc))
		a.upd = now
		s.inSvc = append(s.inSvc, ai)
	}
	if r := s.effRate; r > 0 {
		m.eng.Schedule(now+dur(a.work/r), m.h, evDeparture, pack(ai, a.dgen))
	}
}

func (m *model) fifoArrive(now time.Duration, ep int, ai int32) {
	s := &m.srv[ep]
	if s.busy < s.conc {
		s.busy++
		s.busyAvg.Set(now, float64(s.busy))
		m.startService(now, s, ai)
		return
	}
	if s.queueCap >= 0 && s.fifo.len() >= s.queueCap {
		m.attemptDone(now, ai, strategies.QueueFull)
		return
	}
	s.fifo.push(ai)
	s.queueAvg.Set(now, float64(s.fifo.len()))
}

// leaveService removes attempt ai from its server's in-service list.
func (s *server) leaveService(m *model, ai int32) {
	pos := m.atts[ai].pos
	last := s.inSvc[len(s.inSvc)-1]
	s.inSvc[pos] = last
	m.atts[last].pos = pos
	s.inSvc = s.inSvc[:len(s.inSvc)-1]
	m.atts[ai].pos = -1
}

func (m *model) fifoDone(now time.Duration, ai int32) {
	ep := int(m.atts[ai].ep)
	s := &m.srv[ep]
	if s.tracked {
		s.leaveService(m, ai)
	}
	if s.fifo.len() > 0 {
		next := s.fifo.pop()
		s.queueAvg.Set(now, float64(s.fifo.len()))
		m.startService(now, s, next)
	} else {
		s.busy--
		s.busyAvg.Set(now, float64(s.busy))
	}
	if s.Latency > 0 || !m.direct {
		m.served(now, s, ai)
		return
	}
	// served and attemptDone's direct path, inline.
	o := strategies.OK
	if s.errors != 0 || len(s.Errors) != 0 {
		o = m.answer(s, ai)
	}
	m.directDone(now, ai, o)
}

// served answers attempt ai, after the server's added latency if any.
func (m *model) served(now time.Duration, s *server, ai int32) {
	if s.Latency > 0 {
		s.delivering = append(s.delivering, ai)
		m.eng.Schedule(now+s.Latency, m.h, evDeliver, pack(ai, m.atts[ai].gen))
		return
	}
	m.attemptDone(now, ai, m.answer(s, ai))
}

func (m *model) deliver(now time.Duration, ai int32) {
	s := &m.srv[m.atts[ai].ep]
	for k, d := range s.delivering {
		if d == ai {
			s.delivering = append(s.delivering[:k], s.delivering[k+1:]...)
			break
		}
	}
	m.attemptDone(now, ai, m.answer(s, ai))
}

// rateChanged re-plans the work in service after the server's rate changed
// from old: progress so far is booked at the old rate, and departures are
// rescheduled at the new one (none while hung).
func (m *model) rateChanged(now time.Duration, ep int, old float64) {
	s := &m.srv[ep]
	if s.ps {
		s.psAdvanceAt(now, old)
		m.psSchedule(now, ep)
		return
	}
	r := s.rate()
	for _, ai := range s.inSvc {
		a := &m.atts[ai]
		a.work = max(0, a.work-old*float64(now-a.upd))
		a.upd = now
		a.dgen++
		if r > 0 {
			m.eng.Schedule(now+dur(a.work/r), m.h, evDeparture, pack(ai, a.dgen))
		}
	}
}

// crash fails every attempt at server ep (connections reset) and empties it.
func (m *model) crash(now time.Duration, ep int) {
	s := &m.srv[ep]
	s.epoch++ // its connections are gone
	var lost []int32
	if s.ps {
		lost = append(lost, s.jobs.att...)
		s.jobs.tag, s.jobs.att = s.jobs.tag[:0], s.jobs.att[:0]
		s.psGen++
	} else {
		lost = append(lost, s.inSvc...)
		for s.fifo.len() > 0 {
			lost = append(lost, s.fifo.pop())
		}
		s.inSvc = s.inSvc[:0]
		s.busy = 0
	}
	lost = append(lost, s.delivering...)
	s.delivering = s.delivering[:0]
	s.busyAvg.Set(now, 0)
	s.queueAvg.Set(now, 0)
	for _, ai := range lost {
		m.atts[ai].dgen++
		m.atts[ai].pos = -1
		m.attemptDone(now, ai, strategies.ConnectFail)
	}
}

// Processor sharing (plan.Sharing): n jobs share the server's c workers,
// each progressing at rate·min(1, c/n).

func (s *server) psAdvanceAt(now time.Duration, rate float64) {
	s.share.Advance(now, s.jobs.len(), s.conc, rate)
}

func (s *server) psAdvance(now time.Duration) { s.psAdvanceAt(now, s.rate()) }

func (m *model) psSchedule(now time.Duration, si int) {
	s := &m.srv[si]
	s.psGen++
	n := s.jobs.len()
	s.busyAvg.Set(now, float64(min(n, s.conc)))
	s.queueAvg.Set(now, float64(max(0, n-s.conc)))
	r := plan.Share(n, s.conc, s.rate())
	if n == 0 || r <= 0 {
		return
	}
	tag, _ := s.jobs.min()
	m.eng.Schedule(now+dur((tag-s.share.V)/r), m.h, evPSDone, pack(int32(si), s.psGen))
}

func (m *model) psArrive(now time.Duration, ep int, ai int32) {
	s := &m.srv[ep]
	if s.queueCap >= 0 && s.jobs.len() >= s.conc+s.queueCap {
		m.attemptDone(now, ai, strategies.QueueFull)
		return
	}
	s.psAdvance(now)
	s.jobs.push(s.share.V+m.atts[ai].work, ai)
	m.psSchedule(now, ep)
}

func (m *model) psDone(now time.Duration, si int) {
	s := &m.srv[si]
	s.psAdvance(now)
	tag, ai := s.jobs.min()
	s.jobs.popMin()
	s.share.V = tag // absorb rounding: the job left exactly when v reached its tag
	m.psSchedule(now, si)
	m.served(now, s, ai)
}

// signal is what server ep reports about itself: its true state now
// (plan.Condition.Signal). A spare slot not yet started answers nothing.
func (m *model) signal(ep int) strategies.Signal {
	s := &m.srv[ep]
	if s.inactive {
		return plan.DownSignal
	}
	inFlight, busy := s.busy+s.fifo.len(), s.busy
	if s.ps {
		n := s.jobs.len()
		inFlight, busy = n, min(n, s.conc)
	}
	return s.Signal(inFlight+len(s.delivering), busy, s.conc, s.speed, m.meanDemand[s.group])
}
