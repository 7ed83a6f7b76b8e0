package strategies

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

func rlMustLimiter(t testing.TB, cfg LimiterConfig) Limiter {
	t.Helper()
	l, err := NewLimiter(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// rlExpGap draws an exponential inter-arrival time for Poisson arrivals at
// rate lambda per second.
func rlExpGap(rng *rand.Rand, lambda float64) time.Duration {
	return time.Duration(math.Round(rng.ExpFloat64() / lambda * float64(time.Second)))
}

// A token bucket of rate r and burst b admits b requests at once, then one
// every 1/r on a steady clock.
func TestTokenBucketBurstThenRate(t *testing.T) {
	const r, b = 10, 5
	l := rlMustLimiter(t, LimiterConfig{Algorithm: LimiterTokenBucket, Rate: r, Burst: b})
	admitted := 0
	for range b + 3 {
		if l.Allow(0, 0) {
			admitted++
		}
	}
	if admitted != b {
		t.Fatalf("admitted %d at t=0, want the burst %d", admitted, b)
	}
	// Then a request every millisecond for 10s: one admitted per 100ms,
	// at the first request after each whole token.
	var times []time.Duration
	for now := time.Millisecond; now <= 10*time.Second; now += time.Millisecond {
		if l.Allow(now, 0) {
			times = append(times, now)
		}
	}
	if len(times) != 10*r {
		t.Fatalf("admitted %d in 10s after the burst, want %d", len(times), 10*r)
	}
	for k, at := range times {
		want := time.Duration(k+1) * time.Second / r
		if at < want || at > want+time.Millisecond {
			t.Fatalf("admission %d at %v, want the first request at or after %v", k+1, at, want)
		}
	}
}

// Under Poisson overload λ = 2r a token bucket admits the fraction r/λ = 1/2
// in the long run (the burst is negligible against the run).
func TestTokenBucketOverloadAdmitsRate(t *testing.T) {
	const r, lambda, n = 100.0, 200.0, 1_000_000
	l := rlMustLimiter(t, LimiterConfig{Rate: r, Burst: 20})
	rng := rand.New(rand.NewPCG(1, 2))
	var now time.Duration
	admitted := 0
	for range n {
		now += rlExpGap(rng, lambda)
		if l.Allow(now, 0) {
			admitted++
		}
	}
	frac := float64(admitted) / n
	if math.Abs(frac-r/lambda) > 0.01*r/lambda {
		t.Fatalf("admitted fraction %.4f, want %.4f ± 1%%", frac, r/lambda)
	}
}

// rlMD1KBlocking is the blocking probability of the M/D/1/K queue (one
// server, room for K customers including the one in service) with offered
// load rho = λD, from the Markov chain embedded at departure epochs
// (D. Gross, J. F. Shortle, J. M. Thompson, C. M. Harris, Fundamentals of
// Queueing Theory, 4th ed., Wiley 2008, the M/G/1/K section).
//
// Let a_j = e^{-ρ} ρ^j / j!, the probability of j Poisson arrivals during one
// (deterministic) service. The number left behind by a departure, 0..K-1,
// is a Markov chain with
//
//	P(0, j) = a_j,        P(i, j) = a_{j-i+1} (i ≥ 1, i-1 ≤ j),   j < K-1,
//
// and the rest of each row in column K-1 (arrivals beyond the room are
// lost). Its stationary π follows from the balance equations for columns
// 0..K-2, solved forward for π_{j+1}:
//
//	π_j = π_0 a_j + Σ_{i=1}^{j+1} π_i a_{j-i+1}.
//
// Admitted arrivals see the departure distribution π, and the flow balance
// λ(1-p_K) = μ(1-p_0) with p_0 = π_0 (1-p_K) gives the time-average (and,
// by PASTA, arrival-seen) probability of a full system
//
//	p_K = 1 - 1/(π_0 + ρ).
//
// It also returns π so that the test can check it is stationary.
func rlMD1KBlocking(rho float64, k int) (pK float64, pi []float64) {
	a := make([]float64, k)
	a[0] = math.Exp(-rho)
	for j := 1; j < k; j++ {
		a[j] = a[j-1] * rho / float64(j)
	}
	pi = make([]float64, k)
	pi[0] = 1
	for j := 0; j < k-1; j++ {
		s := pi[0] * a[j]
		for i := 1; i <= j; i++ {
			s += pi[i] * a[j-i+1]
		}
		pi[j+1] = (pi[j] - s) / a[0]
	}
	sum := 0.0
	for _, p := range pi {
		sum += p
	}
	for i := range pi {
		pi[i] /= sum
	}
	return 1 - 1/(pi[0]+rho), pi
}

// The embedded chain's π is stationary under the full transition matrix
// (including the lumped last column), and K = 1 gives the Erlang loss
// formula ρ/(1+ρ), which holds for any service distribution.
func TestMD1KBlockingFormula(t *testing.T) {
	for _, rho := range []float64{0.3, 0.8, 1, 1.5, 3} {
		if got, _ := rlMD1KBlocking(rho, 1); math.Abs(got-rho/(1+rho)) > 1e-12 {
			t.Errorf("ρ=%v K=1: %v, want %v", rho, got, rho/(1+rho))
		}
		for _, k := range []int{2, 5, 10} {
			_, pi := rlMD1KBlocking(rho, k)
			aj := func(j int) float64 {
				if j < 0 {
					return 0
				}
				lg, _ := math.Lgamma(float64(j + 1))
				return math.Exp(-rho + float64(j)*math.Log(rho) - lg)
			}
			for j := range k {
				next := 0.0
				for i := range k {
					var p float64
					if j < k-1 {
						p = aj(j - max(i, 1) + 1)
					} else { // what is left of row i
						p = 1
						for m := 0; m < k-1; m++ {
							p -= aj(m - max(i, 1) + 1)
						}
					}
					next += pi[i] * p
				}
				if math.Abs(next-pi[j]) > 1e-9 {
					t.Fatalf("ρ=%v K=%d: π not stationary at %d: %v vs %v", rho, k, j, next, pi[j])
				}
			}
		}
	}
}

// A token bucket with continuous refill is an M/D/1/K queue in disguise.
//
// Let the bucket hold b tokens, refilled at rate r, and call its deficit
// d(t) = b - tokens(t). The deficit falls at rate r while positive and
// grows by one with each admitted request; a request is admitted iff at
// least one token is there, i.e. d ≤ b-1. Now take a single-server queue
// with deterministic service time 1/r and room for K = b customers, and
// its unfinished work V(t): V falls at rate 1 while positive and grows by
// 1/r with each admitted customer. With N customers present, V lies in
// ((N-1)/r, N/r], so an arrival finds room (N ≤ K-1) iff V ≤ (K-1)/r.
// Hence r·V(t) and d(t) obey the same equations and the same admission
// rule: a full bucket is an empty queue, each token taken is a customer
// whose service is the 1/r it takes to grow that token back, and a request
// refused for want of a token is an arrival that finds M/D/1/b full.
//
// The test checks this twice on Poisson streams of 10^6 arrivals:
// pathwise, against an M/D/1/b queue fed the same arrivals (decisions may
// differ only when an arrival falls within 2ns of the boundary V = (b-1)/r,
// where x/time/rate's rounding to whole nanoseconds decides, and the queue
// then follows the limiter to stay coupled); and in distribution, the
// rejected fraction against the blocking probability from rlMD1KBlocking
// within 5 standard errors, estimated by batch means over 50 batches of
// 20000 arrivals (the rejections are correlated, so the binomial error
// would be too optimistic). The standard errors are 0.0001 to 0.0007; the
// seeded runs land within 2 of them, and no arrival has yet fallen on a
// tie.
func TestTokenBucketIsMD1K(t *testing.T) {
	const r = 1000.0 // tokens per second: service time D = 1ms exactly
	const n = 1_000_000
	const serve = time.Second / r
	for _, rho := range []float64{0.8, 1.0, 1.5} {
		for _, b := range []int{1, 5, 10} {
			t.Run(fmt.Sprintf("rho=%v/b=%d", rho, b), func(t *testing.T) {
				t.Parallel()
				lim := rlMustLimiter(t, LimiterConfig{Rate: r, Burst: b})
				rng := rand.New(rand.NewPCG(uint64(rho*10), uint64(b)))
				var now, lastDep time.Duration // lastDep: when the queue empties
				full := time.Duration(b-1) * serve
				rejected, mismatches := 0, 0
				const batches = 50
				batch := make([]float64, batches)
				for i := range n {
					now += rlExpGap(rng, rho*r)
					admit := lim.Allow(now, 0)
					work := max(lastDep-now, 0)
					if (work <= full) != admit {
						mismatches++
						if d := work - full; d < -2 || d > 2 {
							t.Fatalf("arrival %d at %v: limiter says %v, queue has work %v (room up to %v)", i, now, admit, work, full)
						}
					}
					if admit {
						lastDep = now + work + serve
					} else {
						rejected++
						batch[i*batches/n]++
					}
				}
				if mismatches > 10 {
					t.Errorf("%d boundary ties out of %d", mismatches, n)
				}
				want, _ := rlMD1KBlocking(rho, b)
				got := float64(rejected) / n
				mean, v := got, 0.0
				for _, x := range batch {
					d := x/(n/batches) - mean
					v += d * d
				}
				se := math.Sqrt(v / (batches - 1) / batches)
				t.Logf("rejected %.5f, M/D/1/%d blocking %.5f, diff %+.5f (batch-means SE %.5f), %d ties", got, b, want, got-want, se, mismatches)
				if math.Abs(got-want) > 5*se {
					t.Errorf("rejected fraction %.5f, M/D/1/%d predicts %.5f ± %.5f", got, b, want, 5*se)
				}
			})
		}
	}
}

// A fixed window admits ceil(Rate×Window) per aligned window: all of them
// may come at the end of one window and again at the start of the next.
func TestFixedWindowEdges(t *testing.T) {
	l := rlMustLimiter(t, LimiterConfig{Algorithm: LimiterFixedWindow, Rate: 10})
	count := func(at time.Duration, k int) int {
		n := 0
		for range k {
			if l.Allow(at, 0) {
				n++
			}
		}
		return n
	}
	if got := count(999*time.Millisecond, 15); got != 10 {
		t.Fatalf("window [0,1s): admitted %d, want 10", got)
	}
	if got := count(999999999, 1); got != 0 {
		t.Fatalf("last nanosecond of the window admitted %d, want 0", got)
	}
	// Twice the limit within 1ms across the boundary: the known weakness.
	if got := count(time.Second, 15); got != 10 {
		t.Fatalf("window [1s,2s): admitted %d at its start, want 10", got)
	}
	// An idle window does not carry over.
	if got := count(3500*time.Millisecond, 15); got != 10 {
		t.Fatalf("window [3s,4s): admitted %d, want 10", got)
	}

	// Rounding: 3 per second over 500ms windows is 1.5 per window, rounded
	// up to 2; 0.3×10 is 3 despite floating point.
	l = rlMustLimiter(t, LimiterConfig{Algorithm: LimiterFixedWindow, Rate: 3, Window: 500 * time.Millisecond})
	if got := count(0, 5); got != 2 {
		t.Fatalf("rate 3, window 500ms: admitted %d, want ceil(1.5) = 2", got)
	}
	l = rlMustLimiter(t, LimiterConfig{Algorithm: LimiterFixedWindow, Rate: 0.3, Window: 10 * time.Second})
	if got := count(0, 5); got != 3 {
		t.Fatalf("rate 0.3, window 10s: admitted %d, want 3", got)
	}
}

// The sliding window weighs the previous window by the part of it still
// inside the sliding window (Cloudflare 2017), so the boundary burst that
// a fixed window lets through is refused.
func TestSlidingWindowEdges(t *testing.T) {
	l := rlMustLimiter(t, LimiterConfig{Algorithm: LimiterSlidingWindow, Rate: 10})
	count := func(at time.Duration, k int) int {
		n := 0
		for range k {
			if l.Allow(at, 0) {
				n++
			}
		}
		return n
	}
	if got := count(900*time.Millisecond, 15); got != 10 {
		t.Fatalf("first window: admitted %d, want 10", got)
	}
	// At the start of the next window the estimate is 10×1 + 0: full.
	if got := count(time.Second, 5); got != 0 {
		t.Fatalf("at the boundary: admitted %d, want 0", got)
	}
	// Halfway: 10×0.5 + cur < 10 admits 5.
	if got := count(1500*time.Millisecond, 10); got != 5 {
		t.Fatalf("halfway into the second window: admitted %d, want 5", got)
	}
	// At 1.9s: 10×0.1 + 5 = 6, so 4 more (estimates 6, 7, 8, 9).
	if got := count(1900*time.Millisecond, 10); got != 4 {
		t.Fatalf("at 1.9s: admitted %d, want 4", got)
	}
	// Third window at 2.25s: previous = 9, 9×0.75 = 6.75, so 4 more
	// (6.75, 7.75, 8.75, 9.75 < 10).
	if got := count(2250*time.Millisecond, 10); got != 4 {
		t.Fatalf("at 2.25s: admitted %d, want 4", got)
	}
	// Two idle windows later everything is forgotten.
	if got := count(5*time.Second, 15); got != 10 {
		t.Fatalf("after idling: admitted %d, want 10", got)
	}
}

// Under steady Poisson overload both window algorithms admit Rate per
// second in the long run.
func TestWindowsOverloadAdmitRate(t *testing.T) {
	for _, alg := range []string{LimiterFixedWindow, LimiterSlidingWindow} {
		l := rlMustLimiter(t, LimiterConfig{Algorithm: alg, Rate: 100})
		rng := rand.New(rand.NewPCG(3, 4))
		var now time.Duration
		admitted := 0
		for range 400_000 {
			now += rlExpGap(rng, 200)
			if l.Allow(now, 0) {
				admitted++
			}
		}
		perSec := float64(admitted) / now.Seconds()
		if math.Abs(perSec-100) > 1 {
			t.Errorf("%s: admitted %.2f/s under 2× overload, want 100", alg, perSec)
		}
	}
}

// Per-client limiters are isolated: one client using up its limit does not
// touch another's.
func TestPerClientIsolation(t *testing.T) {
	for _, alg := range []string{LimiterTokenBucket, LimiterFixedWindow, LimiterSlidingWindow} {
		l := rlMustLimiter(t, LimiterConfig{Algorithm: alg, Rate: 5, PerClient: true})
		a, b := 0, 0
		for range 20 {
			if l.Allow(0, 1) {
				a++
			}
		}
		for range 20 {
			if l.Allow(time.Millisecond, 2) {
				b++
			}
		}
		if a != 5 || b != 5 {
			t.Errorf("%s: client 1 got %d, client 2 got %d, want 5 each", alg, a, b)
		}
		g := rlMustLimiter(t, LimiterConfig{Algorithm: alg, Rate: 5})
		a, b = 0, 0
		for range 20 {
			if g.Allow(0, 1) {
				a++
			}
			if g.Allow(0, 2) {
				b++
			}
		}
		if a+b != 5 {
			t.Errorf("%s global: admitted %d+%d, want 5 in all", alg, a, b)
		}
	}
}

// Forgetting idle clients changes no decision: a per-client limiter makes
// the same decisions as one private limiter per client, while its table
// holds only recently active clients.
func TestPerClientForgetsIdleClientsExactly(t *testing.T) {
	for _, alg := range []string{LimiterTokenBucket, LimiterFixedWindow, LimiterSlidingWindow} {
		cfg := LimiterConfig{Algorithm: alg, Rate: 20, Burst: 4, Window: 200 * time.Millisecond}
		l := rlMustLimiter(t, LimiterConfig{Algorithm: alg, Rate: 20, Burst: 4, Window: 200 * time.Millisecond, PerClient: true}).(*clientLimiter)
		private := map[uint64]Limiter{}
		rng := rand.New(rand.NewPCG(5, 6))
		var now time.Duration
		peak := 0
		for i := range 200_000 {
			// Bursty clients: a phase of 1000 requests among 50 clients,
			// then a new set of clients.
			client := uint64(i/1000*50 + rng.IntN(50))
			now += rlExpGap(rng, 2000)
			p, ok := private[client]
			if !ok {
				p = rlMustLimiter(t, cfg)
				private[client] = p
			}
			if got, want := l.Allow(now, client), p.Allow(now, client); got != want {
				t.Fatalf("%s: request %d of client %d at %v: %v, private limiter says %v", alg, i, client, now, got, want)
			}
			peak = max(peak, len(l.idx))
		}
		if l.evicted != 0 {
			t.Fatalf("%s: %d clients evicted below the cap", alg, l.evicted)
		}
		if len(private) != 10000 || peak > 100 {
			t.Fatalf("%s: %d clients seen, table peaked at %d, want at most two phases' worth (100)", alg, len(private), peak)
		}
		l.Allow(now+time.Minute, 1)
		if len(l.idx) != 1 {
			t.Fatalf("%s: after a quiet minute the table holds %d clients, want 1", alg, len(l.idx))
		}
	}
}

// At MaxClients the least recently seen client is forgotten (NGINX
// limit_req_zone) and starts afresh if it returns.
func TestPerClientCapEvictsLeastRecentlySeen(t *testing.T) {
	l := rlMustLimiter(t, LimiterConfig{Algorithm: LimiterFixedWindow, Rate: 1, PerClient: true, MaxClients: 3}).(*clientLimiter)
	for c := uint64(1); c <= 3; c++ {
		if !l.Allow(0, c) || l.Allow(0, c) {
			t.Fatalf("client %d should get exactly one request", c)
		}
	}
	if !l.Allow(0, 4) { // evicts 1
		t.Fatal("client 4 refused")
	}
	if !l.Allow(0, 1) { // forgotten: fresh again; evicts 2
		t.Fatal("evicted client 1 should start afresh")
	}
	if l.Allow(0, 3) {
		t.Fatal("client 3 was seen more recently than 1 and 2 and must be remembered")
	}
	if len(l.idx) != 3 || l.evicted != 2 {
		t.Fatalf("table %d, evicted %d; want 3 and 2", len(l.idx), l.evicted)
	}
}

// Live callers compute now before taking the mutex, so a call may carry a
// slightly earlier time than the one before it: it counts in the latest
// window rather than reopening an old one.
func TestLimiterToleratesSlightlyEarlierNow(t *testing.T) {
	for _, alg := range []string{LimiterTokenBucket, LimiterFixedWindow, LimiterSlidingWindow} {
		for _, per := range []bool{false, true} {
			l := rlMustLimiter(t, LimiterConfig{Algorithm: alg, Rate: 2, PerClient: per})
			got := []bool{l.Allow(time.Second, 1), l.Allow(time.Second-time.Microsecond, 1), l.Allow(time.Second, 1)}
			if fmt.Sprint(got) != "[true true false]" {
				t.Errorf("%s per-client=%v: %v, want [true true false]", alg, per, got)
			}
		}
	}
}

func TestNewLimiterValidates(t *testing.T) {
	for _, c := range []struct {
		cfg   LimiterConfig
		field string
	}{
		{LimiterConfig{Algorithm: "leaky", Rate: 1}, "algorithm"},
		{LimiterConfig{Rate: 0}, "rate"},
		{LimiterConfig{Rate: -1}, "rate"},
		{LimiterConfig{Rate: math.NaN()}, "rate"},
		{LimiterConfig{Rate: math.Inf(1)}, "rate"},
		{LimiterConfig{Rate: 1, Burst: -1}, "burst"},
		{LimiterConfig{Rate: 1, Window: -time.Second}, "window"},
		{LimiterConfig{Rate: 1, PerClient: true, MaxClients: -1}, "max_clients"},
	} {
		if _, err := NewLimiter(c.cfg); err == nil || !strings.Contains(err.Error(), c.field) {
			t.Errorf("%+v: error %v should name %s", c.cfg, err, c.field)
		}
	}
	// Defaults: token bucket, burst one window's worth.
	l := rlMustLimiter(t, LimiterConfig{Rate: 7})
	n := 0
	for range 20 {
		if l.Allow(0, 0) {
			n++
		}
	}
	if n != 7 {
		t.Fatalf("default burst admitted %d at once, want Rate×1s = 7", n)
	}
	if l := rlMustLimiter(t, LimiterConfig{Rate: 0.01}); !l.Allow(0, 0) || l.Allow(0, 0) {
		t.Fatal("a slow rate should still default to a burst of 1")
	}
}

// Allow does not allocate for a global limiter, nor per client once the
// table of clients has reached its peak size, even when clients come and
// go (forgotten entries and their buckets are reused).
func TestLimiterAllowDoesNotAllocate(t *testing.T) {
	for _, alg := range []string{LimiterTokenBucket, LimiterFixedWindow, LimiterSlidingWindow} {
		g := rlMustLimiter(t, LimiterConfig{Algorithm: alg, Rate: 1000})
		var now time.Duration
		if a := testing.AllocsPerRun(10000, func() {
			now += 700 * time.Microsecond
			g.Allow(now, 0)
		}); a != 0 {
			t.Errorf("%s global: %v allocations per Allow", alg, a)
		}
		p := rlMustLimiter(t, LimiterConfig{Algorithm: alg, Rate: 10, PerClient: true})
		for c := range uint64(1000) {
			p.Allow(0, c)
		}
		var c uint64
		if a := testing.AllocsPerRun(10000, func() {
			now += 100 * time.Microsecond
			c = (c + 7) % 1000
			p.Allow(now, c)
		}); a != 0 {
			t.Errorf("%s per client: %v allocations per Allow", alg, a)
		}
		// Churn: a new client every millisecond, each forgotten after the
		// horizon (100ms for the bucket, 1s or 2s for the windows).
		churn := rlMustLimiter(t, LimiterConfig{Algorithm: alg, Rate: 10, PerClient: true})
		step := func() {
			now += time.Millisecond
			c++
			churn.Allow(now, c)
		}
		for range 5000 {
			step()
		}
		if a := testing.AllocsPerRun(20000, step); a != 0 {
			t.Errorf("%s per client with churn: %v allocations per Allow", alg, a)
		}
	}
}

// BenchmarkLimiterAllow measures one decision (docs/performance.md).
func BenchmarkLimiterAllow(b *testing.B) {
	for _, alg := range []string{LimiterTokenBucket, LimiterFixedWindow, LimiterSlidingWindow} {
		for _, per := range []bool{false, true} {
			b.Run(fmt.Sprintf("%s/per-client=%v", alg, per), func(b *testing.B) {
				l := rlMustLimiter(b, LimiterConfig{Algorithm: alg, Rate: 1000, PerClient: per})
				b.ReportAllocs()
				var now time.Duration
				for i := 0; b.Loop(); i++ {
					now += time.Microsecond
					l.Allow(now, uint64(i%1024))
				}
			})
		}
	}
}

func ExampleNewLimiter() {
	// 2 requests per second with bursts of 3, on the caller's clock.
	lim, err := NewLimiter(LimiterConfig{Algorithm: LimiterTokenBucket, Rate: 2, Burst: 3})
	if err != nil {
		panic(err)
	}
	admitted := 0
	for range 10 {
		if lim.Allow(0, 0) {
			admitted++
		}
	}
	fmt.Println(admitted)                           // the burst
	fmt.Println(lim.Allow(500*time.Millisecond, 0)) // one token grew back
	fmt.Println(lim.Allow(500*time.Millisecond, 0))

	_, err = NewLimiter(LimiterConfig{Algorithm: LimiterFixedWindow, Rate: -5})
	fmt.Println(err)
	// Output:
	// 3
	// true
	// false
	// ratelimit: rate must be a positive, finite number of requests per second, got -5
}

// The leaky bucket is NGINX's limit_req (ngx_http_limit_req_module.c): each
// request adds one to an excess that drains at the rate; one that would
// exceed burst is rejected; admitted ones wait (excess − delay)/rate, or
// not at all with nodelay.
func TestLeakyBucketNGINX(t *testing.T) {
	ms := func(v float64) time.Duration { return time.Duration(v * float64(time.Millisecond)) }
	type call struct {
		at   float64 // ms
		ok   bool
		wait float64 // ms
	}
	for _, c := range []struct {
		name  string
		cfg   LimiterConfig
		calls []call
	}{
		{"burst 0 (NGINX's default)", LimiterConfig{Rate: 10},
			[]call{{0, true, 0}, {50, false, 0}, {100, true, 0}, {150, false, 0}, {250, true, 0}}},
		{"burst 5", LimiterConfig{Rate: 10, Burst: 5},
			[]call{{0, true, 0}, {0, true, 100}, {0, true, 200}, {0, true, 300}, {0, true, 400}, {0, true, 500}, {0, false, 0}, {100, true, 500}}},
		{"burst 5 nodelay", LimiterConfig{Rate: 10, Burst: 5, NoDelay: true},
			[]call{{0, true, 0}, {0, true, 0}, {0, true, 0}, {0, true, 0}, {0, true, 0}, {0, true, 0}, {0, false, 0}}},
		{"burst 5 delay 2", LimiterConfig{Rate: 10, Burst: 5, Delay: 2},
			[]call{{0, true, 0}, {0, true, 0}, {0, true, 0}, {0, true, 100}, {0, true, 200}, {0, true, 300}, {0, false, 0}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.cfg.Algorithm = LimiterLeakyBucket
			l, err := NewLimiter(c.cfg)
			if err != nil {
				t.Fatal(err)
			}
			for i, k := range c.calls {
				ok, wait := l.Admit(ms(k.at), 0)
				if ok != k.ok || (wait-ms(k.wait)).Abs() > time.Microsecond {
					t.Errorf("call %d at %gms: %v, wait %v; want %v, %gms", i, k.at, ok, wait, k.ok, k.wait)
				}
			}
		})
	}
	// The other algorithms never delay.
	tb, _ := NewLimiter(LimiterConfig{Rate: 10, Burst: 5})
	if ok, wait := tb.Admit(0, 0); !ok || wait != 0 {
		t.Errorf("token bucket: %v, wait %v", ok, wait)
	}
}
