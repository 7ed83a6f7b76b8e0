// Package workloads defines the edgelab scenario: its YAML schema, strict
// loading with file:line errors, --set overrides, defaults and validation,
// and the random distributions that drive arrivals, service demands and
// request keys.
package workloads

import (
	"fmt"
	"github.com/edgelab/edgelab/traces"
	"strconv"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/edgelab/edgelab/presets"
)

// Scenario is one experiment: clients, a balancer and server groups.
type Scenario struct {
	// Name labels results and names the default output directory.
	Name string `yaml:"name"`
	// Seed drives every random stream of the run.
	Seed uint64 `yaml:"seed"`
	// Duration is the measured time, after Warmup.
	Duration Duration `yaml:"duration"`
	// Warmup is simulated first and excluded from statistics.
	Warmup Duration `yaml:"warmup"`
	// Replications is the number of independent runs (default 1).
	Replications int `yaml:"replications"`
	// Clients describes the offered load.
	Clients Clients `yaml:"clients"`
	// Balancer chooses a server instance for each attempt.
	Balancer Balancer `yaml:"balancer"`
	// Cost prices the fleet for capacity planning.
	Cost *Cost `yaml:"cost"`
	// Gateway, when present, puts API-gateway instances behind an L4
	// balancer between the clients and the servers.
	Gateway *Gateway `yaml:"gateway"`
	// Servers are the upstream groups.
	Servers []ServerGroup `yaml:"servers"`

	src *source
	// presets are the presets the scenario used, expanded into it.
	presets []presets.Applied
	// zeros holds the keys (paths with indices) written as an explicit
	// zero that means zero, which the defaults leave alone.
	zeros map[string]bool
}

// Clients describes who sends requests and how.
type Clients struct {
	// Arrival is the arrival process.
	Arrival Arrival `yaml:"arrival"`
	// Keys is the distribution of request keys (for hashing and caching).
	Keys Keys `yaml:"keys"`
	// Count is the number of distinct client identities of an open-loop
	// process (default 1000); a closed-loop process has one per user.
	Count int `yaml:"count"`
	// Timeout abandons a request that has no answer after it (0 = none).
	Timeout Duration `yaml:"timeout"`
	// Retries re-sends failed attempts.
	Retries Retries `yaml:"retries"`
	// Hedge sends backup attempts for slow requests.
	Hedge Hedge `yaml:"hedge"`
	// Paths is the mix of request paths, matched by gateway routes.
	Paths []PathWeight `yaml:"paths"`
	// Keepalive is how clients reuse connections to the gateway tier
	// (default with gateway.tls: DefaultKeepaliveRequests, DefaultKeepaliveIdle).
	Keepalive *Keepalive `yaml:"keepalive"`
}

// Arrival processes.
const (
	ProcessPoisson  = "poisson"
	ProcessConstant = "constant"
	ProcessClosed   = "closed"
	ProcessSine     = "sine"
	ProcessRamp     = "ramp"
	ProcessMMPP     = "mmpp"
	ProcessTrace    = "trace"
	ProcessSteps    = "steps"
)

// Arrival is the arrival process of requests.
type Arrival struct {
	// Process is poisson, constant, sine, ramp, steps, mmpp, trace or
	// closed. Sine, ramp and steps are Poisson processes whose rate varies
	// over time;
	// mmpp is a two-state Markov-modulated Poisson process (bursts); trace
	// replays an access log's arrivals.
	Process string `yaml:"process"`
	// Rate is requests per second for open-loop processes: the mean rate
	// of a sine, the starting rate of a ramp.
	Rate float64 `yaml:"rate"`
	// Amplitude is a sine's swing around Rate, in requests per second
	// (rate(t) = Rate + Amplitude·sin(2πt/Period), 0 < Amplitude ≤ Rate).
	Amplitude float64 `yaml:"amplitude"`
	// Period is a sine's period (default 60s).
	Period Duration `yaml:"period"`
	// Peak is when a sine's rate is highest, from the start of the run:
	// rate(t) = Rate + Amplitude·cos(2π(t−Peak)/Period). Not given (0), it
	// is Period/4, and the rate Rate + Amplitude·sin(2πt/Period).
	Peak Duration `yaml:"peak"`
	// Rates are a steps process's rates (requests per second), one per
	// Step from the start of the run; the last holds after them.
	Rates []float64 `yaml:"rates"`
	// Step is how long each of Rates lasts (default 1s).
	Step Duration `yaml:"step"`
	// To is a ramp's final rate, reached linearly at time Over.
	To float64 `yaml:"to"`
	// Over is how long a ramp takes, from the start of the run (default:
	// the whole run, warm-up included); the rate stays at To after it.
	Over Duration `yaml:"over"`
	// Low is an mmpp's rate between bursts (requests per second; 0 = an
	// on/off process). Rate is its rate during bursts.
	Low float64 `yaml:"low"`
	// Burst and Calm are an mmpp's mean burst length and mean time between
	// bursts (each exponential).
	Burst Duration `yaml:"burst"`
	Calm  Duration `yaml:"calm"`
	// File is the access log a trace replays (process: trace), relative
	// to the scenario's directory.
	File string `yaml:"file"`
	// Format is the trace's format: nginx, haproxy, alb, envoy or csv
	// (default: detected from its first line).
	Format string `yaml:"format"`
	// LogFormat is the NGINX log_format the trace was written with
	// (default traces.DefaultNGINXFormat; "combined" for NGINX's own).
	LogFormat string `yaml:"log_format"`
	// KeyVar names the NGINX variable whose value is a request's key
	// (default remote_addr).
	KeyVar string `yaml:"key_var"`
	// Speed replays a trace faster (2: twice the rate) or slower (default
	// 1).
	Speed float64 `yaml:"speed"`
	// Window picks part of a trace, from its first arrival.
	Window *TraceWindow `yaml:"window"`
	// Reorder bounds how far out of time order the trace's lines are
	// (default 30s): logs are written as requests end.
	Reorder Duration `yaml:"reorder"`
	// Strict makes a malformed trace line an error instead of a skipped
	// (and counted) line.
	Strict bool `yaml:"strict"`
	// Users is the number of closed-loop users.
	Users int `yaml:"users"`
	// Think is a closed-loop user's mean think time (exponential) between
	// a response and its next request.
	Think Duration `yaml:"think"`

	// tracePath is File resolved against the scenario's directory.
	tracePath string
	// traceStats is what loading read of the trace (its head), traceMean
	// the head's mean upstream time.
	traceStats traces.ReplayStats
	traceMean  Duration
}

// TraceWindow is a part of a trace, measured from its first arrival.
type TraceWindow struct {
	// From is where the window starts.
	From Duration `yaml:"from"`
	// To is where it ends (0: the end of the trace).
	To Duration `yaml:"to"`
}

// Key distributions.
const (
	KeysUniform = "uniform"
	KeysZipf    = "zipf"
)

// Keys is the distribution of request keys over 0..N-1.
type Keys struct {
	// Dist is uniform or zipf.
	Dist string `yaml:"dist"`
	// N is the number of distinct keys (default 10000).
	N int `yaml:"n"`
	// S is the Zipf exponent (default 1.1): P(k) ∝ 1/(k+1)^S.
	S float64 `yaml:"s"`
}

// Balancer configures endpoint selection.
type Balancer struct {
	// Preset names the system whose defaults the balancer takes
	// ("nginx", "haproxy@3.2"); every key written beside it wins. After
	// loading it reads "name@version". See package presets.
	Preset string `yaml:"preset"`
	// Strategy is the algorithm used when --strategy is not given.
	Strategy string `yaml:"strategy"`
	// Compare lists further strategies run on the same requests when
	// --strategy is not given.
	Compare []string `yaml:"compare"`
	// Health configures health checking, outlier ejection, panic mode and
	// slow start, applied before any strategy picks.
	Health Health `yaml:"health"`
	// Affinity pins requests to the endpoint that served the same key
	// ("key") or client ("client") before, falling back to the strategy
	// when it is not available (sticky sessions); "" = none.
	Affinity string `yaml:"affinity"`
	// StaleLoad makes strategies see in-flight counts published every
	// StaleLoad instead of live ones (a load bulletin board; 0 = live).
	StaleLoad Duration `yaml:"stale_load"`
	// IgnoreClientAbort keeps a request going after its client gave up
	// (clients.timeout): the balancer still retries it and the servers
	// still serve it, unseen by the client, as NGINX's
	// proxy_ignore_client_abort on and HAProxy before 3.3 (no option
	// abortonclose) do. Default false: the request is dropped, its
	// attempts abandoned (servers finish what they hold).
	IgnoreClientAbort bool `yaml:"ignore_client_abort"`
	// Upstream is the balancer's connections to the servers (nil: free
	// and always ready, as before connections were modelled).
	Upstream *Upstream `yaml:"upstream"`
	// Params holds strategies' parameters by strategy name:
	// {ring-hash: {vnodes: 160}, peak-ewma: {decay: 5}}.
	Params map[string]map[string]float64 `yaml:"params"`
}

// Queue disciplines.
const (
	DisciplineFIFO = "fifo"
	DisciplinePS   = "ps"
)

// ServerGroup is a set of identical server instances.
type ServerGroup struct {
	// Name prefixes instance ids: web-0, web-1, ...
	Name string `yaml:"name"`
	// Count is the number of instances.
	Count int `yaml:"count"`
	// Concurrency is the number of requests served at once per instance.
	Concurrency int `yaml:"concurrency"`
	// Queue is the waiting room per instance; nil means unbounded.
	Queue *int `yaml:"queue"`
	// Discipline is fifo or ps (processor sharing).
	Discipline string `yaml:"discipline"`
	// Service is the distribution of service demand at speed 1.
	Service Service `yaml:"service"`
	// Errors is the probability that a served request answers 5xx.
	Errors float64 `yaml:"errors"`
	// Speed divides service demand: one value, or one per instance.
	Speed PerInstance `yaml:"speed"`
	// Weight is the balancer weight: one value, or one per instance.
	Weight PerInstance `yaml:"weight"`
	// Failures is the group's failure schedule.
	Failures []Failure `yaml:"failures"`
	// Autoscale adds and removes instances on demand; Count is the
	// initial number.
	Autoscale *Autoscale `yaml:"autoscale"`
}

// Autoscale scales a server group on utilization, as Kubernetes' Horizontal
// Pod Autoscaler does: every interval, desired = ceil(active × utilization
// / target), clamped to [min, max].
type Autoscale struct {
	// Min and Max bound the number of instances.
	Min int `yaml:"min"`
	// Max is the largest number of instances (required).
	Max int `yaml:"max"`
	// TargetUtilization is the utilization the autoscaler aims at
	// (default 0.7).
	TargetUtilization float64 `yaml:"target_utilization"`
	// Interval between decisions (default 15s, the HPA's sync period).
	Interval Duration `yaml:"interval"`
	// Cooldown is the least time between two scaling actions (default 30s).
	Cooldown Duration `yaml:"cooldown"`
	// ProvisionDelay is how long a new instance takes to start serving
	// (default 30s).
	ProvisionDelay Duration `yaml:"provision_delay"`
}

// Bounded reports whether instances have a finite waiting room.
func (g *ServerGroup) Bounded() bool { return g.Queue != nil }

// Duration is a time.Duration written in YAML as a Go duration string
// ("250ms", "1m30s"); a plain 0 is accepted too.
type Duration time.Duration

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// Seconds returns the value in seconds.
func (d Duration) Seconds() float64 { return time.Duration(d).Seconds() }

// String formats the value as a Go duration.
func (d Duration) String() string { return time.Duration(d).String() }

// UnmarshalYAML implements yaml.Unmarshaler.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: want a duration such as \"250ms\", got a %s", n.Line, kindName(n))
	}
	if n.Value == "0" {
		*d = 0
		return nil
	}
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: want a duration such as \"250ms\" or \"2s\", got %q", n.Line, n.Value)
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML implements yaml.Marshaler.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// PerInstance is one number for every instance, or a list with one number
// per instance. The zero value means "not given".
type PerInstance []float64

// UnmarshalYAML implements yaml.Unmarshaler.
func (p *PerInstance) UnmarshalYAML(n *yaml.Node) error {
	parse := func(s *yaml.Node) (float64, error) {
		if s.Kind != yaml.ScalarNode {
			return 0, fmt.Errorf("line %d: want a number, got a %s", s.Line, kindName(s))
		}
		v, err := strconv.ParseFloat(s.Value, 64)
		if err != nil {
			return 0, fmt.Errorf("line %d: want a number, got %q", s.Line, s.Value)
		}
		return v, nil
	}
	switch n.Kind {
	case yaml.ScalarNode:
		v, err := parse(n)
		if err != nil {
			return err
		}
		*p = PerInstance{v}
	case yaml.SequenceNode:
		out := make(PerInstance, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := parse(c)
			if err != nil {
				return err
			}
			out = append(out, v)
		}
		if len(out) == 0 {
			return fmt.Errorf("line %d: want a number or a non-empty list of numbers", n.Line)
		}
		*p = out
	default:
		return fmt.Errorf("line %d: want a number or a list of numbers, got a %s", n.Line, kindName(n))
	}
	return nil
}

// At returns the value for instance i, or def when nothing was given or
// when a list has no entry for i (an instance an autoscaler added).
func (p PerInstance) At(i int, def float64) float64 {
	switch {
	case len(p) == 1:
		return p[0]
	case i < len(p):
		return p[i]
	}
	return def
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	case yaml.ScalarNode:
		return "scalar"
	case yaml.AliasNode:
		return "alias"
	}
	return "document"
}

// Instances is the total number of server instances, counting every
// instance an autoscaler may add.
func (s *Scenario) Instances() int {
	n := 0
	for _, g := range s.Servers {
		n += g.Slots()
	}
	return n
}

// Slots is the number of instances the group may ever have: its count, or
// its autoscaler's max.
func (g *ServerGroup) Slots() int {
	if g.Autoscale != nil {
		return g.Autoscale.Max
	}
	return g.Count
}

// Strategies returns the strategies to run when the command line names
// none: balancer.strategy followed by balancer.compare.
func (s *Scenario) Strategies() []string {
	out := []string{s.Balancer.Strategy}
	for _, c := range s.Balancer.Compare {
		dup := false
		for _, o := range out {
			dup = dup || o == c
		}
		if !dup {
			out = append(out, c)
		}
	}
	return out
}

// Cost prices instances for capacity planning.
type Cost struct {
	// PerInstanceHour is the price of one server or gateway instance for
	// one hour.
	PerInstanceHour float64 `yaml:"per_instance_hour"`
}

// HoursPerMonth is the average month (365 × 24 / 12).
const HoursPerMonth = 730

// MonthlyCost is the price of the scenario's fleet (every server instance
// at its initial count, and every gateway instance) for a month; 0 without
// a cost block.
func (s *Scenario) MonthlyCost() float64 {
	if s.Cost == nil {
		return 0
	}
	n := 0
	for _, g := range s.Servers {
		n += g.Count
	}
	if s.Gateway != nil {
		n += s.Gateway.Instances
	}
	return float64(n) * s.Cost.PerInstanceHour * HoursPerMonth
}

// Presets returns the presets the scenario used (balancer.preset first),
// each at the version it ran.
func (s *Scenario) Presets() []presets.Applied { return s.presets }
