package workloads

import (
	"fmt"
	"math"
	"strings"
	"time"
	"unicode"
)

// Limits that keep a scenario inside what one machine can simulate and what
// int64 nanoseconds can hold.
const (
	maxInstances    = 100_000
	maxConcurrency  = 1_000_000
	maxKeys         = 10_000_000
	maxReplications = 1000
	maxRunTime      = 100 * 24 * time.Hour
	maxRate         = 1e9
	minRate         = 1e-6 // keeps the mean gap (1e15 ns) and its samples inside int64 ns
	maxUsers        = 10_000_000
	maxClients      = 100_000_000
)

func (s *Scenario) setDefaults() {
	if s.Name == "" {
		s.Name = "scenario"
	}
	if s.Seed == 0 && !s.zeros["seed"] {
		s.Seed = 1
	}
	if s.Replications == 0 {
		s.Replications = 1
	}
	a := &s.Clients.Arrival
	if a.Process == "" {
		a.Process = ProcessPoisson
	}
	if a.Process == ProcessSine && a.Period == 0 {
		a.Period = Duration(time.Minute)
	}
	if a.Process == ProcessSteps {
		if a.Step == 0 {
			a.Step = Duration(time.Second)
		}
		if a.Rate == 0 && len(a.Rates) > 0 {
			sum := 0.0
			for _, r := range a.Rates {
				sum += r
			}
			a.Rate = sum / float64(len(a.Rates)) // for estimates and reports
		}
	}
	if a.Process == ProcessRamp && a.Over == 0 {
		a.Over = s.Warmup + s.Duration
	}
	if s.Clients.Count == 0 {
		s.Clients.Count = 1000
	}
	k := &s.Clients.Keys
	if k.Dist == "" {
		k.Dist = KeysUniform
	}
	if k.N == 0 {
		k.N = 10000
	}
	if k.Dist == KeysZipf && k.S == 0 {
		k.S = 1.1
	}
	if s.Balancer.Strategy == "" {
		s.Balancer.Strategy = "round-robin"
	}
	if s.Gateway != nil {
		s.Gateway.setDefaults()
		if s.Gateway.TLS != nil {
			s.Gateway.TLS.setDefaults(s.zeros)
		}
		if s.Gateway.Connections != nil {
			s.Gateway.Connections.setDefaults()
		}
		if (s.Gateway.TLS != nil || s.Gateway.Connections != nil) && s.Clients.Keepalive == nil {
			s.Clients.Keepalive = &Keepalive{} // NGINX's defaults
		}
	}
	if s.Clients.Keepalive != nil {
		s.Clients.Keepalive.setDefaults()
	}
	if u := s.Balancer.Upstream; u != nil && u.TLS != nil {
		if u.TLS.Handshake == 0 && !s.zeros["balancer.upstream.tls.handshake"] {
			u.TLS.Handshake = Duration(DefaultUpstreamHandshake)
		}
		if u.TLS.Record == 0 && !s.zeros["balancer.upstream.tls.record"] {
			u.TLS.Record = Duration(DefaultTLSRecord)
		}
	}
	s.Clients.Retries.setDefaults(s.zeros["clients.retries.backoff"], s.zeros["clients.retries.min_concurrency"])
	s.Clients.Hedge.setDefaults(s.zeros["clients.hedge.max"])
	s.Balancer.Health.setDefaults(s.zeros["balancer.health.outlier.max_ejection_percent"], s.zeros["balancer.health.passive.max_fails"])
	for i := range s.Servers {
		g := &s.Servers[i]
		if g.Name == "" {
			g.Name = fmt.Sprintf("group%d", i)
		}
		if g.Concurrency == 0 {
			g.Concurrency = 1
		}
		if g.Discipline == "" {
			g.Discipline = DisciplineFIFO
		}
		if g.Service.Dist == "" && g.Service.From == "" {
			g.Service.Dist = DistExponential
		}
		if g.Autoscale != nil {
			p := fmt.Sprintf("servers[%d].autoscale.", i)
			g.Autoscale.setDefaults(s.zeros[p+"cooldown"], s.zeros[p+"provision_delay"])
		}
	}
}

func bad(field, format string, args ...any) error {
	return &Error{Field: field, Msg: fmt.Sprintf(format, args...)}
}

func oneOf(field, got string, allowed ...string) error {
	for _, a := range allowed {
		if got == a {
			return nil
		}
	}
	return bad(field, "%q is not one of: %s", got, strings.Join(allowed, ", "))
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// hasControl reports whether a name has a control or format character
// (escape sequences, carriage returns, bidirectional overrides).
func hasControl(name string) bool {
	for _, r := range name {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return true
		}
	}
	return false
}

func (s *Scenario) validate() error {
	if hasControl(s.Name) {
		return bad("name", "%q has control or format characters, which a terminal would act on", s.Name)
	}
	if s.Duration < 0 {
		return bad("duration", "must be greater than 0 (e.g. duration: 60s)")
	}
	// Clients first: a trace without a duration gives the run its length.
	if err := s.Clients.validate(); err != nil {
		return err
	}
	if err := s.probeTrace(); err != nil {
		return err
	}
	if s.Duration <= 0 {
		return bad("duration", "must be greater than 0 (e.g. duration: 60s)")
	}
	if s.Warmup < 0 {
		return bad("warmup", "must not be negative")
	}
	if s.Warmup >= s.Duration {
		return bad("warmup", "must be shorter than duration (%s ≥ %s)", s.Warmup, s.Duration)
	}
	// Compared without adding, which could overflow int64.
	if s.Duration.D() > maxRunTime || s.Warmup.D() > maxRunTime-s.Duration.D() {
		return bad("duration", "warmup + duration must be at most %s", maxRunTime)
	}
	if s.Replications < 1 || s.Replications > maxReplications {
		return bad("replications", "must be between 1 and %d", maxReplications)
	}

	if err := s.Clients.Retries.validate(); err != nil {
		return err
	}
	if err := s.Clients.Hedge.validate(); err != nil {
		return err
	}
	if err := s.Balancer.Health.validate(); err != nil {
		return err
	}
	if err := validatePaths(s.Clients.Paths); err != nil {
		return err
	}
	if c := s.Cost; c != nil && (!finite(c.PerInstanceHour) || c.PerInstanceHour < 0 || c.PerInstanceHour > 1e6) {
		return bad("cost.per_instance_hour", "must be a price between 0 and 1e6 (got %g)", c.PerInstanceHour)
	}
	if s.Balancer.StaleLoad < 0 {
		return bad("balancer.stale_load", "must not be negative")
	}
	if s.Balancer.Affinity != "" {
		if err := oneOf("balancer.affinity", s.Balancer.Affinity, "key", "client"); err != nil {
			return err
		}
	}
	if len(s.Servers) == 0 {
		return bad("servers", "at least one server group is needed")
	}
	names := map[string]int{}
	total := 0
	for i := range s.Servers {
		if err := s.Servers[i].validate(fmt.Sprintf("servers[%d]", i)); err != nil {
			return err
		}
		if hasControl(s.Servers[i].Name) {
			return bad(fmt.Sprintf("servers[%d].name", i), "%q has control or format characters; a group name becomes instance ids and log lines", s.Servers[i].Name)
		}
		if s.Gateway != nil && s.Servers[i].Name == "gateway" {
			return bad(fmt.Sprintf("servers[%d].name", i), "\"gateway\" names the gateway tier's instances (gateway-0, ...); choose another group name")
		}
		if j, dup := names[s.Servers[i].Name]; dup {
			return bad(fmt.Sprintf("servers[%d].name", i), "%q is already the name of servers[%d]", s.Servers[i].Name, j)
		}
		names[s.Servers[i].Name] = i
		total += s.Servers[i].Slots()
	}
	if s.Gateway != nil {
		if err := s.Gateway.validate(s); err != nil {
			return err
		}
		if t := s.Gateway.TLS; t != nil {
			if err := t.validate(s); err != nil {
				return err
			}
		}
		if l := s.Gateway.Connections; l != nil {
			if err := l.validate(); err != nil {
				return err
			}
		}
	}
	if u := s.Balancer.Upstream; u != nil {
		if err := u.validate(s); err != nil {
			return err
		}
	}
	if k := s.Clients.Keepalive; k != nil {
		if s.Gateway == nil {
			return bad("clients.keepalive", "connections end at the gateway tier: add a gateway (without one, requests are placed one by one)")
		}
		if err := k.validate(); err != nil {
			return err
		}
	}
	if total > maxInstances {
		return bad("servers", "%d instances in all; at most %d", total, maxInstances)
	}
	s.fillTraceMeans()
	return nil
}

func (c *Clients) validate() error {
	a := &c.Arrival
	if err := oneOf("clients.arrival.process", a.Process, ProcessPoisson, ProcessConstant, ProcessSine, ProcessRamp, ProcessSteps, ProcessMMPP, ProcessTrace, ProcessClosed); err != nil {
		return err
	}
	if err := a.validateTraceKeys(); err != nil {
		return err
	}
	switch a.Process {
	case ProcessTrace:
		if a.Rate != 0 {
			return bad("clients.arrival.rate", "a trace's rate is its own: replay it faster or slower with speed (e.g. speed: 2)")
		}
		if a.Users != 0 || a.Think != 0 {
			return bad("clients.arrival.users", "belongs to process: closed")
		}
		if err := a.validateShape(); err != nil {
			return err
		}
	case ProcessClosed:
		if a.Users <= 0 || a.Users > maxUsers {
			return bad("clients.arrival.users", "a closed process needs 1 to %d users", maxUsers)
		}
		if a.Think < 0 {
			return bad("clients.arrival.think", "must not be negative")
		}
		if a.Rate != 0 {
			return bad("clients.arrival.rate", "a closed process has users and think time, not a rate")
		}
	default:
		if !finite(a.Rate) || a.Rate <= 0 || a.Rate > maxRate {
			return bad("clients.arrival.rate", "must be a rate in requests/second above 0 (got %g)", a.Rate)
		}
		if a.Rate < minRate {
			return bad("clients.arrival.rate", "must be at least %g requests/second (got %g)", minRate, a.Rate)
		}
		if a.Users != 0 || a.Think != 0 {
			return bad("clients.arrival.users", "users and think belong to process: closed")
		}
		if err := a.validateShape(); err != nil {
			return err
		}
	}
	if c.Count < 1 || c.Count > maxClients {
		return bad("clients.count", "must be between 1 and %d", maxClients)
	}
	if c.Timeout < 0 {
		return bad("clients.timeout", "must not be negative")
	}
	k := &c.Keys
	if err := oneOf("clients.keys.dist", k.Dist, KeysUniform, KeysZipf); err != nil {
		return err
	}
	if k.N < 1 || k.N > maxKeys {
		return bad("clients.keys.n", "must be between 1 and %d", maxKeys)
	}
	if !finite(k.S) || k.S < 0 || k.S > 100 {
		return bad("clients.keys.s", "must be between 0 and 100")
	}
	if k.Dist == KeysUniform && k.S != 0 {
		return bad("clients.keys.s", "s is the zipf exponent; uniform keys take only n")
	}
	return nil
}

func (g *ServerGroup) validate(p string) error {
	if g.Count < 1 || g.Count > maxInstances {
		return bad(p+".count", "must be between 1 and %d instances (got %d)", maxInstances, g.Count)
	}
	if g.Concurrency < 1 || g.Concurrency > maxConcurrency {
		return bad(p+".concurrency", "must be between 1 and %d (got %d)", maxConcurrency, g.Concurrency)
	}
	if g.Queue != nil && (*g.Queue < 0 || *g.Queue > 1<<30) {
		return bad(p+".queue", "must be between 0 and %d; omit it for an unbounded queue", 1<<30)
	}
	if err := oneOf(p+".discipline", g.Discipline, DisciplineFIFO, DisciplinePS); err != nil {
		return err
	}
	if !finite(g.Errors) || g.Errors < 0 || g.Errors > 1 {
		return bad(p+".errors", "is a probability between 0 and 1 (got %g)", g.Errors)
	}
	for _, pi := range []struct {
		name string
		v    PerInstance
	}{{"speed", g.Speed}, {"weight", g.Weight}} {
		if len(pi.v) > 1 && len(pi.v) != g.Count {
			return bad(p+"."+pi.name, "has %d values for %d instances; give one value or one per instance", len(pi.v), g.Count)
		}
		for _, x := range pi.v {
			if !finite(x) || x < 1e-6 || x > 1e6 {
				return bad(p+"."+pi.name, "values must be between 1e-06 and 1e+06 (got %g)", x)
			}
		}
	}
	if err := g.Service.validate(p + ".service"); err != nil {
		return err
	}
	if g.Autoscale != nil {
		if err := g.Autoscale.validate(p+".autoscale", g.Count); err != nil {
			return err
		}
	}
	for i := range g.Failures {
		if err := g.Failures[i].validate(fmt.Sprintf("%s.failures[%d]", p, i), g.Count); err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) validate(p string) error {
	if s.From != "" {
		return s.validateFrom(p)
	}
	if err := oneOf(p+".dist", s.Dist, DistExponential, DistConstant, DistNormal, DistLognormal,
		DistPareto, DistGamma, DistHyperexp, DistUniform); err != nil {
		return err
	}
	// Which keys each distribution takes; any other non-zero key is an error
	// so that a typo'd parameter is never silently ignored.
	given := map[string]bool{
		"mean": s.Mean != 0, "sd": s.SD != 0, "sigma": s.Sigma != 0, "p99": s.P99 != 0,
		"alpha": s.Alpha != 0, "shape": s.Shape != 0, "scv": s.SCV != 0, "min": s.Min != 0, "max": s.Max != 0,
	}
	takes := map[string][]string{
		DistExponential: {"mean"},
		DistConstant:    {"mean"},
		DistNormal:      {"mean", "sd"},
		DistLognormal:   {"mean", "sigma", "p99"},
		DistPareto:      {"mean", "alpha"},
		DistGamma:       {"mean", "shape", "scv"},
		DistHyperexp:    {"mean", "scv"},
		DistUniform:     {"min", "max"},
	}[s.Dist]
	for _, k := range []string{"mean", "sd", "sigma", "p99", "alpha", "shape", "scv", "min", "max"} {
		ok := false
		for _, t := range takes {
			ok = ok || t == k
		}
		if given[k] && !ok {
			return bad(p+"."+k, "%s does not take %s (it takes: %s)", s.Dist, k, strings.Join(takes, ", "))
		}
	}
	if s.Dist == DistUniform {
		if s.Min < 0 || s.Max <= 0 || s.Max < s.Min {
			return bad(p+".max", "uniform needs 0 ≤ min ≤ max and max > 0 (min %s, max %s)", s.Min, s.Max)
		}
		return nil
	}
	if s.Mean <= 0 {
		return bad(p+".mean", "%s needs a mean above 0 (e.g. mean: 10ms)", s.Dist)
	}
	switch s.Dist {
	case DistNormal:
		if s.SD < 0 {
			return bad(p+".sd", "must not be negative")
		}
	case DistLognormal:
		switch {
		case s.P99 != 0 && s.Sigma != 0:
			return bad(p+".p99", "give sigma or p99, not both")
		case s.P99 != 0:
			if _, err := LognormalSigma(s.Mean.Seconds(), s.P99.Seconds()); err != nil {
				return bad(p+".p99", "%v", err)
			}
		case !finite(s.Sigma) || s.Sigma <= 0 || s.Sigma > 10:
			return bad(p+".sigma", "lognormal needs sigma in (0, 10] or p99 above the mean")
		}
	case DistPareto:
		if !finite(s.Alpha) || s.Alpha <= 1 || s.Alpha > 1e6 {
			return bad(p+".alpha", "pareto needs alpha > 1 so that its mean exists (got %g)", s.Alpha)
		}
	case DistGamma:
		switch {
		case s.Shape != 0 && s.SCV != 0:
			return bad(p+".scv", "give shape or scv, not both")
		case s.SCV != 0:
			// scv = 1/shape; both ranges keep the sampler's rate finite.
			if !finite(s.SCV) || s.SCV < 1e-6 || s.SCV > 1e6 {
				return bad(p+".scv", "must be between 1e-06 and 1e+06 (got %g)", s.SCV)
			}
			s.Shape, s.SCV = 1/s.SCV, 0
		case !finite(s.Shape) || s.Shape < 1e-6 || s.Shape > 1e6:
			return bad(p+".shape", "gamma needs shape > 0 or scv > 0: shape between 1e-06 and 1e+06 (got %g)", s.Shape)
		}
	case DistHyperexp:
		if !finite(s.SCV) || s.SCV < 1 || s.SCV > 1e6 {
			return bad(p+".scv", "hyperexp needs scv ≥ 1 (got %g); use gamma below 1", s.SCV)
		}
	}
	return nil
}

// validateShape checks the keys of time-varying rates: amplitude and
// period belong to sine, to and over to ramp.
func (a *Arrival) validateShape() error {
	if a.Process != ProcessSteps {
		if len(a.Rates) != 0 {
			return bad("clients.arrival.rates", "belongs to process: steps")
		}
		if a.Step != 0 {
			return bad("clients.arrival.step", "belongs to process: steps")
		}
	}
	if a.Process != ProcessSine {
		if a.Peak != 0 {
			return bad("clients.arrival.peak", "belongs to process: sine")
		}
		if a.Amplitude != 0 {
			return bad("clients.arrival.amplitude", "belongs to process: sine")
		}
		if a.Period != 0 {
			return bad("clients.arrival.period", "belongs to process: sine")
		}
	}
	if a.Process != ProcessMMPP {
		for k, given := range map[string]bool{"low": a.Low != 0, "burst": a.Burst != 0, "calm": a.Calm != 0} {
			if given {
				return bad("clients.arrival."+k, "belongs to process: mmpp")
			}
		}
	}
	if a.Process != ProcessRamp {
		if a.To != 0 {
			return bad("clients.arrival.to", "belongs to process: ramp")
		}
		if a.Over != 0 {
			return bad("clients.arrival.over", "belongs to process: ramp")
		}
	}
	switch a.Process {
	case ProcessSine:
		if !finite(a.Amplitude) || a.Amplitude <= 0 || a.Amplitude > a.Rate {
			return bad("clients.arrival.amplitude", "must be above 0 and at most the rate %g, so the rate never goes negative (got %g)", a.Rate, a.Amplitude)
		}
		if a.Period <= 0 {
			return bad("clients.arrival.period", "must be a positive duration")
		}
	case ProcessSteps:
		if len(a.Rates) == 0 || len(a.Rates) > 1_000_000 {
			return bad("clients.arrival.rates", "a steps process needs 1 to 1e6 rates (requests/second), one per step")
		}
		for i, r := range a.Rates {
			if !finite(r) || r < 0 || r > maxRate {
				return bad(fmt.Sprintf("clients.arrival.rates[%d]", i), "must be a rate between 0 and %g (got %g)", maxRate, r)
			}
		}
		if a.Step <= 0 {
			return bad("clients.arrival.step", "must be a positive duration")
		}
		if a.Rate <= 0 {
			return bad("clients.arrival.rates", "are all 0: no request would arrive")
		}
	case ProcessMMPP:
		if !finite(a.Low) || a.Low < 0 || a.Low >= a.Rate {
			return bad("clients.arrival.low", "is the rate between bursts: at least 0 and below the burst rate %g (got %g)", a.Rate, a.Low)
		}
		if a.Burst <= 0 {
			return bad("clients.arrival.burst", "an mmpp needs the mean length of its bursts (e.g. burst: 2s)")
		}
		if a.Calm <= 0 {
			return bad("clients.arrival.calm", "an mmpp needs the mean time between its bursts (e.g. calm: 8s)")
		}
	case ProcessRamp:
		if !finite(a.To) || a.To < minRate || a.To > maxRate {
			return bad("clients.arrival.to", "must be a rate in requests/second between %g and %g (got %g)", minRate, maxRate, a.To)
		}
		if a.Over <= 0 {
			return bad("clients.arrival.over", "must be a positive duration")
		}
	}
	return nil
}
