package sim_test

import (
	"context"
	"fmt"

	"github.com/edgelab/edgelab/sim"
	"github.com/edgelab/edgelab/workloads"
)

// Simulate a scenario from Go: two strategies on the same requests.
func ExampleRun() {
	yaml := `
name: embed
seed: 7
duration: 100s
warmup: 5s
clients:
  arrival: {process: poisson, rate: 320}
servers:
  - {name: web, count: 4, service: {dist: exponential, mean: 10ms}}
`
	sc, err := workloads.Parse([]byte(yaml), "embed.yaml", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	res, err := sim.Run(context.Background(), sc, sim.Options{Strategies: []string{"random", "least-request"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range res.Runs {
		fmt.Printf("%s: %d requests, conservation %v, mean below 60 ms: %v\n",
			r.Strategy, r.Requests, r.OK+r.Failed+r.Rejected == r.Requests, r.LatencyMS.Mean < 60)
	}
	// Output:
	// random: 31906 requests, conservation true, mean below 60 ms: true
	// least-request: 31906 requests, conservation true, mean below 60 ms: true
}
