package sim

import (
	"context"
	"testing"

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
	sc, err := workloads.Load("../examples/gateway-pipeline.yaml", nil)
	if err != nil {
		b.Fatal(err)
	}
	sc.Warmup = 0
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
