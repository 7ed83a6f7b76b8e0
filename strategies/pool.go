package strategies

import (
	"math"
	"time"
)

// Pool is a set of endpoints behind one balancer. It keeps the in-flight
// counts and applies health in one place before the balancer picks, as Envoy
// does: active health checking, passive outlier ejection, the panic
// threshold and slow start all live here (see health.go), so no algorithm
// has to re-implement them.
//
// The balancer receives the candidate indices: the eligible endpoints
// (active-healthy and not ejected), or every endpoint while the pool is in
// panic. The candidate list is cached and rebuilt only when eligibility or
// the panic state changes. Endpoint.Weight always holds the effective
// weight (lowered during slow start); the configured weight is kept by the
// pool (EndpointHealth.BaseWeight).
type Pool struct {
	eps  []Endpoint
	hs   []endpointHealth
	cand []int
	// untried is PickAvoiding's scratch candidate list.
	untried []int
	dirty   bool
	b       Balancer

	active     ActiveHealth  // thresholds for ProbeResult (defaults filled in)
	outlier    OutlierConfig // valid when hasOutlier (defaults filled in)
	hasOutlier bool
	// passive is NGINX's per-endpoint state when hasPassive; nextPassive
	// is when the next endpoint's window ends.
	passiveCfg  PassiveHealth
	passive     []passiveState
	hasPassive  bool
	nextPassive time.Duration
	panicPct    float64       // HealthConfig.PanicThreshold
	slowStart   time.Duration // HealthConfig.SlowStart
	eligible    int           // endpoints active-healthy and not ejected
	nEjected    int           // endpoints currently ejected by outlier detection
	ejections   int           // ejections performed since the start
	panicking   bool          // eligible share below the panic threshold
	removed     int           // endpoints that are not members (SetMember)
	candGen     int           // bumped whenever the candidate list is rebuilt
	stale       *staleLoad    // nil: balancers see live in-flight counts
	affinity    *affinity     // nil without session persistence
	nextUneject time.Duration // earliest pending un-ejection (never if none)
	slow        []int         // endpoints in slow start (capacity len(eps))
	// wake is the earliest time at which Pick must do lazy work: the next
	// un-ejection, or "always" while any endpoint is in slow start. The
	// fast path of Pick is the single comparison now >= wake.
	wake time.Duration
	now  time.Duration // latest time seen by the lazy work
	// plain is true without stale load and affinity, and plainDone
	// without stale load, outlier detection and a balancer that learns
	// from outcomes: then Pick (when no lazy work is due) and Done take
	// short paths, with the general ones out of line.
	plain     bool
	plainDone bool
}

// outcomeBlind reports whether b's Done does nothing, so that the pool
// can skip calling it. It names concrete types (a type embedding one of
// them may well learn from outcomes).
func outcomeBlind(b Balancer) bool {
	switch b.(type) {
	case *RoundRobin, *SmoothWRR, *Random, *LeastRequest, *P2C, FlowHash, *FlowHash:
		return true
	}
	return false
}

// setPlain recomputes plain and plainDone after a configuration change.
func (p *Pool) setPlain() {
	p.plain = p.stale == nil && p.affinity == nil && !p.hasPassive
	p.plainDone = p.stale == nil && !p.hasOutlier && !p.hasPassive && outcomeBlind(p.b)
}

const (
	never  = time.Duration(math.MaxInt64)
	always = time.Duration(math.MinInt64)
)

// NewPool returns a pool of healthy endpoints with the given names and
// weights (a weight ≤ 0 counts as 1). No health feature is enabled until
// SetHealth is called; SetHealthy still works as a manual switch.
func NewPool(b Balancer, names []string, weights []float64) *Pool {
	n := len(names)
	p := &Pool{
		b:           b,
		eps:         make([]Endpoint, n),
		hs:          make([]endpointHealth, n),
		cand:        make([]int, 0, n),
		slow:        make([]int, 0, n),
		dirty:       true,
		eligible:    n,
		nextUneject: never,
		nextPassive: never,
		wake:        never,
		active:      ActiveHealth{Unhealthy: 1, Healthy: 1},
	}
	p.setPlain()
	for i, name := range names {
		w := 1.0
		if i < len(weights) && weights[i] > 0 {
			w = weights[i]
		}
		p.eps[i] = Endpoint{Name: name, Weight: w, Healthy: true}
		p.hs[i] = endpointHealth{base: w, activeOK: true}
	}
	return p
}

// Len is the number of endpoints.
func (p *Pool) Len() int { return len(p.eps) }

// Endpoint returns the state of endpoint i as balancers see it: Healthy
// means eligible (active-healthy and not ejected) and Weight is the
// effective weight, both as of the last call that carried the time (Pick,
// Done, ProbeResult, Refresh). Health(i) has the details.
func (p *Pool) Endpoint(i int) Endpoint { return p.eps[i] }

// SetHealthy is a manual override that behaves like active health checking
// reaching its threshold: it marks endpoint i active-healthy or not and
// resets its probe counters. It does not touch outlier ejection, so an
// ejected endpoint stays out until its ejection ends. As the call carries no
// time, a slow start it triggers begins at the time of the next call that
// does (Pick, Done, ProbeResult, Refresh); use SetHealthyAt when the time is
// known.
func (p *Pool) SetHealthy(i int, healthy bool) {
	p.setActive(i, healthy, 0, false)
}

// SetHealthyAt is SetHealthy at a known time now.
func (p *Pool) SetHealthyAt(now time.Duration, i int, healthy bool) {
	p.setActive(i, healthy, now, true)
}

func (p *Pool) candidates() []int {
	if !p.dirty {
		return p.cand
	}
	return p.rebuild()
}

// rebuild recomputes the cached candidate list.
func (p *Pool) rebuild() []int {
	p.cand = p.cand[:0]
	p.candGen++
	for i := range p.eps {
		if p.eps[i].Healthy || (p.panicking && !p.hs[i].removed) {
			p.cand = append(p.cand, i)
		}
	}
	p.dirty = false
	return p.cand
}

// Pick chooses an endpoint for a new attempt and counts it in flight. ok is
// false when no endpoint is a candidate: none is eligible and the pool is
// not in panic (always the case with a panic threshold of 0), which is
// Envoy's "no healthy upstream". Pick first ends ejections whose time is up
// and advances slow-start weights; when neither is pending this costs one
// comparison.
func (p *Pool) Pick(now time.Duration, req Request) (i int, ok bool) {
	if p.plain && !p.dirty && now < p.wake && len(p.cand) > 0 {
		i = p.b.Pick(now, req, p.eps, p.cand)
		p.eps[i].InFlight++
		return i, true
	}
	return p.pick(now, req)
}

// pick is Pick's general path.
func (p *Pool) pick(now time.Duration, req Request) (i int, ok bool) {
	if now >= p.wake {
		p.advance(now)
	}
	cand := p.candidates()
	if len(cand) == 0 {
		return -1, false
	}
	return p.pickFrom(now, req, cand, p.affinity != nil), true
}

// pickFrom picks among cand (sticky first when sticky) and counts the
// attempt in flight.
func (p *Pool) pickFrom(now time.Duration, req Request, cand []int, sticky bool) int {
	if p.stale != nil && now >= p.stale.next {
		p.stale.publish(now, p.eps)
	}
	var i int
	if sticky {
		i = p.affinity.pick(now, req, p, cand)
	} else {
		i = p.b.Pick(now, req, p.eps, cand)
	}
	p.count(now, i)
	return i
}

// count puts an attempt on endpoint i in flight.
func (p *Pool) count(now time.Duration, i int) {
	if p.stale != nil {
		p.stale.inFlight[i]++
	} else {
		p.eps[i].InFlight++
	}
	if p.hasPassive {
		p.passivePicked(i, now)
	}
}

// Take puts an attempt on endpoint i in flight without asking the
// balancer: a retry on the endpoint that failed (HAProxy without option
// redispatch), which goes there whatever its health. End it with Done.
func (p *Pool) Take(now time.Duration, i int) {
	if now >= p.wake {
		p.advance(now)
	}
	p.count(now, i)
}

// Hashed reports whether the balancer places requests by a hash of the
// request (its key or client): HAProxy's "deterministic" algorithms, whose
// retries it does not redispatch at once.
func (p *Pool) Hashed() bool {
	ra, ok := p.b.(RequestAware)
	return ok && ra.UsesRequest()
}

// Avoid is the set of endpoints (local indices) a request has tried, for
// a retry that must go to another one while one is eligible: NGINX's
// proxy_next_upstream never tries a server twice, and Envoy's
// previous_hosts retry predicate rejects hosts already tried. The zero
// value is empty; it remembers the last len(at) endpoints added.
type Avoid struct {
	n  int
	at [16]int32
}

// Reset empties the set, for a new request.
func (a *Avoid) Reset() { a.n = 0 }

// Add records that endpoint i was tried.
func (a *Avoid) Add(i int) {
	a.at[a.n%len(a.at)] = int32(i)
	a.n++
}

// Tried is the number of attempts added since Reset.
func (a *Avoid) Tried() int { return a.n }

// Has reports whether endpoint i was tried.
func (a *Avoid) Has(i int) bool {
	for k := range min(a.n, len(a.at)) {
		if int(a.at[k]) == i {
			return true
		}
	}
	return false
}

// PickAvoiding is Pick among the candidates the request has not tried
// (a), or among all of them when it has tried every one, unless strict:
// then it finds none (NGINX's "no live upstreams"). A retry sent
// elsewhere leaves sticky sessions aside.
func (p *Pool) PickAvoiding(now time.Duration, req Request, a *Avoid, strict bool) (i int, ok bool) {
	if a == nil || a.n == 0 {
		return p.Pick(now, req)
	}
	if now >= p.wake {
		p.advance(now)
	}
	cand := p.candidates()
	if len(cand) == 0 {
		return -1, false
	}
	p.untried = p.untried[:0]
	for _, c := range cand {
		if !a.Has(c) {
			p.untried = append(p.untried, c)
		}
	}
	if len(p.untried) == 0 {
		if strict {
			return -1, false
		}
		return p.pickFrom(now, req, cand, p.affinity != nil), true
	}
	return p.pickFrom(now, req, p.untried, false), true
}

// Done ends an attempt on endpoint i: it leaves the in-flight count, the
// outlier detector (if configured) counts the outcome, and the balancer
// learns its outcome and latency.
func (p *Pool) Done(now time.Duration, i int, latency time.Duration, o Outcome) {
	if p.plainDone {
		e := &p.eps[i]
		e.InFlight = max(e.InFlight-1, 0) // never negative
		return
	}
	p.done(now, i, latency, o)
}

// done is Done's general path.
func (p *Pool) done(now time.Duration, i int, latency time.Duration, o Outcome) {
	if p.stale != nil {
		if p.stale.inFlight[i] > 0 {
			p.stale.inFlight[i]--
		}
	} else if p.eps[i].InFlight > 0 {
		p.eps[i].InFlight--
	}
	if p.hasOutlier {
		p.outlierDone(now, i, o)
	}
	if p.hasPassive {
		p.passiveDone(now, i, o)
	}
	p.b.Done(now, i, latency, o)
}

// outlierDone feeds an outcome to the outlier detector (kept out of Done so
// that Done's fast path stays small enough to inline).
func (p *Pool) outlierDone(now time.Duration, i int, o Outcome) {
	if now >= p.wake {
		p.advance(now)
	}
	p.observe(now, i, o)
}

// Affinity modes: session persistence by request key or by client.
const (
	AffinityNone   = ""
	AffinityKey    = "key"
	AffinityClient = "client"
)

// affinity pins each key (or client) to the endpoint that first served
// it, as sticky sessions do (HAProxy stick tables, Envoy's stateful
// session filter): later requests go to the pinned endpoint while it is a
// candidate; when it is not (unhealthy, ejected, retired), the balancer
// picks anew and the pin moves. At most max pins are kept; beyond that,
// new keys are balanced without being pinned.
type affinity struct {
	byClient bool
	pins     map[uint64]int32
	max      int
	isCand   []bool // scratch: is endpoint i a candidate now
	candGen  int    // the candidate list the marks were computed for
}

// SetAffinity turns session persistence on (mode key or client) or off
// (""), keeping at most maxPins pins (0 = 100000).
func (p *Pool) SetAffinity(mode string, maxPins int) {
	defer p.setPlain()
	if mode == AffinityNone {
		p.affinity = nil
		return
	}
	if maxPins <= 0 {
		maxPins = 100000
	}
	p.affinity = &affinity{byClient: mode == AffinityClient, pins: map[uint64]int32{}, max: maxPins,
		isCand: make([]bool, len(p.eps)), candGen: -1}
}

func (a *affinity) pick(now time.Duration, req Request, p *Pool, cand []int) int {
	k := req.Key
	if a.byClient {
		k = req.Client
	}
	if a.candGen != p.candGen {
		clear(a.isCand)
		for _, c := range cand {
			a.isCand[c] = true
		}
		a.candGen = p.candGen
	}
	if i, ok := a.pins[k]; ok && a.isCand[i] {
		return int(i)
	}
	i := p.b.Pick(now, req, p.eps, cand)
	if _, ok := a.pins[k]; ok || len(a.pins) < a.max {
		a.pins[k] = int32(i)
	}
	return i
}

// staleLoad is a load bulletin board (Mitzenmacher, "How Useful Is Old
// Information?", IEEE TPDS 2000): the in-flight counts balancers see in
// Endpoint.InFlight are a snapshot of the true counts, republished every
// period, so every decision between two publications uses the same old
// numbers — the setting in which picking the least loaded herds.
type staleLoad struct {
	period   time.Duration
	next     time.Duration
	inFlight []int // the true counts
}

func (s *staleLoad) publish(now time.Duration, eps []Endpoint) {
	for i := range eps {
		eps[i].InFlight = s.inFlight[i]
	}
	s.next = now + s.period
}

// SetStaleLoad makes balancers see in-flight counts published every
// period instead of live ones (0 = live). InFlight reports then lag.
func (p *Pool) SetStaleLoad(period time.Duration) {
	defer p.setPlain()
	if period <= 0 {
		if p.stale != nil {
			for i := range p.eps {
				p.eps[i].InFlight = p.stale.inFlight[i]
			}
		}
		p.stale = nil
		return
	}
	st := &staleLoad{period: period, inFlight: make([]int, len(p.eps))}
	for i := range p.eps {
		st.inFlight[i] = p.eps[i].InFlight
	}
	p.stale = st
}

// InFlight is endpoint i's true number of attempts in flight, whatever
// view the balancer is given.
func (p *Pool) InFlight(i int) int {
	if p.stale != nil {
		return p.stale.inFlight[i]
	}
	return p.eps[i].InFlight
}

// SetSignals gives the pool's balancer, if it reads server signals, the
// source of those signals (endpoint indices are the pool's).
func (p *Pool) SetSignals(src SignalSource) {
	if su, ok := p.b.(SignalUser); ok {
		su.UseSignals(src)
	}
}
