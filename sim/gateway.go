package sim

import (
	"errors"
	"math/rand/v2"
	"time"

	"github.com/edgelab/edgelab/engine"
	"github.com/edgelab/edgelab/plan"
	"github.com/edgelab/edgelab/reports"
	"github.com/edgelab/edgelab/strategies"
	"github.com/edgelab/edgelab/workloads"
)

// poolRef locates a server in one upstream pool.
type poolRef struct {
	pool  int32
	local int32
}

// Gateway pipeline verdicts, decided when an instance starts processing a
// request.
const (
	verdictForward  = iota // send upstream
	verdictAuth            // rejected by auth
	verdictLimited         // rejected by the rate limiter
	verdictCacheHit        // answered from the cache
)

// gatewayTier is the API-gateway tier: instances behind an L4 balancer,
// each with its own CPU (workers and queue), cache and upstream pools.
type gatewayTier struct {
	prefix   []string // per server group, the prefix of its first route
	cfg      *workloads.Gateway
	l4       *strategies.Pool
	inst     []gwInstance
	authKey  uint64
	reject   float64
	limiters []plan.StageLimiter // per stage (nil for other stages): the tier's, or each instance's
	pools    [][]int32           // instance → group → pool (group 0 when unrouted)
	routed   bool
	paths    plan.PathMix
	route    []int16 // path → group
	pathR    *rand.Rand

	stageCost []time.Duration // per stage
	stageReqs []int64         // requests that ran each stage (measured)
	queueWait time.Duration   // total wait in gateway queues (measured)
	started   int64           // measured requests a gateway worker took up
	hits      int64           // measured cache hits
	misses    int64           // measured cache misses
	gwTime    float64         // gateway time of measured ok requests, ns
	times     []time.Duration // per request slot: gateway cost, then time spent at the gateway
	hold      []time.Duration // per request slot: when a leaky bucket lets it go on (nil without one)
	arrived   []time.Duration // per request slot: when it reached its instance (after connecting, and TLS at the edge)
	okTime    float64         // response time of measured ok requests, ns
	cpu       float64         // CPU time charged to measured requests, ns
	okCount   int64           // measured ok upstream requests
}

// gwInstance is one gateway instance.
type gwInstance struct {
	id       string
	conc     int
	queueCap int
	busy     int
	fifo     ring[int64] // waiting requests, packed with their generation
	// workers hold what each worker processes; free lists the idle ones.
	// A worker's processing ends with an evGwDone event that names the
	// worker, so the worker is freed even if its request has meanwhile
	// timed out (and its slot been reused).
	workers []gwWorker
	free    []int32
	plan.Condition
	cache     *strategies.Cache
	epoch     uint32      // bumped by a crash: the connections open before are gone
	open      int         // connections open (gateway.connections)
	idle      int         // of which idle (keep-alive, between requests)
	idleLRU   ring[int64] // drain: idle spells' connections, packed with their generation, oldest first
	backlog   ring[int64] // requests whose connection waits to be accepted, packed with their generation
	cacheSize int
	cacheTTL  time.Duration

	sent      int64
	busyAvg   reports.TimeAverage
	queueAvg  reports.TimeAverage
	finalUtil float64
	finalQ    float64
}

// gwWorker is one gateway worker's current request.
type gwWorker struct {
	ri     int32
	gen    uint32        // the request's generation
	wgen   uint32        // bumped by a crash or a re-booking, so pending events are dropped
	active bool          // processing a request
	left   float64       // processing left at rate 1, ns, as of upd
	upd    time.Duration // when left was last booked
}

// gwEvent packs (instance, worker, worker generation) into an event
// argument: instances < 2^16, workers < 2^24 (validation bounds both).
func gwEvent(gi, w int, wgen uint32) int64 {
	return int64(gi)<<48 | int64(w)<<24 | int64(wgen&0xffffff)
}

func gwUnpack(b int64) (gi, w int, wgen uint32) {
	return int(b >> 48), int(b>>24) & 0xffffff, uint32(b) & 0xffffff
}

// takeWorker takes an idle worker, if any, and counts it busy.
func (g *gwInstance) takeWorker(now time.Duration) (int, bool) {
	n := len(g.free)
	if n == 0 {
		return 0, false
	}
	w := g.free[n-1]
	g.free = g.free[:n-1]
	g.busy++
	g.busyAvg.Set(now, float64(g.busy))
	return int(w), true
}

func (g *gwInstance) rate() float64 {
	return g.Condition.Rate(1)
}

// buildPools creates the upstream pools (and the gateway tier) that
// plan.Pools lays out, with one balancer each. It reports whether any
// component reads request keys or client identities.
func (m *model) buildPools(strategy string, rep int, servers []plan.Server) (needRequest bool, err error) {
	sc := m.sc
	seed := sc.Seed
	m.srvPools = make([][]poolRef, len(m.srv))
	groups := make([]int, len(m.srv))
	for i := range m.srv {
		groups[i] = m.srv[i].group
	}
	// addPools builds gateway instance inst's pools and returns their
	// indices in m.pools.
	addPools := func(inst int) ([]int32, error) {
		var idx []int32
		for _, spec := range plan.Pools(sc, inst, groups) {
			names := make([]string, len(spec.Members))
			weights := make([]float64, len(spec.Members))
			pi := int32(len(m.pools))
			for l, ep := range spec.Members {
				names[l], weights[l] = servers[ep].ID, servers[ep].Weight
				m.srvPools[ep] = append(m.srvPools[ep], poolRef{pool: pi, local: int32(l)})
			}
			members := spec.Members
			p, uses, err := plan.NewPool(sc, strategy, rep, spec, names, weights,
				func(l int) strategies.Signal { return m.signal(members[l]) })
			if err != nil {
				return nil, err
			}
			needRequest = needRequest || uses
			m.pools = append(m.pools, p)
			m.poolSrv = append(m.poolSrv, members)
			idx = append(idx, pi)
		}
		return idx, nil
	}
	g := sc.Gateway
	if g == nil {
		_, err := addPools(0)
		return needRequest, err
	}
	t := &gatewayTier{cfg: g, authKey: engine.Key(seed, rep, "auth"), routed: len(g.Routes) > 0}
	m.gw = t
	qc := -1
	if g.Queue != nil {
		qc = *g.Queue
	}
	for i := 0; i < g.Instances; i++ {
		gi := gwInstance{id: plan.GatewayID(i), conc: g.Concurrency, queueCap: qc, Condition: plan.Healthy()}
		gi.workers = make([]gwWorker, g.Concurrency)
		for w := g.Concurrency - 1; w >= 0; w-- {
			gi.free = append(gi.free, int32(w))
		}
		t.inst = append(t.inst, gi)
	}
	t.stageCost = make([]time.Duration, len(g.Stages))
	t.stageReqs = make([]int64, len(g.Stages))
	for _, st := range g.Stages {
		if st.Type == workloads.StageRateLimit && st.Algorithm == strategies.LimiterLeakyBucket && !st.NoDelay {
			t.hold = make([]time.Duration, 0, 64)
		}
	}
	if t.limiters, err = plan.Limiters(g); err != nil {
		var se *plan.StageError
		if errors.As(err, &se) {
			return false, sc.FieldError(se.Field(), "%v", se.Err)
		}
		return false, err
	}
	for si, st := range g.Stages {
		t.stageCost[si] = st.Cost.D()
		switch st.Type {
		case workloads.StageAuth:
			t.reject = st.Reject
		case workloads.StageRateLimit:
			needRequest = needRequest || st.Per == "client"
		case workloads.StageCache:
			for i := range t.inst {
				t.inst[i].cache = strategies.NewCache(st.Size, st.TTL.D())
				t.inst[i].cacheSize, t.inst[i].cacheTTL = st.Size, st.TTL.D()
			}
			needRequest = true
		}
	}
	// The L4 balancer over gateway instances, with its own health checks.
	var uses bool
	if t.l4, uses, err = plan.NewL4(g.L4, g.Health, len(t.inst), seed, rep); err != nil {
		return false, sc.FieldError("gateway.l4", "%v", err)
	}
	needRequest = needRequest || uses
	if sc.Connections() {
		// Connections belong to clients: every request needs its client.
		clients := sc.Clients.Count
		if sc.Clients.Arrival.Process == workloads.ProcessClosed {
			clients = sc.Clients.Arrival.Users
		}
		m.conn = newConns(sc, clients, seed, rep)
		needRequest = true
		if t := g.TLS; t != nil && t.At == workloads.TLSAtEdge {
			m.edge = newEdge(t.EdgeWorkers)
		}
	}
	// Paths and routes.
	if t.routed {
		t.paths = plan.NewPathMix(sc)
		for _, path := range t.paths.Paths {
			t.route = append(t.route, int16(g.Route(path, sc.Servers)))
		}
		// A group's path in access logs of a trace: its first route's.
		t.prefix = make([]string, len(sc.Servers))
		for i := len(g.Routes) - 1; i >= 0; i-- {
			for gi := range sc.Servers {
				if sc.Servers[gi].Name == g.Routes[i].To {
					t.prefix[gi] = g.Routes[i].Prefix
				}
			}
		}
		t.pathR = engine.Stream(seed, rep, "paths")
	}
	// Each gateway instance balances on its own: its pools share no
	// in-flight counts with the other instances'.
	t.pools = make([][]int32, len(t.inst))
	for i := range t.inst {
		if t.pools[i], err = addPools(i); err != nil {
			return false, err
		}
	}
	return needRequest, nil
}

// probeResult reports an active health probe of server ep to every pool
// that holds it (each gateway instance probes on its own schedule in
// reality; here they share one probe stream per server).
func (m *model) probeResult(now time.Duration, ep int, ok bool) {
	for _, pr := range m.srvPools[ep] {
		m.pools[pr.pool].ProbeResult(now, int(pr.local), ok)
	}
}

// healthyServers counts servers eligible in the first gateway instance's
// (or the only) view.
func (m *model) healthyServers() int {
	n := 0
	for ep := range m.srv {
		pr := m.srvPools[ep][0]
		if m.pools[pr.pool].Eligible(int(pr.local)) {
			n++
		}
	}
	return n
}

// drawRoute picks a request's path and routed group.
func (m *model) drawRoute(r *request) {
	t := m.gw
	if !t.routed {
		return
	}
	if m.trace {
		r.group = int16(m.tr.Route) // -1: no route for the path
		return
	}
	i := t.paths.Pick(t.pathR.Float64())
	m.lastPath = int32(i)
	r.group = t.route[i]
}

// toGateway hands a new request to the L4 balancer.
func (m *model) toGateway(now time.Duration, ri int32) {
	r := &m.reqs[ri]
	t := m.gw
	var gi int
	state := connOpen
	if m.conn != nil {
		gi, state = m.connect(now, ri) // the connection's instance, or a new one's
	} else {
		var ok bool
		if gi, ok = t.l4.Pick(now, strategies.Request{Key: uint64(r.key), Client: uint64(r.client)}); !ok {
			state = connNone
		}
	}
	if state == connNone {
		m.finish(now, ri, plan.NoUpstream)
		return
	}
	r.gwi = int16(gi)
	g := &t.inst[gi]
	if now >= m.start && now < m.end {
		g.sent++
	}
	switch state {
	case connRefused:
		m.finish(now, ri, plan.ConnectFailure) // past max and backlog
		return
	case connWaits:
		return // in the instance's backlog, until a connection closes
	case connNew:
		// The client's side of opening it: round trips and its own
		// handshake work (the instance's is charged to its worker).
		m.eng.Schedule(now+m.conn.wait, m.h, evConnReady, pack(ri, r.gen))
		return
	}
	m.reach(now, ri, gi)
}

// admit gives request ri, connected to gateway instance gi, a worker or a
// place in its queue.
func (m *model) admit(now time.Duration, ri int32, gi int) {
	r := &m.reqs[ri]
	g := &m.gw.inst[gi]
	t := m.gw
	for int(ri) >= len(t.arrived) {
		t.arrived = append(t.arrived, 0)
	}
	t.arrived[ri] = now
	if g.Down > 0 {
		m.finish(now, ri, plan.ConnectFailure) // the L4 balancer's connection is refused
		return
	}
	if w, ok := g.takeWorker(now); ok {
		m.gwStart(now, gi, w, ri)
		return
	}
	if g.queueCap >= 0 && g.fifo.len() >= g.queueCap {
		m.finish(now, ri, plan.QueueFull)
		return
	}
	g.fifo.push(pack(ri, r.gen))
	g.queueAvg.Set(now, float64(g.fifo.len()))
}

// gwStart runs the pipeline's decisions and charges its CPU cost: stages
// run in order and stop at the first that answers (auth reject, rate
// limit, cache hit).
func (m *model) gwStart(now time.Duration, gi, w int, ri int32) {
	r := &m.reqs[ri]
	t := m.gw
	g := &t.inst[gi]
	if r.measured && now > t.arrived[ri] {
		t.queueWait += now - t.arrived[ri]
	}
	if r.measured {
		t.started++
	}
	cost := t.cfg.ProxyCost.D()
	r.decision = verdictForward
	if t.hold != nil {
		t.setHold(ri, 0)
	}
	for si, st := range t.cfg.Stages {
		cost += t.stageCost[si]
		if r.measured {
			t.stageReqs[si]++
		}
		switch st.Type {
		case workloads.StageAuth:
			if t.reject > 0 && engine.Uniform(t.authKey, r.serial, 0) < t.reject {
				r.decision = verdictAuth
			}
		case workloads.StageRateLimit:
			ok, wait := t.limiters[si].For(int(r.gwi)).Admit(now, uint64(r.client))
			switch {
			case !ok:
				r.decision = verdictLimited
			case wait > 0:
				t.setHold(ri, now+wait)
			}
		case workloads.StageCache:
			hit := g.cache.Get(now, uint64(r.key))
			if hit {
				r.decision = verdictCacheHit
			}
			if r.measured && hit {
				t.hits++
			} else if r.measured {
				t.misses++
			}
		}
		if r.decision != verdictForward {
			break
		}
	}
	if u := m.up; u != nil && u.tls && r.decision == verdictForward {
		// Re-encryption: the forwarded request's records to its server.
		cost += u.record
		if r.measured {
			u.tlsTime += float64(u.record)
		}
	}
	if c := m.conn; c != nil && m.edge == nil {
		// TLS: the connection's handshake on its first request, and every
		// request's records, on the same CPU as the stages.
		tls := c.reqTLS[ri]
		cost += tls
		if r.measured {
			c.tlsTime += float64(tls)
		}
	}
	if r.measured {
		t.cpu += float64(cost)
	}
	wk := &g.workers[w]
	wk.ri, wk.gen = ri, r.gen
	wk.active, wk.left, wk.upd = true, float64(cost), now
	if rate := g.rate(); rate > 0 {
		m.eng.Schedule(now+dur(wk.left/rate), m.h, evGwDone, gwEvent(gi, w, wk.wgen))
	}
}

// gwDone ends worker w's processing: the worker takes the next queued
// request, and the request it finished (if still waiting) gets its
// verdict.
func (m *model) gwDone(now time.Duration, gi, w int, wgen uint32) {
	t := m.gw
	g := &t.inst[gi]
	wk := g.workers[w]
	if wk.wgen&0xffffff != wgen {
		return // the instance crashed meanwhile
	}
	m.gwNext(now, gi, w)
	ri := wk.ri
	if ri < 0 {
		m.upHandshaken(now, -ri-1, wk.gen)
		return
	}
	r := &m.reqs[ri]
	if r.gen != wk.gen {
		return // the request timed out while it was processed
	}
	t.setTime(ri, now-t.arrived[ri]) // queue wait and processing
	switch r.decision {
	case verdictAuth:
		m.finish(now, ri, plan.AuthRejected)
	case verdictLimited:
		m.finish(now, ri, plan.RateLimited)
	case verdictCacheHit:
		m.finish(now, ri, plan.OK)
	default:
		if t.hold != nil && t.hold[ri] > now {
			// A leaky bucket's delay, holding no worker (NGINX limit_req).
			m.eng.Schedule(t.hold[ri], m.h, evGwHold, pack(ri, r.gen))
			return
		}
		m.gwForward(now, ri)
	}
}

// gwJob runs attempt ai's re-encrypting handshake (balancer.upstream.tls)
// on one of gateway instance gi's workers: at once on an idle one, or
// after the requests and handshakes queued before it. A handshake is the
// instance's own work: it is never refused for a full queue. In the
// queue and on the worker it is marked by a negative index, -(ai+1).
func (m *model) gwJob(now time.Duration, gi int, ai int32) {
	g := &m.gw.inst[gi]
	if w, ok := g.takeWorker(now); ok {
		m.gwStartJob(now, gi, w, ai)
		return
	}
	g.fifo.push(pack(-ai-1, m.atts[ai].gen))
	g.queueAvg.Set(now, float64(g.fifo.len()))
}

// gwStartJob gives worker w attempt ai's handshake.
func (m *model) gwStartJob(now time.Duration, gi, w int, ai int32) {
	g := &m.gw.inst[gi]
	a := &m.atts[ai]
	cost := m.up.handshake
	if r := &m.reqs[a.req]; r.gen == a.reqGen && r.measured {
		m.gw.cpu += float64(cost)
		m.up.tlsTime += float64(cost)
	}
	wk := &g.workers[w]
	wk.ri, wk.gen = -ai-1, a.gen
	wk.active, wk.left, wk.upd = true, float64(cost), now
	if rate := g.rate(); rate > 0 {
		m.eng.Schedule(now+dur(wk.left/rate), m.h, evGwDone, gwEvent(gi, w, wk.wgen))
	}
}

// gwForward sends a request that passed the gateway's stages upstream.
func (m *model) gwForward(now time.Duration, ri int32) {
	t := m.gw
	r := &m.reqs[ri]
	if t.hold != nil && t.hold[ri] > 0 {
		t.setTime(ri, now-t.arrived[ri]) // the hold counts as time at the gateway
	}
	grp := 0
	if t.routed {
		if grp = int(r.group); grp < 0 {
			// A replayed path that no route matches: the gateway answers
			// 404, counted as no_upstream as in live mode.
			m.finish(now, ri, plan.NoUpstream)
			return
		}
	}
	r.pool = t.pools[r.gwi][grp]
	m.send(now, ri, false)
}

// setHold records when request ri may go on (0: at once).
func (t *gatewayTier) setHold(ri int32, at time.Duration) {
	for int(ri) >= len(t.hold) {
		t.hold = append(t.hold, 0)
	}
	t.hold[ri] = at
}

// gwNext gives a freed worker of instance g the next queued request that
// is still waiting (requests that timed out in the queue are dropped: the
// gateway sees the client go away), or idles it.
func (m *model) gwNext(now time.Duration, gi, w int) {
	g := &m.gw.inst[gi]
	for g.fifo.len() > 0 {
		ri, gen := unpack(g.fifo.pop())
		if ri < 0 {
			ai := -ri - 1
			switch a := &m.atts[ai]; {
			case a.gen != gen:
			case a.abandoned:
				// Its request was given up while it waited: no handshake;
				// the attempt ends as a stale connection does.
				m.eng.Schedule(now, m.h, evUpConnect, pack(ai, gen))
			default:
				g.queueAvg.Set(now, float64(g.fifo.len()))
				m.gwStartJob(now, gi, w, ai)
				return
			}
			continue
		}
		if m.reqs[ri].gen == gen {
			g.queueAvg.Set(now, float64(g.fifo.len()))
			m.gwStart(now, gi, w, ri)
			return
		}
	}
	g.queueAvg.Set(now, 0)
	g.busy--
	g.busyAvg.Set(now, float64(g.busy))
	g.workers[w].active = false
	g.free = append(g.free, int32(w))
}

// gwFinish tells the L4 balancer a request left its gateway instance and
// fills the instance's cache with a fresh upstream answer.
func (m *model) gwFinish(now time.Duration, ri int32, o plan.Outcome) {
	r := &m.reqs[ri]
	t := m.gw
	if m.conn != nil {
		m.release(now, ri, o)
	}
	g := &t.inst[r.gwi]
	so := strategies.OK
	if o != plan.OK && o != plan.AuthRejected && o != plan.RateLimited {
		so = strategies.Error5xx
	}
	t.l4.Done(now, int(r.gwi), now-r.created, so)
	if o == plan.OK && r.decision == verdictForward {
		if g.cache != nil {
			g.cache.Put(now, uint64(r.key))
		}
		if r.measured {
			t.gwTime += float64(t.times[ri])
			t.okTime += float64(now - r.created)
			t.okCount++
		}
	}
}

// gwCrash fails every request at gateway instance gi.
func (m *model) gwCrash(now time.Duration, gi int) {
	g := &m.gw.inst[gi]
	g.epoch++
	if m.conn != nil {
		m.connCrash(now, gi)
	}
	// Upstream handshakes queued or under way are dropped: their attempts,
	// abandoned below with their requests, end when they come up.
	for g.fifo.len() > 0 {
		if ri, gen := unpack(g.fifo.pop()); ri < 0 {
			m.eng.Schedule(now, m.h, evUpConnect, pack(-ri-1, gen))
		}
	}
	for w := range g.workers {
		if wk := &g.workers[w]; wk.active && wk.ri < 0 {
			m.eng.Schedule(now, m.h, evUpConnect, pack(-wk.ri-1, wk.gen))
		}
	}
	if g.cache != nil {
		// An in-memory cache does not survive its process.
		g.cache = strategies.NewCache(g.cacheSize, g.cacheTTL)
	}
	for g.fifo.len() > 0 {
		g.fifo.pop()
	}
	g.free = g.free[:0]
	for w := len(g.workers) - 1; w >= 0; w-- {
		g.workers[w].wgen++
		g.workers[w].active = false
		g.free = append(g.free, int32(w))
	}
	g.busy = 0
	g.busyAvg.Set(now, 0)
	g.queueAvg.Set(now, 0)
	for ri := range m.reqs {
		r := &m.reqs[ri]
		if r.gwi == int16(gi) && r.alive {
			m.abandonAll(now, int32(ri), strategies.Cancelled)
			m.finish(now, int32(ri), plan.ConnectFailure)
		}
	}
}

// gwRateChanged re-books the processing under way at instance gi after a
// hang or slowdown changed its rate from old (plan.Condition): the work
// done so far counts at the old rate, the rest goes on at the new one
// (not at all while hung).
func (m *model) gwRateChanged(now time.Duration, gi int, old float64) {
	g := &m.gw.inst[gi]
	rate := g.rate()
	for w := range g.workers {
		wk := &g.workers[w]
		if !wk.active {
			continue
		}
		wk.left = max(0, wk.left-old*float64(now-wk.upd))
		wk.upd = now
		wk.wgen++
		if rate > 0 {
			m.eng.Schedule(now+dur(wk.left/rate), m.h, evGwDone, gwEvent(gi, w, wk.wgen))
		}
	}
}

// gwProbe is the L4 balancer's active health check of gateway instance gi.
func (m *model) gwProbe(now time.Duration, gi int) {
	h := m.gw.cfg.Health
	g := &m.gw.inst[gi]
	switch {
	case g.Down > 0:
		m.gw.l4.ProbeResult(now, gi, false)
	case g.Hung > 0:
		m.eng.Schedule(now+h.Timeout.D(), m.h, evGwProbeFail, int64(gi))
	default:
		m.gw.l4.ProbeResult(now, gi, true)
	}
	if next := now + h.Interval.D(); next < m.end {
		m.eng.Schedule(next, m.h, evGwProbe, int64(gi))
	}
}

// gatewayStats summarises the gateway tier after a run.
func (m *model) gatewayStats() *reports.Gateway {
	t := m.gw
	if t == nil {
		return nil
	}
	out := &reports.Gateway{}
	for i := range t.inst {
		g := &t.inst[i]
		out.Instances = append(out.Instances, reports.Server{ID: g.id, Requests: g.sent, Utilization: g.finalUtil, MeanQueue: g.finalQ})
	}
	out.CacheHits, out.CacheMisses = t.hits, t.misses
	for si, st := range t.cfg.Stages {
		stage := reports.Stage{Type: st.Type, Requests: t.stageReqs[si], CostMS: t.stageCost[si].Seconds() * 1000}
		if t.okTime > 0 {
			// Every forwarded request ran every stage: the stage's cost
			// over the mean response time of those that came back ok.
			stage.LatencyShare = float64(t.stageCost[si]) * float64(t.okCount) / t.okTime
		}
		out.Stages = append(out.Stages, stage)
	}
	if t.started > 0 {
		out.QueueMS = float64(t.queueWait) / float64(t.started) / 1e6
	}
	if t.okTime > 0 {
		out.LatencyShare = t.gwTime / t.okTime
	}
	if t.started > 0 {
		out.CPUPerRequestMS = t.cpu / float64(t.started) / 1e6
	}
	tlsTime := 0.0
	if u := m.up; u != nil {
		tlsTime = u.tlsTime // re-encryption to the servers
	}
	if c := m.conn; c != nil {
		tlsTime += c.tlsTime
	}
	if t.cpu > 0 {
		out.TLSShare = tlsTime / t.cpu
	}
	if c := m.conn; c != nil {
		out.Connections, out.FullHandshakes, out.ResumedHandshakes = c.opened, c.full, c.resumed
		if m.edge != nil {
			out.Edge = m.edge.stats()
		}
		if n := c.full + c.resumed; n > 0 && c.tls != nil {
			out.HandshakeCPUMS = (float64(c.full)*c.tls.Full.Seconds() + float64(c.resumed)*c.tls.Resumed.Seconds()) * 1000 / float64(n)
		}
	}
	return out
}

// setTime records request slot ri's gateway time, growing the table with
// the request pool.
func (t *gatewayTier) setTime(ri int32, d time.Duration) {
	for int(ri) >= len(t.times) {
		t.times = append(t.times, 0)
	}
	t.times[ri] = d
}
