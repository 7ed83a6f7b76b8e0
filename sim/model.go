package sim

import (
	"math/rand/v2"
	"time"

	"github.com/edgelab/edgelab/engine"
	"github.com/edgelab/edgelab/plan"
	"github.com/edgelab/edgelab/reports"
	"github.com/edgelab/edgelab/strategies"
	"github.com/edgelab/edgelab/traces"
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
	evGwHold             // request b's leaky-bucket delay at the gateway ends
	evConnIdle           // connection b (packed with its generation) has been idle keepalive.idle
	evUpConnect          // attempt b's new upstream connection is open
	evConnReady          // request b's new client connection is ready (clients.keepalive.connect)
	evEdgeDone           // request b's TLS at the edge is done
)

func pack(idx int32, gen uint32) int64 { return int64(uint64(uint32(idx)) | uint64(gen)<<32) }

func unpack(b int64) (int32, uint32) { return int32(uint32(uint64(b))), uint32(uint64(b) >> 32) }

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
	edge     *edgeTier    // nil unless TLS is terminated at the edge
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
	retryOn     plan.RetryPolicy
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
	avoid   []strategies.Avoid // per request: endpoints tried (other_host, once_per_host)
	retryTo []retryTarget      // per request: where a pending retry goes (same_host)
	// keepAbandoned is balancer.ignore_client_abort.
	keepAbandoned bool
	scratch       strategies.Avoid // the one endpoint a redispatch avoids
	demands       []float64        // per request and group
	freeReq       []int32
	atts          []attempt
	freeAtt       []int32

	maxBacklog int // requests in flight at which the run fails

	lat      *reports.LatencyRecorder
	outcomes reports.Outcomes
	attempts int64

	series    *reports.Series
	interval  time.Duration
	curK      int                      // current bucket
	bucketLat *reports.LatencyRecorder // ok latencies of the current bucket
	lastBusy  []float64                // busy integral at the last tick

	// Cold fields last, off the hot ones' cache lines.
	// trace: the arrival being created (process: trace), and which groups
	// take their demand from it.
	trace       bool
	tr          traces.Arrival
	traceDemand []bool
	// The access log (modelOptions.log): per request, its last answer.
	log      *traces.Writer
	logReq   []reqLog
	logErr   error
	logEntry traces.Entry
	lastPath int32 // the path drawRoute drew
	// conn is the clients' connections to the gateway tier (nil unless
	// the scenario models them); up the balancers' to the servers (nil
	// without balancer.upstream).
	conn *conns
	up   *upConns
}

// modelOptions tune how a model runs without changing what it computes.
type modelOptions struct {
	// general turns direct mode off where it would apply, so that tests
	// can check the direct path against the general one.
	general bool
	// maxBacklog replaces the bound on requests in flight (0: maxBacklog).
	maxBacklog int
	// log, when not nil, logs every request that ends.
	log *traces.Writer
	// verify checks the connections' invariants when the run ends
	// (tests).
	verify bool
	// progress is Options.Progress.
	progress func()
}

func newModel(sc *workloads.Scenario, strategy string, rep int, opt modelOptions) (_ *model, err error) {
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

		maxBacklog: maxBacklog,
	}
	if opt.maxBacklog > 0 {
		m.maxBacklog = opt.maxBacklog
	}
	m.budget = plan.RetryBudget(sc)
	m.retryOn = plan.NewRetryPolicy(sc.Clients.Retries)
	m.keepAbandoned = sc.Balancer.IgnoreClientAbort
	a := &sc.Clients.Arrival
	if a.Process == workloads.ProcessClosed {
		m.think = a.ThinkSampler(engine.Source(seed, rep, "think"))
	} else {
		if m.arrivals, err = sc.ArrivalClock(engine.Source(seed, rep, "arrivals")); err != nil {
			return nil, sc.FieldError("clients.arrival.file", "%v", err)
		}
		defer func() {
			if err != nil {
				m.arrivals.Close() // the trace's file
			}
		}()
		m.trace = m.arrivals.Trace() != nil
	}
	for gi := range sc.Servers {
		g := &sc.Servers[gi]
		m.demand = append(m.demand, g.Service.Sampler(engine.Source(seed, rep, "demand/"+g.Name)))
		m.extraDemand = append(m.extraDemand, g.Service.Sampler(engine.Source(seed, rep, "demand-extra/"+g.Name)))
		m.meanDemand = append(m.meanDemand, g.Service.MeanSeconds()*1e9)
		if m.trace {
			m.traceDemand = append(m.traceDemand, g.Service.From == workloads.FromTrace)
		}
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
	if needRequest || opt.log != nil { // a log names every request's client and key
		m.keys = sc.Clients.Keys.KeySampler(engine.Stream(seed, rep, "keys"))
		m.clientR = engine.Stream(seed, rep, "clients")
	}
	if opt.log != nil {
		m.log = opt.log
		opt.general = true // a request record per request
	}
	if u := sc.Balancer.Upstream; u != nil {
		n := 1
		if sc.Gateway != nil {
			n = sc.Gateway.Instances
		}
		m.up = newUpConns(u, n)
		opt.general = true // attempts know their request's balancer
	}
	m.direct = !opt.general && m.gw == nil && m.timeout <= 0 && m.retry.Max <= 0 && m.retry.PerTryTimeout <= 0 &&
		m.hedge.Max <= 0 && m.budget == nil && len(m.pools) == 1
	m.draw = make([]float64, m.nGrp)
	m.planFailures(rep)
	m.planAutoscale()
	m.planSeries()
	return m, nil
}

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
		if m.trace {
			// The trace's record of this arrival, before Next moves on.
			m.tr = *m.arrivals.Trace()
		}
		if next := m.arrivals.Next(); next != workloads.Never {
			m.eng.Schedule(next, m.h, evArrival, 0)
		}
		client := int32(0)
		if m.trace {
			// A trace's client is its key (the client's address).
			client = int32(m.tr.Key % uint32(m.sc.Clients.Count))
		} else if m.clientR != nil {
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
			m.clientGaveUp(now, ri)
		}
	case evPerTry:
		ai, gen := unpack(b)
		if a := &m.atts[ai]; a.gen == gen && !a.abandoned {
			m.abandon(now, ai, strategies.Timeout)
			m.attemptFailed(now, a.req, a.reqGen, a.local, plan.Timeout)
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
	case evUpConnect:
		ai, gen := unpack(b)
		m.upConnected(now, ai, gen)
	case evConnReady:
		if ri, gen := unpack(b); m.reqs[ri].gen == gen {
			m.reach(now, ri, int(m.reqs[ri].gwi))
		}
	case evEdgeDone:
		ri, gen := unpack(b)
		m.edgeDone(now, ri, gen)
	case evConnIdle:
		h, gen := unpack(b)
		m.connIdle(now, h, gen)
	case evGwHold:
		if ri, gen := unpack(b); m.reqs[ri].gen == gen {
			m.gwForward(now, ri)
		}
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
		if m.edge != nil {
			m.edge.restart(now)
		}
	case evEnd:
		m.open = false
		m.snapshotServers(now)
	}
}

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
	if m.edge != nil {
		m.edge.snapshot(now)
	}
}
