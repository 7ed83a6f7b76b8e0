package sim

import (
	"fmt"
	"math"
	"strings"
	"testing"
)

// gatewayYAML is an API gateway tier in front of two server groups.
func gatewayYAML(instances int, extra string) string {
	return fmt.Sprintf(`
name: gateway
seed: 8
duration: 600s
warmup: 10s
clients:
  arrival: {process: poisson, rate: 400}
  keys: {dist: zipf, n: 1000, s: 1.0}
  paths: [{path: /orders/1, weight: 1}, {path: /home, weight: 3}]
gateway:
  instances: %d
  concurrency: 16
  stages:
    - {type: auth, cost: 200us, reject: 0.05}
    - {type: ratelimit, rate: 100000, per: global}
    - {type: cache, ttl: 5s, size: 100, cost: 50us}
    - {type: transform, cost: 100us}
    - {type: log, cost: 20us}
  routes: [{prefix: /orders, to: orders}, {prefix: /, to: web}]
%s
servers:
  - {name: orders, count: 2, concurrency: 8, service: {dist: exponential, mean: 10ms}}
  - {name: web, count: 4, concurrency: 8, service: {dist: exponential, mean: 5ms}}
`, instances, extra)
}

// The pipeline's bookkeeping must add up: auth rejects its fraction (a
// counter-based draw per request), later stages see only what earlier ones
// let through, cache hits never reach a server, routes send each path to
// its group only, and the gateway's time for forwarded requests is its
// stage costs (the tier is lightly loaded, so queueing is negligible).
func TestGatewayPipelineAccounting(t *testing.T) {
	r := simulate(t, gatewayYAML(2, ""), "p2c")
	g := r.Gateway
	if g == nil || len(g.Stages) != 5 || len(g.Instances) != 2 {
		t.Fatalf("gateway stats %+v", g)
	}
	within(t, "auth rejected fraction", float64(r.Outcomes.AuthRejected)/float64(r.Requests), 0.05, 0.03)
	if g.Stages[0].Requests != r.Requests {
		t.Errorf("auth saw %d requests of %d", g.Stages[0].Requests, r.Requests)
	}
	if g.Stages[1].Requests != r.Requests-r.Outcomes.AuthRejected {
		t.Errorf("ratelimit saw %d, want those auth let through: %d", g.Stages[1].Requests, r.Requests-r.Outcomes.AuthRejected)
	}
	if g.CacheHits+g.CacheMisses != g.Stages[2].Requests || g.CacheHits == 0 {
		t.Errorf("cache hits %d + misses %d != %d requests", g.CacheHits, g.CacheMisses, g.Stages[2].Requests)
	}
	if g.Stages[3].Requests != g.CacheMisses {
		t.Errorf("transform ran %d times, want once per cache miss (%d)", g.Stages[3].Requests, g.CacheMisses)
	}
	// Every forwarded request makes exactly one attempt (no retries).
	if r.Attempts != g.CacheMisses {
		t.Errorf("attempts %d, want the %d cache misses", r.Attempts, g.CacheMisses)
	}
	// Routes: /orders/1 (weight 1 of 4) only reaches the orders group.
	var orders, web int64
	for _, s := range r.Servers {
		if strings.HasPrefix(s.ID, "orders") {
			orders += s.Requests
		} else {
			web += s.Requests
		}
	}
	if orders == 0 || web == 0 {
		t.Fatalf("orders %d web %d", orders, web)
	}
	// Keys are independent of paths, so cache hits thin both alike and
	// the orders group gets the path's weight share, 1/4.
	within(t, "orders share", float64(orders)/float64(orders+web), 0.25, 0.02)
	t.Logf("orders %d web %d, hit ratio %.3f, gateway share of latency %.3f", orders, web, g.CacheHitRatio, g.LatencyShare)
	// Gateway time of a forwarded request: 200+50+100+20 µs = 0.37 ms; its
	// share of the mean ok latency of upstream requests is small but real.
	if g.LatencyShare <= 0 || g.LatencyShare > 0.1 {
		t.Errorf("gateway latency share %.4f", g.LatencyShare)
	}
}

// A global token bucket at rate r under Poisson load λ = 2r rejects half
// the requests (the M/D/1/b view of a token bucket, see
// strategies/ratelimit_test.go; at λ = 2r the admitted rate is r).
func TestGatewayRateLimitOverloadRejectsHalf(t *testing.T) {
	yaml := `
name: ratelimit
duration: 500s
clients:
  arrival: {process: poisson, rate: 400}
gateway:
  stages: [{type: ratelimit, rate: 200, burst: 10}]
servers:
  - {name: s, count: 2, concurrency: 100, service: {dist: exponential, mean: 1ms}}
`
	r := simulate(t, yaml, "round-robin")
	within(t, "rate-limited fraction", float64(r.Outcomes.RateLimited)/float64(r.Requests), 0.5, 0.01)
	if r.Rejected != r.Outcomes.RateLimited || r.Failed != 0 {
		t.Errorf("rejected %d failed %d", r.Rejected, r.Failed)
	}
}

// A ratelimit stage's scope: counted for the whole tier, 3 instances
// behind round robin admit the limit (200 of 400 requests/s); counted per
// instance (Kong's and APISIX's local policies), each admits the limit
// of its third of the traffic, and nothing is limited.
func TestGatewayRateLimitScope(t *testing.T) {
	const doc = `
name: ratelimit-scope
duration: 200s
clients:
  arrival: {process: poisson, rate: 400}
gateway:
  instances: 3
  stages: [{type: ratelimit, rate: 200, burst: 10, scope: %s}]
servers:
  - {name: s, count: 2, concurrency: 100, service: {dist: exponential, mean: 1ms}}
`
	tier := simulate(t, fmt.Sprintf(doc, "tier"), "round-robin")
	within(t, "tier: rate-limited fraction", float64(tier.Outcomes.RateLimited)/float64(tier.Requests), 0.5, 0.01)
	inst := simulate(t, fmt.Sprintf(doc, "instance"), "round-robin")
	if f := float64(inst.Outcomes.RateLimited) / float64(inst.Requests); f > 0.01 {
		t.Errorf("instance scope: %.3f rate-limited, want almost none (each instance sees 133 of its 200 requests/s)", f)
	}
}

// A leaky-bucket stage is NGINX's limit_req: at twice its rate half the
// requests are rejected, as with the token bucket, but those admitted
// wait at the gateway so that they leave at the rate. Overloaded, the
// excess stays near burst, so an admitted request waits about burst/rate
// (50/200 = 250 ms); with nodelay it waits nothing.
func TestGatewayLeakyBucket(t *testing.T) {
	const doc = `
name: leaky
duration: 200s
clients:
  arrival: {process: poisson, rate: 400}
gateway:
  stages: [{type: ratelimit, algorithm: leaky-bucket, rate: 200, burst: 50%s}]
servers:
  - {name: s, count: 2, concurrency: 100, service: {dist: exponential, mean: 1ms}}
`
	delayed := simulate(t, fmt.Sprintf(doc, ""), "round-robin")
	within(t, "delayed: rate-limited fraction", float64(delayed.Outcomes.RateLimited)/float64(delayed.Requests), 0.5, 0.01)
	if p50 := delayed.LatencyMS.P50; p50 < 200 || p50 > 260 {
		t.Errorf("delayed: p50 %.1f ms, want about 250 (burst/rate)", p50)
	}
	now := simulate(t, fmt.Sprintf(doc, ", nodelay: true"), "round-robin")
	within(t, "nodelay: rate-limited fraction", float64(now.Outcomes.RateLimited)/float64(now.Requests), 0.5, 0.01)
	if p99 := now.LatencyMS.P99; p99 > 20 {
		t.Errorf("nodelay: p99 %.1f ms, want no wait", p99)
	}
}

// A single gateway instance is a single point of failure: while it is
// down every request fails. Two instances behind an L4 balancer with
// health checks survive the loss of one: only the requests sent to it
// before detection fail.
func TestGatewaySinglePointOfFailure(t *testing.T) {
	base := `
name: spof
seed: 3
duration: 60s
clients:
  arrival: {process: poisson, rate: 500}
  timeout: 1s
gateway:
  instances: %d
  stages: [{type: auth, cost: 100us}]
  failures: [{kind: crash, at: 20s, for: 15s, instances: [0]}]
%s
servers:
  - {name: s, count: 4, concurrency: 16, service: {dist: exponential, mean: 5ms}}
`
	one := simulate(t, fmt.Sprintf(base, 1, ""), "round-robin")
	fOne := float64(one.Failed) / float64(one.Requests)
	within(t, "failed fraction, one gateway", fOne, 15.0/60, 0.02)

	two := simulate(t, fmt.Sprintf(base, 2, "  health: {interval: 1s, timeout: 200ms, unhealthy: 2, healthy: 2}"), "round-robin")
	fTwo := float64(two.Failed) / float64(two.Requests)
	// Detection takes at most two probe intervals, during which half the
	// requests go to the dead instance: at most (2 s / 60 s) / 2.
	t.Logf("failed: one gateway %.4f, two with L4 health checks %.4f", fOne, fTwo)
	if fTwo > 1.0/60 || fTwo == 0 {
		t.Errorf("two gateways failed %.4f of requests, want a little, under %.4f", fTwo, 1.0/60)
	}
	// Without health checks, round robin keeps sending half the traffic to
	// the dead instance for the whole window.
	blind := simulate(t, fmt.Sprintf(base, 2, ""), "round-robin")
	within(t, "failed fraction, two gateways without health checks", float64(blind.Failed)/float64(blind.Requests), 0.5*15/60, 0.03)
	if math.IsNaN(fTwo) {
		t.Fatal("NaN")
	}
}

// With an idle gateway tier (no queueing), a forwarded request spends
// exactly the sum of the stage costs in the gateway, so the stage shares
// add up to the gateway's share of latency.
func TestGatewayStageSharesAddUp(t *testing.T) {
	r := simulate(t, gatewayYAML(4, ""), "least-request")
	g := r.Gateway
	sum := 0.0
	for _, s := range g.Stages {
		sum += s.LatencyShare
	}
	within(t, "sum of stage shares", sum, g.LatencyShare, 0.01)
}

// Several gateway instances do not share in-flight counts: each balances
// on its own partial view, so least-request over 8 gateways (round-robin
// L4) behaves worse than one gateway that sees every request in flight,
// and moves towards random: each gateway's least-loaded choice is made on
// the eighth of the traffic it sees (compare Mitzenmacher, "How Useful Is
// Old Information?", IEEE TPDS 2000, for the related cost of stale load
// information). The same requests reach the servers in every run.
func TestGatewaysDoNotShareBalancerState(t *testing.T) {
	yaml := `
name: herding
seed: 12
duration: 300s
warmup: 10s
clients:
  arrival: {process: poisson, rate: 720}
gateway:
  instances: %d
  concurrency: 1000
servers:
  - {name: s, count: 8, service: {dist: exponential, mean: 10ms}}
`
	one := simulate(t, fmt.Sprintf(yaml, 1), "least-request")
	eight := simulate(t, fmt.Sprintf(yaml, 8), "least-request")
	random := simulate(t, fmt.Sprintf(yaml, 1), "random")
	t.Logf("least-request mean: one gateway %.2f ms, eight gateways %.2f ms; random %.2f ms",
		one.LatencyMS.Mean, eight.LatencyMS.Mean, random.LatencyMS.Mean)
	if !(one.LatencyMS.Mean < 0.8*eight.LatencyMS.Mean && eight.LatencyMS.Mean < random.LatencyMS.Mean) {
		t.Errorf("want one gateway (%.2f) well below eight (%.2f), and eight below random (%.2f)",
			one.LatencyMS.Mean, eight.LatencyMS.Mean, random.LatencyMS.Mean)
	}
}

// Requests that time out while queued or processed at a gateway instance
// must free their worker: a leak would starve the instance (every later
// request would time out). Here the gateway's one worker is 30% busy, so
// with a 25 ms timeout most requests still succeed.
func TestGatewayTimeoutsFreeWorkers(t *testing.T) {
	yaml := `
name: gwleak
seed: 2
duration: 200s
clients:
  arrival: {process: poisson, rate: 30}
  timeout: 25ms
gateway:
  concurrency: 1
  stages: [{type: transform, cost: 10ms}]
servers:
  - {name: s, count: 2, concurrency: 8, service: {dist: constant, mean: 1ms}}
`
	r := simulate(t, yaml, "round-robin")
	// M/D/1 at ρ = 0.3: P(wait > 14 ms) is a few percent at most.
	if frac := float64(r.Outcomes.Timeout) / float64(r.Requests); frac > 0.1 {
		t.Errorf("%.3f of requests timed out; a leaked worker starves the gateway", frac)
	}
	if r.Gateway.Instances[0].Utilization > 0.35 {
		t.Errorf("gateway utilization %.3f, want about 0.3", r.Gateway.Instances[0].Utilization)
	}
}

// Each ratelimit stage has its own limiter, so the stricter limit binds
// whatever the order of the stages. A token bucket of rate r and burst 1
// under Poisson load λ admits λ/(1 + λ/r), the M/G/1/1 loss formula
// (blocking ρ/(1+ρ); see strategies/ratelimit_test.go for the M/D/1/b
// equivalence): 100/3 req/s here. The looser bucket barely matters in
// either position (it blocks under 10% of Poisson arrivals on its own and
// nothing behind the stricter one, whose output is spaced 20 ms apart).
func TestGatewayEveryRateLimitStageApplies(t *testing.T) {
	for _, stages := range []string{
		"[{type: ratelimit, rate: 1000, burst: 1}, {type: ratelimit, rate: 50, burst: 1}]",
		"[{type: ratelimit, rate: 50, burst: 1}, {type: ratelimit, rate: 1000, burst: 1}]",
	} {
		yaml := `
name: twolimits
duration: 200s
clients:
  arrival: {process: poisson, rate: 100}
gateway:
  stages: ` + stages + `
servers:
  - {name: s, count: 2, concurrency: 8, service: {dist: constant, mean: 1ms}}
`
		r := simulate(t, yaml, "round-robin")
		within(t, "admitted rate "+stages, r.GoodputRPS, 100.0/3, 0.05)
	}
}

// A failure that starts while work is under way acts on it as it would
// on a real process (plan.Condition), at the gateway as at a server: a
// slowdown stretches the rest of the processing, a hang stops it until
// the hang ends. One request a second meets 100 ms of gateway processing
// and 1 ms of service; the failure starts 50 ms into the request sent at
// 5 s.
func TestGatewayFailureActsOnWorkUnderWay(t *testing.T) {
	const base = `
name: under-way
seed: 1
duration: 10s
warmup: 0s
clients: {arrival: {process: constant, rate: 1}}
gateway:
  instances: 1
  concurrency: 1
  stages: [{type: transform, cost: 100ms}]
  failures: [%s]
servers:
  - {name: web, count: 1, service: {dist: constant, mean: 1ms}}
`
	cases := []struct {
		failure string
		maxMS   float64 // the affected request's latency
	}{
		// 50 ms at full speed, then 50 ms of work at half speed.
		{"{kind: slow, at: 5.05s, for: 500ms, factor: 2}", 50 + 100 + 1},
		// 50 ms, stopped for 200 ms, then the other 50 ms.
		{"{kind: hang, at: 5.05s, for: 200ms}", 50 + 200 + 50 + 1},
	}
	for _, c := range cases {
		r := simulateYAML(t, []byte(fmt.Sprintf(base, c.failure)), "under-way.yaml", "round-robin", nil)
		if r.OK != r.Requests || r.Requests < 9 {
			t.Fatalf("%s: %d ok of %d", c.failure, r.OK, r.Requests)
		}
		if math.Abs(r.LatencyMS.P50-101) > 0.1 || math.Abs(r.LatencyMS.Max-c.maxMS) > 0.01 {
			t.Errorf("%s: p50 %.3f ms, max %.3f ms; want 101 and %.0f", c.failure, r.LatencyMS.P50, r.LatencyMS.Max, c.maxMS)
		}
	}
}

// The same at a server: work in service when a slowdown or hang starts is
// re-booked (plan.Condition), and added latency holds back only answers
// that leave service while it lasts.
func TestServerFailureActsOnWorkUnderWay(t *testing.T) {
	const base = `
name: under-way
seed: 1
duration: 10s
warmup: 0s
clients: {arrival: {process: constant, rate: 1}}
servers:
  - {name: web, count: 1, service: {dist: constant, mean: 100ms}, failures: [%s]}
`
	cases := []struct {
		failure string
		maxMS   float64
	}{
		{"{kind: slow, at: 5.05s, for: 500ms, factor: 2}", 50 + 100},
		{"{kind: hang, at: 5.05s, for: 200ms}", 50 + 200 + 50},
		{"{kind: slow, at: 5.05s, for: 500ms, latency: 30ms}", 100 + 30},
		// Latency ends while the answer it holds back is on its way:
		// that answer keeps its delivery time.
		{"{kind: slow, at: 5.05s, for: 60ms, latency: 30ms}", 100 + 30},
	}
	for _, c := range cases {
		r := simulateYAML(t, []byte(fmt.Sprintf(base, c.failure)), "under-way.yaml", "round-robin", nil)
		if r.OK != r.Requests || r.Requests < 9 {
			t.Fatalf("%s: %d ok of %d", c.failure, r.OK, r.Requests)
		}
		if math.Abs(r.LatencyMS.P50-100) > 0.1 || math.Abs(r.LatencyMS.Max-c.maxMS) > 0.01 {
			t.Errorf("%s: p50 %.3f ms, max %.3f ms; want 100 and %.0f", c.failure, r.LatencyMS.P50, r.LatencyMS.Max, c.maxMS)
		}
	}
}
