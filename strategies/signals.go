package strategies

import (
	"math"
	"math/rand/v2"
	"time"
)

// signalCatalogue registers the server-signal family: prequal, c3, orca-wrr.
// Each reads what servers report about themselves (SignalSource) and falls
// back to a signal-free rule when the pool never calls UseSignals.
var signalCatalogue = []Info{
	{
		Name:    "prequal",
		Summary: "probe a few endpoints for requests-in-flight and latency; hot-cold lexicographic choice over a pool of recent probes",
		Source:  `Wydrowski, Kleinberg, Rumble, Archer, "Load is not what you should balance: Introducing Prequal", NSDI 2024 (arXiv:2312.10172)`,
		Params: []Param{
			{Name: "probes", Default: 3, Min: 1, Max: 16,
				Doc: "distinct random candidates probed per pick (the paper's r_probe; integer)"},
			{Name: "pool_size", Default: 16, Min: 1, Max: 64,
				Doc: "probe results kept, newest per endpoint; the oldest is evicted when full (the paper's pool of 16; integer)"},
			{Name: "max_age_ms", Default: 1000, Min: 0, Max: 60000,
				Doc: "probe results older than this are dropped"},
			{Name: "reuse", Default: 1, Min: 1, Max: 64,
				Doc: "picks one probe result may route before it is dropped (the paper's reuse budget; integer)"},
			{Name: "q_rif", Default: 0.84, Min: 0, Max: 1,
				Doc: "a probe is hot when its RIF is above this quantile of the pool's RIFs; 1 = pure latency, 0 = lowest RIF first"},
		},
		New: func(r *rand.Rand, p Params) Balancer { return newPrequal(r, p) },
	},
	{
		Name:    "c3",
		Summary: "cubic replica ranking: EWMAs of response time, server queue and service time fed back on responses, plus own outstanding requests",
		Source:  `Suresh, Canini, Schmid, Feldmann, "C3: Cutting Tail Latency in Cloud Data Stores via Adaptive Replica Selection", NSDI 2015; lalithsuresh/cassandra-c3 ScoreTracker.java`,
		Params: []Param{
			{Name: "clients", Default: 1, Min: 1, Max: 10000,
				Doc: "n, the number of clients (dispatchers) sharing the servers: os·n estimates everyone's requests since the last feedback"},
			{Name: "alpha", Default: 0.9, Min: 0.01, Max: 1,
				Doc: "EWMA weight of the newest sample (cassandra-c3 ScoreTracker ALPHA = 0.9)"},
			{Name: "choices", Default: 0, Min: 0, Max: 16,
				Doc: "0 scores every candidate (the paper ranks all replicas of a key); k ≥ 1 scores k distinct random candidates (integer)"},
			{Name: "expire_ms", Default: 1000, Min: 0, Max: 600000,
				Doc: "feedback older than this is forgotten so an avoided endpoint is tried again (0 = never); not in the paper"},
		},
		New: func(r *rand.Rand, p Params) Balancer { return newC3(r, p) },
	},
	{
		Name:    "orca-wrr",
		Summary: "weighted round robin with weights qps/utilization from server load reports, gRPC weighted_round_robin style",
		Source:  "gRPC proposal A58 weighted_round_robin (grpc-go balancer/weightedroundrobin, grpc static_stride_scheduler.cc); Envoy client_side_weighted_round_robin with ORCA",
		Params: []Param{
			{Name: "period_ms", Default: 1000, Min: 10, Max: 60000,
				Doc: "how often weights are recomputed (gRPC weight_update_period, default 1 s)"},
			{Name: "blackout_ms", Default: 1000, Min: 0, Max: 600000,
				Doc: "an endpoint's weight is used only after it has reported this long (gRPC blackout_period is 10 s; 1 s suits short runs)"},
			{Name: "window_s", Default: 10, Min: 0.1, Max: 600,
				Doc: "span of the qps and utilization averages (exponential, mean age window/2, like a sliding window of this length); an endpoint silent this long loses its weight"},
			{Name: "error_penalty", Default: 1, Min: 0, Max: 100,
				Doc: "weight = qps / (utilization + error_penalty·eps/qps) (gRPC error_utilization_penalty, default 1)"},
		},
		New: func(r *rand.Rand, p Params) Balancer { return newOrcaWRR(r, p) },
	},
}

// sigInt reads an integer parameter (the fractional part is dropped).
func sigInt(p Params, name string) int { return int(p[name]) }

// sigMillis reads a parameter given in milliseconds.
func sigMillis(p Params, name string) time.Duration {
	return time.Duration(p[name] * float64(time.Millisecond))
}

// sigSample fills dst with k distinct positions in [0, n), k ≤ n, drawn
// uniformly by Floyd's algorithm (Bentley & Floyd, "A sample of brilliance",
// CACM 30(9), 1987): k draws and no allocation when cap(dst) ≥ k.
func sigSample(r *rand.Rand, dst []int, n, k int) []int {
	dst = dst[:0]
	for j := n - k; j < n; j++ {
		t := r.IntN(j + 1)
		for _, x := range dst {
			if x == t {
				t = j
				break
			}
		}
		dst = append(dst, t)
	}
	return dst
}

// ---------------------------------------------------------------- Prequal

// Prequal is the Prequal balancer (Wydrowski et al., NSDI 2024). Servers
// answer probes with their requests-in-flight (RIF) and a latency estimate;
// the client keeps recent answers in a small probe pool and routes each
// request by the hot-cold lexicographic (HCL) rule: a probe is hot when its
// RIF is above the q_rif quantile of the RIFs in the pool; the request goes
// to the cold probe with the lowest latency estimate, or, if every probe is
// hot, to the one with the lowest RIF.
//
// Approximations:
//   - Probing is synchronous: each pick reads the signals of `probes`
//     distinct random candidates and adds them to the pool before choosing.
//     The paper's probes are asynchronous RPCs whose answers arrive later;
//     here they cost nothing and are never in transit. In live mode the
//     source holds the last values each server reported, which plays the
//     part of an answer already in the pool.
//   - RIF is Signal.InFlight (the server's count, queued plus in service,
//     from every client). The latency estimate is ServiceTime × (RIF+1), the
//     sojourn a new request would see behind the server's RIF at its mean
//     service time (exact for one FIFO worker); the paper's server reports
//     instead the median latency of its recent requests at its current RIF.
//   - The pool keeps the newest answer per endpoint, at most pool_size of
//     them, evicting the oldest; answers older than max_age_ms or used
//     `reuse` times are dropped. The paper also derives the reuse budget
//     from the probe and removal rates and periodically removes the worst
//     probe; neither is modelled (probes are free here, so the budget is a
//     plain parameter).
//   - Using a probe adds one to its RIF, accounting for the request just
//     sent until a fresh answer replaces it (as the prequal-rs and other
//     reimplementations do).
//
// Defaults: 3 probes per pick and a pool of 16 are the paper's, and q_rif
// 0.84 is the paper's setting, all as reported by the prequal-rs
// reimplementation (crates/prequal-core/src/config.rs, which itself lowers
// q_rif to 0.6 after seeing 0.84 herd at high load) and by other
// reimplementations; not checked against the paper's text here. The 1 s
// max age is prequal-rs's; the paper ages probes out too.
//
// Without UseSignals there is nothing to probe and Prequal degrades to
// power of d choices on Endpoint.InFlight (d = probes, weighted as p2c).
type Prequal struct {
	r         *rand.Rand
	src       SignalSource
	probes    int
	maxAge    time.Duration
	reuse     int
	qRIF      float64
	pool      []prequalProbe // cap pool_size
	rifs      []int          // scratch for the quantile, cap pool_size
	positions []int          // scratch for sampling, cap probes
}

// prequalProbe is one probe answer in the pool.
type prequalProbe struct {
	ep   int32         // endpoint index
	pos  int32         // position in cand when probed (validity check)
	rif  int           // requests in flight, plus picks routed since
	svc  float64       // server's mean service time, seconds
	at   time.Duration // when it was read
	uses int           // picks routed with it
}

func newPrequal(r *rand.Rand, p Params) *Prequal {
	size := sigInt(p, "pool_size")
	probes := sigInt(p, "probes")
	return &Prequal{
		r:         r,
		probes:    probes,
		maxAge:    sigMillis(p, "max_age_ms"),
		reuse:     sigInt(p, "reuse"),
		qRIF:      p["q_rif"],
		pool:      make([]prequalProbe, 0, size),
		rifs:      make([]int, 0, size),
		positions: make([]int, 0, probes),
	}
}

// UseSignals implements SignalUser: src answers the probes.
func (b *Prequal) UseSignals(src SignalSource) { b.src = src }

// Pick implements Balancer.
func (b *Prequal) Pick(now time.Duration, _ Request, eps []Endpoint, cand []int) int {
	n := len(cand)
	if n == 1 {
		return cand[0]
	}
	k := min(b.probes, n)
	b.positions = sigSample(b.r, b.positions, n, k)
	if b.src == nil {
		return b.powerOfD(eps, cand)
	}
	for _, x := range b.positions {
		b.insert(now, cand[x], x, b.src(cand[x]))
	}
	// Drop answers that are too old or whose endpoint is no longer the
	// candidate at the position it was probed at (the candidate list
	// changed); a dropped answer is simply probed again later.
	w := 0
	for _, e := range b.pool {
		if now-e.at > b.maxAge || int(e.pos) >= n || cand[e.pos] != int(e.ep) {
			continue
		}
		b.pool[w] = e
		w++
	}
	b.pool = b.pool[:w]
	// The pool now holds at least this pick's fresh answers.
	best := b.hcl(b.threshold())
	e := &b.pool[best]
	i := int(e.ep)
	e.rif++
	e.uses++
	if e.uses >= b.reuse {
		last := len(b.pool) - 1
		b.pool[best] = b.pool[last]
		b.pool = b.pool[:last]
	}
	return i
}

// insert adds a probe answer, replacing an older one for the same endpoint
// or, when the pool is full, the oldest answer.
func (b *Prequal) insert(now time.Duration, ep, pos int, sig Signal) {
	e := prequalProbe{ep: int32(ep), pos: int32(pos), rif: sig.InFlight, svc: sig.ServiceTime.Seconds(), at: now}
	for k := range b.pool {
		if b.pool[k].ep == e.ep {
			b.pool[k] = e
			return
		}
	}
	if len(b.pool) < cap(b.pool) {
		b.pool = append(b.pool, e)
		return
	}
	oldest := 0
	for k := range b.pool {
		if b.pool[k].at < b.pool[oldest].at {
			oldest = k
		}
	}
	b.pool[oldest] = e
}

// threshold is the q_rif quantile of the RIFs in the pool (the lower
// empirical quantile, element ⌈q·m⌉ of the m sorted values): probes with a
// larger RIF are hot. With few probes the quantile is the maximum and
// nothing is hot.
func (b *Prequal) threshold() int {
	rifs := b.rifs[:0]
	for _, e := range b.pool {
		// Insertion sort: the pool holds at most a few dozen answers.
		j := len(rifs)
		rifs = append(rifs, e.rif)
		for j > 0 && rifs[j-1] > e.rif {
			rifs[j] = rifs[j-1]
			j--
		}
		rifs[j] = e.rif
	}
	b.rifs = rifs
	m := len(rifs)
	k := int(math.Ceil(b.qRIF*float64(m))) - 1
	k = max(0, min(k, m-1))
	return rifs[k]
}

// hcl returns the pool index chosen by the hot-cold lexicographic rule:
// the cold probe with the lowest latency estimate (then lowest RIF), or if
// all are hot the one with the lowest RIF (then lowest latency); remaining
// ties are broken uniformly at random.
func (b *Prequal) hcl(thr int) int {
	best, ties := -1, 0
	bestHot := true
	for k := range b.pool {
		e := &b.pool[k]
		hot := e.rif > thr
		if best < 0 || (bestHot && !hot) {
			best, ties, bestHot = k, 1, hot
			continue
		}
		if hot != bestHot {
			continue
		}
		o := &b.pool[best]
		la, lb := e.svc*float64(e.rif+1), o.svc*float64(o.rif+1)
		var c int
		if hot {
			c = sigCmp2(float64(e.rif), float64(o.rif), la, lb)
		} else {
			c = sigCmp2(la, lb, float64(e.rif), float64(o.rif))
		}
		switch {
		case c < 0:
			best, ties = k, 1
		case c == 0:
			ties++
			if b.r.IntN(ties) == 0 {
				best = k
			}
		}
	}
	return best
}

// sigCmp2 compares (a1, a2) with (b1, b2) lexicographically.
func sigCmp2(a1, b1, a2, b2 float64) int {
	switch {
	case a1 < b1:
		return -1
	case a1 > b1:
		return 1
	case a2 < b2:
		return -1
	case a2 > b2:
		return 1
	}
	return 0
}

// powerOfD picks the least loaded (in-flight per weight) of the sampled
// positions, ties at random: the signal-free fallback.
func (b *Prequal) powerOfD(eps []Endpoint, cand []int) int {
	best, ties := cand[b.positions[0]], 1
	for _, x := range b.positions[1:] {
		i := cand[x]
		less, equal := lessLoaded(&eps[i], &eps[best])
		switch {
		case less:
			best, ties = i, 1
		case equal:
			ties++
			if b.r.IntN(ties) == 0 {
				best = i
			}
		}
	}
	return best
}

// Done implements Balancer. Prequal learns from probes, not from outcomes.
func (b *Prequal) Done(time.Duration, int, time.Duration, Outcome) {}

// --------------------------------------------------------------------- C3

// C3 is C3's replica ranking (Suresh et al., NSDI 2015). Every
// response carries the server's queue size q and service time 1/μ; the
// client keeps per-endpoint EWMAs of them and of the response time R it
// measured, counts its own outstanding requests os, and sends each request
// to the endpoint with the lowest score
//
//	Ψ = R̄ − 1/μ̄ + q̂³/μ̄,  q̂ = 1 + os·n + q̄
//
// where n is the number of clients: os·n estimates the requests all
// clients sent since the last feedback, and the cubic term penalises long
// queues far more than slow service. As in the paper, which ranks all
// replicas of a key, every candidate is scored (choices = 0); choices = k
// scores k distinct random candidates instead.
//
// Model and deviations:
//   - Feedback is read from the signal source in Done (C3 piggybacks it on
//     responses): q = Signal.InFlight, 1/μ = Signal.ServiceTime, both at the
//     moment the attempt ends; os = Endpoint.InFlight. R is the attempt's
//     latency. Timeouts update R (a lower bound) and the server's figures;
//     queue-full and connection failures update only the server's figures,
//     since their short latency would make a failing endpoint look fast;
//     cancelled attempts are ignored.
//   - EWMAs give weight alpha to the newest sample (0.9 in the authors'
//     cassandra-c3 ScoreTracker.java) and start at the first sample.
//   - An endpoint without feedback, or whose feedback is older than
//     expire_ms (it is then forgotten), is scored with the mean R̄, 1/μ̄ and
//     q̄ of the endpoints that have fresh feedback (cassandra-c3 scores it
//     0, which floods a new endpoint until its first response). Expiry is
//     not in C3: it lets an endpoint that was avoided, and so sends no
//     feedback, be tried again once its queue may have drained, as
//     Cassandra's dynamic snitch resets its scores
//     (dynamic_snitch_reset_interval_in_ms, 600000 = 10 min there).
//   - C3's second half, per-server rate limiting with a cubic rate
//     controller and backpressure queues, is not modelled: a
//     balancer here must pick an endpoint for every attempt.
//   - Endpoint weights are ignored.
//
// Without UseSignals q̄ stays 0 and the response time stands in for the
// service time, so Ψ = (1 + os·n)³·R̄: least outstanding requests scaled by
// latency; with no feedback at all it is least outstanding requests.
type C3 struct {
	r       *rand.Rand
	src     SignalSource
	clients float64
	alpha   float64
	choices int
	expire  time.Duration
	st      []c3Endpoint
	// Sums over the endpoints with feedback, for the mean used for
	// endpoints without.
	sumR, sumQ, sumS float64
	nR, nS           int
	// The means, computed once per pick (negative if unknown).
	meanR, meanQ, meanS float64
	positions           []int
}

// c3Endpoint is what C3 knows of one endpoint.
type c3Endpoint struct {
	r, q, s    float64 // EWMAs: response time (s), queue size, service time (s)
	hasR, hasS bool
	last       time.Duration // last feedback
}

func newC3(r *rand.Rand, p Params) *C3 {
	return &C3{
		r:         r,
		clients:   p["clients"],
		alpha:     p["alpha"],
		choices:   sigInt(p, "choices"),
		expire:    sigMillis(p, "expire_ms"),
		positions: make([]int, 0, sigInt(p, "choices")),
	}
}

// UseSignals implements SignalUser: src gives the feedback C3 reads on
// responses.
func (b *C3) UseSignals(src SignalSource) { b.src = src }

// Pick implements Balancer.
func (b *C3) Pick(now time.Duration, _ Request, eps []Endpoint, cand []int) int {
	if len(b.st) != len(eps) {
		b.st = make([]c3Endpoint, len(eps))
		b.sumR, b.sumQ, b.sumS, b.nR, b.nS = 0, 0, 0, 0, 0
	}
	n := len(cand)
	if n == 1 {
		return cand[0]
	}
	b.meanR, b.meanQ, b.meanS = -1, 0, -1
	if b.nR > 0 {
		b.meanR = b.sumR / float64(b.nR)
	}
	if b.nS > 0 {
		b.meanQ, b.meanS = b.sumQ/float64(b.nS), b.sumS/float64(b.nS)
	}
	if b.choices > 0 && b.choices < n {
		b.positions = sigSample(b.r, b.positions, n, b.choices)
		best, ties, bestScore := -1, 0, 0.0
		for _, x := range b.positions {
			best, ties, bestScore = b.consider(now, eps, cand[x], best, ties, bestScore)
		}
		return best
	}
	best, ties, bestScore := -1, 0, 0.0
	for _, i := range cand {
		best, ties, bestScore = b.consider(now, eps, i, best, ties, bestScore)
	}
	return best
}

// consider scores endpoint i against the best so far (reservoir tie-break).
func (b *C3) consider(now time.Duration, eps []Endpoint, i, best, ties int, bestScore float64) (int, int, float64) {
	s := b.score(now, i, eps[i].InFlight)
	switch {
	case best < 0 || s < bestScore:
		return i, 1, s
	case s == bestScore:
		ties++
		if b.r.IntN(ties) == 0 {
			return i, ties, s
		}
	}
	return best, ties, bestScore
}

// score is Ψ for endpoint i with os outstanding requests.
func (b *C3) score(now time.Duration, i, os int) float64 {
	e := &b.st[i]
	if b.stale(now, e) {
		b.forget(e)
	}
	r, q, s := b.meanR, b.meanQ, b.meanS
	if e.hasR {
		r = e.r
	}
	switch {
	case b.src == nil:
		q, s = 0, r // the response time stands in for the service time
	case e.hasS:
		q, s = e.q, e.s
	}
	switch {
	case s < 0 && r < 0:
		r, s = 1, 1 // nothing known anywhere: rank by q̂ alone
	case s < 0:
		s = r
	case r < 0:
		r = s
	}
	qh := 1 + float64(os)*b.clients + q
	return r - s + qh*qh*qh*s
}

// stale reports whether e has feedback older than expire_ms.
func (b *C3) stale(now time.Duration, e *c3Endpoint) bool {
	return b.expire > 0 && (e.hasR || e.hasS) && now-e.last > b.expire
}

// forget drops e's feedback, taking it out of the means.
func (b *C3) forget(e *c3Endpoint) {
	if e.hasR {
		b.sumR -= e.r
		b.nR--
		e.hasR = false
	}
	if e.hasS {
		b.sumQ -= e.q
		b.sumS -= e.s
		b.nS--
		e.hasS = false
	}
}

// Done implements Balancer: it folds the attempt's latency and the
// endpoint's reported queue and service time into the EWMAs.
func (b *C3) Done(now time.Duration, i int, latency time.Duration, o Outcome) {
	if i < 0 || i >= len(b.st) || o == Cancelled {
		return
	}
	e := &b.st[i]
	if b.stale(now, e) {
		b.forget(e) // start afresh rather than blend with old feedback
	}
	updated := false
	if o != QueueFull && o != ConnectFail {
		x := latency.Seconds()
		if e.hasR {
			old := e.r
			e.r += b.alpha * (x - e.r)
			b.sumR += e.r - old
		} else {
			e.r, e.hasR = x, true
			b.sumR += x
			b.nR++
		}
		updated = true
	}
	if b.src != nil {
		sig := b.src(i)
		q, s := float64(sig.InFlight), sig.ServiceTime.Seconds()
		if e.hasS {
			oq, os := e.q, e.s
			e.q += b.alpha * (q - e.q)
			e.s += b.alpha * (s - e.s)
			b.sumQ += e.q - oq
			b.sumS += e.s - os
		} else {
			e.q, e.s, e.hasS = q, s, true
			b.sumQ += q
			b.sumS += s
			b.nS++
		}
		updated = true
	}
	if updated {
		e.last = now
	}
}

// --------------------------------------------------------------- orca-wrr

// OrcaWRR is client-side weighted round robin driven by server load
// reports, as gRPC's weighted_round_robin policy (proposal A58) and Envoy's
// client_side_weighted_round_robin do with ORCA reports. Each endpoint's
// weight is
//
//	weight = qps / (utilization + error_penalty · eps/qps)
//
// recomputed every period_ms. Since utilization ≈ qps/capacity, the weight
// converges to the endpoint's capacity whatever share it currently gets.
// An endpoint's weight is used only once it has reported for blackout_ms
// (gRPC's blackout_period), and is dropped when it has not reported for
// window_s (gRPC's weight_expiration_period, 3 min there). Endpoints without
// a usable weight get the mean of the usable ones; with fewer than two
// usable weights the policy is plain round robin, as in gRPC. Picks follow
// gRPC's static stride scheduler (grpc-go weightedroundrobin/scheduler.go
// "edfScheduler"; grpc src/core/load_balancing/weighted_round_robin/
// static_stride_scheduler.cc): weights are scaled to 16 bits with
// the largest clamped to 10× the mean and the smallest raised to 1% of it,
// and a sequence counter, started at a random point, walks the candidates,
// taking each in proportion to its weight. O(1) expected per pick.
//
// Model:
//   - A report is an attempt answered by the server (OK, 5xx, queue full);
//     Done reads the endpoint's Signal.Utilization then, as gRPC reads the
//     per-call ORCA report in the response trailer. Timeouts, connection
//     failures and cancellations carry no report.
//   - qps (and eps, answers that are errors) are this client's completion
//     rates from Done, not the server's totals that ORCA reports; with
//     several balancers sharing servers each sees its own share, which
//     keeps the ratio qps/utilization proportional to capacity only while
//     the balancers split traffic alike.
//   - Utilization is the mean of the per-report samples. Signal.Utilization
//     is instantaneous (busy/concurrency) while ORCA's is a server-side
//     average; reports at completions see the server's time-average state,
//     so their mean estimates it. Samples of 0 count (gRPC ignores a report
//     of 0 utilization; here an idle instant is a valid sample).
//   - Both averages are exponentially weighted over time with mean age
//     window_s/2, the mean age of a sliding window of window_s.
//   - Endpoint weights from the pool (configured, slow start) are ignored,
//     as gRPC does.
//
// Without UseSignals there are no reports and OrcaWRR is round robin.
type OrcaWRR struct {
	r        *rand.Rand
	src      SignalSource
	period   time.Duration
	blackout time.Duration
	window   time.Duration
	tau      float64 // decay time constant, seconds
	penalty  float64

	started     bool
	next        time.Duration // next weight refresh
	lastRefresh time.Duration
	seq         uint64
	rr          bool // fewer than two usable weights
	st          []orcaEndpoint
	sw          []uint16 // scaled weights per endpoint
}

// orcaEndpoint is one endpoint's load history.
type orcaEndpoint struct {
	// Since the last refresh.
	n, errs, util, nUtil float64
	// Decayed accumulators.
	an, aerrs, autil, anUtil, atime float64
	reporting                       bool
	since, last                     time.Duration // first and latest report of this run of reports
	weight                          float64       // usable weight, 0 if none
}

// Static stride scheduler constants (grpc static_stride_scheduler.cc:
// kMaxWeight, kMaxRatio, kMinRatio).
const (
	orcaMaxWeight = math.MaxUint16
	orcaMaxRatio  = 10
	orcaMinRatio  = 0.01
)

func newOrcaWRR(r *rand.Rand, p Params) *OrcaWRR {
	window := time.Duration(p["window_s"] * float64(time.Second))
	return &OrcaWRR{
		r:        r,
		period:   sigMillis(p, "period_ms"),
		blackout: sigMillis(p, "blackout_ms"),
		window:   window,
		tau:      window.Seconds() / 2,
		penalty:  p["error_penalty"],
		rr:       true,
	}
}

// UseSignals implements SignalUser: the source of utilization reports.
func (b *OrcaWRR) UseSignals(src SignalSource) { b.src = src }

// Pick implements Balancer.
func (b *OrcaWRR) Pick(now time.Duration, _ Request, eps []Endpoint, cand []int) int {
	if len(b.st) != len(eps) {
		b.st = make([]orcaEndpoint, len(eps))
		b.sw = make([]uint16, len(eps))
		b.rr = true
	}
	if !b.started {
		b.started = true
		b.lastRefresh = now
		b.next = now + b.period
		if b.r != nil {
			b.seq = uint64(b.r.Uint32()) // start at a random point, as gRPC
		}
	} else if now >= b.next {
		b.refresh(now, cand)
		b.next = now + b.period
	}
	n := uint64(len(cand))
	if b.rr || b.src == nil {
		i := cand[b.seq%n]
		b.seq++
		return i
	}
	// Static stride scheduling: position pos is taken in generation gen
	// when (w·gen + pos·offset) mod maxW ≥ maxW − w, i.e. w times in
	// maxW generations, spread evenly; the offset de-synchronises
	// neighbours of similar weight.
	const offset = orcaMaxWeight / 2
	for {
		idx := b.seq
		b.seq++
		pos := idx % n
		gen := idx / n
		i := cand[pos]
		w := uint64(b.sw[i])
		if (w*gen+pos*offset)%orcaMaxWeight >= orcaMaxWeight-w {
			return i
		}
	}
}

// refresh folds the reports since the last refresh into the averages and
// recomputes the weights and the scheduler.
func (b *OrcaWRR) refresh(now time.Duration, cand []int) {
	dt := (now - b.lastRefresh).Seconds()
	d := math.Exp(-dt / b.tau)
	for i := range b.st {
		e := &b.st[i]
		e.weight = 0
		if !e.reporting {
			continue
		}
		if now-e.last >= b.window {
			*e = orcaEndpoint{} // expired: blackout again when reports resume
			continue
		}
		span := dt
		if e.since > b.lastRefresh {
			span = (now - e.since).Seconds()
		}
		e.an = e.an*d + e.n
		e.aerrs = e.aerrs*d + e.errs
		e.autil = e.autil*d + e.util
		e.anUtil = e.anUtil*d + e.nUtil
		e.atime = e.atime*d + span
		e.n, e.errs, e.util, e.nUtil = 0, 0, 0, 0
		if now-e.since < b.blackout || e.atime <= 0 || e.anUtil <= 0 {
			continue
		}
		qps := e.an / e.atime
		util := e.autil / e.anUtil
		if qps <= 0 || util <= 0 {
			continue
		}
		eps := e.aerrs / e.atime
		e.weight = qps / (util + eps/qps*b.penalty)
	}
	b.lastRefresh = now
	b.schedule(cand)
}

// schedule scales the weights for the static stride scheduler.
func (b *OrcaWRR) schedule(cand []int) {
	sum, maxW, usable := 0.0, 0.0, 0
	for _, i := range cand {
		if w := b.st[i].weight; w > 0 {
			sum += w
			maxW = max(maxW, w)
			usable++
		}
	}
	if usable < 2 {
		b.rr = true
		return
	}
	b.rr = false
	mean := sum / float64(usable)
	scale := orcaMaxWeight / min(maxW, mean*orcaMaxRatio)
	lower := max(1, math.Round(scale*mean*orcaMinRatio))
	for i := range b.st {
		w := b.st[i].weight
		if w <= 0 {
			w = mean
		}
		b.sw[i] = uint16(min(orcaMaxWeight, max(lower, math.Round(scale*w))))
	}
}

// Done implements Balancer: an answered attempt is a load report.
func (b *OrcaWRR) Done(now time.Duration, i int, _ time.Duration, o Outcome) {
	if b.src == nil || i < 0 || i >= len(b.st) {
		return
	}
	isErr := false
	switch o {
	case OK:
	case Error5xx, QueueFull:
		isErr = true
	default:
		return // no answer, no report
	}
	e := &b.st[i]
	if !e.reporting || now-e.last >= b.window {
		*e = orcaEndpoint{reporting: true, since: now}
	}
	e.last = now
	e.n++
	if isErr {
		e.errs++
	}
	e.util += b.src(i).Utilization
	e.nUtil++
}
