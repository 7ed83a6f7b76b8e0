package sim

import (
	"math"
	"math/rand/v2"
	"time"

	"github.com/edgelab/edgelab/engine"
	"github.com/edgelab/edgelab/plan"
	"github.com/edgelab/edgelab/reports"
	"github.com/edgelab/edgelab/strategies"
	"github.com/edgelab/edgelab/workloads"
)

// Event kinds (the engine's first argument).
const (
	evArrival     = iota // open loop: the next request arrives
	evThinkDone          // closed loop: user b sends its next request
	evDeparture          // FIFO: attempt b (index | dgen<<32) finishes service
	evPSDone             // PS: server b (index | gen<<32) finishes its next job
	evDeliver            // attempt b's answer reaches the client after added latency
	evTimeout            // request b (index | gen<<32) times out
	evPerTry             // attempt b's per-try timeout
	evRetry              // request b sends its next attempt after backoff
	evHedge              // request b sends a backup attempt
	evFailStart          // failure b (index into m.fails) starts
	evFailEnd            // failure b ends
	evProbe              // active health probe of endpoint b
	evProbeFail          // a probe of endpoint b timed out
	evTick               // time-series bucket b ends
	evTimers             // the head of timer queue b (an event kind) is due
	evScale              // autoscaler b decides
	evScaleUp            // autoscaler b's new instance starts serving
	evGwDone             // request b's gateway pipeline finishes
	evGwProbe            // the L4 balancer probes gateway instance b
	evGwProbeFail        // that probe timed out
	evWarmupEnd          // statistics start
	evEnd                // arrivals stop; in-flight requests drain
)

func pack(idx int32, gen uint32) int64 { return int64(uint64(uint32(idx)) | uint64(gen)<<32) }

func unpack(b int64) (int32, uint32) { return int32(uint32(uint64(b))), uint32(uint64(b) >> 32) }

// maxLive bounds the attempts of one request in flight at once: the first
// and up to three hedges.
const maxLive = 4

// request is a client request. Its demand, key and client are fixed when
// it is created (common random numbers across strategies); whether an
// attempt fails is a counter-based draw on (request serial, attempt number).
type request struct {
	// Exactly 64 bytes, so that a request is one cache line.
	created  time.Duration
	serial   uint64
	gen      uint32
	key      uint32
	client   int32
	pool     int32 // upstream pool for its attempts
	measured bool
	alive    bool
	pending  bool  // a budgeted retry waits out its backoff
	tries    uint8 // attempts sent
	retries  uint8 // retries admitted
	hedges   uint8 // backup attempts sent
	nLive    uint8
	decision uint8 // the gateway pipeline's verdict
	// live lists the attempts in flight; an attempt leaves it before its
	// slot is recycled, so entries are never stale.
	live  [maxLive]int32
	group int16 // routed server group, -1 for any
	gwi   int16 // gateway instance, -1 without a gateway
	// 64 bytes: one cache line. Gateway times live in gatewayTier.times.
}

// attempt is one try of a request at one server instance.
type attempt struct {
	req    int32 // its request; in direct mode (no request record) its client
	reqGen uint32
	ep     int32  // server
	pool   int32  // upstream pool
	local  int32  // endpoint index in the pool
	gen    uint32 // bumped when the slot is recycled
	dgen   uint32 // bumped when a scheduled departure is invalidated
	pos    int32  // FIFO: index in the server's inSvc, or -1
	sent   time.Duration
	work   float64       // remaining demand at speed 1, ns
	upd    time.Duration // FIFO in service: when work was last updated
	serial uint64        // its request's serial (for the error draw)

	no        uint8 // attempt number within its request
	retry     bool  // admitted by the retry budget
	abandoned bool  // the client gave up on it; the server does not know
}

// model is one replication of one strategy.
type model struct {
	sc  *workloads.Scenario
	eng *engine.Sim
	h   engine.HandlerID
	srv []server
	// pools are the upstream balancers: one over every server without a
	// gateway; with one, each gateway instance has its own per routed
	// group (or one over every server without routes).
	pools    []*strategies.Pool
	poolSrv  [][]int      // pool → local endpoint → server
	srvPools [][]poolRef  // server → the pools that hold it
	gw       *gatewayTier // nil without a gateway
	scalers  []*scaler
	timeouts timerQueue // client timeouts
	perTry   timerQueue // per-try timeouts
	hedges   timerQueue // hedge delays
	nGrp     int
	start    time.Duration // end of warm-up
	end      time.Duration // end of measurement
	open     bool          // arrivals still allowed

	arrivals    *workloads.ArrivalClock
	think       workloads.Sampler
	demand      []workloads.Sampler  // per group: first attempts
	extraDemand []workloads.Sampler  // per group: retries and hedges
	meanDemand  []float64            // per group, ns at speed 1 (for signals)
	keys        workloads.KeySampler // nil when nothing reads keys
	clientR     *rand.Rand           // nil when nothing reads client identities
	errKey      uint64
	retryR      *rand.Rand
	timeout     time.Duration
	retry       workloads.Retries
	hedge       workloads.Hedge
	budget      *strategies.RetryBudget // nil: retries are not budgeted
	serial      uint64

	fails   []plan.Failure
	windows []reports.FailureWindow
	probe   *workloads.ActiveHealth

	// direct is true when no feature can give a request more than one
	// attempt or end it before its attempt does (no gateway, client
	// timeout, retries or hedging): the attempt then stands for its
	// request, which gets no record of its own.
	direct  bool
	draw    []float64 // direct mode: the new request's demand per group
	reqs    []request
	demands []float64 // per request and group
	freeReq []int32
	atts    []attempt
	freeAtt []int32

	lat      *reports.LatencyRecorder
	outcomes reports.Outcomes
	attempts int64

	series    *reports.Series
	interval  time.Duration
	curK      int                      // current bucket
	bucketLat *reports.LatencyRecorder // ok latencies of the current bucket
	lastBusy  []float64                // busy integral at the last tick
}

// modelOptions tune how a model runs without changing what it computes.
type modelOptions struct {
	// general turns direct mode off where it would apply, so that tests
	// can check the direct path against the general one.
	general bool
}

// maxBuckets bounds the time series' length; longer runs get wider buckets.
const maxBuckets = 600

func newModel(sc *workloads.Scenario, strategy string, rep int, opt modelOptions) (*model, error) {
	seed := sc.Seed
	m := &model{
		sc:      sc,
		eng:     engine.New(1024),
		start:   sc.Warmup.D(),
		end:     sc.Warmup.D() + sc.Duration.D(),
		open:    true,
		nGrp:    len(sc.Servers),
		errKey:  engine.Key(seed, rep, "errors"),
		retryR:  engine.Stream(seed, rep, "retries"),
		timeout: sc.Clients.Timeout.D(),
		retry:   sc.Clients.Retries,
		hedge:   sc.Clients.Hedge,
		probe:   sc.Balancer.Health.Active,
		lat:     reports.NewLatencyRecorder(),
	}
	m.budget = plan.RetryBudget(sc)
	a := &sc.Clients.Arrival
	if a.Process == workloads.ProcessClosed {
		m.think = a.ThinkSampler(engine.Source(seed, rep, "think"))
	} else {
		m.arrivals = a.Clock(engine.Source(seed, rep, "arrivals"))
	}
	for gi := range sc.Servers {
		g := &sc.Servers[gi]
		m.demand = append(m.demand, g.Service.Sampler(engine.Source(seed, rep, "demand/"+g.Name)))
		m.extraDemand = append(m.extraDemand, g.Service.Sampler(engine.Source(seed, rep, "demand-extra/"+g.Name)))
		m.meanDemand = append(m.meanDemand, g.Service.MeanSeconds()*1e9)
	}
	servers := plan.Servers(sc)
	for _, sv := range servers {
		g := &sc.Servers[sv.Group]
		qc := -1
		if g.Queue != nil {
			qc = *g.Queue
		}
		m.srv = append(m.srv, server{
			id: sv.ID, group: sv.Group, conc: g.Concurrency, queueCap: qc,
			ps: g.Discipline == workloads.DisciplinePS, speed: sv.Speed, errors: g.Errors,
			Condition: plan.Healthy(), effRate: sv.Speed,
		})
	}
	m.h = m.eng.Register(m)
	m.timeouts.kind, m.perTry.kind, m.hedges.kind = evTimeout, evPerTry, evHedge
	needRequest, err := m.buildPools(strategy, rep, servers)
	if err != nil {
		return nil, err
	}
	if needRequest {
		m.keys = sc.Clients.Keys.KeySampler(engine.Stream(seed, rep, "keys"))
		m.clientR = engine.Stream(seed, rep, "clients")
	}
	m.direct = !opt.general && m.gw == nil && m.timeout <= 0 && m.retry.Max <= 0 && m.retry.PerTryTimeout <= 0 &&
		m.hedge.Max <= 0 && m.budget == nil && len(m.pools) == 1
	m.draw = make([]float64, m.nGrp)
	m.planFailures(rep)
	m.planAutoscale()
	m.planSeries()
	return m, nil
}

// planSeries sets up the time series and schedules the end of every bucket.
func (m *model) planSeries() {
	m.interval = reports.SeriesInterval(m.end, maxBuckets)
	buckets := int((m.end + m.interval - 1) / m.interval)
	m.series = reports.NewSeries(m.interval, buckets, len(m.srv))
	m.bucketLat = reports.NewCoarseLatencyRecorder()
	m.lastBusy = make([]float64, len(m.srv))
	// One tick is pending at a time (each schedules the next), so the
	// series adds one event to the queue, not one per bucket.
	m.eng.Schedule(min(m.interval, m.end), m.h, evTick, 0)
}

// tick closes bucket k of the time series.
func (m *model) tick(now time.Duration, k int) {
	s := m.series
	s.P50MS[k] = float64(m.bucketLat.Quantile(0.50)) / 1e6
	s.P99MS[k] = float64(m.bucketLat.Quantile(0.99)) / 1e6
	m.bucketLat.Reset()
	for _, p := range m.pools {
		p.Refresh(now)
	}
	s.Healthy[k] = m.healthyServers()
	s.Instances[k] = m.activeServers()
	width := float64(now - time.Duration(k)*m.interval)
	for i := range m.srv {
		sv := &m.srv[i]
		inflight := 0
		for _, pr := range m.srvPools[i] {
			inflight += m.pools[pr.pool].InFlight(int(pr.local))
		}
		s.InFlight[i][k] = float64(inflight)
		busy := sv.busyAvg.Integral(now)
		if width > 0 {
			s.Utilization[i][k] = roundTo((busy-m.lastBusy[i])/width/float64(sv.conc), 1e-6)
		}
		m.lastBusy[i] = busy
	}
	m.curK = k + 1
	if next := time.Duration(k+2) * m.interval; k+1 < len(s.T) {
		m.eng.Schedule(min(next, m.end), m.h, evTick, int64(k+1))
	}
}

// roundTo rounds x to a multiple of unit. The utilization series keeps
// this rounding (not reports.Round's) until its output is allowed to
// change: x/unit*unit leaves float noise such as 0.7940269999999999.
func roundTo(x, unit float64) float64 { return math.Round(x/unit) * unit }

// Handle implements engine.Handler.
func (m *model) Handle(now time.Duration, kind int32, b int64) {
	// The two events of every request first: a predictable branch is
	// cheaper than the switch's jump table.
	if kind == evDeparture {
		ai, gen := unpack(b)
		if m.atts[ai].dgen == gen {
			m.fifoDone(now, ai)
		}
		return
	}
	switch kind {
	case evArrival:
		if !m.open {
			return
		}
		// The next arrival first: it is near-term, so it takes this
		// event's place at the root of the queue cheaply.
		m.eng.Schedule(m.arrivals.Next(), m.h, evArrival, 0)
		client := int32(0)
		if m.clientR != nil {
			client = int32(m.clientR.IntN(m.sc.Clients.Count))
		}
		if m.direct {
			m.newDirect(now, client)
			return
		}
		m.newRequest(now, client)
	case evThinkDone:
		if m.open {
			m.newRequest(now, int32(b))
		}
	case evDeparture:
		ai, gen := unpack(b)
		if m.atts[ai].dgen == gen {
			m.fifoDone(now, ai)
		}
	case evPSDone:
		si, gen := unpack(b)
		if m.srv[si].psGen == gen {
			m.psDone(now, int(si))
		}
	case evDeliver:
		ai, gen := unpack(b)
		if m.atts[ai].gen == gen {
			m.deliver(now, ai)
		}
	case evTimeout:
		ri, gen := unpack(b)
		if m.reqs[ri].gen == gen {
			m.abandonAll(now, ri, strategies.Timeout)
			m.finish(now, ri, plan.Timeout)
		}
	case evPerTry:
		ai, gen := unpack(b)
		if a := &m.atts[ai]; a.gen == gen && !a.abandoned {
			m.abandon(now, ai, strategies.Timeout)
			m.attemptFailed(now, a.req, a.reqGen, plan.Timeout)
		}
	case evRetry:
		ri, gen := unpack(b)
		if r := &m.reqs[ri]; r.gen == gen {
			r.pending = false
			m.send(now, ri, m.budget != nil)
		}
	case evHedge:
		ri, gen := unpack(b)
		if r := &m.reqs[ri]; r.gen == gen && r.nLive > 0 && int(r.hedges) < m.hedge.Max {
			r.hedges++
			m.send(now, ri, false)
			if int(r.hedges) < m.hedge.Max {
				m.hedges.push(m, now+m.hedge.After.D(), ri, gen)
			}
		}
	case evFailStart:
		m.failStart(now, int(b))
	case evFailEnd:
		m.failEnd(now, int(b))
	case evProbe:
		m.runProbe(now, int(b))
	case evProbeFail:
		m.probeResult(now, int(b), false)
	case evTick:
		m.tick(now, int(b))
	case evTimers:
		switch int32(b) {
		case evTimeout:
			m.timeouts.expire(m, now)
		case evPerTry:
			m.perTry.expire(m, now)
		case evHedge:
			m.hedges.expire(m, now)
		}
	case evGwDone:
		gi, w, wgen := gwUnpack(b)
		m.gwDone(now, gi, w, wgen)
	case evScale:
		m.scale(now, int(b))
	case evScaleUp:
		m.scaleUp(now, int(b))
	case evGwProbe:
		m.gwProbe(now, int(b))
	case evGwProbeFail:
		m.gw.l4.ProbeResult(now, int(b), false)
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
		if m.gw != nil {
			for i := range m.gw.inst {
				g := &m.gw.inst[i]
				g.sent = 0
				g.busyAvg.Set(now, g.busyAvg.Value())
				g.busyAvg.Restart(now)
				g.queueAvg.Set(now, g.queueAvg.Value())
				g.queueAvg.Restart(now)
			}
		}
	case evEnd:
		m.open = false
		m.snapshotServers(now)
	}
}

// newAttempt takes an attempt record from the free list, or grows the
// table by one.
func (m *model) newAttempt() int32 {
	if n := len(m.freeAtt); n > 0 {
		ai := m.freeAtt[n-1]
		m.freeAtt = m.freeAtt[:n-1]
		return ai
	}
	m.atts = append(m.atts, attempt{})
	return int32(len(m.atts) - 1)
}

func dur(ns float64) time.Duration { return workloads.Nanos(ns) }

func (m *model) snapshotServers(now time.Duration) {
	for i := range m.srv {
		s := &m.srv[i]
		s.finalUtil = s.busyAvg.Mean(now) / float64(s.conc)
		s.finalQ = s.queueAvg.Mean(now)
	}
	if m.gw != nil {
		for i := range m.gw.inst {
			g := &m.gw.inst[i]
			g.finalUtil = g.busyAvg.Mean(now) / float64(g.conc)
			g.finalQ = g.queueAvg.Mean(now)
		}
	}
}

// newRequest creates a request: every random property is drawn here, in a
// fixed order, so all strategies see the same requests.
func (m *model) newRequest(now time.Duration, client int32) {
	if m.direct {
		m.newDirect(now, client)
		return
	}
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
	m.serial++
	*r = request{created: now, serial: m.serial, gen: r.gen, client: client,
		measured: now >= m.start, alive: true, group: -1, gwi: -1}
	if m.keys != nil {
		r.key = m.keys.Key()
	}
	if m.gw != nil {
		m.drawRoute(r)
	}
	if m.curK < len(m.series.Offered) {
		m.series.Offered[m.curK]++
	}
	base := int(ri) * m.nGrp
	for g, d := range m.demand {
		m.demands[base+g] = d.Sample()
	}
	if m.budget != nil {
		m.budget.BeginRequest()
	}
	if m.timeout > 0 {
		m.timeouts.push(m, now+m.timeout, ri, r.gen)
	}
	if m.gw != nil {
		m.toGateway(now, ri)
		return
	}
	m.send(now, ri, false)
}

// send routes a new attempt of request ri through the balancer. retry is
// true for an attempt admitted by the retry budget.
func (m *model) send(now time.Duration, ri int32, retry bool) {
	r := &m.reqs[ri]
	local, ok := m.pools[r.pool].Pick(now, strategies.Request{Key: uint64(r.key), Client: uint64(r.client)})
	if !ok {
		if retry && m.budget != nil {
			m.budget.EndRetry()
		}
		m.attemptFailed(now, ri, r.gen, plan.NoUpstream)
		return
	}
	if r.measured {
		m.attempts++
	}
	ep := m.poolSrv[r.pool][local]
	s := &m.srv[ep]
	ai := m.newAttempt()
	a := &m.atts[ai]
	a.req, a.reqGen, a.ep, a.pool, a.local, a.sent = ri, r.gen, int32(ep), r.pool, int32(local), now
	a.serial = r.serial
	if r.tries == 0 {
		a.work = m.demands[int(ri)*m.nGrp+s.group]
	} else {
		// A retry or hedge lands on another server (or the same one,
		// later) and takes an independent service time, drawn from a
		// stream of its own so that first attempts keep common random
		// numbers across strategies.
		a.work = m.extraDemand[s.group].Sample()
	}
	a.no, a.retry, a.abandoned, a.pos = r.tries, retry, false, -1
	r.tries++
	r.live[r.nLive] = ai
	r.nLive++
	if now >= m.start && now < m.end {
		s.sent++
	}
	if r.tries == 1 && m.hedge.Max > 0 {
		m.hedges.push(m, now+m.hedge.After.D(), ri, r.gen)
	}
	if m.retry.PerTryTimeout > 0 {
		m.perTry.push(m, now+m.retry.PerTryTimeout.D(), ai, a.gen)
	}
	m.arrive(now, ep, ai)
}

// answer decides the status of a served attempt: 5xx with the server's
// error probability (its own and any errors failure), from a counter-based
// draw on (request, attempt number), so every strategy sees the same dice.
func (m *model) answer(s *server, ai int32) strategies.Outcome {
	if s.errors == 0 && len(s.Errors) == 0 {
		return strategies.OK
	}
	if p := s.errorRate(); p > 0 {
		a := &m.atts[ai]
		if engine.Uniform(m.errKey, a.serial, uint64(a.no)) < p {
			return strategies.Error5xx
		}
	}
	return strategies.OK
}

// attemptDone ends an attempt at the server; the client learns the outcome
// unless it has already given up on the attempt.
func (m *model) attemptDone(now time.Duration, ai int32, o strategies.Outcome) {
	if m.direct {
		m.directDone(now, ai, o)
		return
	}
	a := &m.atts[ai]
	ri, reqGen, abandoned := a.req, a.reqGen, a.abandoned
	if !abandoned {
		m.pools[a.pool].Done(now, int(a.local), now-a.sent, o)
		m.unlink(ri, reqGen, ai)
		if a.retry && m.budget != nil {
			m.budget.EndRetry()
		}
	}
	a.gen++
	a.dgen++
	m.freeAtt = append(m.freeAtt, ai)
	if abandoned {
		return
	}
	if o == strategies.OK {
		if m.reqs[ri].gen == reqGen {
			m.abandonAll(now, ri, strategies.Cancelled)
			m.finish(now, ri, plan.OK)
		}
		return
	}
	m.attemptFailed(now, ri, reqGen, plan.FromAttempt(o))
}

// unlink removes attempt ai from its request's live list.
func (m *model) unlink(ri int32, reqGen uint32, ai int32) {
	r := &m.reqs[ri]
	if r.gen != reqGen {
		return
	}
	for k := uint8(0); k < r.nLive; k++ {
		if r.live[k] == ai {
			r.nLive--
			r.live[k] = r.live[r.nLive]
			return
		}
	}
}

// abandon gives up on a live attempt at the balancer (its in-flight count
// drops); the server still works on it.
func (m *model) abandon(now time.Duration, ai int32, o strategies.Outcome) {
	a := &m.atts[ai]
	a.abandoned = true
	m.pools[a.pool].Done(now, int(a.local), now-a.sent, o)
	m.unlink(a.req, a.reqGen, ai)
	if a.retry && m.budget != nil {
		m.budget.EndRetry()
	}
}

// abandonAll abandons every live attempt of request ri.
func (m *model) abandonAll(now time.Duration, ri int32, o strategies.Outcome) {
	r := &m.reqs[ri]
	for r.nLive > 0 {
		m.abandon(now, r.live[r.nLive-1], o) // abandon unlinks it
	}
}

// attemptFailed handles a failed attempt of request ri: wait for other live
// attempts (hedging), retry within the policy and budget, or fail the
// request with this outcome.
func (m *model) attemptFailed(now time.Duration, ri int32, reqGen uint32, o plan.Outcome) {
	r := &m.reqs[ri]
	if r.gen != reqGen || r.nLive > 0 {
		return
	}
	if int(r.retries) < m.retry.Max && o.Retriable() && (m.budget == nil || m.budget.TryRetry()) {
		backoff := strategies.Backoff(m.retry.Backoff.D(), m.retry.MaxBackoff.D(), int(r.retries), m.retryR)
		r.retries++
		r.pending = m.budget != nil
		m.eng.Schedule(now+backoff, m.h, evRetry, pack(ri, r.gen))
		return
	}
	m.finish(now, ri, o)
}

// finish completes request ri for the client and recycles it.
func (m *model) finish(now time.Duration, ri int32, o plan.Outcome) {
	r := &m.reqs[ri]
	m.account(now, r.created, r.measured, o)
	if r.gwi >= 0 {
		m.gwFinish(now, ri, o)
	}
	if m.budget != nil {
		if r.pending {
			m.budget.EndRetry()
			r.pending = false
		}
		m.budget.EndRequest()
	}
	client := r.client
	r.alive = false
	r.gen++
	m.freeReq = append(m.freeReq, ri)
	m.thinkAgain(now, client)
}

// account counts a request's outcome, in the run's statistics if it is
// measured and in the time series.
func (m *model) account(now, created time.Duration, measured bool, o plan.Outcome) {
	if measured {
		*o.Counter(&m.outcomes)++
		if o == plan.OK {
			m.lat.Record(now - created)
		}
	}
	if k := m.curK; k < len(m.series.OK) {
		o.Series(m.series)[k]++
		if o == plan.OK {
			m.bucketLat.Record(now - created)
		}
	}
}

// thinkAgain schedules a closed-loop client's next request.
func (m *model) thinkAgain(now time.Duration, client int32) {
	if m.think != nil && m.open {
		m.eng.Schedule(now+dur(m.think.Sample()), m.h, evThinkDone, int64(client))
	}
}

// newDirect is newRequest and send in direct mode: the request's only
// attempt carries what the request would (its creation time is the
// attempt's, its client is in req). Random draws and their order are
// those of newRequest and send.
func (m *model) newDirect(now time.Duration, client int32) {
	m.serial++
	var key uint32
	if m.keys != nil {
		key = m.keys.Key()
	}
	if m.curK < len(m.series.Offered) {
		m.series.Offered[m.curK]++
	}
	if len(m.demand) == 1 {
		m.draw[0] = m.demand[0].Sample()
	} else {
		for g, d := range m.demand {
			m.draw[g] = d.Sample()
		}
	}
	local, ok := m.pools[0].Pick(now, strategies.Request{Key: uint64(key), Client: uint64(client)})
	if !ok {
		m.account(now, now, now >= m.start, plan.NoUpstream)
		m.thinkAgain(now, client)
		return
	}
	measured := now >= m.start
	if measured {
		m.attempts++
	}
	ep := m.poolSrv[0][local]
	s := &m.srv[ep]
	ai := m.newAttempt()
	a := &m.atts[ai]
	a.req, a.reqGen, a.ep, a.pool, a.local, a.sent = client, 0, int32(ep), 0, int32(local), now
	a.serial, a.work, a.pos = m.serial, m.draw[s.group], -1
	a.no, a.retry, a.abandoned = 0, false, false
	if measured && now < m.end {
		s.sent++
	}
	m.arrive(now, ep, ai)
}

// directDone is attemptDone in direct mode: the attempt's end is its
// request's.
func (m *model) directDone(now time.Duration, ai int32, o strategies.Outcome) {
	a := &m.atts[ai]
	m.pools[0].Done(now, int(a.local), now-a.sent, o)
	client, created := a.req, a.sent
	a.gen++
	a.dgen++
	m.freeAtt = append(m.freeAtt, ai)
	if o == strategies.OK {
		// account's common case, inline.
		lat := now - created
		if created >= m.start {
			m.outcomes.OK++
			m.lat.Record(lat)
		}
		if k := m.curK; k < len(m.series.OK) {
			m.series.OK[k]++
			m.bucketLat.Record(lat)
		}
	} else {
		m.account(now, created, created >= m.start, plan.FromAttempt(o))
	}
	if m.think != nil {
		m.thinkAgain(now, client)
	}
}
