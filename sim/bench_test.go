package sim

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/edgelab/edgelab/workloads"
)

const bareYAML = `
name: bare
duration: 100s
warmup: 0s
clients:
  arrival: {process: poisson, rate: 9000}
balancer: {strategy: random}
servers:
  - {name: s, count: 100, concurrency: 1, service: {dist: exponential, mean: 10ms}}
`

// BenchmarkBareModel measures the simulator's hot path on the performance
// model of docs/performance.md: 100 single-worker FIFO servers, random
// routing, Poisson arrivals, exponential service, ρ = 0.9. One op is one
// simulated request.
func BenchmarkBareModel(b *testing.B) {
	sc, err := workloads.Parse([]byte(bareYAML), "bare.yaml", nil)
	if err != nil {
		b.Fatal(err)
	}
	// Size the run to b.N requests (9000 per simulated second).
	sc.Duration = workloads.Duration(float64(b.N) / 9000 * 1e9)
	if sc.Duration <= 0 {
		sc.Duration = 1
	}
	b.ReportAllocs()
	b.ResetTimer()
	r, _, err := Replicate(context.Background(), sc, "random", 0)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(r.Events)/float64(b.N), "events/req")
}

// BenchmarkGatewayPipeline measures examples/gateway-pipeline.yaml (three
// gateway instances, five stages, routes, two services) with p2c. One op
// is one simulated request.
func BenchmarkGatewayPipeline(b *testing.B) {
	benchExample(b, "gateway-pipeline", true)
}

// benchExample simulates b.N requests of examples/<file>.yaml with p2c
// (without its warm-up when noWarmup) and reports the events a request.
func benchExample(b *testing.B, file string, noWarmup bool) {
	sc, err := workloads.Load("../examples/"+file+".yaml", nil)
	if err != nil {
		b.Fatal(err)
	}
	if noWarmup {
		sc.Warmup = 0
	}
	sc.Duration = workloads.Duration(float64(b.N) / sc.Clients.Arrival.Rate * 1e9)
	if sc.Duration <= 0 {
		sc.Duration = 1
	}
	b.ReportAllocs()
	b.ResetTimer()
	r, _, err := Replicate(context.Background(), sc, "p2c", 0)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(r.Events)/float64(b.N), "events/req")
}

// BenchmarkTLSGateway measures examples/tls-gateway.yaml (2,000 clients'
// kept-alive connections to four TLS-terminating instances), and with
// TLS at the edge (examples/tls-edge.yaml): the connection path (a
// client's idle list, the L4 balancer placing connections, handshakes,
// the edge's queue). One op is one simulated request.
func BenchmarkTLSGateway(b *testing.B) {
	for _, file := range []string{"tls-gateway", "tls-edge"} {
		b.Run(file, func(b *testing.B) { benchExample(b, file, false) })
	}
}

// Direct mode (no request records when a request can have only one
// attempt) is a shortcut: with it off, every scenario it applies to must
// give the same replication, event for event.
func TestDirectModeMatchesGeneralPath(t *testing.T) {
	direct := []string{"clients.timeout=0s", "clients.retries.max=0", "clients.retries.per_try_timeout=0s",
		"clients.retries.budget=0", "duration=20s", "warmup=2s"}
	cases := []struct {
		file       string
		sets       []string
		strategies []string
	}{
		{"", nil, []string{"random", "p2c"}},
		{"../examples/failing-server.yaml", direct, []string{"round-robin", "least-request", "p2c", "peak-ewma", "ring-hash"}},
		{"../examples/failing-server.yaml", append(direct, "servers[0].discipline=ps", "balancer.affinity=key"), []string{"p2c"}},
		{"../examples/failing-server.yaml", append(direct, "balancer.stale_load=100ms", "servers[0].queue=3"), []string{"least-request"}},
		{"../examples/closed-loop.yaml", []string{"duration=20s", "warmup=2s"}, []string{"random", "least-request"}},
		{"../examples/autoscaling.yaml", []string{"clients.timeout=0s", "duration=60s"}, []string{"least-request"}},
		{"../examples/heterogeneous.yaml", direct, []string{"weighted-round-robin", "least-time"}},
	}
	for _, c := range cases {
		var sc *workloads.Scenario
		var err error
		if c.file == "" {
			sc, err = workloads.Parse([]byte(bareYAML), "bare.yaml", []string{"duration=20s"})
		} else {
			sc, err = workloads.Load(c.file, c.sets)
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range c.strategies {
			m, err := newModel(sc, name, 0, modelOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if !m.direct {
				t.Fatalf("%s %v: direct mode does not apply", c.file, c.sets)
			}
			a, _, _, err := replicate(context.Background(), sc, name, 0, modelOptions{})
			if err != nil {
				t.Fatal(err)
			}
			b, _, _, err := replicate(context.Background(), sc, name, 0, modelOptions{general: true})
			if err != nil {
				t.Fatal(err)
			}
			a.WallS, b.WallS = 0, 0
			if !reflect.DeepEqual(a, b) {
				t.Errorf("%s %v %s: direct mode differs from the general path (events %d vs %d, outcomes %+v vs %+v, latency %+v vs %+v)",
					c.file, c.sets, name, a.Events, b.Events, a.Outcomes, b.Outcomes, a.Latency.Summary(), b.Latency.Summary())
			}
		}
	}
}

// TestSteadyStateAllocatesNothing's counterpart in direct mode (the bare
// model as benchmarked: no timeout, no retries).
func TestDirectSteadyStateAllocatesNothing(t *testing.T) {
	sc, err := workloads.Parse([]byte(bareYAML), "bare.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	m, err := newModel(sc, "p2c", 0, modelOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !m.direct {
		t.Fatal("the bare model does not run in direct mode")
	}
	m.eng.Schedule(0, m.h, evArrival, 0)
	m.eng.Run(20 * time.Second)
	allocs := testing.AllocsPerRun(5, func() { m.eng.Run(m.eng.Now() + time.Second) })
	if allocs != 0 {
		t.Fatalf("%.1f allocations per simulated second (9000 requests)", allocs)
	}
}
