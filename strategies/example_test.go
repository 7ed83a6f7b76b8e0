package strategies_test

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/edgelab/edgelab/strategies"
)

// A pool applies health filtering and keeps in-flight counts; the balancer
// only picks. The same code runs in the simulator and in a real proxy.
func ExamplePool() {
	b, _ := strategies.New("least-request", rand.New(rand.NewPCG(1, 1)), nil)
	pool := strategies.NewPool(b, []string{"web-0", "web-1", "web-2"}, nil)
	pool.SetHealthy(2, false) // taken out by health checking

	first, _ := pool.Pick(0, strategies.Request{})  // both healthy endpoints are idle: a tie
	second, _ := pool.Pick(0, strategies.Request{}) // the other one is now less loaded
	fmt.Println(pool.Endpoint(first).Name != pool.Endpoint(second).Name)

	pool.Done(10*time.Millisecond, first, 10*time.Millisecond, strategies.OK)
	fmt.Println(pool.Endpoint(first).InFlight, pool.Endpoint(second).InFlight)
	// Output:
	// true
	// 0 1
}
