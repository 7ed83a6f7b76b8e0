package sim

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/edgelab/edgelab/workloads"
)

func quickstart(t testing.TB, sets ...string) *workloads.Scenario {
	t.Helper()
	sc, err := workloads.Parse(workloads.Quickstart(), workloads.QuickstartName, append(sets, "duration=20s", "warmup=2s"))
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

func resultsJSON(t *testing.T, sc *workloads.Scenario) []byte {
	t.Helper()
	res, err := Run(context.Background(), sc, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range res.Runs {
		res.Runs[i].Sim.WallS = 0 // wall time aside
	}
	data, err := res.JSON()
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestSameSeedSameBytes(t *testing.T) {
	a := resultsJSON(t, quickstart(t))
	b := resultsJSON(t, quickstart(t))
	if !bytes.Equal(a, b) {
		t.Fatal("the same scenario and seed gave different results.json")
	}
	c := resultsJSON(t, quickstart(t, "seed=2"))
	if bytes.Equal(a, c) {
		t.Fatal("another seed gave the same results.json")
	}
}

// Every strategy in one comparison sees the same requests: an open-loop
// arrival stream does not depend on the strategy, so every run counts the
// same requests, and conservation holds in each.
func TestCommonRandomNumbersAndConservation(t *testing.T) {
	res, err := Run(context.Background(), quickstart(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Runs) != 5 {
		t.Fatalf("%d runs, want the quick-start's 5 strategies", len(res.Runs))
	}
	for _, r := range res.Runs {
		if r.Requests != res.Runs[0].Requests {
			t.Errorf("%s measured %d requests, %s %d", r.Strategy, r.Requests, res.Runs[0].Strategy, res.Runs[0].Requests)
		}
		if r.OK+r.Failed+r.Rejected != r.Requests {
			t.Errorf("%s: conservation broken", r.Strategy)
		}
		if r.Outcomes.Total() != r.Requests || r.Outcomes.OK != r.OK {
			t.Errorf("%s: outcomes %+v do not add up to %d", r.Strategy, r.Outcomes, r.Requests)
		}
		if r.Attempts != r.Requests-r.Outcomes.NoUpstream {
			t.Errorf("%s: %d attempts for %d requests without retries", r.Strategy, r.Attempts, r.Requests)
		}
		var sent int64
		for _, s := range r.Servers {
			sent += s.Requests
		}
		if sent != r.Attempts {
			t.Errorf("%s: servers saw %d attempts, run counted %d", r.Strategy, sent, r.Attempts)
		}
	}
}

// A client timeout abandons the attempt at the balancer (its in-flight
// count drops) while the server still finishes the work.
func TestTimeoutAbandonsAtBalancerButServerFinishes(t *testing.T) {
	yaml := `
name: timeouts
duration: 200s
warmup: 10s
clients:
  arrival: {process: poisson, rate: 50}
  timeout: 15ms
servers:
  - {name: s, count: 1, service: {dist: constant, mean: 10ms}}
`
	sc, err := workloads.Parse([]byte(yaml), "t.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run(context.Background(), sc, Options{})
	if err != nil {
		t.Fatal(err)
	}
	r := res.Runs[0]
	if r.Outcomes.Timeout == 0 || r.OK == 0 {
		t.Fatalf("want both timeouts and successes, got %+v", r.Outcomes)
	}
	if r.LatencyMS.Max > 15 {
		t.Fatalf("an ok response took %.2f ms, beyond the 15 ms timeout", r.LatencyMS.Max)
	}
	// The server served every request, abandoned or not: its utilization
	// is λ·S = 0.5 regardless of timeouts.
	within(t, "utilization", r.Servers[0].Utilization, 0.5, 0.02)
}

func TestErrorsProbability(t *testing.T) {
	yaml := `
name: errors
duration: 2000s
clients:
  arrival: {process: poisson, rate: 50}
servers:
  - {name: s, count: 2, errors: 0.1, service: {dist: exponential, mean: 5ms}}
`
	sc, err := workloads.Parse([]byte(yaml), "e.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	res, _ := Run(context.Background(), sc, Options{})
	r := res.Runs[0]
	within(t, "5xx fraction", float64(r.Outcomes.Error5xx)/float64(r.Requests), 0.1, 0.03)
	within(t, "availability", r.Availability, 0.9, 0.005)
}

func TestReplicationsGiveCI(t *testing.T) {
	sc := quickstart(t, "replications=4", "balancer.compare=[]")
	res, err := Run(context.Background(), sc, Options{})
	if err != nil {
		t.Fatal(err)
	}
	r := res.Runs[0]
	if r.Replications != 4 || r.CI95["latency_ms.mean"] <= 0 || r.CI95["latency_ms.p99"] <= 0 {
		t.Fatalf("replications %d, ci95 %v", r.Replications, r.CI95)
	}
}

func TestCancelGivesPartialResults(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res, err := Run(ctx, quickstart(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Partial || len(res.Runs) != 1 {
		t.Fatalf("partial %v with %d runs", res.Partial, len(res.Runs))
	}
	r := res.Runs[0]
	if r.OK+r.Failed+r.Rejected != r.Requests {
		t.Fatal("conservation broken in a partial run")
	}
}

// The hot path allocates nothing per event once pools have grown.
func TestSteadyStateAllocatesNothing(t *testing.T) {
	sc, err := workloads.Parse([]byte(bareYAML), "bare.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	sc.Clients.Timeout = workloads.Duration(time.Second) // exercise timeouts too
	m, err := newModel(sc, "p2c", 0, modelOptions{})
	if err != nil {
		t.Fatal(err)
	}
	m.eng.Schedule(0, m.h, evArrival, 0)
	m.eng.Run(20 * time.Second)
	allocs := testing.AllocsPerRun(5, func() { m.eng.Run(m.eng.Now() + time.Second) })
	if allocs != 0 {
		t.Fatalf("%.1f allocations per simulated second (9000 requests)", allocs)
	}
}

// Strategy names belong to package strategies; an unknown one is still
// reported at its line in the scenario file (or at --set).
func TestUnknownStrategyIsLocated(t *testing.T) {
	yaml := bareYAML + "\n"
	cases := []struct {
		yaml string
		sets []string
		want string
	}{
		{strings.Replace(yaml, "strategy: random", "strategy: fastest", 1), nil, `bare.yaml:7: balancer.strategy: unknown strategy "fastest"`},
		{strings.Replace(yaml, "strategy: random}", "strategy: random, compare: [p2c, fastest]}", 1), nil, `bare.yaml:7: balancer.compare: unknown strategy "fastest"`},
		{yaml, []string{"balancer.strategy=fastest"}, `--set: balancer.strategy: unknown strategy "fastest"`},
	}
	for _, c := range cases {
		sc, err := workloads.Parse([]byte(c.yaml), "bare.yaml", c.sets)
		if err != nil {
			t.Fatal(err)
		}
		_, err = Run(context.Background(), sc, Options{})
		if !workloads.IsInputError(err) || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("error %v, want prefix %q", err, c.want)
		}
	}
}

// balancer.params is checked against each strategy's declared parameters,
// and errors name the field's line.
func TestParamsAreChecked(t *testing.T) {
	for _, c := range []struct{ params, want string }{
		{"{nope: {x: 1}}", `bare.yaml:7: balancer.params.nope: unknown strategy "nope"`},
		{"{random: {x: 1}}", `balancer.params.random: random does not take parameter "x" (it takes: none)`},
	} {
		yaml := strings.Replace(bareYAML, "balancer: {strategy: random}", "balancer: {strategy: random, params: "+c.params+"}", 1)
		sc, err := workloads.Parse([]byte(yaml), "bare.yaml", nil)
		if err != nil {
			t.Fatal(err)
		}
		_, err = Run(context.Background(), sc, Options{})
		if !workloads.IsInputError(err) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("params %s: error %v, want %q", c.params, err, c.want)
		}
	}
}

// Sticky sessions by client run end to end through the simulator: 50
// clients pinned over 5 servers reach every server and nothing fails.
// (That each client stays on one server is checked on the pool itself,
// strategies.TestAffinityPinsAndFallsBack.)
func TestAffinityKeepsClientsOnOneServer(t *testing.T) {
	yaml := `
name: sticky
duration: 60s
clients:
  arrival: {process: poisson, rate: 200}
  count: 50
balancer: {strategy: random, affinity: client}
servers:
  - {name: s, count: 5, concurrency: 8, service: {dist: exponential, mean: 5ms}}
`
	r := simulate(t, yaml, "random")
	// 50 clients pinned at random over 5 servers: every server gets some,
	// and no request fails.
	for _, s := range r.Servers {
		if s.Requests == 0 {
			t.Errorf("%s got no requests", s.ID)
		}
	}
	if r.Failed != 0 {
		t.Errorf("%d failed", r.Failed)
	}
}

// Old load information makes least-loaded herd: when every balancer
// decision between two publications of the load sees the same counts,
// least-request sends them all to the same few servers and does worse
// than random, while p2c's sampling degrades gracefully (Mitzenmacher,
// "How Useful Is Old Information?", IEEE TPDS 2000, periodic-update
// model). Fresh information orders them the other way round.
func TestStaleLoadMakesLeastRequestHerd(t *testing.T) {
	yaml := `
name: stale
seed: 3
duration: 200s
warmup: 10s
clients:
  arrival: {process: poisson, rate: 720}
balancer:
  stale_load: 50ms
servers:
  - {name: s, count: 8, service: {dist: exponential, mean: 10ms}}
`
	lr := simulate(t, yaml, "least-request").LatencyMS.Mean
	p2c := simulate(t, yaml, "p2c").LatencyMS.Mean
	random := simulate(t, yaml, "random").LatencyMS.Mean
	t.Logf("mean ms with load published every 50 ms: least-request %.1f, p2c %.1f, random %.1f", lr, p2c, random)
	if !(lr > random && p2c < random/2) {
		t.Errorf("want least-request (%.1f) worse than random (%.1f) and p2c (%.1f) well below it", lr, random, p2c)
	}
	fresh := simulate(t, strings.Replace(yaml, "stale_load: 50ms", "stale_load: 0s", 1), "least-request").LatencyMS.Mean
	if fresh > p2c {
		t.Errorf("with live counts least-request (%.1f) should beat stale p2c (%.1f)", fresh, p2c)
	}
}

// Replications run in parallel, but results do not depend on how many run
// at once.
func TestParallelReplicationsAreDeterministic(t *testing.T) {
	sc := quickstart(t, "replications=5", "balancer.compare=[]")
	var first []byte
	for _, par := range []int{1, 2, 5} {
		res, err := Run(context.Background(), sc, Options{Parallel: par})
		if err != nil {
			t.Fatal(err)
		}
		res.Runs[0].Sim.WallS = 0
		data, _ := res.JSON()
		if first == nil {
			first = data
		} else if string(data) != string(first) {
			t.Fatalf("parallel %d gave different results", par)
		}
	}
}
