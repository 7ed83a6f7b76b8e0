package sim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/edgelab/edgelab/engine"
	"github.com/edgelab/edgelab/reports"
	"github.com/edgelab/edgelab/strategies"
	"github.com/edgelab/edgelab/workloads"
)

// Event kinds (the engine's first argument).
const (
	evArrival   = iota // open loop: the next request arrives
	evThinkDone        // closed loop: user b sends its next request
	evDeparture        // FIFO: attempt b (index | gen<<32) finishes service
	evPSDone           // PS: server b (index | gen<<32) finishes its next job
	evTimeout          // request b (index | gen<<32) times out
	evWarmupEnd        // statistics start
	evEnd              // arrivals stop; in-flight requests drain
)

func pack(idx int32, gen uint32) int64 { return int64(uint64(uint32(idx)) | uint64(gen)<<32) }

func unpack(b int64) (int32, uint32) { return int32(uint32(uint64(b))), uint32(uint64(b) >> 32) }

// request is a client request. Its demand, key, client and error draw are
// fixed when it is created (common random numbers across strategies).
type request struct {
	created  time.Duration
	errU     float64
	key      uint32
	client   int32
	gen      uint32
	measured bool
	att      int32 // current attempt
	attGen   uint32
}

// attempt is one try of a request at one server instance.
type attempt struct {
	req       int32
	reqGen    uint32
	ep        int32
	gen       uint32
	sent      time.Duration
	work      float64 // remaining demand at speed 1, ns (FIFO: whole demand)
	abandoned bool    // the client gave up; the server does not know
}

// server is one instance with c workers and a FIFO or PS queue.
type server struct {
	id       string
	group    int
	conc     int
	queueCap int // -1: unbounded
	ps       bool
	speed    float64
	errors   float64

	busy  int  // FIFO: workers busy
	fifo  ring // FIFO: waiting attempts
	jobs  tagHeap
	v     float64 // PS: work done per job so far (ns at speed 1)
	vLast time.Duration
	psGen uint32

	sent      int64
	busyAvg   reports.TimeAverage
	queueAvg  reports.TimeAverage
	finalUtil float64
	finalQ    float64
}

// model is one replication of one strategy.
type model struct {
	sc    *workloads.Scenario
	eng   *engine.Sim
	h     engine.HandlerID
	pool  *strategies.Pool
	srv   []server
	nGrp  int
	start time.Duration // end of warm-up
	end   time.Duration // end of measurement
	open  bool          // arrivals still allowed

	interarrival workloads.Sampler
	think        workloads.Sampler
	demand       []workloads.Sampler  // per group
	keys         workloads.KeySampler // nil when nothing reads keys
	clientR      *rand.Rand           // nil when nothing reads client identities
	errR         *rand.Rand
	timeout      time.Duration

	reqs    []request
	demands []float64 // per request and group
	freeReq []int32
	atts    []attempt
	freeAtt []int32

	lat      *reports.LatencyRecorder
	outcomes reports.Outcomes
	attempts int64
}

func newModel(sc *workloads.Scenario, strategy string, rep int) (*model, error) {
	seed := sc.Seed
	bal, err := strategies.New(strategy, engine.Stream(seed, rep, "balancer"))
	if err != nil {
		return nil, err
	}
	m := &model{
		sc:      sc,
		eng:     engine.New(1024),
		start:   sc.Warmup.D(),
		end:     sc.Warmup.D() + sc.Duration.D(),
		open:    true,
		nGrp:    len(sc.Servers),
		timeout: sc.Clients.Timeout.D(),
		lat:     reports.NewLatencyRecorder(),
	}
	a := &sc.Clients.Arrival
	if a.Process == workloads.ProcessClosed {
		m.think = a.ThinkSampler(engine.Source(seed, rep, "think"))
	} else {
		m.interarrival = a.Interarrival(engine.Source(seed, rep, "arrivals"))
	}
	var names []string
	var weights []float64
	for gi := range sc.Servers {
		g := &sc.Servers[gi]
		m.demand = append(m.demand, g.Service.Sampler(engine.Source(seed, rep, "demand/"+g.Name)))
		qc := -1
		if g.Queue != nil {
			qc = *g.Queue
		}
		for i := 0; i < g.Count; i++ {
			id := fmt.Sprintf("%s-%d", g.Name, i)
			m.srv = append(m.srv, server{
				id: id, group: gi, conc: g.Concurrency, queueCap: qc,
				ps: g.Discipline == workloads.DisciplinePS, speed: g.Speed.At(i, 1), errors: g.Errors,
			})
			names = append(names, id)
			weights = append(weights, g.Weight.At(i, 1))
		}
	}
	m.pool = strategies.NewPool(bal, names, weights)
	m.h = m.eng.Register(m)
	if ra, ok := bal.(strategies.RequestAware); ok && ra.UsesRequest() {
		m.keys = sc.Clients.Keys.KeySampler(engine.Stream(seed, rep, "keys"))
		m.clientR = engine.Stream(seed, rep, "clients")
	}
	for _, g := range sc.Servers {
		if g.Errors > 0 {
			// The error draw has a stream of its own, so drawing it only
			// when some server can fail shifts no other component's numbers.
			m.errR = engine.Stream(seed, rep, "errors")
		}
	}
	return m, nil
}

// Handle implements engine.Handler.
func (m *model) Handle(now time.Duration, kind int32, b int64) {
	switch kind {
	case evArrival:
		if !m.open {
			return
		}
		client := int32(0)
		if m.clientR != nil {
			client = int32(m.clientR.IntN(m.sc.Clients.Count))
		}
		m.newRequest(now, client)
		m.eng.Schedule(now+dur(m.interarrival.Sample()), m.h, evArrival, 0)
	case evThinkDone:
		if m.open {
			m.newRequest(now, int32(b))
		}
	case evDeparture:
		ai, gen := unpack(b)
		if m.atts[ai].gen == gen {
			m.fifoDone(now, ai)
		}
	case evPSDone:
		si, gen := unpack(b)
		if m.srv[si].psGen == gen {
			m.psDone(now, int(si))
		}
	case evTimeout:
		ri, gen := unpack(b)
		if m.reqs[ri].gen == gen {
			m.timeoutRequest(now, ri)
		}
	case evWarmupEnd:
		m.lat.Reset()
		m.outcomes, m.attempts = reports.Outcomes{}, 0
		for i := range m.srv {
			s := &m.srv[i]
			s.sent = 0
			s.busyAvg.Set(now, s.busyAvg.Value())
			s.busyAvg.Restart(now)
			s.queueAvg.Set(now, s.queueAvg.Value())
			s.queueAvg.Restart(now)
		}
	case evEnd:
		m.open = false
		m.snapshotServers(now)
	}
}

func dur(ns float64) time.Duration {
	if !(ns > 0) { // also catches NaN
		return 0
	}
	if ns > float64(math.MaxInt64/4) {
		return math.MaxInt64 / 4
	}
	return time.Duration(ns + 0.5)
}

func (m *model) snapshotServers(now time.Duration) {
	for i := range m.srv {
		s := &m.srv[i]
		s.finalUtil = s.busyAvg.Mean(now) / float64(s.conc)
		s.finalQ = s.queueAvg.Mean(now)
	}
}

// newRequest creates a request: every random property is drawn here, in a
// fixed order, so all strategies see the same requests.
func (m *model) newRequest(now time.Duration, client int32) {
	var ri int32
	if n := len(m.freeReq); n > 0 {
		ri = m.freeReq[n-1]
		m.freeReq = m.freeReq[:n-1]
	} else {
		ri = int32(len(m.reqs))
		m.reqs = append(m.reqs, request{})
		for range m.nGrp {
			m.demands = append(m.demands, 0)
		}
	}
	r := &m.reqs[ri]
	r.created = now
	r.client = client
	if m.keys != nil {
		r.key = m.keys.Key()
	}
	if m.errR != nil {
		r.errU = m.errR.Float64()
	}
	r.measured = now >= m.start
	base := int(ri) * m.nGrp
	for g, d := range m.demand {
		m.demands[base+g] = d.Sample()
	}
	if m.timeout > 0 {
		m.eng.Schedule(now+m.timeout, m.h, evTimeout, pack(ri, r.gen))
	}
	m.send(now, ri)
}

// send routes a new attempt of request ri through the balancer.
func (m *model) send(now time.Duration, ri int32) {
	r := &m.reqs[ri]
	ep, ok := m.pool.Pick(now, strategies.Request{Key: uint64(r.key), Client: uint64(r.client)})
	if !ok {
		m.finish(now, ri, outNoUpstream)
		return
	}
	if r.measured {
		m.attempts++
	}
	s := &m.srv[ep]
	var ai int32
	if n := len(m.freeAtt); n > 0 {
		ai = m.freeAtt[n-1]
		m.freeAtt = m.freeAtt[:n-1]
	} else {
		ai = int32(len(m.atts))
		m.atts = append(m.atts, attempt{})
	}
	a := &m.atts[ai]
	a.req, a.reqGen, a.ep, a.sent = ri, r.gen, int32(ep), now
	a.work = m.demands[int(ri)*m.nGrp+s.group]
	a.abandoned = false
	r.att, r.attGen = ai, a.gen
	if now >= m.start && now < m.end {
		s.sent++
	}
	if s.ps {
		m.psArrive(now, ep, ai)
	} else {
		m.fifoArrive(now, ep, ai)
	}
}

func (m *model) fifoArrive(now time.Duration, ep int, ai int32) {
	s := &m.srv[ep]
	if s.busy < s.conc {
		s.busy++
		s.busyAvg.Set(now, float64(s.busy))
		m.eng.Schedule(now+dur(m.atts[ai].work/s.speed), m.h, evDeparture, pack(ai, m.atts[ai].gen))
		return
	}
	if s.queueCap >= 0 && s.fifo.len() >= s.queueCap {
		m.attemptDone(now, ai, strategies.QueueFull)
		return
	}
	s.fifo.push(ai)
	s.queueAvg.Set(now, float64(s.fifo.len()))
}

func (m *model) fifoDone(now time.Duration, ai int32) {
	s := &m.srv[m.atts[ai].ep]
	m.attemptDone(now, ai, m.served(s, ai))
	if s.fifo.len() > 0 {
		next := s.fifo.pop()
		s.queueAvg.Set(now, float64(s.fifo.len()))
		m.eng.Schedule(now+dur(m.atts[next].work/s.speed), m.h, evDeparture, pack(next, m.atts[next].gen))
		return
	}
	s.busy--
	s.busyAvg.Set(now, float64(s.busy))
}

// served decides the answer of a served attempt: 5xx with the server's
// error probability, using the request's pre-drawn uniform.
func (m *model) served(s *server, ai int32) strategies.Outcome {
	a := &m.atts[ai]
	if s.errors > 0 {
		r := &m.reqs[a.req]
		if r.gen == a.reqGen && r.errU < s.errors {
			return strategies.Error5xx
		}
	}
	return strategies.OK
}

// Processor sharing: n jobs share the server's c workers, each progressing
// at speed·min(1, c/n). v is the work every job present has received; a
// job arriving when v = v0 with demand d leaves when v reaches v0 + d.

func (s *server) psRate() float64 {
	n := s.jobs.len()
	if n <= s.conc {
		return s.speed
	}
	return s.speed * float64(s.conc) / float64(n)
}

func (s *server) psAdvance(now time.Duration) {
	if s.jobs.len() > 0 {
		s.v += s.psRate() * float64(now-s.vLast)
	}
	s.vLast = now
}

func (m *model) psSchedule(now time.Duration, si int) {
	s := &m.srv[si]
	s.psGen++
	n := s.jobs.len()
	s.busyAvg.Set(now, float64(min(n, s.conc)))
	s.queueAvg.Set(now, float64(max(0, n-s.conc)))
	if n == 0 {
		return
	}
	tag, _ := s.jobs.min()
	m.eng.Schedule(now+dur((tag-s.v)/s.psRate()), m.h, evPSDone, pack(int32(si), s.psGen))
}

func (m *model) psArrive(now time.Duration, ep int, ai int32) {
	s := &m.srv[ep]
	if s.queueCap >= 0 && s.jobs.len() >= s.conc+s.queueCap {
		m.attemptDone(now, ai, strategies.QueueFull)
		return
	}
	s.psAdvance(now)
	s.jobs.push(s.v+m.atts[ai].work, ai)
	m.psSchedule(now, ep)
}

func (m *model) psDone(now time.Duration, si int) {
	s := &m.srv[si]
	s.psAdvance(now)
	tag, ai := s.jobs.min()
	s.jobs.popMin()
	s.v = tag // absorb rounding: the job left exactly when v reached its tag
	m.attemptDone(now, ai, m.served(s, ai))
	m.psSchedule(now, si)
}

// attemptDone ends an attempt at the server; the client learns the outcome
// unless it has already given up.
func (m *model) attemptDone(now time.Duration, ai int32, o strategies.Outcome) {
	a := &m.atts[ai]
	ri, reqGen, abandoned, ep, sent := a.req, a.reqGen, a.abandoned, int(a.ep), a.sent
	a.gen++
	m.freeAtt = append(m.freeAtt, ai)
	if abandoned {
		return
	}
	m.pool.Done(now, ep, now-sent, o)
	if m.reqs[ri].gen != reqGen {
		return
	}
	m.finish(now, ri, fromStrategy(o))
}

func (m *model) timeoutRequest(now time.Duration, ri int32) {
	r := &m.reqs[ri]
	a := &m.atts[r.att]
	if a.gen == r.attGen && !a.abandoned {
		a.abandoned = true
		m.pool.Done(now, int(a.ep), now-a.sent, strategies.Timeout)
	}
	m.finish(now, ri, outTimeout)
}

type outcome uint8

const (
	outOK outcome = iota
	out5xx
	outTimeout
	outQueueFull
	outNoUpstream
	outConnect
)

func fromStrategy(o strategies.Outcome) outcome {
	switch o {
	case strategies.OK:
		return outOK
	case strategies.Error5xx:
		return out5xx
	case strategies.Timeout:
		return outTimeout
	case strategies.QueueFull:
		return outQueueFull
	}
	return outConnect
}

// finish completes request ri for the client and recycles it.
func (m *model) finish(now time.Duration, ri int32, o outcome) {
	r := &m.reqs[ri]
	if r.measured {
		switch o {
		case outOK:
			m.outcomes.OK++
			m.lat.Record(now - r.created)
		case out5xx:
			m.outcomes.Error5xx++
		case outTimeout:
			m.outcomes.Timeout++
		case outQueueFull:
			m.outcomes.QueueFull++
		case outNoUpstream, outConnect:
			m.outcomes.NoUpstream++
		}
	}
	client := r.client
	r.gen++
	m.freeReq = append(m.freeReq, ri)
	if m.think != nil && m.open {
		m.eng.Schedule(now+dur(m.think.Sample()), m.h, evThinkDone, int64(client))
	}
}
