package sim

// Behavioural tests of failures, health checking and retries: each checks a
// property that follows from the model's rules (stated with the test), not
// numbers copied from a run. Where a bound depends on noise, the margin is
// given with its reason. Every test runs in well under a second.

import (
	"context"
	"math"
	"os"
	"reflect"
	"testing"

	"github.com/edgelab/edgelab/reports"
	"github.com/edgelab/edgelab/workloads"
)

// simulateFile runs an example file with overrides, like edgelab run --set.
func simulateFile(t *testing.T, file, strategy string, sets ...string) reports.Run {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return simulateYAML(t, data, file, strategy, sets)
}

func perRequest(r reports.Run) float64 { return float64(r.Attempts) / float64(r.Requests) }

// (a) examples/retry-storm.yaml, shortened: the crash of 4 of 10 instances
// (capacity 600 req/s for 700 offered) fills the survivors' queues with
// ~500 ms of work, beyond the 150 ms per-try timeout. Without a budget
// every queued attempt is abandoned and retried, so the attempts offered
// (up to 4 × 700/s) keep the queues full after the crash: nearly every
// request spends all 1 + 3 attempts and almost none succeeds. Here the
// storm state covers 22 of the 25 measured seconds, so attempts per
// request should approach (3 + 22·4)/25 ≈ 3.6; we require > 2.5. With the
// 20% budget retries cannot multiply the load, the queues drain once
// capacity is back, and goodput stays near the offered load; we require
// the unbudgeted goodput to be below 40% of the budgeted one (it would be
// about 3/25 of it if the storm were total).
func TestRetryStormNeedsBudget(t *testing.T) {
	const file = "../examples/retry-storm.yaml"
	short := []string{"warmup=5s", "duration=25s", "servers[0].failures[0].at=8s"}
	budgeted := simulateFile(t, file, "round-robin", short...)
	storm := simulateFile(t, file, "round-robin", append(short, "clients.retries.budget=0")...)
	t.Logf("budget 0.2: %.2f attempts/request, goodput %.0f rps; no budget: %.2f attempts/request, goodput %.0f rps",
		perRequest(budgeted), budgeted.GoodputRPS, perRequest(storm), storm.GoodputRPS)
	if a := perRequest(storm); a <= 2.5 {
		t.Errorf("without a budget: %.2f attempts per request, want > 2.5 (a retry storm)", a)
	}
	if a := perRequest(budgeted); a >= 1.3 {
		t.Errorf("with a 20%% budget: %.2f attempts per request, want < 1.3", a)
	}
	if storm.GoodputRPS >= 0.4*budgeted.GoodputRPS {
		t.Errorf("goodput without a budget %.0f rps is not below 40%% of the budgeted %.0f rps", storm.GoodputRPS, budgeted.GoodputRPS)
	}
	// Without health checks round robin sends 4 in 10 first attempts to a
	// crashed instance during the crash; if the budget admitted no retry
	// at all, those would fail: 0.4 × 10 s / 25 s = 16% of the measured
	// requests, plus some timeouts on the overloaded survivors. The budget
	// admits some retries, so availability stays above 0.75.
	if budgeted.Availability < 0.75 {
		t.Errorf("budgeted availability %.3f, want ≥ 0.75", budgeted.Availability)
	}
}

// hangScenario: 4 instances of 10 workers at 10 ms, 100 req/s round robin
// (each instance 25 req/s, 2.5% busy), no client timeout; instance 0 hangs
// from `at` for `dur` ("" = to the end). Measured time is 5s..35s.
func hangScenario(at, dur string) string {
	f := "{kind: hang, at: " + at + ", instances: [0]}"
	if dur != "" {
		f = "{kind: hang, at: " + at + ", for: " + dur + ", instances: [0]}"
	}
	return `
name: hang
seed: 3
duration: 30s
warmup: 5s
clients:
  arrival: {process: poisson, rate: 100}
servers:
  - name: s
    count: 4
    concurrency: 10
    service: {dist: exponential, mean: 10ms}
    failures:
      - ` + f + `
`
}

// (b) A hang without a client timeout: a request sent to the hung instance
// at time t during the hang [10s, 15s) waits until 15s, so its latency is
// about 15s − t. Round robin sends that instance exactly every 4th request,
// so the requests caught are a share q = 1/4 · 5/30 of the measured ones,
// with latencies spread uniformly over (0, 5s). Nothing times out, every
// request ends ok, the maximum latency is just under 5s (plus a 10 ms
// service), and the p99 solves q·(1 − x/5s) = 1%: x = 5s·(1 − 0.01/q) =
// 3.8s. The margin (5%) covers the Poisson noise of the ~500 arrivals in
// the hang window (±4.5% on q moves x by about ±1.5%).
//
// A hang that lasts to the end of the run (no `for`) never releases its
// requests: those still waiting when the run is over count as timeouts,
// about the 125 requests round robin sends it in the last 5 s (λ/4 · 5s),
// and ok + failed = requests still holds. A hang that ends after the
// measured window releases its requests while the run drains, so they end
// ok, late.
func TestHangWithoutTimeout(t *testing.T) {
	r := simulate(t, hangScenario("10s", "5s"), "round-robin")
	if r.OK != r.Requests || r.Outcomes.Timeout != 0 {
		t.Errorf("hang of 5 s without a timeout: ok %d of %d, %d timeouts; want every request ok", r.OK, r.Requests, r.Outcomes.Timeout)
	}
	if r.LatencyMS.Max < 4900 || r.LatencyMS.Max > 5500 {
		t.Errorf("max latency %.0f ms, want just under 5000 ms (sent at the hang's start, released at its end)", r.LatencyMS.Max)
	}
	q := 0.25 * 5 / 30
	within(t, "p99 ms", r.LatencyMS.P99, 5000*(1-0.01/q), 0.05)

	r = simulate(t, hangScenario("30s", ""), "round-robin")
	within(t, "timeouts of a hang lasting to the end", float64(r.Outcomes.Timeout), 100.0/4*5, 0.2)
	if r.Failed != r.Outcomes.Timeout {
		t.Errorf("failed %d, want only the %d timeouts", r.Failed, r.Outcomes.Timeout)
	}
	if r.LatencyMS.Max > 1000 {
		t.Errorf("max latency %.0f ms: an ok request waited on the endless hang", r.LatencyMS.Max)
	}

	r = simulate(t, hangScenario("30s", "10s"), "round-robin")
	if r.Outcomes.Timeout != 0 || r.OK != r.Requests {
		t.Errorf("hang ending at 40 s, after the run's 35 s: %d timeouts, ok %d of %d; want all released ok while draining",
			r.Outcomes.Timeout, r.OK, r.Requests)
	}
	if r.LatencyMS.Max < 9900 || r.LatencyMS.Max > 10500 {
		t.Errorf("max latency %.0f ms, want just under 10000 ms", r.LatencyMS.Max)
	}
}

// (c) A hang with a 1 s client timeout: without health checks round robin
// keeps sending the hung instance every 4th request for the whole 20 s,
// and each of those times out: λ/4 · 20s = 1000 at 200 req/s. Active
// probes (every 1 s, 250 ms timeout, 2 failures) see the hang: the probe
// times out, so the instance is out after at most interval (wait for the
// next probe) + (unhealthy − 1)·interval + timeout = 2.25 s, and only the
// requests sent to it until then time out: at most λ/4 · 2.25s ≈ 112; we
// allow 20% on top for Poisson noise. 3 of 4 eligible is above the
// default 50% panic threshold, so the pool never panics. Out from 12.25 s
// at the latest until the hang ends at 30 s, the instance misses at least
// 17.75 of the 35 measured seconds of its quarter share, so it receives at
// most ~49% of what it receives without health checks; we require < 60%.
func TestHangDetectedByActiveHealth(t *testing.T) {
	yaml := func(health string) string {
		return `
name: hang-health
seed: 4
duration: 35s
warmup: 5s
clients:
  arrival: {process: poisson, rate: 200}
  timeout: 1s
` + health + `
servers:
  - name: s
    count: 4
    concurrency: 10
    service: {dist: exponential, mean: 10ms}
    failures:
      - {kind: hang, at: 10s, for: 20s, instances: [0]}
`
	}
	none := simulate(t, yaml(""), "round-robin")
	checked := simulate(t, yaml("balancer:\n  health:\n    active: {interval: 1s, timeout: 250ms, unhealthy: 2, healthy: 1}"), "round-robin")
	within(t, "timeouts without health checks", float64(none.Outcomes.Timeout), 200.0/4*20, 0.1)
	bound := 200.0 / 4 * 2.25
	t.Logf("timeouts with active health checks: %d (bound %.0f + 20%%)", checked.Outcomes.Timeout, bound)
	if float64(checked.Outcomes.Timeout) > 1.2*bound {
		t.Errorf("with active health checks %d timeouts, want at most %.0f (detection within 2.25 s)", checked.Outcomes.Timeout, 1.2*bound)
	}
	if checked.Outcomes.Timeout == 0 {
		t.Error("no timeouts at all with health checks: requests sent before detection should time out")
	}
	if h, n := checked.Servers[0].Requests, none.Servers[0].Requests; float64(h) > 0.6*float64(n) {
		t.Errorf("the hung instance got %d requests with health checks, %d without: want it taken out for most of the hang", h, n)
	}
}

// (d) The utilization law U = λ·E[S]/c: round robin gives each of 4
// instances exactly a quarter of 1000 req/s, 250 req/s × 10 ms on 10
// workers = 0.25. A slow failure with factor 2 for the whole run doubles
// instance 0's service times (it holds its worker twice as long), so its
// utilization is 0.5 while the others stay at 0.25. 100,000 services per
// instance make the estimate's relative error about 0.3%; 2% tolerance.
func TestSlowFactorDoublesUtilization(t *testing.T) {
	r := simulate(t, `
name: slow-factor
seed: 6
duration: 400s
warmup: 5s
clients:
  arrival: {process: poisson, rate: 1000}
servers:
  - name: s
    count: 4
    concurrency: 10
    service: {dist: exponential, mean: 10ms}
    failures:
      - {kind: slow, at: 0s, factor: 2, instances: [0]}
`, "round-robin")
	within(t, "slow instance utilization", r.Servers[0].Utilization, 0.5, 0.02)
	for _, s := range r.Servers[1:] {
		within(t, s.ID+" utilization", s.Utilization, 0.25, 0.02)
	}
}

// (e) An errors failure (rate 1) on instance 0 from 10 s to 30 s, round
// robin over 4 instances at 100 req/s, no retries. Without outlier
// detection every request sent there in the window fails: λ/4 · 20s = 500
// 5xx. With consecutive_5xx: 5 the instance is ejected after its 5th
// consecutive failure, for base_ejection 30 s (until ~40 s, after the
// window): the 5xx are those 5 plus the attempts already in flight at the
// ejection (about 25 req/s × 10 ms = 0.25 on average), and at most 10.
// max_ejection_percent defaults to 10, below one instance in 4 (25%), so
// the ejection also checks Envoy's "at least one host may be ejected"
// rule. Ejected from ~10 s to ~40 s of the measured 5..45 s, the instance
// receives its quarter of the traffic for only ~10 s: λ/4 · 10s = 250,
// against ~1000 without outlier detection (15% margin for Poisson noise).
func TestErrorsEjectedByOutlierDetection(t *testing.T) {
	yaml := func(health string) string {
		return `
name: errors-outlier
seed: 7
duration: 40s
warmup: 5s
clients:
  arrival: {process: poisson, rate: 100}
` + health + `
servers:
  - name: s
    count: 4
    concurrency: 10
    service: {dist: exponential, mean: 10ms}
    failures:
      - {kind: errors, at: 10s, for: 20s, rate: 1, instances: [0]}
`
	}
	none := simulate(t, yaml(""), "round-robin")
	out := simulate(t, yaml("balancer:\n  health:\n    outlier: {consecutive_5xx: 5, base_ejection: 30s}"), "round-robin")
	within(t, "5xx without outlier detection", float64(none.Outcomes.Error5xx), 100.0/4*20, 0.1)
	t.Logf("5xx with outlier detection: %d", out.Outcomes.Error5xx)
	if e := out.Outcomes.Error5xx; e < 5 || e > 10 {
		t.Errorf("5xx with outlier detection: %d, want 5 (the threshold) plus the few in flight at the ejection", e)
	}
	within(t, "ejected instance's requests", float64(out.Servers[0].Requests), 100.0/4*10, 0.15)
	within(t, "instance 0's requests without outlier detection", float64(none.Servers[0].Requests), 100.0/4*40, 0.1)
}

// (f) Panic threshold. 3 of 4 instances crash from 10 s to 30 s; probes
// (every 1 s, refused at once by a crashed instance, 2 failures) find each
// one within 2 s. With one instance eligible out of four (25%):
//   - panic_threshold 50: 25% < 50%, so the pool panics and balances over
//     all four again, crashed ones included (Envoy's panic mode): round
//     robin sends 3/4 of the window's requests to crashed instances, which
//     refuse them (connect_failure): about 3/4 · λ · 20s = 3000 at
//     200 req/s, less a little while the pool is between 3 and 1 eligible
//     (out of panic at 2 of 4 = 50%). We require ≥ 90% of it. Every
//     instance keeps about a quarter of the requests.
//   - panic_threshold 0: never panic; after detection only instance 0 is a
//     candidate and takes everything (100 workers, 2% busy), so connect
//     failures are only those before detection: at most 3/4 · λ · 2s = 300
//     (detection takes at most interval + (unhealthy − 1)·interval = 2 s).
//     With these probe phases (instance i probed at i/4 s past each second)
//     the three are found 1.25, 1.5 and 1.75 s into the crash, which gives
//     about 246 expected.
//
// With all four crashed, panic 0 answers no_upstream (no candidate; Envoy's
// "no healthy upstream") once the crashes are detected, while panic 50
// keeps sending to the crashed instances (connect_failure, no no_upstream).
func TestPanicThreshold(t *testing.T) {
	yaml := func(panic, crashed string) string {
		return `
name: panic
seed: 8
duration: 35s
warmup: 5s
clients:
  arrival: {process: poisson, rate: 200}
balancer:
  health:
    active: {interval: 1s, timeout: 250ms, unhealthy: 2, healthy: 1}
    panic_threshold: ` + panic + `
servers:
  - name: s
    count: 4
    concurrency: 100
    service: {dist: exponential, mean: 10ms}
    failures:
      - {kind: crash, at: 10s, for: 20s, instances: ` + crashed + `}
`
	}
	panicking := simulate(t, yaml("50", "[1, 2, 3]"), "round-robin")
	strict := simulate(t, yaml("0", "[1, 2, 3]"), "round-robin")
	all := 0.75 * 200 * 20
	t.Logf("connect failures: panic 50 %d, panic 0 %d (window share %.0f)", panicking.Outcomes.ConnectFailure, strict.Outcomes.ConnectFailure, all)
	if c := float64(panicking.Outcomes.ConnectFailure); c < 0.9*all || c > 1.1*all {
		t.Errorf("panic 50: %.0f connect failures, want about %.0f (3/4 of the window's requests)", c, all)
	}
	for _, s := range panicking.Servers[1:] {
		within(t, "panic 50: "+s.ID+" requests vs s-0", float64(s.Requests), float64(panicking.Servers[0].Requests), 0.1)
	}
	if c := float64(strict.Outcomes.ConnectFailure); c > 0.75*200*2 || c == 0 {
		t.Errorf("panic 0: %.0f connect failures, want some but at most %.0f (those before detection)", c, 0.75*200*2)
	}
	if strict.Outcomes.NoUpstream != 0 || panicking.Outcomes.NoUpstream != 0 {
		t.Errorf("no_upstream with one instance up: panic 0 %d, panic 50 %d; want 0", strict.Outcomes.NoUpstream, panicking.Outcomes.NoUpstream)
	}
	if s0 := float64(strict.Servers[0].Requests); s0 < 200*(20-2) {
		t.Errorf("panic 0: the surviving instance got %.0f requests, want at least all of the window after detection (%d)", s0, 200*18)
	}

	down := simulate(t, yaml("0", "[0, 1, 2, 3]"), "round-robin")
	downPanic := simulate(t, yaml("50", "[0, 1, 2, 3]"), "round-robin")
	// Panic 0: detection within 2 s, then no_upstream until the first probe
	// after the crashes end readmits an instance (within 1 s).
	if n := float64(down.Outcomes.NoUpstream); n < 200*(20-2)*0.9 || n > 200*(20+1)*1.1 {
		t.Errorf("all crashed, panic 0: %.0f no_upstream, want the window after detection (about %d)", n, 200*19)
	}
	if downPanic.Outcomes.NoUpstream != 0 {
		t.Errorf("all crashed, panic 50: %d no_upstream, want 0 (panic uses every instance)", downPanic.Outcomes.NoUpstream)
	}
	within(t, "all crashed, panic 50: connect failures", float64(downPanic.Outcomes.ConnectFailure), 200*20, 0.1)
}

// (g) Slow start with weighted round robin: instance 0 crashes at 1 s and
// is back at 2.5 s; the probe at 3 s (probes of instance 0 fall on whole
// seconds, healthy: 1) readmits it, and from then its weight ramps as
// max(10%, max(t, 1s)/20s) of its configured 1 (Envoy's slow start,
// aggression 1). The measured window is exactly 3..8 s. Smooth WRR sends
// a request to instance 0 with probability w(t)/(3 + w(t)), so its
// expected share over the window is the time average of that, about 4.6%,
// against 25% without slow start. 15% margin: the window holds only ~90
// of its requests, but smooth WRR follows the weights closely, so the only
// noise is in the arrival times.
func TestSlowStartRampsWeight(t *testing.T) {
	yaml := func(slow string) string {
		return `
name: slow-start
seed: 10
duration: 5s
warmup: 3s
clients:
  arrival: {process: poisson, rate: 400}
balancer:
  strategy: weighted-round-robin
  health:
    active: {interval: 1s, timeout: 250ms, unhealthy: 1, healthy: 1}
    slow_start: ` + slow + `
servers:
  - name: s
    count: 4
    concurrency: 100
    service: {dist: exponential, mean: 10ms}
    failures:
      - {kind: crash, at: 1s, for: 1500ms, instances: [0]}
`
	}
	share := func(r reports.Run) float64 {
		total := int64(0)
		for _, s := range r.Servers {
			total += s.Requests
		}
		return float64(r.Servers[0].Requests) / float64(total)
	}
	const window, span = 20.0, 5.0
	want, steps := 0.0, 100000
	for k := 0; k < steps; k++ {
		el := (float64(k) + 0.5) / float64(steps) * span
		w := math.Min(math.Max(math.Max(el, 1)/window, 0.1), 1)
		want += w / (3 + w) / float64(steps)
	}
	ramp := share(simulate(t, yaml("20s"), "weighted-round-robin"))
	steady := share(simulate(t, yaml("0s"), "weighted-round-robin"))
	within(t, "share in the first 5 s of slow start", ramp, want, 0.15)
	within(t, "share without slow start", steady, 0.25, 0.05)
	if ramp > 0.5*steady {
		t.Errorf("share during slow start %.3f is not well below the steady %.3f", ramp, steady)
	}
}

// (h) Same seed, same results, with every random mechanism of failures and
// resilience at work: random crashes, a hang, errors, added latency,
// retries with backoff and budget, hedges, probes, outlier ejection and
// slow start. The random crashes are drawn from streams of their own, so
// every strategy meets the same ones: the failure windows do not depend
// on the strategy.
func TestDeterministicWithFailuresAndRetries(t *testing.T) {
	yaml := `
name: determinism
seed: 12
duration: 20s
warmup: 2s
replications: 2
clients:
  arrival: {process: poisson, rate: 400}
  timeout: 500ms
  retries: {max: 2, backoff: 5ms, budget: 0.2, per_try_timeout: 100ms}
  hedge: {after: 40ms, max: 1}
balancer:
  health:
    active: {interval: 500ms, timeout: 100ms, unhealthy: 2, healthy: 2}
    outlier: {consecutive_5xx: 3, base_ejection: 2s, max_ejection_percent: 50}
    slow_start: 3s
servers:
  - name: s
    count: 6
    concurrency: 4
    queue: 20
    service: {dist: lognormal, mean: 10ms, sigma: 1}
    errors: 0.01
    failures:
      - {kind: random-crash, mtbf: 5s, mttr: 1s}
      - {kind: hang, at: 8s, for: 3s, instances: [1]}
      - {kind: errors, at: 4s, for: 6s, rate: 0.3, instances: [2]}
      - {kind: slow, at: 6s, for: 6s, latency: 80ms, instances: [3]}
`
	run := func(strategy string) *reports.Results {
		sc, err := workloads.Parse([]byte(yaml), t.Name()+".yaml", nil)
		if err != nil {
			t.Fatal(err)
		}
		res, err := Run(context.Background(), sc, Options{Strategies: []string{strategy}})
		if err != nil {
			t.Fatal(err)
		}
		for i := range res.Runs {
			if res.Runs[i].Sim != nil {
				res.Runs[i].Sim.WallS = 0
			}
		}
		return res
	}
	for _, s := range []string{"round-robin", "p2c"} {
		a, b := run(s), run(s)
		if !reflect.DeepEqual(a, b) {
			t.Errorf("%s: two runs with the same seed differ:\n%+v\n%+v", s, a.Runs[0], b.Runs[0])
		}
		r := a.Runs[0]
		if r.Attempts <= r.Requests || r.Outcomes.ConnectFailure == 0 {
			t.Errorf("%s: the scenario should exercise retries and crashes (attempts %d, requests %d, connect failures %d)",
				s, r.Attempts, r.Requests, r.Outcomes.ConnectFailure)
		}
	}
	rr, p2c := run("round-robin"), run("p2c")
	if len(rr.Failures) == 0 || !reflect.DeepEqual(rr.Failures, p2c.Failures) {
		t.Errorf("failure windows differ between strategies (or are missing): %d vs %d windows", len(rr.Failures), len(p2c.Failures))
	}
	random := 0
	for _, w := range rr.Failures {
		if w.Kind == workloads.FailRandomCrash {
			random++
		}
	}
	// 6 instances, 22 s, mtbf 5 s + mttr 1 s: about 22 random crashes in all.
	if random < 5 {
		t.Errorf("only %d random-crash windows; the test means to exercise them", random)
	}
}

// A crash resets every attempt in flight at the instance (connect_failure),
// and that includes answers held back by a slow failure's added latency:
// the instance is gone, so the rest of the response never leaves it. One
// instance answers after 10 ms of work plus 2 s of added latency for the
// whole run and crashes from 10 s to 15 s; with 100 workers nothing
// queues. Every request sent from 10 s − 2.01 s until 15 s must then fail:
// λ · 7.01 s ≈ 701 at 100 req/s (85% margin for noise, ±26); only those
// sent during the crash itself (λ · 5 s = 500) would fail if held answers
// survived.
func TestCrashResetsAnswersHeldByLatency(t *testing.T) {
	r := simulate(t, `
name: crash-latency
seed: 1
duration: 20s
warmup: 1s
clients:
  arrival: {process: poisson, rate: 100}
servers:
  - name: s
    count: 1
    concurrency: 100
    service: {dist: constant, mean: 10ms}
    failures:
      - {kind: slow, at: 0s, latency: 2s}
      - {kind: crash, at: 10s, for: 5s}
`, "round-robin")
	if c := float64(r.Outcomes.ConnectFailure); c < 0.85*100*7.01 {
		t.Errorf("%.0f connect failures, want about %.0f: answers held by the added latency survived the crash", c, 100*7.01)
	}
}

// A retry budget of 100% never binds: each request has at most one
// admitted retry in progress at a time (a retry is sent only when none of
// the request's attempts is out), so retries in progress never exceed
// requests in progress. With budget 1 the run must therefore be identical
// to the run without a budget, attempt for attempt. A budget counter that
// leaked (a retry never released, through a crash reset, a per-try
// timeout, a hedge, the client timeout or a missing upstream) would start
// refusing retries and make the runs differ.
func TestFullBudgetNeverBinds(t *testing.T) {
	yaml := func(budget string) string {
		return `
name: budget-100
seed: 3
duration: 30s
warmup: 2s
clients:
  arrival: {process: poisson, rate: 500}
  timeout: 300ms
  retries: {max: 3, backoff: 2ms, per_try_timeout: 60ms` + budget + `}
  hedge: {after: 30ms, max: 2}
balancer:
  health:
    active: {interval: 500ms, timeout: 100ms, unhealthy: 2, healthy: 2}
    outlier: {consecutive_5xx: 3, base_ejection: 2s, max_ejection_percent: 50}
servers:
  - name: s
    count: 6
    concurrency: 2
    queue: 10
    service: {dist: lognormal, mean: 10ms, sigma: 1}
    errors: 0.2
    failures:
      - {kind: random-crash, mtbf: 5s, mttr: 1s}
      - {kind: hang, at: 8s, for: 3s, instances: [1]}
      - {kind: slow, at: 6s, for: 20s, latency: 40ms, instances: [3]}
`
	}
	for _, s := range []string{"round-robin", "least-request"} {
		free := simulate(t, yaml(""), s)
		full := simulate(t, yaml(", budget: 1, min_concurrency: 1"), s)
		if free.Attempts <= free.Requests {
			t.Fatalf("%s: no retries to budget (attempts %d, requests %d)", s, free.Attempts, free.Requests)
		}
		if free.Outcomes != full.Outcomes || free.Attempts != full.Attempts {
			t.Errorf("%s: a 100%% budget changed the run:\nno budget %+v, attempts %d\nbudget 1  %+v, attempts %d",
				s, free.Outcomes, free.Attempts, full.Outcomes, full.Attempts)
		}
	}
}
