// Package strategies holds the decision code that edgelab runs unchanged in
// the simulator and in the live proxy: load-balancing algorithms and the pool
// that applies health filtering before any algorithm picks.
//
// Everything here is a plain single-threaded state machine. Time is passed in
// as an argument (time since the run began) and randomness comes from an
// injected *rand.Rand; nothing here starts goroutines, reads the wall clock
// or touches the network. The simulator calls it from its event loop; the
// live proxy calls it under one mutex.
package strategies

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"time"
)

// Outcome is what became of one attempt sent to an endpoint.
type Outcome uint8

// Outcomes reported to a balancer through Pool.Done.
const (
	OK          Outcome = iota // answered successfully
	Error5xx                   // answered with a server error
	Timeout                    // abandoned by the client or proxy
	QueueFull                  // refused because the endpoint's queue was full
	ConnectFail                // connection refused or reset
	Cancelled                  // cancelled by the client: another attempt won
)

// String names the outcome as results.json does.
func (o Outcome) String() string {
	switch o {
	case OK:
		return "ok"
	case Error5xx:
		return "error_5xx"
	case Timeout:
		return "timeout"
	case QueueFull:
		return "queue_full"
	case ConnectFail:
		return "connect_failure"
	case Cancelled:
		return "cancelled"
	}
	return fmt.Sprintf("outcome(%d)", uint8(o))
}

// Endpoint is a balancer's view of one upstream.
type Endpoint struct {
	// Name identifies the endpoint in results ("web-0").
	Name string
	// Weight is the effective relative weight (> 0): the configured weight,
	// scaled down while the endpoint is in slow start (Pool.Health gives
	// the configured one).
	Weight float64
	// InFlight is the number of attempts sent and not yet finished.
	InFlight int
	// Healthy is false while health checking has taken the endpoint out.
	Healthy bool
}

// Request is what a balancer may know of the request it routes.
type Request struct {
	// Key is the request key (for hashing, caching and affinity).
	Key uint64
	// Client identifies the client (for client-IP hashing).
	Client uint64
}

// Balancer chooses one endpoint among candidates. eps is the whole pool;
// cand holds the indices of the eligible endpoints (never empty). Pick
// returns an index into eps that is one of cand.
type Balancer interface {
	Pick(now time.Duration, req Request, eps []Endpoint, cand []int) int
	// Done reports the outcome of an attempt sent to eps[i] with its
	// latency. Balancers without feedback ignore it.
	Done(now time.Duration, i int, latency time.Duration, o Outcome)
}

// RequestAware is implemented by balancers that read Request.Key or
// Request.Client. The simulator draws keys and client identities only when
// some component reads them; each has a random stream of its own, so
// skipping them changes no other number.
type RequestAware interface {
	UsesRequest() bool
}

// Info describes a registered strategy.
type Info struct {
	Name    string
	Summary string
	Source  string
	New     func(r *rand.Rand) Balancer
}

var catalogue = []Info{
	{"round-robin", "each endpoint in turn", "Envoy ROUND_ROBIN; NGINX default",
		func(r *rand.Rand) Balancer { return &RoundRobin{} }},
	{"weighted-round-robin", "smooth weighted round robin", "NGINX ngx_http_upstream_round_robin (smooth WRR)",
		func(r *rand.Rand) Balancer { return &SmoothWRR{} }},
	{"random", "uniformly random endpoint", "Envoy RANDOM",
		func(r *rand.Rand) Balancer { return &Random{R: r} }},
	{"least-request", "fewest in-flight requests, full scan, random tie-break", "NGINX least_conn; HAProxy leastconn",
		func(r *rand.Rand) Balancer { return &LeastRequest{R: r} }},
	{"p2c", "power of two distinct random choices, fewer in-flight wins", "Mitzenmacher 2001; Envoy LEAST_REQUEST choice_count=2",
		func(r *rand.Rand) Balancer { return &P2C{R: r} }},
}

// Names lists the registered strategy names in catalogue order.
func Names() []string {
	out := make([]string, len(catalogue))
	for i, c := range catalogue {
		out[i] = c.Name
	}
	return out
}

// Catalogue returns a copy of the registered strategies.
func Catalogue() []Info {
	return append([]Info(nil), catalogue...)
}

// New builds the named strategy with its own random stream.
func New(name string, r *rand.Rand) (Balancer, error) {
	for _, c := range catalogue {
		if c.Name == name {
			return c.New(r), nil
		}
	}
	names := Names()
	sort.Strings(names)
	return nil, fmt.Errorf("unknown strategy %q (known: %s)", name, strings.Join(names, ", "))
}

// Known reports whether name is a registered strategy.
func Known(name string) bool {
	for _, c := range catalogue {
		if c.Name == name {
			return true
		}
	}
	return false
}
