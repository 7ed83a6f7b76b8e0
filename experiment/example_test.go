package experiment_test

import (
	"context"
	"fmt"

	"github.com/edgelab/edgelab/experiment"
	"github.com/edgelab/edgelab/workloads"
)

// One M/M/c instance: 400 requests/s of 10 ms mean service, its
// concurrency c to be planned.
const plan = `
name: plan
seed: 5
duration: 60s
warmup: 10s
clients:
  arrival: {process: poisson, rate: 400}
servers:
  - {name: s, count: 1, concurrency: 1, service: {dist: exponential, mean: 10ms}}
`

// A capacity search: the smallest concurrency whose mean response time
// meets 13 ms (Erlang C gives 15.5 ms at c = 5 and 11.4 ms at c = 6).
func ExampleRunner_Capacity() {
	load := func(sets []string) (*workloads.Scenario, error) {
		return workloads.Parse([]byte(plan), "plan.yaml", sets)
	}
	rng, err := experiment.ParseVary("servers[0].concurrency=1..10")
	if err != nil {
		fmt.Println(err)
		return
	}
	slo, err := experiment.ParseSLO("mean=13ms")
	if err != nil {
		fmt.Println(err)
		return
	}
	ans, err := experiment.Runner{Load: load}.Capacity(context.Background(), rng, experiment.Objective{SLO: slo})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("smallest %s meeting %s: %s\n", ans.Key, ans.SLO, experiment.FormatValue(*ans.Answer))
	// Output:
	// smallest servers[0].concurrency meeting mean ≤ 13 ms: 6
}

// A sweep over a grid: every combination of two keys' values, the first
// key outermost, run in parallel and returned in grid order.
func ExampleRunner_Sweep() {
	load := func(sets []string) (*workloads.Scenario, error) {
		return workloads.Parse([]byte(plan), "plan.yaml", append([]string{"duration=5s", "warmup=1s"}, sets...))
	}
	count, _ := experiment.ParseVary("servers[0].count=1..2:1")
	rate, _ := experiment.ParseVary("clients.arrival.rate=100..200:100")
	g, err := experiment.NewGrid(count, rate)
	if err != nil {
		fmt.Println(err)
		return
	}
	rep, err := experiment.Runner{Load: load, Parallel: 2}.Sweep(context.Background(), g)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, p := range rep.Points {
		fmt.Println(g.Sets(p.Values), len(p.Results.Runs[0].Servers), "server(s)")
	}
	// Output:
	// [servers[0].count=1 clients.arrival.rate=100] 1 server(s)
	// [servers[0].count=1 clients.arrival.rate=200] 1 server(s)
	// [servers[0].count=2 clients.arrival.rate=100] 2 server(s)
	// [servers[0].count=2 clients.arrival.rate=200] 2 server(s)
}
