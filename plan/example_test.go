package plan_test

import (
	"fmt"

	"github.com/edgelab/edgelab/plan"
	"github.com/edgelab/edgelab/strategies"
	"github.com/edgelab/edgelab/workloads"
)

// Build the upstream pool of a scenario as both the simulator and the live
// gateway do: the servers, the pool layout and its balancer.
func ExampleNewPool() {
	sc, err := workloads.Parse([]byte(`
name: shop
duration: 60s
clients: {arrival: {process: poisson, rate: 900}}
balancer: {strategy: p2c, health: {outlier: {consecutive_5xx: 5}}}
servers:
  - {name: web, count: 3, weight: [1, 1, 2], service: {dist: exponential, mean: 20ms}}
`), "shop.yaml", nil)
	if err != nil {
		panic(err)
	}
	servers := plan.Servers(sc)
	groups := make([]int, len(servers))
	for i, s := range servers {
		groups[i] = s.Group
	}
	for _, spec := range plan.Pools(sc, 0, groups) {
		names := make([]string, len(spec.Members))
		weights := make([]float64, len(spec.Members))
		for l, i := range spec.Members {
			names[l], weights[l] = servers[i].ID, servers[i].Weight
		}
		pool, _, err := plan.NewPool(sc, "p2c", 0, spec, names, weights, func(int) strategies.Signal { return strategies.Signal{} })
		if err != nil {
			panic(err)
		}
		fmt.Println(spec.Stream, names, pool.HealthyCount())
	}
	// Output:
	// balancer [web-0 web-1 web-2] 3
}
