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

// Write measured costs into a scenario, keeping its comments, as
// `edgelab live --calibrate` does.
func ExampleRewrite() {
	yaml := `# checkout behind TLS
name: checkout
clients: {arrival: {process: poisson, rate: 900}}
gateway:
  tls: {key_type: p256} # a generated certificate
servers: [{name: web, count: 4, service: {mean: 20ms}}]
`
	out, err := workloads.Rewrite([]byte(yaml), "checkout.yaml", []string{"gateway.tls.full=412us", "gateway.proxy_cost=90us"})
	fmt.Print(string(out), err)
	// Output:
	// # checkout behind TLS
	// name: checkout
	// clients: {arrival: {process: poisson, rate: 900}}
	// gateway:
	//   tls: {key_type: p256, full: 412us} # a generated certificate
	//   proxy_cost: 90us
	// servers: [{name: web, count: 4, service: {mean: 20ms}}]
	// <nil>
}
