package plan

import (
	"strings"
	"testing"

	"github.com/edgelab/edgelab/workloads"
)

// The estimate counts requests from the arrival process, strategies and
// replications, and memory from instances, rings, tables and series; Check
// refuses what is over the limits at the key responsible.
func TestEstimate(t *testing.T) {
	cases := []struct {
		name, yaml string
		strategies []string
		requests   float64 // want, within 1%
		field      string  // Check's field, "" when within the limits
		why        string
	}{
		{"small", `
name: s
duration: 60s
warmup: 10s
replications: 2
clients: {arrival: {process: poisson, rate: 1000}}
servers: [{name: web, count: 4, service: {dist: exponential, mean: 1ms}}]
`, []string{"p2c", "random"}, 1000 * 70 * 2 * 2, "", ""},
		{"an hour at 1e9/s", `
name: h
duration: 1h
clients: {arrival: {process: poisson, rate: 1e9}}
servers: [{name: web, count: 10, service: {dist: exponential, mean: 1ms}}]
`, []string{"p2c"}, 3.6e12, "clients.arrival.rate", "clients.arrival.rate 1e+09/s"},
		{"closed loop", `
name: c
duration: 1000s
clients: {arrival: {process: closed, users: 1000000, think: 10ms}}
servers: [{name: web, count: 10, service: {dist: exponential, mean: 1ms}}]
`, []string{"p2c"}, 1e6 * 1000 / 0.01, "clients.arrival.users", "clients.arrival.users 1000000"},
		{"ring with many points", `
name: r
duration: 2s
clients: {arrival: {process: poisson, rate: 10}}
balancer: {params: {ring-hash: {vnodes: 10000}}}
gateway: {instances: 8}
servers: [{name: web, count: 20000, service: {dist: exponential, mean: 1ms}}]
`, []string{"ring-hash"}, 20, "balancer.params", "balancer.params.ring-hash.vnodes 10000"},
		{"series of many instances", `
name: i
duration: 20m
clients: {arrival: {process: poisson, rate: 1}}
servers: [{name: web, count: 100000, service: {dist: exponential, mean: 1ms}}]
`, []string{"random"}, 1200, "servers", "100000 server instances × 600 buckets"},
	}
	for _, c := range cases {
		sc, err := workloads.Parse([]byte(c.yaml), c.name+".yaml", nil)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		e := EstimateRun(sc, c.strategies, 2)
		if r := e.Requests / c.requests; r < 0.99 || r > 1.01 {
			t.Errorf("%s: %.4g requests, want %.4g", c.name, e.Requests, c.requests)
		}
		err = e.Check(sc)
		switch {
		case c.field == "" && err != nil:
			t.Errorf("%s: refused: %v", c.name, err)
		case c.field != "" && (err == nil || !workloads.IsInputError(err)):
			t.Errorf("%s: not refused (%.3g requests, %.3g bytes): %v", c.name, e.Requests, e.Bytes, err)
		case c.field != "":
			if !strings.Contains(err.Error(), c.field+": ") || !strings.Contains(err.Error(), c.why) || !strings.Contains(err.Error(), "--force") {
				t.Errorf("%s: %v; want it at %s naming %q", c.name, err, c.field, c.why)
			}
		}
	}
}

// A closed loop without think time sends one request per answer: the
// estimate counts by the fastest mean service time, not a fixed round trip.
func TestEstimateClosedLoopWithoutThink(t *testing.T) {
	sc, err := workloads.Parse([]byte(`
name: c
duration: 100s
warmup: 0s
clients: {arrival: {process: closed, users: 1000}}
servers: [{name: web, count: 10, service: {dist: exponential, mean: 100us}}, {name: slow, count: 2, service: {dist: exponential, mean: 1ms}}]
`), "c.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	if e := EstimateRun(sc, []string{"p2c"}, 1); e.Requests < 0.99e9 || e.Requests > 1.01e9 {
		t.Errorf("%.3g requests, want 1000 users × 100 s / 100 µs = 1e9", e.Requests)
	}
}
