package plan

import (
	"fmt"
	"net"
	"strconv"

	"github.com/edgelab/edgelab/engine"
	"github.com/edgelab/edgelab/reports"
	"github.com/edgelab/edgelab/strategies"
	"github.com/edgelab/edgelab/traces"
	"github.com/edgelab/edgelab/workloads"
)

// Server is one server instance of the scenario. Instances are numbered
// across groups in scenario order: group 0's instances first. A group
// with autoscaling has its maximum number of instances (Slots), the ones
// beyond its initial count spare until an autoscaler starts them.
type Server struct {
	// ID names the instance in results ("web-0").
	ID string
	// Group is the index of its server group in the scenario.
	Group int
	// Index is its number within the group.
	Index int
	// Weight is its balancer weight (servers[].weight, default 1).
	Weight float64
	// Speed divides its service times (servers[].speed, default 1).
	Speed float64
}

// BackendAddr is the loopback address of the emulated backend of the k-th
// entry of Servers when the backends' first port is basePort: instance k
// listens on basePort+k. The live fleet binds it and `edgelab export`
// writes it into real gateways' configurations.
func BackendAddr(basePort, k int) string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(basePort+k))
}

// Servers lists every server instance of the scenario.
func Servers(sc *workloads.Scenario) []Server {
	var out []Server
	for gi := range sc.Servers {
		g := &sc.Servers[gi]
		for i := 0; i < g.Slots(); i++ {
			out = append(out, Server{ID: ServerID(g.Name, i), Group: gi, Index: i,
				Weight: g.Weight.At(i, 1), Speed: g.Speed.At(i, 1)})
		}
	}
	return out
}

// ServerID names instance i of the server group called group ("web-0").
func ServerID(group string, i int) string { return fmt.Sprintf("%s-%d", group, i) }

// GatewayID names gateway instance i ("gateway-0").
func GatewayID(i int) string { return fmt.Sprintf("gateway-%d", i) }

// GroupBase is the index of group g's first instance in Servers.
func GroupBase(sc *workloads.Scenario, g int) int {
	base := 0
	for i := 0; i < g; i++ {
		base += sc.Servers[i].Slots()
	}
	return base
}

// TotalSlots is the number of server instances, spare ones included.
func TotalSlots(sc *workloads.Scenario) int { return GroupBase(sc, len(sc.Servers)) }

// PoolSpec is one upstream pool: a balancer over some endpoints.
type PoolSpec struct {
	// Stream names the balancer's random stream: "balancer" without a
	// gateway, "balancer/<instance>" in a gateway instance without
	// routes, "balancer/<instance>/<group>" per routed group.
	Stream string
	// Group is the server group the pool balances over, or -1 for every
	// endpoint (no routes).
	Group int
	// Members are the pool's endpoints, as indices into the endpoint list
	// Pools was given; a member's position is its local index in the pool.
	Members []int
}

// Pools returns the upstream pools of gateway instance inst (0 when the
// scenario has no gateway) over endpoints whose server groups are
// groups[i]: one pool over every endpoint without routes, else one per
// server group in scenario order. Each gateway instance balances on its
// own, with pools and streams of its own.
func Pools(sc *workloads.Scenario, inst int, groups []int) []PoolSpec {
	g := sc.Gateway
	if g == nil || len(g.Routes) == 0 {
		all := make([]int, len(groups))
		for i := range all {
			all[i] = i
		}
		stream := "balancer"
		if g != nil {
			stream = fmt.Sprintf("balancer/%d", inst)
		}
		return []PoolSpec{{Stream: stream, Group: -1, Members: all}}
	}
	out := make([]PoolSpec, len(sc.Servers))
	for gi := range sc.Servers {
		out[gi] = PoolSpec{Stream: fmt.Sprintf("balancer/%d/%s", inst, sc.Servers[gi].Name), Group: gi}
	}
	for i, gi := range groups {
		out[gi].Members = append(out[gi].Members, i)
	}
	return out
}

// NewPool builds pool spec's balancer for strategy in replication rep,
// with the scenario's health checking, outlier ejection, panic threshold,
// slow start, stale load and affinity. names and weights describe the
// members in spec order; signals reports a member's load (by local
// index). usesRequest tells whether the pool reads request keys or
// client identities, which the caller must then draw.
func NewPool(sc *workloads.Scenario, strategy string, rep int, spec PoolSpec, names []string, weights []float64,
	signals func(local int) strategies.Signal) (p *strategies.Pool, usesRequest bool, err error) {
	bal, err := strategies.New(strategy, engine.Stream(sc.Seed, rep, spec.Stream), sc.Balancer.Params[strategy])
	if err != nil {
		return nil, false, err
	}
	if ra, ok := bal.(strategies.RequestAware); ok && ra.UsesRequest() {
		usesRequest = true
	}
	p = strategies.NewPool(bal, names, weights)
	p.SetHealth(Health(&sc.Balancer.Health))
	p.SetSignals(signals)
	p.SetStaleLoad(sc.Balancer.StaleLoad.D())
	if a := sc.Balancer.Affinity; a != "" {
		p.SetAffinity(a, 0)
		usesRequest = true
	}
	return p, usesRequest, nil
}

// Health is the scenario's balancer.health as a pool takes it.
func Health(h *workloads.Health) strategies.HealthConfig {
	var cfg strategies.HealthConfig
	if a := h.Active; a != nil {
		cfg.Active = activeHealth(a)
	}
	if o := h.Outlier; o != nil {
		cfg.Outlier = &strategies.OutlierConfig{Consecutive5xx: o.Consecutive5xx, BaseEjection: o.BaseEjection.D(), MaxEjectionPercent: o.MaxEjectionPercent}
	}
	if v := h.Passive; v != nil {
		cfg.Passive = &strategies.PassiveHealth{MaxFails: v.MaxFails, FailTimeout: v.FailTimeout.D(), Fails: attemptOutcomes(v.On)}
	}
	if h.PanicThreshold != nil {
		cfg.PanicThreshold = *h.PanicThreshold
	}
	cfg.SlowStart = h.SlowStart.D()
	return cfg
}

// attemptOutcomes turns outcome names into the bit set of balancer
// outcomes the pool counts (1<<strategies.Outcome).
func attemptOutcomes(names []string) uint8 {
	var bits uint8
	for _, n := range names {
		switch n {
		case "error_5xx":
			bits |= 1 << strategies.Error5xx
		case "connect_failure":
			bits |= 1 << strategies.ConnectFail
		case "timeout":
			bits |= 1 << strategies.Timeout
		case "queue_full":
			bits |= 1 << strategies.QueueFull
		}
	}
	return bits
}

func activeHealth(a *workloads.ActiveHealth) *strategies.ActiveHealth {
	return &strategies.ActiveHealth{Interval: a.Interval.D(), Timeout: a.Timeout.D(), Unhealthy: a.Unhealthy, Healthy: a.Healthy, FirstUnhealthy: a.FirstUnhealthy}
}

// NewL4 builds the L4 balancer over n gateway instances (named by
// GatewayID): mode is gateway.l4 (round-robin when empty), health the
// L4's active checks of the instances (nil: none). usesRequest tells
// whether it reads client identities (flow-hash).
func NewL4(mode string, health *workloads.ActiveHealth, n int, seed uint64, rep int) (p *strategies.Pool, usesRequest bool, err error) {
	var bal strategies.Balancer
	switch mode {
	case "", workloads.L4RoundRobin:
		bal = &strategies.RoundRobin{}
	case workloads.L4FlowHash:
		bal, usesRequest = strategies.FlowHash{}, true
	case workloads.L4LeastConn:
		bal = &strategies.LeastRequest{R: engine.Stream(seed, rep, "l4")}
	default:
		return nil, false, fmt.Errorf("unknown L4 mode %q (round-robin, flow-hash, least-conn)", mode)
	}
	names := make([]string, n)
	for i := range names {
		names[i] = GatewayID(i)
	}
	p = strategies.NewPool(bal, names, nil)
	if health != nil {
		p.SetHealth(strategies.HealthConfig{Active: activeHealth(health)})
	}
	return p, usesRequest, nil
}

// StageError is an error in the settings of gateway stage Stage.
type StageError struct {
	Stage int
	Err   error
}

// Error implements error: "gateway.stages[2]: ...".
func (e *StageError) Error() string { return fmt.Sprintf("%s: %v", e.Field(), e.Err) }

// Unwrap returns the underlying error.
func (e *StageError) Unwrap() error { return e.Err }

// Field is the stage's scenario key ("gateway.stages[2]").
func (e *StageError) Field() string { return fmt.Sprintf("gateway.stages[%d]", e.Stage) }

// StageLimiter is one ratelimit stage's limiters: one for the whole
// gateway tier, or one per gateway instance (scope: instance). A leaky
// bucket's Admit tells how long an admitted request waits at the gateway,
// holding no worker, before it goes on.
type StageLimiter []strategies.Limiter

// For returns the limiter gateway instance i counts in.
func (s StageLimiter) For(i int) strategies.Limiter {
	if len(s) == 1 {
		return s[0]
	}
	return s[i]
}

// Limiters builds the rate limiters of g's ratelimit stages, indexed by
// stage (nil for other stages): one per stage for the tier, or one per
// instance with scope: instance. Both worlds count in them. g may be nil.
// A *StageError names a stage whose settings the limiter refuses.
func Limiters(g *workloads.Gateway) ([]StageLimiter, error) {
	if g == nil {
		return nil, nil
	}
	lims := make([]StageLimiter, len(g.Stages))
	for si := range g.Stages {
		st := &g.Stages[si]
		if st.Type != workloads.StageRateLimit {
			continue
		}
		n := 1
		if st.Scope == workloads.ScopeInstance {
			n = max(g.Instances, 1)
		}
		for range n {
			lim, err := strategies.NewLimiter(strategies.LimiterConfig{
				Algorithm: st.Algorithm, Rate: st.Rate, Burst: st.Burst, Window: st.Window.D(), PerClient: st.Per == "client",
				Delay: st.Delay, NoDelay: st.NoDelay,
			})
			if err != nil {
				return nil, &StageError{Stage: si, Err: err}
			}
			lims[si] = append(lims[si], lim)
		}
	}
	return lims, nil
}

// RetryBudget is the client's retry budget (clients.retries.budget), or
// nil when retries are not budgeted.
func RetryBudget(sc *workloads.Scenario) *strategies.RetryBudget {
	if r := sc.Clients.Retries; r.Max > 0 && r.Budget > 0 {
		return &strategies.RetryBudget{Percent: 100 * r.Budget, MinConcurrency: r.MinConcurrency}
	}
	return nil
}

// PathMix is the request paths of clients.paths ("/" alone when none is
// given) with their cumulative weights: both worlds draw a request's path
// from it with one uniform from the "paths" stream.
type PathMix struct {
	// Paths lists the paths in scenario order.
	Paths []string
	cum   []float64
}

// NewPathMix returns the scenario's path mix.
func NewPathMix(sc *workloads.Scenario) PathMix {
	paths := sc.Clients.Paths
	if len(paths) == 0 {
		paths = []workloads.PathWeight{{Path: "/", Weight: 1}}
	}
	var m PathMix
	sum := 0.0
	for _, pw := range paths {
		sum += pw.Weight
		m.Paths = append(m.Paths, pw.Path)
		m.cum = append(m.cum, sum)
	}
	return m
}

// Pick returns the index of the path that uniform u in [0, 1) draws, each
// path with probability proportional to its weight.
func (m PathMix) Pick(u float64) int {
	x := u * m.cum[len(m.cum)-1]
	for i, c := range m.cum {
		if x < c {
			return i
		}
	}
	return len(m.cum) - 1
}

// Trace is what replay p read of the scenario's trace, as results.json
// reports it (both worlds).
func Trace(sc *workloads.Scenario, p *traces.Replay) *reports.Trace {
	st := p.Stats()
	return &reports.Trace{File: sc.Clients.Arrival.File, Format: p.Format(), Speed: sc.Clients.Arrival.Speed,
		Records: st.Records, Replayed: st.Replayed, Skipped: st.Skipped, FirstBad: st.FirstBad, Late: st.Late}
}
