package workloads

import (
	"fmt"
	"time"
)

// Retries re-sends a failed attempt, as Envoy's retry policy does.
type Retries struct {
	// Max is the number of extra attempts (0 = no retries).
	Max int `yaml:"max"`
	// Backoff is the base interval of exponential backoff with full jitter
	// (default 25ms, Envoy's base_interval).
	Backoff Duration `yaml:"backoff"`
	// MaxBackoff caps the backoff (default 10 × backoff).
	MaxBackoff Duration `yaml:"max_backoff"`
	// Budget caps concurrent retries at this fraction of active requests
	// (0.2 = 20%, as Envoy's retry_budget budget_percent); 0 = no budget.
	Budget float64 `yaml:"budget"`
	// MinConcurrency is the number of concurrent retries a budget always
	// allows (default 3, Envoy's min_retry_concurrency).
	MinConcurrency int `yaml:"min_concurrency"`
	// PerTryTimeout abandons one attempt (and retries it) after this long
	// (0 = none).
	PerTryTimeout Duration `yaml:"per_try_timeout"`
	// On lists the outcomes of an attempt that are retried, by their
	// results.json names: error_5xx, connect_failure, timeout (a per-try
	// timeout) and queue_full (a full queue's 503). Absent: all four, as
	// Envoy's retry_on 5xx (which covers resets and connect failures);
	// NGINX's default proxy_next_upstream "error timeout" is
	// [connect_failure, timeout], HAProxy's retry-on conn-failure
	// [connect_failure].
	On []string `yaml:"on"`
	// OtherHost sends a retry to an endpoint the request has not tried
	// while one is eligible, as NGINX's proxy_next_upstream always does
	// and Envoy's previous_hosts retry predicate does (default false: a
	// retry goes through the balancer like any attempt).
	OtherHost bool `yaml:"other_host"`
	// Timeout is the time after a request began past which no retry is
	// sent: its last failure stands (NGINX's proxy_next_upstream_timeout,
	// APISIX's retry_timeout; 0 = none).
	Timeout Duration `yaml:"timeout"`
	// OncePerHost never sends a request to an endpoint twice: a retry goes
	// to one it has not tried, and once it has tried every endpoint of
	// the pool its last failure stands (NGINX's tried set: with
	// proxy_next_upstream_tries 0, every server once). When no untried
	// endpoint is eligible, the retry fails as no_upstream (NGINX's "no
	// live upstreams", 502).
	OncePerHost bool `yaml:"once_per_host"`
	// SameHost sends a retry to the endpoint that failed, after
	// Turnaround, as HAProxy does without option redispatch.
	SameHost bool `yaml:"same_host"`
	// Turnaround is the fixed wait before a retry on the same endpoint
	// (HAProxy's min(timeout connect, 1s)); only with SameHost.
	Turnaround Duration `yaml:"turnaround"`
	// Redispatch is HAProxy's option redispatch <interval>, only with
	// SameHost: 0 = never (no option), P > 0 = every P-th retry goes
	// through the balancer, -1 (the option alone) = the last retry, -N =
	// the N-th before last. As HAProxy's stream_choose_redispatch does, a
	// retry also goes through the balancer when the failed endpoint is
	// marked down, or when the strategy does not hash and more than one
	// endpoint is eligible; such a retry does not wait.
	Redispatch int `yaml:"redispatch"`
}

// retryOutcomes are the outcomes clients.retries.on may name.
var retryOutcomes = []string{"error_5xx", "connect_failure", "timeout", "queue_full"}

// Hedge sends a backup attempt when the first has not answered in time;
// the first answer wins and the others are cancelled.
type Hedge struct {
	// After is the delay before each backup attempt (0 = no hedging).
	After Duration `yaml:"after"`
	// Max is the number of backup attempts (default 1, at most 3).
	Max int `yaml:"max"`
}

// Health configures endpoint health, applied in one place before any
// strategy picks (as Envoy does).
type Health struct {
	// Active probes every endpoint.
	Active *ActiveHealth `yaml:"active"`
	// Outlier ejects endpoints that fail consecutively.
	Outlier *Outlier `yaml:"outlier"`
	// Passive takes out endpoints as NGINX's max_fails/fail_timeout do.
	Passive *Passive `yaml:"passive"`
	// PanicThreshold is the percentage of healthy endpoints below which
	// every endpoint is used (default 50 when active or outlier is set;
	// 0 disables panic mode).
	PanicThreshold *float64 `yaml:"panic_threshold"`
	// WhenAllUnhealthy says what happens when no endpoint is eligible:
	// panic (Envoy: below panic_threshold, balance over all), fail_open
	// (AWS ALB and NLB: route to every target, only when none is
	// healthy) or reject (HAProxy's 503, NGINX's 502: no upstream).
	// Absent: panic_threshold alone decides.
	WhenAllUnhealthy string `yaml:"when_all_unhealthy"`
	panicGiven       bool   // panic_threshold was written
	// SlowStart ramps a returning endpoint's weight up over this window.
	SlowStart Duration `yaml:"slow_start"`
}

// ActiveHealth is active health checking.
type ActiveHealth struct {
	// Interval between probes of one endpoint (default 5s).
	Interval Duration `yaml:"interval"`
	// Timeout of a probe (default 1s).
	Timeout Duration `yaml:"timeout"`
	// Unhealthy is the number of consecutive failed probes that mark an
	// endpoint unhealthy (default 3).
	Unhealthy int `yaml:"unhealthy"`
	// Healthy is the number of consecutive good probes that mark it
	// healthy again (default 2).
	Healthy int `yaml:"healthy"`
	// FirstUnhealthy is the number of consecutive failed probes that mark
	// unhealthy an instance that has not passed a probe yet (HAProxy: 1,
	// since a server starts at health = rise); default: unhealthy.
	FirstUnhealthy int `yaml:"first_unhealthy"`
}

// Outlier is passive outlier detection.
type Outlier struct {
	// Consecutive5xx failures eject an endpoint (default 5).
	Consecutive5xx int `yaml:"consecutive_5xx"`
	// BaseEjection is the first ejection's length; the n-th lasts n times
	// as long (default 30s).
	BaseEjection Duration `yaml:"base_ejection"`
	// MaxEjectionPercent caps the share of endpoints ejected at once
	// (default 10, as Envoy).
	MaxEjectionPercent float64 `yaml:"max_ejection_percent"`
}

// failOpenPanic is the panic threshold of when_all_unhealthy: fail_open,
// a percentage so small that the pool panics only with no eligible
// endpoint at all.
const failOpenPanic = 1e-9

// Passive is NGINX's passive health checking: max_fails failures take a
// server out for fail_timeout, then one request probes it.
type Passive struct {
	// MaxFails failures take a server out (NGINX max_fails, default 1;
	// 0 turns the accounting off).
	MaxFails int `yaml:"max_fails"`
	// FailTimeout is how long it stays out (NGINX fail_timeout, default
	// 10s), in whole seconds.
	FailTimeout Duration `yaml:"fail_timeout"`
	// On lists the outcomes that count as failures (default
	// [connect_failure, timeout]: NGINX's proxy_next_upstream "error
	// timeout"; http_500…http_504 add error_5xx and queue_full).
	On []string `yaml:"on"`
}

// Failure kinds.
const (
	FailCrash       = "crash"
	FailHang        = "hang"
	FailSlow        = "slow"
	FailErrors      = "errors"
	FailRandomCrash = "random-crash"
)

// Failure is one entry of a server group's failure schedule.
type Failure struct {
	// Kind is crash, hang, slow, errors or random-crash.
	Kind string `yaml:"kind"`
	// At is when the failure starts.
	At Duration `yaml:"at"`
	// For is how long it lasts (0 = until the end of the run).
	For Duration `yaml:"for"`
	// Instances lists the affected instances of the group (default: all).
	Instances []int `yaml:"instances"`
	// Latency is added to every response (slow; holds no worker).
	Latency Duration `yaml:"latency"`
	// Factor divides the instance's speed (slow; holds workers longer).
	Factor float64 `yaml:"factor"`
	// Rate is the probability of a 5xx answer (errors).
	Rate float64 `yaml:"rate"`
	// MTBF is the mean time between crashes (random-crash, exponential).
	MTBF Duration `yaml:"mtbf"`
	// MTTR is the mean time to repair (random-crash, exponential).
	MTTR Duration `yaml:"mttr"`
}

// Affects reports whether the failure applies to instance i of its group.
func (f *Failure) Affects(i int) bool {
	if len(f.Instances) == 0 {
		return true
	}
	for _, x := range f.Instances {
		if x == i {
			return true
		}
	}
	return false
}

// setDefaults fills what was not given; keepBackoff and keepMinConc say
// that a zero was written (and means zero).
func (r *Retries) setDefaults(keepBackoff, keepMinConc bool) {
	if r.Max > 0 && r.Backoff == 0 && !keepBackoff {
		r.Backoff = Duration(25 * time.Millisecond)
	}
	if r.MaxBackoff == 0 {
		r.MaxBackoff = 10 * r.Backoff
	}
	if r.Budget > 0 && r.MinConcurrency == 0 && !keepMinConc {
		r.MinConcurrency = 3
	}
}

func (r *Retries) validate() error {
	const p = "clients.retries"
	switch {
	case r.Max < 0 || r.Max > 10:
		return bad(p+".max", "must be between 0 and 10 extra attempts (got %d)", r.Max)
	case r.Backoff < 0:
		return bad(p+".backoff", "must not be negative")
	case r.MaxBackoff < r.Backoff:
		return bad(p+".max_backoff", "must be at least backoff (%s)", r.Backoff)
	case !finite(r.Budget) || r.Budget < 0 || r.Budget > 1:
		return bad(p+".budget", "is a fraction of active requests between 0 and 1 (got %g)", r.Budget)
	case r.MinConcurrency < 0 || r.MinConcurrency > 1_000_000:
		return bad(p+".min_concurrency", "must be between 0 and 1000000")
	case r.PerTryTimeout < 0:
		return bad(p+".per_try_timeout", "must not be negative")
	case r.Timeout < 0:
		return bad(p+".timeout", "must not be negative")
	case r.Turnaround < 0:
		return bad(p+".turnaround", "must not be negative")
	case r.Turnaround > 0 && !r.SameHost:
		return bad(p+".turnaround", "is the wait before a retry on the same host: it needs same_host: true")
	case r.Redispatch != 0 && !r.SameHost:
		return bad(p+".redispatch", "says which same-host retries go elsewhere: it needs same_host: true")
	case r.Redispatch < -r.Max || r.Redispatch > max(r.Max, 1):
		return bad(p+".redispatch", "must be between -max and max (%d; -1 = the last retry, 0 = never; got %d)", r.Max, r.Redispatch)
	case r.SameHost && (r.OtherHost || r.OncePerHost):
		return bad(p+".same_host", "cannot be combined with other_host or once_per_host")
	}
	for i, o := range r.On {
		if err := oneOf(fmt.Sprintf("%s.on[%d]", p, i), o, retryOutcomes...); err != nil {
			return err
		}
	}
	return nil
}

// setDefaults gives a hedge delay one backup attempt unless max: 0 was
// written (keepMax).
func (h *Hedge) setDefaults(keepMax bool) {
	if h.After > 0 && h.Max == 0 && !keepMax {
		h.Max = 1
	}
}

func (h *Hedge) validate() error {
	switch {
	case h.After < 0:
		return bad("clients.hedge.after", "must not be negative")
	case h.Max < 0 || h.Max > 3:
		return bad("clients.hedge.max", "must be between 0 and 3 backup attempts (got %d)", h.Max)
	case h.Max > 0 && h.After == 0:
		return bad("clients.hedge.after", "hedging needs a delay (e.g. after: 50ms)")
	}
	return nil
}

// setDefaults fills what was not given; keepMaxEject and keepMaxFails say
// that max_ejection_percent: 0 or max_fails: 0 was written.
func (h *Health) setDefaults(keepMaxEject, keepMaxFails bool) {
	if a := h.Active; a != nil {
		if a.Interval == 0 {
			a.Interval = Duration(5 * time.Second)
		}
		if a.Timeout == 0 {
			a.Timeout = Duration(time.Second)
		}
		if a.Unhealthy == 0 {
			a.Unhealthy = 3
		}
		if a.Healthy == 0 {
			a.Healthy = 2
		}
	}
	if o := h.Outlier; o != nil {
		if o.Consecutive5xx == 0 {
			o.Consecutive5xx = 5
		}
		if o.BaseEjection == 0 {
			o.BaseEjection = Duration(30 * time.Second)
		}
		if o.MaxEjectionPercent == 0 && !keepMaxEject {
			o.MaxEjectionPercent = 10
		}
	}
	if v := h.Passive; v != nil {
		if v.MaxFails == 0 && !keepMaxFails {
			v.MaxFails = 1
		}
		if v.FailTimeout == 0 {
			v.FailTimeout = Duration(10 * time.Second)
		}
		if v.On == nil {
			v.On = []string{"connect_failure", "timeout"}
		}
	}
	h.panicGiven = h.PanicThreshold != nil
	switch h.WhenAllUnhealthy {
	case "fail_open":
		// Panic exactly when no endpoint is eligible.
		v := failOpenPanic
		h.PanicThreshold = &v
	case "reject":
		v := 0.0
		h.PanicThreshold = &v
	}
	if h.PanicThreshold == nil && (h.Active != nil || h.Outlier != nil || h.WhenAllUnhealthy == "panic") {
		v := 50.0
		h.PanicThreshold = &v
	}
}

func (h *Health) validate() error {
	const p = "balancer.health"
	if a := h.Active; a != nil {
		switch {
		case a.Interval <= 0:
			return bad(p+".active.interval", "must be above 0")
		case a.Timeout <= 0:
			return bad(p+".active.timeout", "must be above 0")
		case a.Unhealthy < 1 || a.Unhealthy > 1000:
			return bad(p+".active.unhealthy", "must be between 1 and 1000")
		case a.Healthy < 1 || a.Healthy > 1000:
			return bad(p+".active.healthy", "must be between 1 and 1000")
		case a.FirstUnhealthy < 0 || a.FirstUnhealthy > 1000:
			return bad(p+".active.first_unhealthy", "must be between 1 and 1000")
		}
	}
	if o := h.Outlier; o != nil {
		switch {
		case o.Consecutive5xx < 1 || o.Consecutive5xx > 1_000_000:
			return bad(p+".outlier.consecutive_5xx", "must be between 1 and 1000000")
		case o.BaseEjection <= 0:
			return bad(p+".outlier.base_ejection", "must be above 0")
		case !finite(o.MaxEjectionPercent) || o.MaxEjectionPercent < 0 || o.MaxEjectionPercent > 100:
			return bad(p+".outlier.max_ejection_percent", "is a percentage between 0 and 100")
		}
	}
	if v := h.Passive; v != nil {
		switch {
		case v.MaxFails < 0 || v.MaxFails > 1_000_000:
			return bad(p+".passive.max_fails", "must be between 0 and 1000000")
		case v.FailTimeout < Duration(time.Second) || v.FailTimeout%Duration(time.Second) != 0:
			return bad(p+".passive.fail_timeout", "is whole seconds, at least 1s (NGINX counts it on a one-second clock)")
		}
		for i, o := range v.On {
			if err := oneOf(fmt.Sprintf("%s.passive.on[%d]", p, i), o, retryOutcomes...); err != nil {
				return err
			}
		}
	}
	if h.WhenAllUnhealthy != "" {
		if err := oneOf(p+".when_all_unhealthy", h.WhenAllUnhealthy, "panic", "fail_open", "reject"); err != nil {
			return err
		}
		if h.panicGiven && h.WhenAllUnhealthy != "panic" {
			return bad(p+".when_all_unhealthy", "%s sets the panic threshold itself; drop panic_threshold or use when_all_unhealthy: panic", h.WhenAllUnhealthy)
		}
	}
	if t := h.PanicThreshold; t != nil && (!finite(*t) || *t < 0 || *t > 100) {
		return bad(p+".panic_threshold", "is a percentage between 0 and 100 (got %g)", *t)
	}
	if h.SlowStart < 0 {
		return bad(p+".slow_start", "must not be negative")
	}
	return nil
}

func (f *Failure) validate(p string, count int) error {
	if err := oneOf(p+".kind", f.Kind, FailCrash, FailHang, FailSlow, FailErrors, FailRandomCrash); err != nil {
		return err
	}
	for i, x := range f.Instances {
		if x < 0 || x >= count {
			return bad(fmt.Sprintf("%s.instances[%d]", p, i), "instance %d does not exist (the group has %d: 0..%d)", x, count, count-1)
		}
	}
	if f.At < 0 || f.For < 0 {
		return bad(p+".at", "at and for must not be negative")
	}
	// A failure that starts after the run ends never happens; that is
	// allowed so that a shortened run (--set duration=...) stays valid.
	// Keys that belong to other kinds are errors, never silently ignored.
	takes := map[string][]string{
		FailCrash:       {"at", "for", "instances"},
		FailHang:        {"at", "for", "instances"},
		FailSlow:        {"at", "for", "instances", "latency", "factor"},
		FailErrors:      {"at", "for", "instances", "rate"},
		FailRandomCrash: {"instances", "mtbf", "mttr"},
	}[f.Kind]
	given := map[string]bool{"at": f.At != 0, "for": f.For != 0, "latency": f.Latency != 0, "factor": f.Factor != 0,
		"rate": f.Rate != 0, "mtbf": f.MTBF != 0, "mttr": f.MTTR != 0}
	for _, k := range []string{"at", "for", "latency", "factor", "rate", "mtbf", "mttr"} {
		ok := false
		for _, t := range takes {
			ok = ok || t == k
		}
		if given[k] && !ok {
			return bad(p+"."+k, "a %s failure does not take %s (it takes: %v)", f.Kind, k, takes)
		}
	}
	switch f.Kind {
	case FailSlow:
		if f.Latency < 0 {
			return bad(p+".latency", "must not be negative")
		}
		if !finite(f.Factor) || f.Factor < 0 || f.Factor > 1e6 || (f.Factor > 0 && f.Factor < 1) {
			return bad(p+".factor", "must be at least 1 (service takes factor times longer; got %g)", f.Factor)
		}
		if f.Latency == 0 && f.Factor == 0 {
			return bad(p+".latency", "a slow failure needs latency (added to each response) or factor (speed divided by it)")
		}
	case FailErrors:
		if !finite(f.Rate) || f.Rate <= 0 || f.Rate > 1 {
			return bad(p+".rate", "is a probability above 0 and at most 1 (got %g)", f.Rate)
		}
	case FailRandomCrash:
		if f.MTBF <= 0 {
			return bad(p+".mtbf", "random-crash needs a mean time between failures above 0")
		}
		if f.MTTR <= 0 {
			return bad(p+".mttr", "random-crash needs a mean time to repair above 0")
		}
	}
	return nil
}

// setDefaults fills what was not given; keepCooldown and keepDelay say
// that a zero was written (and means zero).
func (a *Autoscale) setDefaults(keepCooldown, keepDelay bool) {
	if a.Min == 0 {
		a.Min = 1
	}
	if a.TargetUtilization == 0 {
		a.TargetUtilization = 0.7
	}
	if a.Interval == 0 {
		a.Interval = Duration(15 * time.Second)
	}
	if a.Cooldown == 0 && !keepCooldown {
		a.Cooldown = Duration(30 * time.Second)
	}
	if a.ProvisionDelay == 0 && !keepDelay {
		a.ProvisionDelay = Duration(30 * time.Second)
	}
}

func (a *Autoscale) validate(p string, count int) error {
	switch {
	case a.Min < 1 || a.Min > count:
		return bad(p+".min", "must be between 1 and the group's count (%d)", count)
	case a.Max < count || a.Max > maxInstances:
		return bad(p+".max", "must be between the group's count (%d) and %d", count, maxInstances)
	case !finite(a.TargetUtilization) || a.TargetUtilization <= 0 || a.TargetUtilization > 1:
		return bad(p+".target_utilization", "is a utilization above 0 and at most 1 (got %g)", a.TargetUtilization)
	case a.Interval <= 0:
		return bad(p+".interval", "must be above 0")
	case a.Cooldown < 0:
		return bad(p+".cooldown", "must not be negative")
	case a.ProvisionDelay < 0:
		return bad(p+".provision_delay", "must not be negative")
	}
	return nil
}
