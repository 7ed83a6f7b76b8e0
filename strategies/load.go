package strategies

import (
	"math"
	"math/rand/v2"
	"slices"
	"time"
)

// loadCatalogue registers the load- and latency-aware family: weighted-random, first, peak-ewma, least-time, jiq.
var loadCatalogue = []Info{
	{Name: "weighted-random", Summary: "random endpoint with probability proportional to its weight",
		Source: "NGINX random (ngx_http_upstream_random_module: cumulative weight ranges, binary search); HAProxy balance random(1) (one weighted draw)",
		New:    func(r *rand.Rand, _ Params) Balancer { return &WeightedRandom{R: r} }},
	{Name: "first", Summary: "first candidate below maxconn in flight, else the least loaded: bin packing",
		Source: "HAProxy balance first",
		Params: []Param{{Name: "maxconn", Default: 32, Min: 1, Max: 1e6,
			Doc: "in-flight attempts an endpoint takes before the next one is used (HAProxy server maxconn; no default there, set it to the servers' concurrency; a fraction counts as the next whole number)"}},
		New: func(_ *rand.Rand, p Params) Balancer { return NewFirst(int(math.Ceil(p["maxconn"]))) }},
	{Name: "peak-ewma", Summary: "p2c over peak-sensitive latency EWMA × (in-flight+1)",
		Source: "Finagle PeakEwma + P2C (Finagle 6.x, loadbalancer/PeakEwma.scala); Linkerd/tower PeakEwma (tower/src/load/peak_ewma.rs)",
		Params: []Param{
			{Name: "decay", Default: 10, Min: 0.001, Max: 3600,
				Doc: "time constant of the estimate's exponential decay, seconds (Finagle decayTime and Linkerd EWMA_DECAY, both 10 s)"},
			{Name: "initial_ms", Default: 30, Min: 0, Max: 600000,
				Doc: "latency assumed for an endpoint not yet observed, milliseconds (Linkerd EWMA_DEFAULT_RTT, 30 ms)"},
		},
		New: func(r *rand.Rand, p Params) Balancer {
			return NewPeakEWMA(r, seconds(p["decay"]), time.Duration(p["initial_ms"]*float64(time.Millisecond)))
		}},
	{Name: "least-time", Summary: "lowest latency EWMA × (in-flight+1) over all candidates, random tie-break",
		Source: "NGINX Plus least_time last_byte inflight (ngx_http_upstream_module)",
		Params: []Param{{Name: "decay", Default: 10, Min: 0.001, Max: 3600,
			Doc: "time constant of the latency EWMA, seconds"}},
		New: func(r *rand.Rand, p Params) Balancer { return NewLeastTime(r, seconds(p["decay"])) }},
	{Name: "jiq", Summary: "join-idle-queue: an endpoint that went idle first, else a random one",
		Source: "Lu, Xie, Kliot, Geller, Larus, Greenberg: Join-Idle-Queue, IFIP Performance 2011 (Perform. Eval. 68(11))",
		New:    func(r *rand.Rand, _ Params) Balancer { return NewJIQ(r) }},
}

// seconds converts a parameter in seconds to a duration.
func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// ---------------------------------------------------------------------------
// weighted-random

// WeightedRandom picks a candidate at random with probability proportional
// to its effective weight, as NGINX's random method does
// (ngx_http_upstream_random_module.c: a table of cumulative weight "ranges",
// a uniform draw below the total, a binary search) and as HAProxy's
// `balance random(1)` respects weights. Envoy's RANDOM, by contrast, ignores
// endpoint weights.
//
// The cumulative table is cached with the candidates and weights it was built
// from. Each pick compares the current ones against it in one pass (the pool
// rewrites its candidate list in place, and slow start changes weights on
// every pick while it lasts, so nothing cheaper is exact) and rebuilds only
// the suffix from the first difference; the draw is then O(log N).
type WeightedRandom struct {
	R    *rand.Rand
	cand []int     // candidates the table was built from
	w    []float64 // their weights
	cum  []float64 // cum[k] = w[0] + … + w[k]
}

// Pick implements Balancer.
func (b *WeightedRandom) Pick(_ time.Duration, _ Request, eps []Endpoint, cand []int) int {
	n := len(cand)
	if n == 1 {
		return cand[0]
	}
	from := n
	if len(b.cand) != n {
		if cap(b.cand) < n {
			b.cand = make([]int, n, len(eps))
			b.w = make([]float64, n, len(eps))
			b.cum = make([]float64, n, len(eps))
		}
		b.cand, b.w, b.cum = b.cand[:n], b.w[:n], b.cum[:n]
		from = 0
	} else {
		for k, i := range cand {
			if b.cand[k] != i || b.w[k] != eps[i].Weight {
				from = k
				break
			}
		}
	}
	if from < n {
		acc := 0.0
		if from > 0 {
			acc = b.cum[from-1]
		}
		for k := from; k < n; k++ {
			i := cand[k]
			b.cand[k], b.w[k] = i, eps[i].Weight
			acc += b.w[k]
			b.cum[k] = acc
		}
	}
	total := b.cum[n-1]
	if !(total > 0) {
		return cand[b.R.IntN(n)]
	}
	u := b.R.Float64() * total
	// The first k with u < cum[k].
	lo, hi := 0, n-1
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if u < b.cum[m] {
			hi = m
		} else {
			lo = m + 1
		}
	}
	return cand[lo]
}

// Done implements Balancer.
func (b *WeightedRandom) Done(time.Duration, int, time.Duration, Outcome) {}

// ---------------------------------------------------------------------------
// first

// First is HAProxy's `balance first`: "the first server with available
// connection slots receives the connection. The servers are chosen from the
// lowest numeric identifier to the highest … Once a server reaches its
// maxconn value, the next server is used" (HAProxy configuration manual,
// `balance`). It packs load onto as few endpoints as possible so that the
// others can be scaled down. Like HAProxy it ignores weights. When every
// candidate is at maxconn HAProxy queues the request in the backend; a
// balancer must pick, so First then takes the candidate with the fewest
// in-flight attempts, the earliest on a tie.
type First struct {
	// MaxConn is the in-flight count at which an endpoint counts as full.
	MaxConn int
}

// NewFirst returns a First balancer whose endpoints take maxconn in-flight
// attempts each (at least 1).
func NewFirst(maxconn int) *First { return &First{MaxConn: max(maxconn, 1)} }

// Pick implements Balancer.
func (b *First) Pick(_ time.Duration, _ Request, eps []Endpoint, cand []int) int {
	best := cand[0]
	for _, i := range cand {
		if eps[i].InFlight < b.MaxConn {
			return i
		}
		if eps[i].InFlight < eps[best].InFlight {
			best = i
		}
	}
	return best
}

// Done implements Balancer.
func (b *First) Done(time.Duration, int, time.Duration, Outcome) {}

// ---------------------------------------------------------------------------
// Latency estimates shared by peak-ewma and least-time.

// failureCap bounds the penalised latency a failed attempt feeds to an
// estimate (see latencyTable.sample), so that a long run of failures cannot
// push an estimate so high that the endpoint would take hours to decay back.
// With a 10 s decay, an estimate at the cap falls back to 10 ms after
// 10 s × ln(1000) ≈ 69 s without news.
const failureCap = float64(10 * time.Second)

// latencyTable keeps one time-decayed latency estimate per endpoint.
//
// Observations form an unevenly spaced series, so each update weighs the
// previous estimate by w = exp(−Δ/τ), Δ the time since the endpoint's
// previous update (Eckner, "Algorithms for Unevenly Spaced Time Series",
// as cited by Finagle's PeakEwma): new = old·w + x·(1−w). With peak set, an
// observation above the estimate replaces it at once (Finagle PeakEwma
// observe; tower RttEstimate::update).
//
// Between observations the estimate also decays toward zero as it is read:
// what Pick sees is est·exp(−(now−stamp)/τ). This is Finagle's get(), which
// calls observe(0.0), and tower's decay() ("updates with a 0 duration so
// that the estimate decays towards 0"); it is what lets an endpoint that was
// once slow, and is avoided since, be tried again after a few decay periods
// instead of being starved forever. Unlike Finagle we do not store the
// decayed value on read, so how often an endpoint is sampled does not change
// its estimate; a later observation x after a gap Δ then yields
// est·w + x·(1−w), the same value the read view gave with x in place of 0.
//
// Comparing decayed costs would take one exp per endpoint per pick. Instead
// the table keeps scaled[i] = est[i]·exp((stamp[i]−base)/τ): the decayed
// value at now is scaled[i]·exp(−(now−base)/τ), a factor common to all
// endpoints, so costs compare on scaled values with no exp at all. The base
// moves up (an O(N) rescale) once now−base exceeds rebaseAfter time
// constants, which keeps the scaled values far from overflow.
type latencyTable struct {
	tau    float64         // decay time constant, ns
	limit  time.Duration   // rebaseAfter·τ
	est    []float64       // estimate (ns) as of stamp
	stamp  []time.Duration // time of the last update
	seen   []bool          // whether any observation has arrived
	factor []float64       // exp((stamp−base)/τ)
	scaled []float64       // est·factor
	base   time.Duration
}

// rebaseAfter is how many time constants now may run ahead of the base
// before the scaled values are rescaled: exp(200) ≈ 7e86 leaves ample room
// below MaxFloat64 for estimates × in-flight counts.
const rebaseAfter = 200

func newLatencyTable(decay time.Duration) latencyTable {
	tau := max(float64(decay), 1)
	return latencyTable{tau: tau, limit: time.Duration(rebaseAfter * tau)}
}

// size makes room for n endpoints (allocating only when n grows).
func (t *latencyTable) size(n int) {
	if len(t.est) >= n {
		return
	}
	grow := n - len(t.est)
	t.est = append(t.est, make([]float64, grow)...)
	t.stamp = append(t.stamp, make([]time.Duration, grow)...)
	t.seen = append(t.seen, make([]bool, grow)...)
	t.factor = append(t.factor, make([]float64, grow)...)
	t.scaled = append(t.scaled, make([]float64, grow)...)
}

// advance rebases the scaled values when now has run far ahead of the base
// (a comparison that inlines; the rescaling is in rebase).
func (t *latencyTable) advance(now time.Duration) {
	if now-t.base > t.limit {
		t.rebase(now)
	}
}

// rebase moves the base to now and rescales every estimate.
func (t *latencyTable) rebase(now time.Duration) {
	t.base = now
	for i := range t.est {
		if t.seen[i] {
			t.factor[i] = math.Exp(float64(t.stamp[i]-now) / t.tau)
			t.scaled[i] = t.est[i] * t.factor[i]
		}
	}
}

// decayed is endpoint i's estimate as of now (ns); def if none yet.
func (t *latencyTable) decayed(now time.Duration, i int, def float64) float64 {
	if !t.seen[i] {
		return def
	}
	return t.est[i] * math.Exp(-float64(max(now-t.stamp[i], 0))/t.tau)
}

// scale converts an absolute cost at now to the scaled domain.
func (t *latencyTable) scale(now time.Duration, v float64) float64 {
	return v * math.Exp(float64(now-t.base)/t.tau)
}

// observe feeds one latency x (ns) observed on endpoint i at now. It takes
// one exp: the weight of the previous estimate, exp(−(now−stamp)/τ), is the
// ratio of the stored factor to the new one.
func (t *latencyTable) observe(now time.Duration, i int, x float64, peak bool) {
	t.size(i + 1)
	t.advance(now)
	now = max(now, t.stamp[i]) // an estimate's time never runs backwards
	f := math.Exp(float64(now-t.base) / t.tau)
	switch {
	case !t.seen[i]:
		t.est[i], t.seen[i] = x, true
	case peak && x > t.est[i]:
		t.est[i] = x
	default:
		// est·w + x·(1−w), written so that a constant series stays
		// exactly constant.
		w := t.factor[i] / f
		t.est[i] += (x - t.est[i]) * (1 - w)
	}
	t.stamp[i], t.factor[i] = now, f
	t.scaled[i] = t.est[i] * f
}

// sample turns an attempt's outcome into the latency to observe, or false
// when the attempt says nothing about the endpoint's speed.
//
//   - Cancelled: another attempt of the same request won; this one's
//     latency is cut short by our own decision, so it is ignored.
//   - Timeout: observed with its latency, the time until it was abandoned, a
//     lower bound on the true latency that the peak rule takes at once.
//   - Error5xx, ConnectFail, QueueFull: a failure is often faster than a
//     real answer (a crashed server refuses at once), and observing its
//     latency would make a failing endpoint look like the fastest and
//     attract traffic: the "black hole" of least-loaded balancing. Finagle
//     and Linkerd (tower) record a failure's latency like any other and
//     leave failing endpoints to failure accrual (Finagle) or to circuit
//     breaking; Envoy's peak_ewma extension likewise defers to outlier
//     detection. Our pool's outlier detection is optional, so instead a
//     failure is observed as twice the larger of its latency and the
//     current decayed estimate (def before any observation), capped at
//     failureCap (or the latency itself if that is larger). In peak-ewma
//     the peak rule takes it at once: each failure doubles the cost, and
//     the endpoint is tried again only after the doubled estimate has
//     decayed, a backoff that grows by about τ·ln 2 per consecutive
//     failure. In least-time it enters the EWMA with its time weight like
//     any observation, so a single failure moves the estimate little but a
//     sustained failure rate drives it up (to the cap when half or more of
//     the answers fail).
func (t *latencyTable) sample(now time.Duration, i int, latency time.Duration, o Outcome, def float64) (float64, bool) {
	x := float64(max(latency, 0))
	switch o {
	case OK, Timeout:
		return x, true
	case Cancelled:
		return 0, false
	}
	t.size(i + 1)
	p := 2 * max(x, t.decayed(now, i, def))
	if p > failureCap {
		p = max(failureCap, x)
	}
	return p, true
}

// loadCost is the scaled cost of sending one more attempt to eps[i]:
// estimate × (in-flight+1) / weight. The weight divides the cost as
// least-request's (in-flight+1)/weight does, so configured weights and slow
// start apply; with equal weights it is exactly Finagle's and Linkerd's
// estimate × (pending+1).
func loadCost(scaled float64, ep *Endpoint) float64 {
	c := scaled * float64(ep.InFlight+1)
	if ep.Weight > 0 && ep.Weight != 1 {
		c /= ep.Weight
	}
	return c
}

// ---------------------------------------------------------------------------
// peak-ewma

// PeakEWMA is Finagle's and Linkerd's peak-EWMA balancer: power of two
// choices (Mitzenmacher 2001) over the cost estimate × (in-flight+1), where
// the estimate is a latency EWMA that jumps at once to any higher
// observation and decays toward lower ones with time constant decay
// (Finagle loadbalancer/PeakEwma.scala with P2CBalancerPeakEwma, default
// decayTime 10 s; tower src/load/peak_ewma.rs as used by linkerd2-proxy,
// EWMA_DECAY 10 s, EWMA_DEFAULT_RTT 30 ms). See latencyTable for how decay
// is computed from the time between observations and on read, and
// latencyTable.sample for how failures and cancellations are fed.
//
// An endpoint with no observation yet costs initial × (in-flight+1), as
// tower's default RTT estimate does; its first observation replaces the
// initial value.
type PeakEWMA struct {
	R       *rand.Rand
	initial float64 // ns
	t       latencyTable
}

// NewPeakEWMA returns a peak-EWMA balancer with the given decay time
// constant and initial latency for endpoints not yet observed.
func NewPeakEWMA(r *rand.Rand, decay, initial time.Duration) *PeakEWMA {
	return &PeakEWMA{R: r, initial: float64(max(initial, 0)), t: newLatencyTable(decay)}
}

// cost is eps[i]'s scaled cost at now.
func (b *PeakEWMA) cost(now time.Duration, eps []Endpoint, i int) float64 {
	if b.t.seen[i] {
		return loadCost(b.t.scaled[i], &eps[i])
	}
	return loadCost(b.t.scale(now, b.initial), &eps[i])
}

// Pick implements Balancer.
func (b *PeakEWMA) Pick(now time.Duration, _ Request, eps []Endpoint, cand []int) int {
	n := len(cand)
	if n == 1 {
		return cand[0]
	}
	b.t.size(len(eps))
	b.t.advance(now)
	x := b.R.IntN(n)
	y := b.R.IntN(n - 1)
	if y >= x {
		y++
	}
	i, j := cand[x], cand[y]
	ci, cj := b.cost(now, eps, i), b.cost(now, eps, j)
	if cj < ci || (cj == ci && b.R.IntN(2) == 0) {
		return j
	}
	return i
}

// Done implements Balancer.
func (b *PeakEWMA) Done(now time.Duration, i int, latency time.Duration, o Outcome) {
	if x, ok := b.t.sample(now, i, latency, o, b.initial); ok {
		b.t.observe(now, i, x, true)
	}
}

// Estimate returns endpoint i's latency estimate as of now (decayed since
// its last observation), and false if it has not been observed yet.
func (b *PeakEWMA) Estimate(now time.Duration, i int) (time.Duration, bool) {
	if i >= len(b.t.seen) || !b.t.seen[i] {
		return time.Duration(b.initial), false
	}
	return time.Duration(b.t.decayed(now, i, 0)), true
}

// ---------------------------------------------------------------------------
// least-time

// LeastTime is NGINX Plus's `least_time last_byte inflight`: "a request is
// passed to the server with the least average response time and least
// number of active connections, taking into account weights of servers"
// (ngx_http_upstream_module, least_time). NGINX Plus is closed source; our
// reading is the cost (latency EWMA) × (in-flight+1) / weight, the lowest
// over every candidate, ties broken uniformly at random (NGINX tries tied
// servers by weighted round robin). The latency is the whole attempt as
// reported to Done, i.e. last_byte; the EWMA is time-weighted with time
// constant decay and, as in peak-ewma, decays toward zero between
// observations, so that an endpoint avoided after a slow spell is tried
// again (see latencyTable); unlike peak-ewma it does not jump to peaks.
// Failures and cancellations are fed as in peak-ewma (latencyTable.sample).
//
// An endpoint with no observation yet follows Finagle's PeakEwma rule: free
// while it has nothing in flight (so each new endpoint is probed once), and
// otherwise worse than any observed endpoint, ordered among such endpoints
// by (in-flight+1)/weight; at the start of a run LeastTime therefore acts as
// least-request until responses arrive.
type LeastTime struct {
	R *rand.Rand
	t latencyTable
}

// NewLeastTime returns a least-time balancer whose latency EWMA has the
// given decay time constant.
func NewLeastTime(r *rand.Rand, decay time.Duration) *LeastTime {
	return &LeastTime{R: r, t: newLatencyTable(decay)}
}

// Pick implements Balancer. One pass ranks the candidates by a single key:
// −1 for an unobserved idle endpoint, the scaled cost for an observed one
// and +Inf for an unobserved busy one; only when every candidate is
// unobserved and busy does a second pass order them by (in-flight+1)/weight.
func (b *LeastTime) Pick(now time.Duration, _ Request, eps []Endpoint, cand []int) int {
	if len(cand) == 1 {
		return cand[0]
	}
	b.t.size(len(eps))
	b.t.advance(now)
	seen, scaled := b.t.seen[:len(eps)], b.t.scaled[:len(eps)]
	// Keys are compared as k/w against bk/bw by cross-multiplying (weights
	// are positive), which avoids a division per candidate.
	best, bk, bw, ties := -1, 0.0, 1.0, 0
	for _, i := range cand {
		e := &eps[i]
		var k float64
		switch {
		case seen[i]:
			k = scaled[i] * float64(e.InFlight+1)
		case e.InFlight == 0:
			k = -1
		default:
			k = math.Inf(1)
		}
		l, r := k*bw, bk*e.Weight
		switch {
		case best < 0 || l < r:
			best, bk, bw, ties = i, k, e.Weight, 1
		case l == r:
			// Reservoir sampling: each of k tied candidates wins with
			// probability 1/k.
			ties++
			if b.R.IntN(ties) == 0 {
				best = i
			}
		}
	}
	if math.IsInf(bk, 1) {
		return b.leastLoaded(eps, cand)
	}
	return best
}

// leastLoaded picks by (in-flight+1)/weight, ties at random: the order among
// unobserved busy endpoints (Finagle's Penalty + pending).
func (b *LeastTime) leastLoaded(eps []Endpoint, cand []int) int {
	return leastLoadedIn(b.R, eps, cand)
}

// Done implements Balancer.
func (b *LeastTime) Done(now time.Duration, i int, latency time.Duration, o Outcome) {
	if x, ok := b.t.sample(now, i, latency, o, 0); ok {
		b.t.observe(now, i, x, false)
	}
}

// Estimate returns endpoint i's latency EWMA as of now (decayed since its
// last observation), and false if it has not been observed yet.
func (b *LeastTime) Estimate(now time.Duration, i int) (time.Duration, bool) {
	if i >= len(b.t.seen) || !b.t.seen[i] {
		return 0, false
	}
	return time.Duration(b.t.decayed(now, i, 0)), true
}

// ---------------------------------------------------------------------------
// jiq

// JIQ is join-idle-queue (Lu, Xie, Kliot, Geller, Larus and Greenberg,
// "Join-Idle-Queue: A novel load balancing algorithm for dynamically
// scalable web services", IFIP Performance 2011). Each dispatcher keeps an
// I-queue of servers that reported being idle; a job goes to the head of the
// I-queue, which leaves it, or, when the I-queue is empty, to a uniformly
// random server. Here the balancer is the dispatcher: an endpoint joins the
// I-queue (at the tail) when its last attempt from this balancer finishes,
// and every endpoint is idle, in index order, at the start.
//
// The queue is a ring of capacity len(eps) (an endpoint is in it at most
// once) and needs no allocation. Entries that are no longer candidates, or
// that the pool reports busy, are dropped as they reach the head; the
// candidate marks are refreshed only when the candidate list changes, and
// idle candidates missing from the queue (dropped earlier, or returning
// from health checking) then join it again. Detecting a change is free when
// every endpoint is a candidate, the usual case; otherwise the list is
// compared with the copy the marks were built from (one pass, no exp or
// division).
//
// "Idle" counts this balancer's attempts: an attempt abandoned by a timeout
// leaves the count although the server may still be working on it.
type JIQ struct {
	R    *rand.Rand
	n    int    // len(eps) the state was sized for
	ring []int  // the I-queue: size entries from head, wrapping
	head int    // index of the first entry in ring
	size int    // entries in the queue
	inQ  []bool // endpoint is in the queue
	busy []int  // attempts this balancer sent and has not seen finish
	mark []bool // endpoint is a candidate (valid while !full)
	last []int  // candidate list the marks were built from
	full bool   // the last candidate list held every endpoint
}

// NewJIQ returns a join-idle-queue balancer.
func NewJIQ(r *rand.Rand) *JIQ { return &JIQ{R: r} }

// reset sizes the state for n endpoints, all idle and queued in index order.
func (b *JIQ) reset(n int) {
	b.n = n
	b.ring = make([]int, n)
	b.inQ = make([]bool, n)
	b.busy = make([]int, n)
	b.mark = make([]bool, n)
	b.last = make([]int, 0, n)
	b.head, b.size = 0, 0
	b.full = true
	for i := range n {
		b.push(i)
	}
}

func (b *JIQ) push(i int) {
	k := b.head + b.size
	if k >= b.n {
		k -= b.n
	}
	b.ring[k] = i
	b.size++
	b.inQ[i] = true
}

// sync refreshes the candidate marks when the candidate list changed and
// queues the idle candidates missing from the queue.
func (b *JIQ) sync(cand []int) {
	if len(cand) == b.n {
		if !b.full {
			b.full = true
			for i := range b.n {
				b.requeue(i)
			}
		}
		return
	}
	if !b.full && slices.Equal(cand, b.last) {
		return
	}
	b.full = false
	b.last = append(b.last[:0], cand...)
	clear(b.mark)
	for _, i := range cand {
		b.mark[i] = true
	}
	for _, i := range cand {
		b.requeue(i)
	}
}

// requeue queues endpoint i if it is idle and not queued.
func (b *JIQ) requeue(i int) {
	if b.busy[i] == 0 && !b.inQ[i] {
		b.push(i)
	}
}

// Pick implements Balancer.
func (b *JIQ) Pick(_ time.Duration, _ Request, eps []Endpoint, cand []int) int {
	if len(eps) != b.n {
		b.reset(len(eps))
	}
	b.sync(cand)
	for b.size > 0 {
		h := b.ring[b.head]
		b.head++
		if b.head == b.n {
			b.head = 0
		}
		b.size--
		b.inQ[h] = false
		if (b.full || b.mark[h]) && eps[h].InFlight == 0 {
			b.busy[h]++
			return h
		}
	}
	i := cand[b.R.IntN(len(cand))]
	b.busy[i]++
	return i
}

// Done implements Balancer.
func (b *JIQ) Done(_ time.Duration, i int, _ time.Duration, _ Outcome) {
	if i >= b.n || b.busy[i] == 0 {
		return
	}
	b.busy[i]--
	if b.busy[i] == 0 && !b.inQ[i] {
		b.push(i)
	}
}

// Idle returns the number of endpoints in the I-queue.
func (b *JIQ) Idle() int { return b.size }
