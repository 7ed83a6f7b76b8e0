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
	"math"
	"math/rand/v2"
	"slices"
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

// offsetParam is round robin's starting offset.
var offsetParam = Param{Name: "offset", Default: 0, Min: 0, Max: 1e6, Integer: true,
	Doc: "picks made before the first one: where the rotation starts (Caddy's round_robin starts at its second upstream: 1; a real program that served k requests before the run: k)"}

// Params are a strategy's numeric parameters (balancer.params).
type Params map[string]float64

// Param declares one parameter of a strategy.
type Param struct {
	Name     string
	Default  float64
	Min, Max float64
	// Integer refuses values with a fractional part.
	Integer bool
	Doc     string
}

// Info describes a registered strategy.
type Info struct {
	Name    string
	Summary string
	Source  string
	Params  []Param
	// New builds the balancer; p holds every declared parameter, defaults
	// filled in and ranges checked.
	New func(r *rand.Rand, p Params) Balancer
}

// catalogue lists every strategy, in the order `edgelab strategies` prints
// them: the basic ones, then the hashing family, the load- and
// latency-aware family and the server-signal family, each declared in its
// own file.
var catalogue = slices.Concat(basicCatalogue, hashCatalogue, loadCatalogue, signalCatalogue)

var basicCatalogue = []Info{
	{Name: "round-robin", Summary: "each endpoint in turn", Source: "Envoy ROUND_ROBIN; NGINX default",
		Params: []Param{offsetParam},
		New:    func(_ *rand.Rand, p Params) Balancer { return &RoundRobin{Skip: int(p["offset"])} }},
	{Name: "weighted-round-robin", Summary: "smooth weighted round robin", Source: "NGINX ngx_http_upstream_round_robin (smooth WRR)",
		Params: []Param{offsetParam},
		New:    func(_ *rand.Rand, p Params) Balancer { return &SmoothWRR{Skip: int(p["offset"])} }},
	{Name: "random", Summary: "uniformly random endpoint", Source: "Envoy RANDOM",
		New: func(r *rand.Rand, _ Params) Balancer { return &Random{R: r} }},
	{Name: "least-request", Summary: "fewest in-flight requests, full scan, random tie-break", Source: "NGINX least_conn; HAProxy leastconn",
		New: func(r *rand.Rand, _ Params) Balancer { return &LeastRequest{R: r} }},
	{Name: "p2c", Summary: "power of d random choices (two distinct by default), fewer in-flight wins",
		Source: "Mitzenmacher 2001; Envoy LEAST_REQUEST choice_count; NGINX random two least_conn; HAProxy balance random(d)",
		Params: []Param{
			{Name: "choices", Default: 2, Min: 1, Max: 64, Integer: true,
				Doc: "samples per pick, d (Envoy choice_count, default 2; HAProxy random(<draws>), default 2)"},
			{Name: "distinct", Default: 1, Min: 0, Max: 1, Integer: true,
				Doc: "1: the samples are distinct endpoints (Mitzenmacher's model, NGINX random two); 0: independent draws that may repeat an endpoint (Envoy LEAST_REQUEST, HAProxy balance random)"},
		},
		New: func(r *rand.Rand, p Params) Balancer {
			return &P2C{R: r, Choices: int(p["choices"]), WithReplacement: p["distinct"] == 0}
		}},
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

// Lookup returns the named strategy's description.
func Lookup(name string) (Info, bool) {
	for _, c := range catalogue {
		if c.Name == name {
			return c, true
		}
	}
	return Info{}, false
}

// New builds the named strategy with its own random stream and
// parameters (nil for the defaults). Unknown parameters and values out of
// range are errors naming the parameter.
func New(name string, r *rand.Rand, p Params) (Balancer, error) {
	c, ok := Lookup(name)
	if !ok {
		names := Names()
		sort.Strings(names)
		return nil, fmt.Errorf("unknown strategy %q (known: %s)", name, strings.Join(names, ", "))
	}
	full, err := c.resolve(p)
	if err != nil {
		return nil, err
	}
	return c.New(r, full), nil
}

// CheckParams validates parameters for the named strategy without
// building it.
func CheckParams(name string, p Params) error {
	c, ok := Lookup(name)
	if !ok {
		return fmt.Errorf("unknown strategy %q", name)
	}
	_, err := c.resolve(p)
	return err
}

// resolve checks p against the declared parameters and fills defaults.
func (c *Info) resolve(p Params) (Params, error) {
	full := Params{}
	for _, d := range c.Params {
		full[d.Name] = d.Default
	}
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := p[k]
		var decl *Param
		for i := range c.Params {
			if c.Params[i].Name == k {
				decl = &c.Params[i]
			}
		}
		if decl == nil {
			names := make([]string, len(c.Params))
			for i, d := range c.Params {
				names[i] = d.Name
			}
			takes := "none"
			if len(names) > 0 {
				takes = strings.Join(names, ", ")
			}
			return nil, fmt.Errorf("%s does not take parameter %q (it takes: %s)", c.Name, k, takes)
		}
		if v != v || v < decl.Min || v > decl.Max {
			return nil, fmt.Errorf("%s parameter %s must be between %g and %g (got %g)", c.Name, k, decl.Min, decl.Max, v)
		}
		if decl.Integer && v != math.Trunc(v) {
			return nil, fmt.Errorf("%s parameter %s must be a whole number (got %g)", c.Name, k, v)
		}
		full[k] = v
	}
	return full, nil
}

// Signal is what an endpoint's server reports about its own load: in the
// simulator its true state, in live mode the latest values it sent back.
type Signal struct {
	// InFlight counts requests at the server, queued or in service.
	InFlight int
	// Utilization is busy workers / concurrency, now.
	Utilization float64
	// ServiceTime is the server's recent mean service time.
	ServiceTime time.Duration
}

// SignalSource returns endpoint i's latest signal.
type SignalSource func(i int) Signal

// SignalUser is implemented by balancers that read server signals (queue
// lengths, utilization); the pool hands them the source it is given.
type SignalUser interface {
	UseSignals(src SignalSource)
}

// Compile-time checks: the balancers that read requests or signals
// implement the capability interfaces the pool looks for, so a renamed
// method cannot silently turn a capability off.
var (
	_ RequestAware = FlowHash{}
	_ RequestAware = IPHash{}
	_ RequestAware = (*RingHash)(nil)
	_ RequestAware = (*Maglev)(nil)
	_ RequestAware = (*Rendezvous)(nil)
	_ RequestAware = (*BoundedHash)(nil)
	_ SignalUser   = (*Prequal)(nil)
	_ SignalUser   = (*C3)(nil)
	_ SignalUser   = (*OrcaWRR)(nil)
	_ Limiter      = (*globalLimiter)(nil)
	_ Limiter      = (*clientLimiter)(nil)
)

// Known reports whether name is a registered strategy.
func Known(name string) bool {
	for _, c := range catalogue {
		if c.Name == name {
			return true
		}
	}
	return false
}
