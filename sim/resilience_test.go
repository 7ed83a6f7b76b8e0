package sim

// Tests of failures, health checking, retries and hedging against their
// closed forms. Each test names its source.

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/edgelab/edgelab/workloads"
)

// Retries with an independent per-attempt error probability p and n
// retries fail with probability p^(n+1) and cost E[attempts] =
// (1 − p^(n+1))/(1 − p), the mean of a geometric number of tries truncated
// at n+1 (Envoy's retry policy: num_retries extra attempts).
func TestRetriesGeometric(t *testing.T) {
	const p = 0.3
	for _, n := range []int{0, 1, 2, 3} {
		t.Run(fmt.Sprint(n, " retries"), func(t *testing.T) {
			yaml := fmt.Sprintf(`
name: retries
seed: 5
duration: 4000s
warmup: 10s
clients:
  arrival: {process: poisson, rate: 100}
  retries: {max: %d, backoff: 1ms}
servers:
  - {name: s, count: 4, concurrency: 100, errors: %g, service: {dist: exponential, mean: 10ms}}
`, n, p)
			r := simulate(t, yaml, "random")
			fail := float64(r.Outcomes.Error5xx) / float64(r.Requests)
			within(t, "failed fraction", fail, math.Pow(p, float64(n+1)), 0.04)
			within(t, "attempts per request", float64(r.Attempts)/float64(r.Requests), (1-math.Pow(p, float64(n+1)))/(1-p), 0.01)
		})
	}
}

// A retry budget caps retry amplification: with every attempt failing and
// 3 retries, attempts per request would be 4; a budget of 20% of active
// requests (Envoy's retry_budget) admits at most about 0.2 retries per
// active request, so attempts stay near 1.2 per request.
func TestRetryBudgetCapsAmplification(t *testing.T) {
	yaml := func(budget string) string {
		return `
name: budget
duration: 1000s
clients:
  arrival: {process: poisson, rate: 200}
  retries: {max: 3, backoff: 10ms` + budget + `}
servers:
  - {name: s, count: 2, concurrency: 1000, errors: 1, service: {dist: constant, mean: 20ms}}
`
	}
	free := simulate(t, yaml(""), "round-robin")
	within(t, "attempts per request without a budget", float64(free.Attempts)/float64(free.Requests), 4, 0.001)
	capped := simulate(t, yaml(", budget: 0.2, min_concurrency: 1"), "round-robin")
	amp := float64(capped.Attempts) / float64(capped.Requests)
	t.Logf("attempts per request with a 20%% budget: %.3f", amp)
	if amp > 1.3 || amp < 1.05 {
		t.Errorf("budgeted amplification %.3f, want about 1.2", amp)
	}
}

// Hedging after τ with exponential service S of mean m and no queueing
// (infinite servers): a backup is sent when the first attempt is still out
// at τ, with probability e^(−τ/m), and the response time is
// R = min(S₁, τ + S₂). For t ≥ τ, P(R > t) = e^(−t/m)·e^(−(t−τ)/m), so the
// q-quantile is (τ + m·ln(1/(1−q)))/2 when it lies above τ, and m·ln(1/(1−q))
// below (Dean & Barroso, The Tail at Scale, CACM 2013, for the policy; the
// distribution follows from independence).
func TestHedgingQuantiles(t *testing.T) {
	const m, tau = 10.0, 15.0 // ms
	yaml := `
name: hedge
duration: 2000s
clients:
  arrival: {process: poisson, rate: 200}
  hedge: {after: 15ms, max: 1}
servers:
  - {name: s, count: 4, concurrency: 10000, service: {dist: exponential, mean: 10ms}}
`
	r := simulate(t, yaml, "random")
	within(t, "hedged fraction", float64(r.Attempts-r.Requests)/float64(r.Requests), math.Exp(-tau/m), 0.01)
	q := func(p float64) float64 {
		if v := m * math.Log(1/(1-p)); v < tau {
			return v
		}
		return (tau + m*math.Log(1/(1-p))) / 2
	}
	within(t, "p50", r.LatencyMS.P50, q(0.50), 0.01)
	within(t, "p90", r.LatencyMS.P90, q(0.90), 0.01)
	within(t, "p99", r.LatencyMS.P99, q(0.99), 0.015)
	within(t, "p99.9", r.LatencyMS.P999, q(0.999), 0.03)
}

// Independent random crashes, no health checks, random routing: a request
// fails when it meets a crashed instance, which happens with the
// instance's unavailability mttr/(mtbf + mttr) (alternating renewal
// process; Barlow & Proschan, Mathematical Theory of Reliability, 1965).
// With active health checks, a crash is only seen by traffic until it is
// detected: after (unhealthy−1) whole intervals and a uniform part of one
// more, so the failed fraction falls to E[min(D, T_down)]/(mtbf + mttr).
func TestRandomCrashUnavailability(t *testing.T) {
	const mtbf, mttr = 2.0, 0.5 // seconds: many cycles, so a small standard error
	base := `
name: crashes
seed: 9
duration: 20000s
warmup: 100s
clients:
  arrival: {process: poisson, rate: 100}
balancer:
  strategy: random
%s
servers:
  - name: s
    count: 10
    concurrency: 100
    service: {dist: exponential, mean: 100us}
    failures:
      - {kind: random-crash, mtbf: 2s, mttr: 500ms}
`
	r := simulate(t, fmt.Sprintf(base, ""), "random")
	got := float64(r.Failed) / float64(r.Requests)
	within(t, "failed fraction without health checks", got, mttr/(mtbf+mttr), 0.02)

	const interval, unhealthy = 0.05, 2
	h := simulate(t, fmt.Sprintf(base, "  health:\n    active: {interval: 50ms, timeout: 10ms, unhealthy: 2, healthy: 1}\n    panic_threshold: 0"), "random")
	// A crash is detected after D = U·I + (unhealthy−1)·I, U ~ U(0,1), the
	// wait for the next probe plus the further failed probes. With the
	// down time T ~ Exp(mttr), each cycle of mean length mtbf + mttr has
	// E[min(D, T)] down-but-eligible (E[min(d, T)] = mttr·(1 − e^(−d/mttr)))
	// and E[(T − D)⁺] down-and-excluded, plus, when detected (P(T > D) =
	// E[e^(−D/mttr)]), half an interval up-and-excluded until the next
	// probe readmits it (healthy: 1). Random routing spreads requests over
	// the eligible instances, so a request fails with probability
	// p_down-eligible / (1 − p_excluded).
	eMin, pDetect := 0.0, 0.0
	const steps = 10000
	for k := 0; k < steps; k++ {
		d := (unhealthy-1)*interval + (float64(k)+0.5)/steps*interval
		eMin += mttr * (1 - math.Exp(-d/mttr)) / steps
		pDetect += math.Exp(-d/mttr) / steps
	}
	pDownEligible := eMin / (mtbf + mttr)
	pExcluded := (mttr - eMin + pDetect*interval/2) / (mtbf + mttr)
	want := pDownEligible / (1 - pExcluded)
	gotH := float64(h.Failed) / float64(h.Requests)
	t.Logf("health checks cut the failed fraction from %.4f to %.4f", got, gotH)
	within(t, "failed fraction with active health checks", gotH, want, 0.06)
}

// Linkerd's experiment (Linkerd blog, "Beyond Round Robin: Load Balancing
// for Latency", 2016): 11 hosts at 167 ms, 1000 req/s, one host slow at 2 s
// for 30 of 60 s, a 1 s timeout. Round robin sends 1/11 of requests to the
// slow host, so (1/11)·(30/60) of all requests time out; p2c sees the slow
// host's in-flight requests pile up and avoids it.
// linkerdYAML is Linkerd's slow-host experiment (see TestLinkerdSlowHost).
const linkerdYAML = `
name: linkerd
seed: 11
duration: 60s
clients:
  arrival: {process: poisson, rate: 1000}
  timeout: 1s
servers:
  - name: s
    count: 11
    concurrency: 1000
    service: {dist: exponential, mean: 167ms}
    failures:
      - {kind: slow, at: 15s, for: 30s, latency: 2s, instances: [3]}
`

func TestLinkerdSlowHost(t *testing.T) {
	yaml := linkerdYAML
	var rr, p2c float64
	for _, s := range []string{"round-robin", "p2c"} {
		r := simulate(t, yaml, s)
		frac := float64(r.Outcomes.Timeout) / float64(r.Requests)
		if s == "round-robin" {
			rr = frac
		} else {
			p2c = frac
		}
	}
	// Exponential 167 ms service alone exceeds 1 s with probability
	// e^(−1/0.167) ≈ 0.25%, for every strategy.
	base := math.Exp(-1 / 0.167)
	within(t, "round-robin timeouts", rr, 1.0/11*30/60+base*(1-1.0/11*30/60), 0.05)
	// p2c still sends the slow host a little: abandoning a request at the
	// timeout removes it from the in-flight count, so the slow host holds
	// about one second of its own arrivals in flight and wins a choice
	// whenever that is below its rival's. Linkerd reports the same order
	// (least-loaded well ahead of round robin, peak EWMA ahead of both).
	t.Logf("p2c timeouts %.4f, round robin %.4f", p2c, rr)
	if p2c > rr/3 {
		t.Errorf("p2c timed out %.4f of requests, not far fewer than round robin's %.4f", p2c, rr)
	}
}

// clients.retries.on decides which failed attempts are sent again:
// servers that always answer 5xx get every retry under the default
// (Envoy's 5xx) and none under NGINX's "error timeout" or HAProxy's
// conn-failure.
func TestRetryOn(t *testing.T) {
	const base = `
name: retry-on
seed: 4
duration: 5s
warmup: 1s
clients:
  arrival: {process: poisson, rate: 200}
  retries: {max: 2, backoff: 0s%s}
servers:
  - {name: web, count: 3, errors: 1, service: {dist: exponential, mean: 2ms}}
`
	for _, c := range []struct {
		on       string
		attempts int64 // per request
	}{
		{"", 3},
		{", on: [error_5xx]", 3},
		{", on: [connect_failure, timeout]", 1},
		{", on: [connect_failure]", 1},
	} {
		r := simulateYAML(t, []byte(fmt.Sprintf(base, c.on)), "retry-on.yaml", "round-robin", nil)
		if r.Attempts != c.attempts*r.Requests || r.Outcomes.Error5xx != r.Requests {
			t.Errorf("on%q: %d attempts for %d requests (%d 5xx); want %d each", c.on, r.Attempts, r.Requests, r.Outcomes.Error5xx, c.attempts)
		}
	}
}

// Retries that avoid the hosts a request tried (NGINX's next upstream,
// Envoy's previous_hosts): with one of N hosts down and k ≥ 1 retries, no
// request fails while N > 1 — whatever the balancer, random included,
// and with no health checking to take the dead host out. Without
// other_host, random sends some retries back to the dead host.
func TestRetriesAvoidTriedHosts(t *testing.T) {
	const base = `
name: other-host
seed: 6
duration: 10s
warmup: 1s
clients:
  arrival: {process: poisson, rate: 300}
  retries: {max: %d, backoff: 0s, other_host: %v}
servers:
  - {name: web, count: %d, concurrency: 4, service: {dist: exponential, mean: 2ms}, failures: [{kind: crash, at: 0s, instances: [0]}]}
`
	for _, c := range []struct{ n, k int }{{2, 1}, {3, 1}, {5, 2}} {
		for _, strategy := range []string{"random", "round-robin", "p2c", "ring-hash"} {
			r := simulateYAML(t, []byte(fmt.Sprintf(base, c.k, true, c.n)), "other-host.yaml", strategy, nil)
			if r.Failed != 0 || r.Outcomes.ConnectFailure != 0 {
				t.Errorf("%s, N=%d, k=%d: %d failed (%+v)", strategy, c.n, c.k, r.Failed, r.Outcomes)
			}
		}
	}
	r := simulateYAML(t, []byte(fmt.Sprintf(base, 1, false, 3)), "other-host.yaml", "random", nil)
	if r.Outcomes.ConnectFailure == 0 {
		t.Error("random without other_host never retried onto the dead host: the test shows nothing")
	}
}

// NGINX's passive health (balancer.health.passive): with one of three
// servers crashed from 1 s to 41 s and no retries, round robin loses only
// the first request sent to it and one probe per fail_timeout + 1 s window
// (strategies.TestPassiveWindow has the exact rule), where without it a
// third of the requests would fail.
func TestPassiveHealthNGINXWindow(t *testing.T) {
	const base = `
name: nginx-window
seed: 2
duration: 60s
warmup: 0s
clients: {arrival: {process: poisson, rate: 200}}
balancer: {health: {%s}}
servers:
  - {name: web, count: 3, concurrency: 4, service: {dist: exponential, mean: 2ms}, failures: [{kind: crash, at: 1s, for: 40s, instances: [0]}]}
`
	r := simulateYAML(t, []byte(fmt.Sprintf(base, "passive: {max_fails: 1, fail_timeout: 10s}")), "nginx.yaml", "round-robin", nil)
	// The first failure near 1 s, probes near 12, 23 and 34 s fail; the
	// one near 45 s finds the server back.
	if f := r.Outcomes.ConnectFailure; f < 3 || f > 5 {
		t.Errorf("%d connect failures with the window, want about 4 (%+v)", f, r.Outcomes)
	}
	off := simulateYAML(t, []byte(fmt.Sprintf(base, "passive: {max_fails: 0}")), "nginx.yaml", "round-robin", nil)
	if off.Outcomes.ConnectFailure < 2000 {
		t.Errorf("max_fails 0 (accounting off): only %d connect failures", off.Outcomes.ConnectFailure)
	}
}

// balancer.health.when_all_unhealthy: with every server failing its
// probes (slow beyond the probe timeout, yet still answering), reject
// (HAProxy's 503, NGINX's 502) fails requests as no_upstream, while
// fail_open (AWS ALB and NLB) and panic (Envoy) keep sending them.
func TestWhenAllUnhealthy(t *testing.T) {
	const base = `
name: all-unhealthy
seed: 3
duration: 20s
warmup: 0s
clients: {arrival: {process: poisson, rate: 50}}
balancer:
  health: {active: {interval: 1s, timeout: 200ms, unhealthy: 1, healthy: 1}, when_all_unhealthy: %s}
servers:
  - {name: web, count: 2, concurrency: 50, service: {dist: constant, mean: 1ms}, failures: [{kind: slow, at: 2s, latency: 300ms}]}
`
	for _, c := range []struct {
		mode       string
		noUpstream bool
	}{{"reject", true}, {"fail_open", false}, {"panic", false}} {
		r := simulateYAML(t, []byte(fmt.Sprintf(base, c.mode)), "all.yaml", "round-robin", nil)
		if got := r.Outcomes.NoUpstream > r.Requests/2; got != c.noUpstream {
			t.Errorf("%s: %d of %d no_upstream (%+v)", c.mode, r.Outcomes.NoUpstream, r.Requests, r.Outcomes)
		}
	}
	// fail_open sets the threshold itself: a panic_threshold beside it is
	// refused.
	_, err := workloads.Parse([]byte(fmt.Sprintf(strings.Replace(base, "when_all_unhealthy: %s", "when_all_unhealthy: %s, panic_threshold: 30", 1), "fail_open")), "x.yaml", nil)
	if err == nil || !strings.Contains(err.Error(), "when_all_unhealthy") {
		t.Errorf("fail_open with panic_threshold: %v", err)
	}
}

// clients.retries.once_per_host is NGINX's tried set: a request tries each
// server at most once, and when it has tried all of them its last failure
// stands. With every one of three servers crashed, each request makes
// exactly three attempts (not 1 + max) and fails as connect_failure; with
// one of three crashed none fails, whatever the strategy (the issue's
// property: one of N > 1 down and k ≥ 1 retries loses nothing).
func TestRetriesOncePerHost(t *testing.T) {
	const base = `
name: once-per-host
seed: 3
duration: 10s
warmup: 1s
clients:
  arrival: {process: poisson, rate: 200}
  retries: {max: 10, backoff: 0s, once_per_host: true}
servers:
  - {name: web, count: 3, concurrency: 4, service: {dist: exponential, mean: 2ms}, failures: [{kind: crash, at: 0s, instances: %s}]}
`
	all := simulateYAML(t, []byte(fmt.Sprintf(base, "[0, 1, 2]")), "once.yaml", "round-robin", nil)
	if all.Requests == 0 || all.Outcomes.ConnectFailure != all.Requests {
		t.Fatalf("every server down: %+v, want every request a connect failure", all.Outcomes)
	}
	if all.Attempts != 3*all.Requests {
		t.Errorf("every server down: %d attempts for %d requests, want 3 each (each server once)", all.Attempts, all.Requests)
	}
	for _, strategy := range []string{"round-robin", "random", "p2c", "ring-hash"} {
		one := simulateYAML(t, []byte(fmt.Sprintf(base, "[0]")), "once.yaml", strategy, nil)
		if one.Failed != 0 {
			t.Errorf("%s, one of three down: %d failed (%+v)", strategy, one.Failed, one.Outcomes)
		}
	}
}

// clients.retries.same_host with turnaround and redispatch is HAProxy's
// retry rule (src/backend.c back_handle_st_cer, include/haproxy/stream.h
// stream_choose_redispatch). One of four servers crashed:
//   - no option redispatch (redispatch 0): every retry goes back to the
//     crashed server after the 1 s turn-around, so each request sent there
//     fails after 3 s;
//   - option redispatch (-1) under round robin with several servers up:
//     HAProxy redispatches every retry at once, so nothing fails and no
//     latency is added;
//   - option redispatch under a hash (ring-hash): the first two retries wait
//     on the same server, the last goes elsewhere: nothing fails, and those
//     requests take 2 s.
func TestRetriesSameHostHAProxy(t *testing.T) {
	const base = `
name: haproxy-retries
seed: 4
duration: 20s
warmup: 0s
clients:
  arrival: {process: poisson, rate: 40}
  retries: {max: 3, on: [connect_failure], same_host: true, turnaround: 1s, redispatch: %d}
servers:
  - {name: web, count: 4, concurrency: 4, service: {dist: constant, mean: 2ms}, failures: [{kind: crash, at: 0s, instances: [0]}]}
`
	plain := simulateYAML(t, []byte(fmt.Sprintf(base, 0)), "haproxy.yaml", "round-robin", nil)
	if share := float64(plain.Outcomes.ConnectFailure) / float64(plain.Requests); share < 0.2 || share > 0.3 {
		t.Errorf("no redispatch: %.3f of requests failed, want the quarter sent to the crashed server (%+v)", share, plain.Outcomes)
	}
	if plain.Attempts < plain.Requests+3*plain.Outcomes.ConnectFailure-10 {
		t.Errorf("no redispatch: %d attempts for %d requests and %d failures, want 3 retries each", plain.Attempts, plain.Requests, plain.Outcomes.ConnectFailure)
	}
	rr := simulateYAML(t, []byte(fmt.Sprintf(base, -1)), "haproxy.yaml", "round-robin", nil)
	if rr.Failed != 0 || rr.LatencyMS.Max > 10 {
		t.Errorf("redispatch under round robin: %d failed, max %.1f ms; want none, no wait", rr.Failed, rr.LatencyMS.Max)
	}
	hash := simulateYAML(t, []byte(fmt.Sprintf(base, -1)), "haproxy.yaml", "ring-hash", nil)
	if hash.Failed != 0 {
		t.Errorf("redispatch under a hash: %d failed (%+v)", hash.Failed, hash.Outcomes)
	}
	if m := hash.LatencyMS.Max; m < 2000 || m > 2010 {
		t.Errorf("redispatch under a hash: max %.1f ms, want 2 s (two turn-arounds on the same server, then elsewhere)", m)
	}
}

// clients.retries.timeout is NGINX's proxy_next_upstream_timeout: no retry
// is sent once the request is that old. Every server hung, a 100 ms
// per-try timeout and retries at once: attempts end at 100, 200 and 300 ms,
// so a 250 ms limit leaves three attempts per request where ten retries
// would make eleven.
func TestRetriesTimeout(t *testing.T) {
	const base = `
name: retry-timeout
seed: 5
duration: 5s
warmup: 0s
clients:
  arrival: {process: poisson, rate: 20}
  retries: {max: 10, backoff: 0s, per_try_timeout: 100ms, on: [timeout]%s}
servers:
  - {name: web, count: 3, concurrency: 100, service: {dist: constant, mean: 1ms}, failures: [{kind: hang, at: 0s}]}
`
	limited := simulateYAML(t, []byte(fmt.Sprintf(base, ", timeout: 250ms")), "rt.yaml", "round-robin", nil)
	if limited.Requests == 0 || limited.Attempts != 3*limited.Requests || limited.Outcomes.Timeout != limited.Requests {
		t.Errorf("with a 250 ms limit: %d attempts for %d requests (%+v), want 3 each, all timed out", limited.Attempts, limited.Requests, limited.Outcomes)
	}
	free := simulateYAML(t, []byte(fmt.Sprintf(base, "")), "rt.yaml", "round-robin", nil)
	if free.Attempts != 11*free.Requests {
		t.Errorf("without a limit: %d attempts for %d requests, want 11 each", free.Attempts, free.Requests)
	}
}

// balancer.ignore_client_abort (NGINX proxy_ignore_client_abort on,
// HAProxy before 3.3 without option abortonclose): a request whose client
// gave up goes on at the balancer. With one of four servers crashed and
// HAProxy's same-server retries (1 s turn-around) outlasting a 1.5 s
// client timeout, the clients see the same timeouts either way, but the
// kept requests make their remaining retries: more attempts.
func TestIgnoreClientAbort(t *testing.T) {
	const base = `
name: ignore-abort
seed: 8
duration: 10s
warmup: 0s
clients:
  arrival: {process: poisson, rate: 40}
  timeout: 1500ms
  retries: {max: 3, on: [connect_failure], same_host: true, turnaround: 1s}
balancer: {ignore_client_abort: %v}
servers:
  - {name: web, count: 4, concurrency: 4, service: {dist: constant, mean: 2ms}, failures: [{kind: crash, at: 0s, for: 6s, instances: [0]}]}
`
	drop := simulateYAML(t, []byte(fmt.Sprintf(base, false)), "abort.yaml", "round-robin", nil)
	keep := simulateYAML(t, []byte(fmt.Sprintf(base, true)), "abort.yaml", "round-robin", nil)
	if drop.Outcomes.Timeout == 0 || keep.Outcomes != drop.Outcomes || keep.Requests != drop.Requests {
		t.Errorf("the clients' outcomes differ: dropped %+v, kept %+v", drop.Outcomes, keep.Outcomes)
	}
	// Dropped at 1.5 s, a request sent to the crashed server has made 2
	// attempts (0 s, 1 s); kept, it makes all 4 (0, 1, 2, 3 s).
	if got, want := keep.Attempts-drop.Attempts, 2*drop.Outcomes.Timeout; got < want*9/10 || got > want {
		t.Errorf("kept requests made %d more attempts, want about 2 per timed-out request (%d)", got, want)
	}
}
