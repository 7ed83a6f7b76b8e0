package sim

import (
	"time"

	"github.com/edgelab/edgelab/plan"
	"github.com/edgelab/edgelab/strategies"
	"github.com/edgelab/edgelab/workloads"
)

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
	// orphan: the client gave up, the balancer goes on
	// (balancer.ignore_client_abort); nothing more is counted for it.
	orphan bool
	// 64 bytes: one cache line. Gateway times live in gatewayTier.times.
}

// retryTarget is where a request's pending retry goes (same_host only):
// the endpoint that failed, and whether to go back to it or elsewhere.
type retryTarget struct {
	local int32
	route plan.RetryRoute
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
		if m.retryOn.Avoids() {
			m.avoid = append(m.avoid, strategies.Avoid{})
		}
		if m.retry.SameHost {
			m.retryTo = append(m.retryTo, retryTarget{})
		}
		for range m.nGrp {
			m.demands = append(m.demands, 0)
		}
	}
	r := &m.reqs[ri]
	m.serial++
	*r = request{created: now, serial: m.serial, gen: r.gen, client: client,
		measured: now >= m.start, alive: true, group: -1, gwi: -1}
	if m.trace {
		r.key = m.tr.Key
	} else if m.keys != nil {
		r.key = m.keys.Key()
	}
	if m.retryOn.Avoids() {
		m.avoid[ri].Reset()
	}
	if m.retry.SameHost {
		m.retryTo[ri] = retryTarget{}
	}
	if m.gw != nil {
		m.drawRoute(r)
	}
	if m.log != nil {
		m.logStart(ri)
	}
	if m.curK < len(m.series.Offered) {
		m.series.Offered[m.curK]++
	}
	base := int(ri) * m.nGrp
	for g, d := range m.demand {
		m.demands[base+g] = d.Sample()
		if m.trace && m.traceDemand[g] && m.tr.Service >= 0 {
			m.demands[base+g] = float64(m.tr.Service)
		}
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
	req := strategies.Request{Key: uint64(r.key), Client: uint64(r.client)}
	var local int
	var ok bool
	var to retryTarget
	if m.retryTo != nil {
		to, m.retryTo[ri] = m.retryTo[ri], retryTarget{}
	}
	switch {
	case to.route == plan.SameHost:
		local, ok = int(to.local), true
		m.pools[r.pool].Take(now, local)
	case to.route == plan.Elsewhere:
		m.scratch.Reset()
		m.scratch.Add(int(to.local))
		local, ok = m.pools[r.pool].PickAvoiding(now, req, &m.scratch, false)
	case m.retryOn.Avoids():
		local, ok = m.pools[r.pool].PickAvoiding(now, req, &m.avoid[ri], m.retryOn.Strict())
		if ok {
			m.avoid[ri].Add(local)
		}
	default:
		local, ok = m.pools[r.pool].Pick(now, req)
	}
	if !ok {
		if retry && m.budget != nil {
			m.budget.EndRetry()
		}
		m.attemptFailed(now, ri, r.gen, -1, plan.NoUpstream)
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
	if r.tries == 0 || m.trace && m.traceDemand[s.group] {
		// A trace's demand is the request's own: its retries take it too.
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
	if m.up != nil {
		m.upSend(now, ep, ai)
		return
	}
	m.arrive(now, ep, ai)
}

// answer decides the status of a served attempt: 5xx with the server's
// error probability (its own and any errors failure), from the same dice
// for every strategy (plan.Condition.AnswersError).
func (m *model) answer(s *server, ai int32) strategies.Outcome {
	a := &m.atts[ai]
	if s.AnswersError(s.errors, m.errKey, a.serial, uint64(a.no)) {
		return strategies.Error5xx
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
		if m.log != nil && m.reqs[ri].gen == reqGen {
			m.logAnswer(now, ai, o)
		}
		if m.up != nil {
			m.upAnswered(ai, o)
		}
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
	m.attemptFailed(now, ri, reqGen, a.local, plan.FromAttempt(o))
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
func (m *model) attemptFailed(now time.Duration, ri int32, reqGen uint32, local int32, o plan.Outcome) {
	r := &m.reqs[ri]
	if r.gen != reqGen || r.nLive > 0 {
		return
	}
	if int(r.retries) < m.retry.Max && m.retryOn.Retries(o) {
		tried := 0
		if m.retryOn.Avoids() {
			tried = m.avoid[ri].Tried()
		}
		step := m.retryOn.Step(int(r.retries)+1, m.pools[r.pool], int(local), tried, now-r.created)
		if step.Route != plan.Stop && (m.budget == nil || m.budget.TryRetry()) {
			wait := step.Wait
			if step.Backoff {
				wait = strategies.Backoff(m.retry.Backoff.D(), m.retry.MaxBackoff.D(), int(r.retries), m.retryR)
			}
			if m.retryTo != nil {
				m.retryTo[ri] = retryTarget{local: local, route: step.Route}
			}
			r.retries++
			r.pending = m.budget != nil
			m.eng.Schedule(now+wait, m.h, evRetry, pack(ri, r.gen))
			return
		}
	}
	m.finish(now, ri, o)
}

// clientGaveUp ends request ri for its client at its timeout. Normally
// the request is dropped and its attempts abandoned; with
// balancer.ignore_client_abort the balancer goes on with it (it becomes
// an orphan): the client counts its timeout now and moves on, and the
// request's attempts, retries and hedges run their course unseen.
func (m *model) clientGaveUp(now time.Duration, ri int32) {
	r := &m.reqs[ri]
	if !m.keepAbandoned || r.orphan || m.conn != nil && m.conn.waiting(ri) {
		// (A request whose connection was never accepted is gone with
		// its client: no balancer has it to go on with.)
		m.abandonAll(now, ri, strategies.Timeout)
		m.finish(now, ri, plan.Timeout)
		return
	}
	m.account(now, r.created, r.measured, plan.Timeout)
	if m.log != nil {
		m.logFinish(now, ri, plan.Timeout)
	}
	if r.gwi >= 0 {
		m.gwFinish(now, ri, plan.Timeout)
	}
	r.orphan = true
	m.thinkAgain(now, r.created, r.client)
}

// finish completes request ri for the client and recycles it (an orphan
// is recycled only: its client has counted it already).
func (m *model) finish(now time.Duration, ri int32, o plan.Outcome) {
	r := &m.reqs[ri]
	if r.orphan {
		if m.budget != nil {
			if r.pending {
				m.budget.EndRetry()
				r.pending = false
			}
			m.budget.EndRequest()
		}
		r.alive = false
		r.gen++
		m.freeReq = append(m.freeReq, ri)
		return
	}
	m.account(now, r.created, r.measured, o)
	if m.log != nil {
		m.logFinish(now, ri, o)
	}
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
	client, created := r.client, r.created
	r.alive = false
	r.gen++
	m.freeReq = append(m.freeReq, ri)
	m.thinkAgain(now, created, client)
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

// MinResend is the least time a closed-loop user takes to send again after
// a request that ended at the instant it was sent (refused by a full
// queue, a crashed instance or no eligible endpoint) when its think time
// is zero: a real client pays at least a round trip per request. Without
// it, such a user would send again at the same instant forever and
// virtual time would stop.
const MinResend = time.Millisecond

// thinkAgain schedules the next request of closed-loop client, whose last
// request was created at created and ended now.
func (m *model) thinkAgain(now, created time.Duration, client int32) {
	if m.think != nil && m.open {
		d := dur(m.think.Sample())
		if d <= 0 && now == created {
			d = MinResend
		}
		m.eng.Schedule(now+d, m.h, evThinkDone, int64(client))
	}
}
