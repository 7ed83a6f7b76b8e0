package sim

// Tests of the simulator against closed-form queueing results. Each test
// names its source. Runs are long enough (≥ 1 million requests) that the
// simulation's standard error is well under the stated tolerance; the
// tolerances are ≥ 4 standard errors, and the seeds are fixed, so the tests
// are deterministic.

import (
	"context"
	"fmt"
	"math"
	"testing"

	"github.com/edgelab/edgelab/reports"
	"github.com/edgelab/edgelab/workloads"
)

// simulate runs a scenario given as YAML with one strategy and checks
// conservation (ok + failed + rejected = requests) on the way.
func simulate(t *testing.T, yaml, strategy string) reports.Run {
	t.Helper()
	r := simulateYAML(t, []byte(yaml), t.Name()+".yaml", strategy, nil)
	if r.Requests < 1000 {
		t.Fatalf("only %d requests measured", r.Requests)
	}
	return r
}

// simulateYAML parses a scenario (with --set overrides), runs one strategy
// and checks conservation.
func simulateYAML(t *testing.T, data []byte, file, strategy string, sets []string) reports.Run {
	t.Helper()
	sc, err := workloads.Parse(data, file, sets)
	if err != nil {
		t.Fatalf("scenario: %v", err)
	}
	res, err := Run(context.Background(), sc, Options{Strategies: []string{strategy}})
	if err != nil {
		t.Fatal(err)
	}
	r := res.Runs[0]
	if r.OK+r.Failed+r.Rejected != r.Requests {
		t.Fatalf("conservation: ok %d + failed %d + rejected %d != requests %d", r.OK, r.Failed, r.Rejected, r.Requests)
	}
	return r
}

func within(t *testing.T, what string, got, want, relTol float64) {
	t.Helper()
	if rel := math.Abs(got-want) / want; !(rel <= relTol) {
		t.Errorf("%s = %.4g, theory %.4g (off by %.2f%%, tolerance %.1f%%)", what, got, want, 100*rel, 100*relTol)
	} else {
		t.Logf("%s = %.4g, theory %.4g (off by %.2f%%)", what, got, want, 100*rel)
	}
}

// scenario builds an open-loop Poisson scenario of one server group.
// Service demand is given in milliseconds; the measured time is sized for
// about n requests.
func scenario(rate float64, n int, group string) string {
	dur := float64(n) / rate
	return fmt.Sprintf(`
name: theory
seed: 42
duration: %.0fs
warmup: %.0fs
clients:
  arrival: {process: poisson, rate: %g}
servers:
  - %s
`, dur, math.Max(1, dur/50), rate, group)
}

// M/M/1: mean response 1/(μ−λ) and response-time quantiles
// −ln(1−q)/(μ−λ), since the sojourn time is exponential with rate μ−λ
// (Kleinrock, Queueing Systems Vol. I, 1975, ch. 3, M/M/1; Harchol-Balter,
// Performance Modeling and Design of Computer Systems, 2013, ch. 13).
func TestMM1(t *testing.T) {
	const lambda, mu = 70.0, 100.0 // ρ = 0.7, mean service 10 ms
	r := simulate(t, scenario(lambda, 2_000_000,
		`{name: s, count: 1, service: {dist: exponential, mean: 10ms}}`), "round-robin")
	mean := 1 / (mu - lambda) * 1000
	within(t, "mean ms", r.LatencyMS.Mean, mean, 0.02)
	within(t, "p50 ms", r.LatencyMS.P50, math.Log(2)*mean, 0.02)
	within(t, "p90 ms", r.LatencyMS.P90, math.Log(10)*mean, 0.02)
	within(t, "p99 ms", r.LatencyMS.P99, math.Log(100)*mean, 0.03)
	// Utilization law U = λ·E[S] and Little's law for the waiting room
	// Lq = ρ²/(1−ρ) (Kleinrock Vol. I, ch. 3).
	rho := lambda / mu
	within(t, "utilization", r.Servers[0].Utilization, rho, 0.01)
	within(t, "mean queue", r.Servers[0].MeanQueue, rho*rho/(1-rho), 0.03)
}

// erlangC is the probability that an arrival waits in M/M/c with offered
// load a = λ/μ (Erlang 1917; Kleinrock Vol. I ch. 3, M/M/m;
// Harchol-Balter ch. 14).
func erlangC(c int, a float64) float64 {
	sum, term := 0.0, 1.0
	for k := 0; k < c; k++ {
		if k > 0 {
			term *= a / float64(k)
		}
		sum += term
	}
	last := term * a / float64(c) // a^c / c!
	rho := a / float64(c)
	top := last / (1 - rho)
	return top / (sum + top)
}

// M/M/c (one instance with concurrency c): mean response
// C(c, a)/(cμ − λ) + 1/μ (Kleinrock Vol. I ch. 3; Harchol-Balter ch. 14).
func TestMMcErlangC(t *testing.T) {
	const c, lambda, mu = 4, 320.0, 100.0 // ρ = 0.8
	r := simulate(t, scenario(lambda, 2_000_000,
		`{name: s, count: 1, concurrency: 4, service: {dist: exponential, mean: 10ms}}`), "round-robin")
	want := (erlangC(c, lambda/mu)/(c*mu-lambda) + 1/mu) * 1000
	within(t, "mean ms", r.LatencyMS.Mean, want, 0.02)
	within(t, "utilization", r.Servers[0].Utilization, lambda/(c*mu), 0.01)
}

// Random routing splits a Poisson stream into independent Poisson streams
// (the splitting property; Harchol-Balter ch. 11), so N servers behave as
// N independent M/M/1 queues at λ/N each.
func TestRandomRoutingIsIndependentMM1(t *testing.T) {
	const n, lambda, mu = 4, 280.0, 100.0
	r := simulate(t, scenario(lambda, 2_000_000,
		`{name: s, count: 4, service: {dist: exponential, mean: 10ms}}`), "random")
	per := lambda / n
	mean := 1 / (mu - per) * 1000
	within(t, "mean ms", r.LatencyMS.Mean, mean, 0.02)
	within(t, "p99 ms", r.LatencyMS.P99, math.Log(100)*mean, 0.03)
	for _, s := range r.Servers {
		within(t, s.ID+" utilization", s.Utilization, per/mu, 0.02)
	}
}

// giM1Sigma solves σ = A*(μ(1−σ)) for the GI/M/1 queue whose interarrival
// times are Erlang-k with phase rate λ, A*(s) = (λ/(λ+s))^k, by fixed-point
// iteration from 0 (Kleinrock Vol. I ch. 6, the queue G/M/m; Gross &
// Harris, Fundamentals of Queueing Theory, GI/M/1).
func giM1Sigma(k int, lambda, mu float64) float64 {
	s := 0.0
	for i := 0; i < 10000; i++ {
		s = math.Pow(lambda/(lambda+mu*(1-s)), float64(k))
	}
	return s
}

// Round robin over N servers sends each one every N-th arrival of a
// Poisson(λ) stream, an Erlang-N renewal process: each server is E_N/M/1
// with mean response 1/(μ(1−σ)) (Kleinrock Vol. I ch. 6).
func TestRoundRobinIsENM1(t *testing.T) {
	const n, lambda, mu = 4, 320.0, 100.0 // ρ = 0.8 per server
	r := simulate(t, scenario(lambda, 2_000_000,
		`{name: s, count: 4, service: {dist: exponential, mean: 10ms}}`), "round-robin")
	sigma := giM1Sigma(n, lambda, mu)
	want := 1 / (mu * (1 - sigma)) * 1000
	within(t, "mean ms", r.LatencyMS.Mean, want, 0.02)
	// The sojourn time is exponential with rate μ(1−σ), so its p99 is
	// ln(100) times the mean (Kleinrock Vol. I ch. 6).
	within(t, "p99 ms", r.LatencyMS.P99, math.Log(100)*want, 0.03)
	// And it is much better than the M/M/1 of random routing.
	if mm1 := 1 / (mu - lambda/n) * 1000; r.LatencyMS.Mean > 0.8*mm1 {
		t.Errorf("round robin mean %.2f ms is not well below random's %.2f ms", r.LatencyMS.Mean, mm1)
	}
}

// Pollaczek–Khinchine: M/G/1 FIFO mean response E[S] + λE[S²]/(2(1−ρ))
// (Kleinrock Vol. I ch. 5; Harchol-Balter ch. 23).
func TestPollaczekKhinchine(t *testing.T) {
	cases := []struct {
		name    string
		lambda  float64
		service string
		n       int
		tol     float64
	}{
		{"M/D/1", 70, `{dist: constant, mean: 10ms}`, 1_000_000, 0.02},
		{"M/H2/1 scv 4", 50, `{dist: hyperexp, mean: 10ms, scv: 4}`, 2_000_000, 0.03},
		{"M/Gamma/1 shape 2", 60, `{dist: gamma, mean: 10ms, shape: 2}`, 1_000_000, 0.02},
		{"M/U/1", 60, `{dist: uniform, min: 5ms, max: 15ms}`, 1_000_000, 0.02},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := simulate(t, scenario(c.lambda, c.n, `{name: s, count: 1, service: `+c.service+`}`), "round-robin")
			sc, _ := workloads.Parse([]byte(scenario(c.lambda, c.n, `{name: s, count: 1, service: `+c.service+`}`)), "x", nil)
			svc := &sc.Servers[0].Service
			es, es2 := svc.MeanSeconds(), svc.SecondMoment()
			rho := c.lambda * es
			want := (es + c.lambda*es2/(2*(1-rho))) * 1000
			within(t, "mean ms", r.LatencyMS.Mean, want, c.tol)
		})
	}
}

// M/M/1/K: an arrival finds the system full with probability
// (1−ρ)ρ^K/(1−ρ^(K+1)), and by Little's law the mean response of admitted
// requests is L/(λ(1−P_K)) with L = ρ/(1−ρ) − (K+1)ρ^(K+1)/(1−ρ^(K+1))
// (Kleinrock Vol. I ch. 3, M/M/1/K; Gross & Harris, M/M/1/K).
func TestMM1KBlocking(t *testing.T) {
	const lambda, mu, k = 90.0, 100.0, 5 // one in service + queue of 4
	r := simulate(t, scenario(lambda, 1_000_000,
		`{name: s, count: 1, queue: 4, service: {dist: exponential, mean: 10ms}}`), "round-robin")
	rho := lambda / mu
	pk := (1 - rho) * math.Pow(rho, k) / (1 - math.Pow(rho, k+1))
	got := float64(r.Outcomes.QueueFull) / float64(r.Requests)
	within(t, "blocking probability", got, pk, 0.02)
	l := rho/(1-rho) - (k+1)*math.Pow(rho, k+1)/(1-math.Pow(rho, k+1))
	within(t, "mean ms", r.LatencyMS.Mean, l/(lambda*(1-pk))*1000, 0.02)
}

// M/G/1 processor sharing: the mean response is E[S]/(1−ρ) for every
// service distribution — it depends on the mean only (Kleinrock, Queueing
// Systems Vol. II, 1976, ch. 4; Harchol-Balter ch. 30).
func TestMG1PSInsensitivity(t *testing.T) {
	for _, svc := range []string{
		`{dist: exponential, mean: 10ms}`,
		`{dist: constant, mean: 10ms}`,
		`{dist: hyperexp, mean: 10ms, scv: 9}`,
		`{dist: lognormal, mean: 10ms, sigma: 1.2}`,
	} {
		t.Run(svc, func(t *testing.T) {
			r := simulate(t, scenario(70, 1_500_000, `{name: s, count: 1, discipline: ps, service: `+svc+`}`), "round-robin")
			within(t, "mean ms", r.LatencyMS.Mean, 10/(1-0.7), 0.03)
			within(t, "utilization", r.Servers[0].Utilization, 0.7, 0.01)
		})
	}
}

// At equal load, the more a strategy knows about queue lengths the better
// its mean response: join-the-shortest-queue (least-request) beats the
// power of two choices (Mitzenmacher, The Power of Two Choices in
// Randomized Load Balancing, IEEE TPDS 2001), which beats round robin
// (E_N/M/1), which beats random (M/M/1).
func TestStrategyOrdering(t *testing.T) {
	yaml := scenario(720, 1_000_000, `{name: s, count: 8, service: {dist: exponential, mean: 10ms}}`)
	order := []string{"least-request", "p2c", "round-robin", "random"}
	var means []float64
	for _, s := range order {
		means = append(means, simulate(t, yaml, s).LatencyMS.Mean)
	}
	t.Logf("mean ms: %v = %.2f", order, means)
	for i := 1; i < len(means); i++ {
		if !(means[i-1] < 0.95*means[i]) {
			t.Errorf("%s (%.2f ms) should beat %s (%.2f ms) by at least 5%%", order[i-1], means[i-1], order[i], means[i])
		}
	}
	// Random is exactly M/M/1 at ρ = 0.9: 100 ms.
	within(t, "random mean ms", means[3], 100, 0.04)
}

// Closed loop: the interactive response time law R = N/X − Z holds for any
// closed system (Denning & Buzen, The Operational Analysis of Queueing
// Network Models, 1978; Harchol-Balter ch. 7).
func TestClosedLoopResponseTimeLaw(t *testing.T) {
	yaml := `
name: closed
seed: 3
duration: 20000s
warmup: 200s
clients:
  arrival: {process: closed, users: 10, think: 50ms}
servers:
  - {name: s, count: 2, service: {dist: exponential, mean: 10ms}}
`
	r := simulate(t, yaml, "least-request")
	x := r.ThroughputRPS
	want := 10/x - 0.050
	within(t, "mean response s", r.LatencyMS.Mean/1000, want, 0.01)
}

// Replications give a 95% confidence interval (Student t over independent
// replications; Law, Simulation Modeling and Analysis, 5th ed., §9.4.1)
// that covers the exact M/M/1 mean response 1/(μ−λ) = 50 ms. Over 20
// seeds of 10 replications each, the interval must cover it at least 16
// times (a 95% interval misses 16+ of 20 with probability ≈ 0.016) and be
// narrow enough to mean something (under 15% of the value).
func TestReplicationCICoversMM1Mean(t *testing.T) {
	const lambda, mu = 80.0, 100.0 // ρ = 0.8, mean service 10 ms
	want := 1000 / (mu - lambda)
	covered := 0
	for seed := 1; seed <= 20; seed++ {
		yaml := fmt.Sprintf(`
name: ci
seed: %d
duration: 300s
warmup: 10s
replications: 10
clients:
  arrival: {process: poisson, rate: %g}
servers:
  - {name: s, count: 1, service: {dist: exponential, mean: 10ms}}
`, seed, lambda)
		r := simulateYAML(t, []byte(yaml), "ci.yaml", "round-robin", nil)
		half := r.CI95["latency_ms.mean"]
		if half <= 0 || half > 0.15*want {
			t.Fatalf("seed %d: CI half-width %.2f ms around %.2f ms", seed, half, r.LatencyMS.Mean)
		}
		if math.Abs(r.LatencyMS.Mean-want) <= half {
			covered++
		}
	}
	t.Logf("the 95%% CI covered %g ms in %d of 20 runs", want, covered)
	if covered < 16 {
		t.Errorf("the 95%% CI covered the exact mean %g ms in only %d of 20 runs", want, covered)
	}
}

// supermarketT is the mean time in system, in service times, of the
// supermarket model in its n → ∞ limit: Poisson arrivals at rate λn, n
// exponential FIFO servers of rate 1, each arrival joining the shortest of
// d queues drawn independently and uniformly. The fraction of queues
// holding at least i customers is s_i = λ^((d^i−1)/(d−1)), so
// T = Σ_{i≥1} λ^((d^i−d)/(d−1)) (Mitzenmacher, "The Power of Two Choices in
// Randomized Load Balancing", IEEE TPDS 12(10), 2001; Vvedenskaya,
// Dobrushin and Karpelevich, Problems of Information Transmission 32(1),
// 1996). d ≥ 2.
func supermarketT(lambda float64, d int) float64 {
	t := 0.0
	for i := 1; i < 64; i++ {
		term := math.Pow(lambda, (math.Pow(float64(d), float64(i))-float64(d))/float64(d-1))
		t += term
		if term < 1e-12 {
			break
		}
	}
	return t
}

// p2c with independent draws (distinct: 0, as Envoy's LEAST_REQUEST and
// HAProxy's balance random draw) is the supermarket model, and distinct
// draws (the default, NGINX's random two) have the same n → ∞ limit. A
// finite pool sits a little above the limit, an O(1/n) effect: with 100
// servers at ρ = 0.9 about +2% for d = 2, with 400 about +0.5% (d = 2) and
// +0.7% (d = 3), means of three seeds whose spread (the standard error of
// one 2-million-request run) is about 0.5%. So 400 servers, a 3%
// tolerance, and the mean may not fall below the limit by more than four
// standard errors.
func TestP2CMatchesSupermarketModel(t *testing.T) {
	const n, rho, meanMS = 400, 0.9, 10.0
	for _, d := range []int{2, 3} {
		for _, distinct := range []int{0, 1} {
			t.Run(fmt.Sprintf("d=%d,distinct=%d", d, distinct), func(t *testing.T) {
				yaml := scenario(rho*n*1000/meanMS, 2_000_000,
					fmt.Sprintf(`{name: s, count: %d, service: {dist: exponential, mean: %gms}}`, n, meanMS)) +
					fmt.Sprintf("balancer: {params: {p2c: {choices: %d, distinct: %d}}}\n", d, distinct)
				r := simulate(t, yaml, "p2c")
				want := supermarketT(rho, d) * meanMS
				within(t, "mean ms", r.LatencyMS.Mean, want, 0.03)
				if r.LatencyMS.Mean < 0.98*want {
					t.Errorf("mean %.3f ms is below the n → ∞ limit %.3f ms", r.LatencyMS.Mean, want)
				}
			})
		}
	}
}
