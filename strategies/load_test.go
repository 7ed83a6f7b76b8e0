package strategies

import (
	"container/heap"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

var loadNames = []string{"weighted-random", "first", "peak-ewma", "least-time", "jiq"}

func newLoadPool(t testing.TB, strategy string, p Params, weights ...float64) *Pool {
	t.Helper()
	b, err := New(strategy, rand.New(rand.NewPCG(11, 13)), p)
	if err != nil {
		t.Fatal(err)
	}
	return NewPool(b, names(len(weights)), weights)
}

func ones(n int) []float64 {
	w := make([]float64, n)
	for i := range w {
		w[i] = 1
	}
	return w
}

func TestLoadCatalogue(t *testing.T) {
	for _, name := range loadNames {
		c, ok := Lookup(name)
		if !ok {
			t.Fatalf("%s not registered", name)
		}
		if c.Summary == "" || c.Source == "" || c.New == nil {
			t.Errorf("%s: incomplete entry %+v", name, c)
		}
		for _, p := range c.Params {
			if p.Doc == "" || p.Default < p.Min || p.Default > p.Max {
				t.Errorf("%s: parameter %+v", name, p)
			}
		}
		if _, err := New(name, rand.New(rand.NewPCG(1, 1)), nil); err != nil {
			t.Errorf("%s with defaults: %v", name, err)
		}
	}
	if err := CheckParams("peak-ewma", Params{"decay": 0}); err == nil {
		t.Error("peak-ewma decay 0 accepted")
	}
	if err := CheckParams("first", Params{"maxconn": 4}); err != nil {
		t.Error(err)
	}
	if err := CheckParams("jiq", Params{"decay": 1}); err == nil {
		t.Error("jiq accepted a parameter it does not take")
	}
	b, _ := New("first", nil, nil)
	if b.(*First).MaxConn != 32 {
		t.Errorf("first default maxconn %d", b.(*First).MaxConn)
	}
}

// chiSquare compares counts with expected proportions p (summing to 1).
func chiSquare(counts []float64, p []float64) float64 {
	n := 0.0
	for _, c := range counts {
		n += c
	}
	chi := 0.0
	for k, c := range counts {
		e := n * p[k]
		chi += (c - e) * (c - e) / e
	}
	return chi
}

// NGINX's random method sends to each server with probability
// weight / total weight (ngx_http_upstream_random_module). The table must
// follow weight changes (slow start) and candidate changes (health).
func TestWeightedRandomProportionalToWeights(t *testing.T) {
	p := newLoadPool(t, "weighted-random", nil, 1, 2, 3, 4)
	const n = 100000
	counts := make([]float64, 4)
	for range n {
		i, _ := p.Pick(0, Request{})
		counts[i]++
		p.Done(0, i, time.Millisecond, OK)
	}
	// χ²(3) exceeds 16.27 with probability 0.001.
	if chi := chiSquare(counts, []float64{0.1, 0.2, 0.3, 0.4}); chi > 16.27 {
		t.Fatalf("counts %v, χ² = %.1f", counts, chi)
	}

	// e1 leaves, e3's effective weight drops as in slow start.
	p.SetHealthy(1, false)
	p.eps[3].Weight = 0.4
	counts = make([]float64, 4)
	for range n {
		i, _ := p.Pick(0, Request{})
		counts[i]++
		p.Done(0, i, time.Millisecond, OK)
	}
	if counts[1] != 0 {
		t.Fatalf("picked the unhealthy e1 %v times", counts[1])
	}
	// χ²(2) exceeds 13.82 with probability 0.001.
	got := []float64{counts[0], counts[2], counts[3]}
	if chi := chiSquare(got, []float64{1 / 4.4, 3 / 4.4, 0.4 / 4.4}); chi > 13.82 {
		t.Fatalf("after changes counts %v, χ² = %.1f", counts, chi)
	}
}

// HAProxy `balance first`: servers are used in order, each up to its
// maxconn, so load is packed onto as few servers as possible.
func TestFirstPacksUpToMaxconn(t *testing.T) {
	p := newLoadPool(t, "first", Params{"maxconn": 3}, 1, 1, 1)
	var got []int
	for range 12 {
		i, _ := p.Pick(0, Request{})
		got = append(got, i)
	}
	// Three each in order, then (all full) the least loaded, earliest on ties.
	if want := []int{0, 0, 0, 1, 1, 1, 2, 2, 2, 0, 1, 2}; !slices.Equal(got, want) {
		t.Fatalf("sequence %v, want %v", got, want)
	}
	// e1 falls below maxconn: it gets the next attempt although e0 is first.
	p.Done(0, 1, time.Millisecond, OK)
	p.Done(0, 1, time.Millisecond, OK)
	if i, _ := p.Pick(0, Request{}); i != 1 {
		t.Fatalf("picked e%d, want e1 (the first with a free slot)", i)
	}
	// Everything finished: e0 again, and e1 stays unused while e0 has room.
	for i := range p.eps {
		for p.eps[i].InFlight > 0 {
			p.Done(0, i, time.Millisecond, OK)
		}
	}
	for range 3 {
		if i, _ := p.Pick(0, Request{}); i != 0 {
			t.Fatalf("picked e%d on an empty pool", i)
		}
	}
	// An unhealthy first endpoint is skipped.
	p.SetHealthy(0, false)
	if i, _ := p.Pick(0, Request{}); i != 1 {
		t.Fatalf("picked e%d with e0 unhealthy", i)
	}
}

// completion is an attempt in flight in the small virtual-time driver below.
type completion struct {
	at, sent time.Duration
	i        int
}

type completions []completion

func (h completions) Len() int           { return len(h) }
func (h completions) Less(a, b int) bool { return h[a].at < h[b].at }
func (h completions) Swap(a, b int)      { h[a], h[b] = h[b], h[a] }
func (h *completions) Push(x any)        { *h = append(*h, x.(completion)) }
func (h *completions) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// driver sends one attempt every `every` of virtual time through a pool;
// each attempt on endpoint i started at t takes latency(i, t) and reports
// OK to Done at its completion time.
type driver struct {
	p       *Pool
	now     time.Duration
	every   time.Duration
	latency func(i int, t time.Duration) time.Duration
	pending completions
	// observe, if set, is called before each pick.
	observe func(now time.Duration)
	// picks records the endpoint and time of each pick.
	picks []struct {
		at time.Duration
		i  int
	}
	// done records the endpoint, latency and time of each completion.
	done []completion
}

// run advances to until.
func (d *driver) run(until time.Duration) {
	for d.now < until {
		for len(d.pending) > 0 && d.pending[0].at <= d.now {
			c := heap.Pop(&d.pending).(completion)
			d.p.Done(c.at, c.i, c.at-c.sent, OK)
			d.done = append(d.done, c)
		}
		if d.observe != nil {
			d.observe(d.now)
		}
		i, _ := d.p.Pick(d.now, Request{})
		d.picks = append(d.picks, struct {
			at time.Duration
			i  int
		}{d.now, i})
		heap.Push(&d.pending, completion{at: d.now + d.latency(i, d.now), sent: d.now, i: i})
		d.now += d.every
	}
}

// share is endpoint i's share of the picks made in [from, to).
func (d *driver) share(i int, from, to time.Duration) (float64, int) {
	n, k := 0, 0
	for _, p := range d.picks {
		if p.at >= from && p.at < to {
			n++
			if p.i == i {
				k++
			}
		}
	}
	return float64(k) / float64(n), k
}

// Finagle's PeakEwma "is quick to react to latency spikes, recovering only
// cautiously … slow behavior is penalized relative to the supplied
// decayTime" (finagle-core loadbalancer/PeakEwma.scala). Two endpoints
// answer in 10 ms; from 30 s to 40 s e0 takes 500 ms. Once the first slow
// answer is seen e0 is avoided at once; after the spike its estimate decays
// (τ = 10 s) and within 3-5 decay periods e0 carries its usual half again.
func TestPeakEWMASpikeAndRecovery(t *testing.T) {
	const (
		sec      = time.Second
		tau      = 10 * sec
		spikeOn  = 30 * sec
		spikeOff = 40 * sec
	)
	p := newLoadPool(t, "peak-ewma", nil, 1, 1)
	d := &driver{p: p, every: 5 * time.Millisecond,
		latency: func(i int, t time.Duration) time.Duration {
			if i == 0 && t >= spikeOn && t < spikeOff {
				return 500 * time.Millisecond
			}
			return 10 * time.Millisecond
		}}
	d.run(spikeOff + 8*tau)

	if s, _ := d.share(0, 10*sec, spikeOn); s < 0.4 || s > 0.6 {
		t.Fatalf("before the spike e0 took %.2f of the picks, want about half", s)
	}
	// The first 500 ms answer from e0.
	seen := time.Duration(-1)
	for _, c := range d.done {
		if c.i == 0 && c.at-c.sent == 500*time.Millisecond {
			seen = c.at
			break
		}
	}
	if seen < 0 || seen > spikeOn+600*time.Millisecond {
		t.Fatalf("first slow answer at %v", seen)
	}
	if _, k := d.share(0, seen, spikeOff); k != 0 {
		t.Fatalf("e0 picked %d times after its first 500 ms answer, during the spike", k)
	}
	// Right after the spike e0 is still penalised: it recovers cautiously.
	if s, _ := d.share(0, spikeOff, spikeOff+tau); s > 0.05 {
		t.Fatalf("in the decay period after the spike e0 took %.2f", s)
	}
	// Within 3-5 decay periods it is back to about its usual share.
	if s, _ := d.share(0, spikeOff+5*tau, spikeOff+8*tau); s < 0.4 || s > 0.6 {
		t.Fatalf("5-8 decay periods after the spike e0 took %.2f, want about half", s)
	}
	for k := 1; k <= 5; k++ {
		s, _ := d.share(0, spikeOff+time.Duration(k-1)*tau, spikeOff+time.Duration(k)*tau)
		t.Logf("decay period %d after the spike: e0 share %.3f", k, s)
	}
}

// The estimate follows the peak at once and decays toward lower
// observations by the time elapsed, not by the number of observations
// (Eckner's EWMA for unevenly spaced series, as cited by Finagle's
// PeakEwma): after one decay period of 10 ms answers, 500 ms has decayed to
// 10 + 490/e ms whether the answers came every millisecond or every 100 ms.
func TestPeakEWMADecaysByElapsedTime(t *testing.T) {
	for _, step := range []time.Duration{time.Millisecond, 100 * time.Millisecond} {
		b := NewPeakEWMA(rand.New(rand.NewPCG(1, 2)), 10*time.Second, 30*time.Millisecond)
		eps := []Endpoint{{Name: "a", Weight: 1, Healthy: true}, {Name: "b", Weight: 1, Healthy: true}}
		cand := []int{0, 1}
		now := time.Duration(0)
		for ; now < 30*time.Second; now += step {
			b.Done(now, 0, 10*time.Millisecond, OK)
			b.Done(now, 1, 10*time.Millisecond, OK)
		}
		b.Done(now, 0, 500*time.Millisecond, OK)
		if e, _ := b.Estimate(now, 0); e != 500*time.Millisecond {
			t.Fatalf("step %v: estimate %v after a 500 ms answer, want the peak", step, e)
		}
		for range 1000 {
			if b.Pick(now, Request{}, eps, cand) == 0 {
				t.Fatalf("step %v: picked e0 right after its spike", step)
			}
		}
		start := now
		for now < start+10*time.Second {
			now += step
			b.Done(now, 0, 10*time.Millisecond, OK)
			b.Done(now, 1, 10*time.Millisecond, OK)
		}
		e, _ := b.Estimate(now, 0)
		want := 10 + 490/math.E
		if got := float64(e) / 1e6; math.Abs(got-want) > 0.5 {
			t.Fatalf("step %v: after one decay period estimate %.1f ms, want %.1f", step, got, want)
		}
	}
}

// Read-time decay (Finagle PeakEwma.get calls observe(0.0); tower
// RttEstimate::decay): without news an estimate decays toward zero, so an
// avoided endpoint is tried again rather than starved.
func TestPeakEWMADecaysTowardZeroWithoutNews(t *testing.T) {
	b := NewPeakEWMA(rand.New(rand.NewPCG(1, 2)), 10*time.Second, 30*time.Millisecond)
	eps := []Endpoint{{Name: "a", Weight: 1, Healthy: true}, {Name: "b", Weight: 1, Healthy: true}}
	b.Done(0, 0, 500*time.Millisecond, OK)
	if e, _ := b.Estimate(10*time.Second, 0); math.Abs(float64(e)/1e6-500/math.E) > 0.1 {
		t.Fatalf("estimate after one decay period without news %v", e)
	}
	// e1 is unobserved (30 ms): e0 is avoided until 500·exp(−t/10 s) < 30,
	// i.e. t > 10 s × ln(500/30) ≈ 28.1 s.
	if i := b.Pick(27*time.Second, Request{}, eps, []int{0, 1}); i != 1 {
		t.Fatal("e0 picked before its estimate decayed below e1's")
	}
	if i := b.Pick(29*time.Second, Request{}, eps, []int{0, 1}); i != 0 {
		t.Fatal("e0 not retried after its estimate decayed below e1's")
	}
}

// A failure's fast latency must not make an endpoint look fast (the
// least-loaded "black hole"); see latencyTable.sample. Cancelled attempts
// are ignored; timeouts count with the time until abandonment.
func TestPeakEWMAFailuresAndCancellations(t *testing.T) {
	b := NewPeakEWMA(rand.New(rand.NewPCG(1, 2)), 10*time.Second, 30*time.Millisecond)
	eps := []Endpoint{{Name: "a", Weight: 1, Healthy: true}, {Name: "b", Weight: 1, Healthy: true}}
	now := time.Duration(0)
	for range 100 {
		now += 10 * time.Millisecond
		b.Done(now, 0, time.Millisecond, ConnectFail)
		b.Done(now, 1, 10*time.Millisecond, OK)
	}
	e0, _ := b.Estimate(now, 0)
	e1, _ := b.Estimate(now, 1)
	if e0 <= e1 || e0 < 10*time.Second {
		t.Fatalf("failing e0 estimate %v vs healthy e1 %v: failures must look slow", e0, e1)
	}
	if e0 > time.Duration(failureCap) {
		t.Fatalf("failure penalty %v above the cap", e0)
	}
	for range 100 {
		if b.Pick(now, Request{}, eps, []int{0, 1}) == 0 {
			t.Fatal("picked the failing endpoint")
		}
	}
	// Every failure kind is penalised.
	for _, o := range []Outcome{Error5xx, QueueFull, ConnectFail} {
		c := NewPeakEWMA(rand.New(rand.NewPCG(1, 2)), 10*time.Second, 30*time.Millisecond)
		c.Done(0, 0, 10*time.Millisecond, OK)
		c.Done(0, 0, time.Millisecond, o)
		if e, _ := c.Estimate(0, 0); e != 20*time.Millisecond {
			t.Errorf("%v: estimate %v, want 2 × max(1 ms, 10 ms)", o, e)
		}
	}
	// Cancelled: ignored.
	before, _ := b.Estimate(now, 1)
	b.Done(now, 1, time.Microsecond, Cancelled)
	if after, _ := b.Estimate(now, 1); after != before {
		t.Fatalf("cancelled attempt moved the estimate %v → %v", before, after)
	}
	// Timeout: observed with its latency (a peak).
	b.Done(now, 1, 2*time.Second, Timeout)
	if e, _ := b.Estimate(now, 1); e != 2*time.Second {
		t.Fatalf("timeout after 2 s left the estimate at %v", e)
	}
}

// NGINX Plus least_time sends to the server with the least average response
// time and active connections: with cost EWMA × (in-flight+1), a server
// three times faster is worth three times as many attempts in flight.
func TestLeastTimeWeighsLatencyAgainstInFlight(t *testing.T) {
	b := NewLeastTime(rand.New(rand.NewPCG(3, 4)), 10*time.Second)
	eps := []Endpoint{{Name: "fast", Weight: 1, Healthy: true}, {Name: "slow", Weight: 1, Healthy: true}}
	cand := []int{0, 1}
	for k := range 50 {
		now := time.Duration(k) * 10 * time.Millisecond
		b.Done(now, 0, 10*time.Millisecond, OK)
		b.Done(now, 1, 30*time.Millisecond, OK)
	}
	now := 500 * time.Millisecond
	// Cost 10·(n0+1) against 30·(0+1).
	eps[0].InFlight = 1
	if b.Pick(now, Request{}, eps, cand) != 0 {
		t.Fatal("fast endpoint with 1 in flight (cost 20) lost to idle slow one (30)")
	}
	eps[0].InFlight = 3
	if b.Pick(now, Request{}, eps, cand) != 1 {
		t.Fatal("fast endpoint with 3 in flight (cost 40) beat idle slow one (30)")
	}
}

// Driven over virtual time, least-time sends more to faster endpoints,
// ordered by speed, and keeps EWMA × (in-flight+1) about level.
func TestLeastTimePrefersFasterProportionally(t *testing.T) {
	lat := []time.Duration{10 * time.Millisecond, 20 * time.Millisecond, 40 * time.Millisecond}
	p := newLoadPool(t, "least-time", nil, 1, 1, 1)
	cost := make([]float64, 3)
	samples := 0
	d := &driver{p: p, every: time.Millisecond,
		latency: func(i int, _ time.Duration) time.Duration { return lat[i] }}
	d.observe = func(now time.Duration) {
		if now < 5*time.Second {
			return
		}
		samples++
		for i := range cost {
			cost[i] += float64(lat[i]/time.Millisecond) * float64(p.eps[i].InFlight+1)
		}
	}
	d.run(20 * time.Second)
	s := make([]float64, 3)
	for i := range s {
		s[i], _ = d.share(i, 5*time.Second, 20*time.Second)
		cost[i] /= float64(samples)
	}
	t.Logf("shares %.3f, mean latency × (in-flight+1) %.1f", s, cost)
	if !(s[0] > s[1] && s[1] > s[2]) || s[2] < 0.02 {
		t.Fatalf("shares %.3f not ordered by speed", s)
	}
	mean := (cost[0] + cost[1] + cost[2]) / 3
	for i, c := range cost {
		if math.Abs(c-mean) > 0.25*mean {
			t.Fatalf("e%d mean cost %.1f, others %.1f: not level", i, c, cost)
		}
	}
}

// Ties between equally good endpoints are broken uniformly at random.
func TestLeastTimeRandomTies(t *testing.T) {
	p := newLoadPool(t, "least-time", nil, 1, 1, 1, 1)
	for i := range 4 {
		p.Done(0, i, 10*time.Millisecond, OK)
	}
	counts := make([]float64, 4)
	const n = 40000
	for range n {
		i, _ := p.Pick(0, Request{})
		counts[i]++
		p.eps[i].InFlight-- // keep every endpoint idle, estimates unchanged
	}
	// χ²(3) exceeds 16.27 with probability 0.001.
	if chi := chiSquare(counts, []float64{0.25, 0.25, 0.25, 0.25}); chi > 16.27 {
		t.Fatalf("tie counts %v, χ² = %.1f", counts, chi)
	}
}

// Join-idle-queue (Lu et al. 2011): idle servers are used first, in the
// order they became idle; only when none is idle does a job go to a random
// server.
func TestJIQIdleFirst(t *testing.T) {
	p := newLoadPool(t, "jiq", nil, ones(4)...)
	var got []int
	for range 4 {
		i, _ := p.Pick(0, Request{})
		got = append(got, i)
	}
	if !slices.Equal(got, []int{0, 1, 2, 3}) {
		t.Fatalf("first picks %v, want every idle endpoint once", got)
	}
	// All busy: random.
	counts := make([]int, 4)
	for range 400 {
		i, _ := p.Pick(0, Request{})
		counts[i]++
	}
	for i, c := range counts {
		if c < 60 {
			t.Fatalf("with none idle, e%d got %d of 400 (counts %v)", i, c, counts)
		}
	}
	// Drain e2, then e0: they are picked in that order.
	for _, i := range []int{2, 0} {
		for p.eps[i].InFlight > 0 {
			p.Done(0, i, time.Millisecond, OK)
		}
	}
	a, _ := p.Pick(0, Request{})
	b, _ := p.Pick(0, Request{})
	if a != 2 || b != 0 {
		t.Fatalf("picked e%d, e%d; want e2 then e0 (the order they went idle)", a, b)
	}
}

// The JIQ invariant, under random load and health changes: an idle
// candidate exists ⇒ the pick is idle; the pick is always a candidate.
func TestJIQNeverPicksBusyWhileIdleCandidateExists(t *testing.T) {
	const n = 8
	p := newLoadPool(t, "jiq", nil, ones(n)...)
	rng := rand.New(rand.NewPCG(5, 6))
	var inflight []int // endpoints of attempts in flight
	idlePicks, fallbacks := 0, 0
	for step := range 200000 {
		switch r := rng.IntN(100); {
		case r < 2:
			p.SetHealthy(rng.IntN(n), rng.IntN(3) > 0)
		case r < 54 && len(inflight) > 0:
			k := rng.IntN(len(inflight))
			i := inflight[k]
			inflight[k] = inflight[len(inflight)-1]
			inflight = inflight[:len(inflight)-1]
			p.Done(0, i, time.Millisecond, OK)
		default:
			cand := p.candidates()
			if len(cand) == 0 {
				continue
			}
			anyIdle := false
			for _, c := range cand {
				if p.eps[c].InFlight == 0 {
					anyIdle = true
				}
			}
			i, ok := p.Pick(0, Request{})
			if !ok {
				t.Fatal("no upstream with candidates")
			}
			if !slices.Contains(cand, i) {
				t.Fatalf("step %d: picked e%d, not a candidate %v", step, i, cand)
			}
			if anyIdle {
				if p.eps[i].InFlight != 1 {
					t.Fatalf("step %d: picked busy e%d (%d in flight) while a candidate was idle", step, i, p.eps[i].InFlight-1)
				}
				idlePicks++
			} else {
				fallbacks++
			}
			inflight = append(inflight, i)
		}
	}
	if idlePicks < 1000 || fallbacks < 1000 {
		t.Fatalf("test did not exercise both paths: %d idle picks, %d fallbacks", idlePicks, fallbacks)
	}
}

// Pick and Done allocate nothing once warmed up: with every endpoint a
// candidate, with one out, and with every health feature changing the
// candidates and (slow start) the weights as it goes.
func TestLoadNoAllocs(t *testing.T) {
	for _, name := range loadNames {
		for _, mode := range []string{"all", "degraded", "health"} {
			p := newLoadPool(t, name, nil, 1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2)
			switch mode {
			case "degraded":
				p.SetHealthy(3, false)
			case "health":
				p.SetHealth(HealthConfig{
					Active:         &ActiveHealth{Unhealthy: 2, Healthy: 2},
					Outlier:        &OutlierConfig{Consecutive5xx: 2, BaseEjection: 20 * time.Millisecond, MaxEjectionPercent: 60},
					PanicThreshold: 30,
					SlowStart:      100 * time.Millisecond,
				})
			}
			rng := rand.New(rand.NewPCG(3, 4))
			now := time.Duration(0)
			step := func() {
				now += 100 * time.Microsecond
				i, ok := p.Pick(now, Request{})
				j, ok2 := p.Pick(now, Request{})
				if ok {
					o := OK
					if i%4 == 0 && rng.IntN(2) == 0 {
						o = Error5xx
					}
					p.Done(now, i, 3*time.Millisecond, o)
				}
				if ok2 {
					p.Done(now, j, time.Millisecond, Outcome(rng.IntN(6)))
				}
				if mode == "health" && rng.IntN(200) == 0 {
					p.ProbeResult(now, rng.IntN(p.Len()), rng.IntN(2) == 0)
				}
			}
			for range 20000 {
				step()
			}
			if mode == "health" && p.Ejections() < 10 {
				t.Errorf("%s: the health workload should change the candidates (%d ejections)", name, p.Ejections())
			}
			if a := testing.AllocsPerRun(5000, step); a != 0 {
				t.Errorf("%s (%s): %v allocations per step", name, mode, a)
			}
		}
	}
}

// Long runs rebase the latency tables without changing decisions: a jump of
// many decay periods leaves the estimates usable.
func TestLatencyTableRebase(t *testing.T) {
	b := NewLeastTime(rand.New(rand.NewPCG(3, 4)), time.Millisecond)
	eps := []Endpoint{{Name: "a", Weight: 1, Healthy: true}, {Name: "b", Weight: 1, Healthy: true}}
	for k := range 100 {
		now := time.Duration(k) * time.Hour
		b.Done(now, 0, 10*time.Millisecond, OK)
		b.Done(now, 1, 20*time.Millisecond, OK)
		if i := b.Pick(now, Request{}, eps, []int{0, 1}); i != 0 {
			t.Fatalf("hour %d: picked the slower endpoint", k)
		}
		for _, v := range b.t.scaled {
			if math.IsInf(v, 0) || math.IsNaN(v) {
				t.Fatalf("hour %d: scaled value %v", k, v)
			}
		}
	}
}

// BenchmarkLoadPick measures one decision and its Done over 100 endpoints
// for each strategy of this family, as BenchmarkPick does.
func BenchmarkLoadPick(b *testing.B) {
	for _, name := range loadNames {
		b.Run(name, func(b *testing.B) {
			w := make([]float64, 100)
			for i := range w {
				w[i] = float64(1 + i%3)
			}
			p := newLoadPool(b, name, nil, w...)
			rng := rand.New(rand.NewPCG(1, 2))
			for i := range p.eps {
				p.eps[i].InFlight = rng.IntN(5)
			}
			lat := make([]time.Duration, 100)
			for i := range lat {
				lat[i] = time.Duration(1+rng.IntN(20)) * time.Millisecond
			}
			now := time.Duration(0)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				now += 10 * time.Microsecond
				e, _ := p.Pick(now, Request{})
				p.Done(now, e, lat[e], OK)
			}
		})
	}
}
