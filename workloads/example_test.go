package workloads_test

import (
	"fmt"

	"github.com/edgelab/edgelab/workloads"
)

// Load a scenario with an override, as `edgelab run --set` does; errors
// name the file, line and field.
func ExampleParse() {
	yaml := `
name: checkout
duration: 60s
clients:
  arrival: {process: poisson, rate: 900}
servers:
  - {name: web, count: 4, service: {dist: lognormal, mean: 20ms, p99: 150ms}}
`
	sc, err := workloads.Parse([]byte(yaml), "checkout.yaml", []string{"servers[0].count=6"})
	fmt.Println(sc.Servers[0].Count, sc.Servers[0].Concurrency, err)

	_, err = workloads.Parse([]byte(yaml), "checkout.yaml", []string{"clients.arrival.rate=-5"})
	fmt.Println(err)
	// Output:
	// 6 1 <nil>
	// --set: clients.arrival.rate: must be a rate in requests/second above 0 (got -5)
}
