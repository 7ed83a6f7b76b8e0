package strategies

import (
	"math"
	"time"
)

// Health in the pool, modelled on Envoy's upstream health handling. All of
// it is applied in Pool before any balancer picks (Envoy does the same: the
// load balancer only ever sees the healthy host set, or all hosts in panic).
//
// Sources (Envoy architecture overview and API reference, envoyproxy.io):
//   - "Health checking" and config.core.v3.HealthCheck: unhealthy_threshold
//     consecutive failed probes mark a host unhealthy, healthy_threshold
//     consecutive passed probes mark it healthy again; a probe that times
//     out is a failure.
//   - "Outlier detection" and config.cluster.v3.OutlierDetection: the
//     consecutive-5xx detector, ejection for base_ejection_time times the
//     number of times the host has been ejected in a row (capped by
//     max_ejection_time), max_ejection_percent, and the multiplier that
//     decreases while the host stays healthy.
//   - "Panic threshold": below healthy_panic_threshold percent of available
//     hosts, Envoy disregards health and balances over all hosts.
//   - "Slow start mode": NewWeight = Weight × max(MinWeightPercent,
//     TimeFactor^(1/Aggression)), TimeFactor = max(t, 1s) / window.

// HealthConfig enables the pool's health features. The zero value enables
// none: every endpoint is eligible unless SetHealthy takes it out.
type HealthConfig struct {
	// Active configures active health checking; nil means no probes. The
	// caller (simulator or live proxy) runs the probes every Interval with
	// Timeout and reports each result with Pool.ProbeResult.
	Active *ActiveHealth
	// Outlier configures passive outlier detection (consecutive 5xx);
	// nil means none.
	Outlier *OutlierConfig
	// PanicThreshold is a percentage (0..100): while the eligible share of
	// endpoints is below it, the balancer picks among all endpoints
	// (Envoy's panic mode). 0 means never panic; then with no eligible
	// endpoint Pick reports no upstream. Envoy's default is 50, but the
	// default here is set by the scenario layer.
	PanicThreshold float64
	// Passive configures NGINX's passive health checking (max_fails,
	// fail_timeout); nil means none.
	Passive *PassiveHealth
	// SlowStart is the slow-start window; 0 turns slow start off. When an
	// endpoint becomes eligible again after having been ineligible, its
	// effective weight grows with the time t since then as
	// max(10%, max(t, 1s)/SlowStart) of its configured weight: Envoy's slow
	// start with aggression 1 and min_weight_percent 10. Endpoints eligible
	// from the start do not slow-start.
	SlowStart time.Duration
}

// ActiveHealth configures active health checking (Envoy "Health checking",
// config.core.v3.HealthCheck).
type ActiveHealth struct {
	// Interval between probes and Timeout of one probe; the pool does not
	// use them, the caller that runs the probes does. A probe that times
	// out is reported as failed.
	Interval, Timeout time.Duration
	// Unhealthy is the number of consecutive failed probes that mark a
	// healthy endpoint unhealthy (Envoy unhealthy_threshold); Healthy the
	// number of consecutive passed probes that mark an unhealthy endpoint
	// healthy again (Envoy healthy_threshold). Values below 1 count as 1.
	// Endpoints start healthy.
	Unhealthy, Healthy int
	// FirstUnhealthy, when above 0, is the number of consecutive failed
	// probes that mark unhealthy an endpoint that has not passed a probe
	// yet: HAProxy starts a server at health = rise, so one failed check
	// marks it DOWN, and fall applies only once a check has passed
	// (src/check.c). 0 means Unhealthy.
	FirstUnhealthy int
}

// OutlierConfig configures passive outlier detection by consecutive errors
// (Envoy "Outlier detection", consecutive_5xx detection type, with
// split_external_local_origin_errors false: locally originated failures
// count as 5xx).
type OutlierConfig struct {
	// Consecutive5xx is the number of consecutive failed attempts that
	// eject an endpoint. Error5xx, Timeout, ConnectFail and QueueFull (an
	// explicit 503 from the server) count as failures; OK resets the
	// count; any other outcome (an attempt cancelled because another one
	// won, say) is ignored. Outcomes of attempts that finish while the
	// endpoint is ejected are ignored too, and an ejection restarts the
	// count. ≤ 0 means Envoy's default, 5.
	Consecutive5xx int
	// BaseEjection is the ejection time of a first ejection; the n-th
	// ejection in a row lasts n × BaseEjection. ≤ 0 means Envoy's default,
	// 30s.
	BaseEjection time.Duration
	// MaxEjectionPercent caps the share of endpoints ejected at once: an
	// endpoint is ejected only if, with it, at most this percentage of the
	// endpoints would be ejected, except that one endpoint may always be
	// ejected when none is (Envoy: "defaults to 10% but will eject at least
	// one host regardless of the value"). 0 therefore allows exactly one
	// ejected endpoint at a time. Envoy's default is 10; the scenario layer
	// sets ours.
	MaxEjectionPercent float64
	// MaxEjection caps one ejection's duration (Envoy max_ejection_time);
	// once n × BaseEjection reaches it the multiplier stops growing.
	// 0 means no cap (Envoy's default is 300s).
	MaxEjection time.Duration
	// Interval is Envoy's outlier_detection.interval as far as it matters
	// here: the ejection multiplier drops by one for every whole Interval
	// an endpoint spends un-ejected, so a host that recovers is soon
	// ejected for BaseEjection again. 0 means Envoy's default, 10s; < 0
	// means the multiplier never drops.
	Interval time.Duration
	// KeepEjectedOnProbe, when true, stops a passed active probe from
	// ending an ejection (Envoy successful_active_health_check_uneject_host
	// = false). By default, as in Envoy, when active checking is in use a
	// passed probe of an active-healthy endpoint un-ejects it and clears
	// its consecutive-failure count.
	KeepEjectedOnProbe bool
}

// Envoy's defaults for the OutlierConfig fields left at zero.
const (
	defaultConsecutive5xx  = 5
	defaultBaseEjection    = 30 * time.Second
	defaultOutlierInterval = 10 * time.Second
	slowStartMinWeight     = 0.1 // Envoy min_weight_percent default, 10%
)

// EndpointHealth is the health state of one endpoint, for reports and
// tests.
type EndpointHealth struct {
	// Eligible is ActiveHealthy && !Ejected: the endpoint is a candidate
	// outside panic mode. Endpoint.Healthy holds the same value.
	Eligible bool
	// ActiveHealthy is the active health-check state (or SetHealthy's).
	ActiveHealthy bool
	// Ejected is true while outlier detection keeps the endpoint out;
	// EjectedUntil is when that ends (0 when not ejected).
	Ejected      bool
	EjectedUntil time.Duration
	// Ejections is the ejection multiplier set at the last ejection: the
	// last ejection lasted Ejections × BaseEjection (capped).
	Ejections int
	// ConsecutiveFailures is the outlier detector's current count.
	ConsecutiveFailures int
	// BaseWeight is the configured weight; Weight the effective one the
	// balancers read (lower during slow start).
	BaseWeight, Weight float64
	// SlowStart is true while the endpoint's weight is ramping up.
	SlowStart bool
}

// endpointHealth is the pool's private per-endpoint health state.
type endpointHealth struct {
	removed     bool          // not a member of the pool (SetMember)
	base        float64       // configured weight
	activeOK    bool          // active health (or SetHealthy)
	proven      bool          // a probe has passed (FirstUnhealthy no longer applies)
	okRun       int           // consecutive passed probes
	failRun     int           // consecutive failed probes
	fails       int           // consecutive failed attempts (outlier detector)
	ejected     bool          //
	ejectUntil  time.Duration //
	mult        int           // ejection multiplier at the last ejection
	unejectedAt time.Duration // when the last ejection ended
	slow        bool          // in p.slow
	slowPending bool          // slow start begins at the next timed call
	slowFrom    time.Duration // when the slow start began
}

// SetHealth configures the pool's health features; see HealthConfig. It is
// meant to be called once, before the run. Called again, it keeps each
// endpoint's state: removing Outlier ends every ejection, a zero SlowStart
// ends every slow start.
func (p *Pool) SetHealth(cfg HealthConfig) {
	p.active = ActiveHealth{Unhealthy: 1, Healthy: 1}
	if a := cfg.Active; a != nil {
		p.active = *a
		p.active.Unhealthy = max(p.active.Unhealthy, 1)
		p.active.Healthy = max(p.active.Healthy, 1)
	}
	p.panicPct = cfg.PanicThreshold
	p.slowStart = max(cfg.SlowStart, 0)
	if p.slowStart == 0 {
		for len(p.slow) > 0 {
			p.endSlow(p.slow[len(p.slow)-1])
		}
	}
	if o := cfg.Outlier; o != nil {
		p.outlier = *o
		if p.outlier.Consecutive5xx <= 0 {
			p.outlier.Consecutive5xx = defaultConsecutive5xx
		}
		if p.outlier.BaseEjection <= 0 {
			p.outlier.BaseEjection = defaultBaseEjection
		}
		if p.outlier.Interval == 0 {
			p.outlier.Interval = defaultOutlierInterval
		}
		p.hasOutlier = true
	} else {
		p.hasOutlier = false
		p.outlier = OutlierConfig{}
		for i := range p.hs {
			if p.hs[i].ejected {
				p.uneject(i, p.now)
			}
			p.hs[i].fails, p.hs[i].mult = 0, 0
		}
		p.nextUneject = never
	}
	p.hasPassive = cfg.Passive != nil && cfg.Passive.MaxFails > 0
	if p.hasPassive {
		p.passiveCfg = *cfg.Passive
		p.passive = make([]passiveState, len(p.eps))
	} else {
		p.passive = nil
	}
	p.nextPassive = never
	p.panicking = p.panicNow()
	p.dirty = true
	p.setWake()
	p.setPlain()
}

// ProbeResult reports the result of one active health probe of endpoint i
// at time now (ok false for a failed or timed-out probe). The pool keeps
// the consecutive counts and flips the endpoint's active health exactly
// when a run reaches ActiveHealth.Unhealthy failures or ActiveHealth.Healthy
// successes. Unless OutlierConfig.KeepEjectedOnProbe, a passed probe that
// leaves the endpoint active-healthy also ends its outlier ejection and
// clears its failure count (Envoy: a successful active health check
// un-ejects the host; one success if the host had not failed active
// checking, healthy_threshold successes if it had). Without
// HealthConfig.Active both thresholds are 1.
func (p *Pool) ProbeResult(now time.Duration, i int, ok bool) {
	if now >= p.wake {
		p.advance(now)
	}
	h := &p.hs[i]
	if !ok {
		h.okRun = 0
		h.failRun++
		limit := p.active.Unhealthy
		if !h.proven && p.active.FirstUnhealthy > 0 {
			limit = p.active.FirstUnhealthy
		}
		if h.activeOK && h.failRun >= limit {
			h.activeOK = false
			p.sync(i, now, true)
		}
		return
	}
	h.failRun = 0
	h.okRun++
	h.proven = true
	if !h.activeOK && h.okRun >= p.active.Healthy {
		h.activeOK = true
		p.sync(i, now, true)
	}
	if h.activeOK && h.ejected && p.hasOutlier && !p.outlier.KeepEjectedOnProbe {
		p.uneject(i, now)
		p.setWake()
	}
}

// Refresh brings the pool up to time now: it ends ejections whose time is
// up and updates slow-start weights. Pick, Done and ProbeResult do this
// themselves; call Refresh before reading HealthyCount, Panicking,
// Eligible, Endpoint or Health at a time when no pick happened.
func (p *Pool) Refresh(now time.Duration) {
	p.advance(now)
}

// Eligible reports whether endpoint i is active-healthy and not ejected.
func (p *Pool) Eligible(i int) bool { return p.eps[i].Healthy }

// HealthyCount is the number of eligible endpoints.
func (p *Pool) HealthyCount() int { return p.eligible }

// EjectedCount is the number of endpoints currently ejected by outlier
// detection.
func (p *Pool) EjectedCount() int { return p.nEjected }

// Ejections is the number of outlier ejections since the pool was made.
func (p *Pool) Ejections() int { return p.ejections }

// Panicking reports whether the pool is in panic mode: the eligible share
// of endpoints is below HealthConfig.PanicThreshold, so every endpoint is a
// candidate.
func (p *Pool) Panicking() bool { return p.panicking }

// Health returns the health state of endpoint i.
func (p *Pool) Health(i int) EndpointHealth {
	h := &p.hs[i]
	eh := EndpointHealth{
		Eligible:            p.eps[i].Healthy,
		ActiveHealthy:       h.activeOK,
		Ejected:             h.ejected,
		Ejections:           h.mult,
		ConsecutiveFailures: h.fails,
		BaseWeight:          h.base,
		Weight:              p.eps[i].Weight,
		SlowStart:           h.slow,
	}
	if h.ejected {
		eh.EjectedUntil = h.ejectUntil
	}
	return eh
}

// setActive sets endpoint i's active health directly (SetHealthy).
func (p *Pool) setActive(i int, healthy bool, now time.Duration, timed bool) {
	h := &p.hs[i]
	h.okRun, h.failRun = 0, 0
	if h.activeOK == healthy {
		return
	}
	h.activeOK = healthy
	p.sync(i, now, timed)
}

// panicNow computes the panic state from the eligible count.
func (p *Pool) panicNow() bool {
	return p.panicPct > 0 && float64(p.eligible)*100 < p.panicPct*float64(len(p.eps)-p.removed)
}

// SetMember adds endpoint i to the pool's members or removes it, as
// service discovery does when an autoscaler adds or retires an instance.
// A removed endpoint is never a candidate, not even in panic mode, and
// does not count towards the panic threshold; an added one is eligible
// when its health allows (and starts slow when slow start is set).
func (p *Pool) SetMember(now time.Duration, i int, member bool) {
	h := &p.hs[i]
	if h.removed == !member {
		return
	}
	h.removed = !member
	if member {
		p.removed--
	} else {
		p.removed++
	}
	p.dirty = true
	p.sync(i, now, true)
	p.panicking = p.panicNow()
}

// sync brings endpoint i's eligibility in line with its flags and handles
// the consequences: counts, panic state, candidate cache, slow start. timed
// is false when now is unknown (SetHealthy).
func (p *Pool) sync(i int, now time.Duration, timed bool) {
	h := &p.hs[i]
	el := h.activeOK && !h.ejected && !h.removed && !(p.hasPassive && p.passive[i].out)
	if el == p.eps[i].Healthy {
		return
	}
	p.eps[i].Healthy = el
	if el {
		p.eligible++
		if p.slowStart > 0 {
			p.startSlow(i, now, timed)
		}
	} else {
		p.eligible--
		p.endSlow(i)
	}
	was := p.panicking
	p.panicking = p.panicNow()
	// In panic every endpoint is a candidate whatever its eligibility, so
	// the cached list stays valid while the pool stays in panic.
	if !(was && p.panicking) {
		p.dirty = true
	}
}

// observe feeds the consecutive-5xx detector with one outcome.
func (p *Pool) observe(now time.Duration, i int, o Outcome) {
	h := &p.hs[i]
	if h.ejected {
		// Attempts that finish while the endpoint is out (sent before the
		// ejection, or during panic) do not count towards the next one.
		return
	}
	switch o {
	case OK:
		h.fails = 0
		return
	case Error5xx, Timeout, ConnectFail, QueueFull:
	default:
		return
	}
	h.fails++
	if h.fails < p.outlier.Consecutive5xx {
		return
	}
	// Envoy's rule: eject if no host is ejected, or if with this one the
	// ejected share of the pool's members (an autoscaler's spare slots do
	// not count) stays within max_ejection_percent. When refused, the
	// count stays at the threshold, so the next failure tries again.
	if p.nEjected > 0 && float64(p.nEjected+1)*100 > p.outlier.MaxEjectionPercent*float64(len(p.eps)-p.removed) {
		return
	}
	p.eject(now, i)
}

// eject takes endpoint i out for the multiplier times the base time.
func (p *Pool) eject(now time.Duration, i int) {
	h := &p.hs[i]
	o := &p.outlier
	m := h.mult
	if m > 0 && o.Interval > 0 && now > h.unejectedAt {
		// Envoy decrements the multiplier at every interval sweep that
		// finds the host healthy; counted lazily here as whole intervals
		// since the last un-ejection.
		if dec := (now - h.unejectedAt) / o.Interval; dec >= time.Duration(m) {
			m = 0
		} else {
			m -= int(dec)
		}
	}
	m++
	d := mulDuration(o.BaseEjection, m)
	if o.MaxEjection > 0 && d >= o.MaxEjection {
		// Envoy: once the ejection time reaches max_ejection_time it does
		// not increase any more; neither does the multiplier, so that it
		// decays back from the cap.
		d = o.MaxEjection
		m = int(min((o.MaxEjection-1)/o.BaseEjection+1, math.MaxInt32))
	}
	h.mult = m
	h.ejected = true
	h.ejectUntil = now + min(d, never-max(now, 0))
	h.fails = 0
	p.nEjected++
	p.ejections++
	p.nextUneject = min(p.nextUneject, h.ejectUntil)
	p.sync(i, now, true)
	p.setWake()
}

// uneject ends endpoint i's ejection at time at.
func (p *Pool) uneject(i int, at time.Duration) {
	h := &p.hs[i]
	h.ejected = false
	h.unejectedAt = at
	h.fails = 0
	p.nEjected--
	p.sync(i, at, true)
}

// mulDuration is d × m, saturating instead of overflowing.
func mulDuration(d time.Duration, m int) time.Duration {
	if m <= 0 || d <= 0 {
		return 0
	}
	if d > never/time.Duration(m) {
		return never
	}
	return d * time.Duration(m)
}

// advance does the pool's lazy, time-driven work up to now: ejections whose
// time is up end (at their scheduled time, so a late call changes nothing
// but the moment it is noticed), and slow-start weights move on.
func (p *Pool) advance(now time.Duration) {
	p.now = max(p.now, now)
	if now >= p.nextUneject {
		next := never
		for i := range p.hs {
			h := &p.hs[i]
			if !h.ejected {
				continue
			}
			if h.ejectUntil <= now {
				p.uneject(i, h.ejectUntil)
			} else {
				next = min(next, h.ejectUntil)
			}
		}
		p.nextUneject = next
	}
	if p.hasPassive {
		p.passiveAdvance(now)
	}
	if len(p.slow) > 0 {
		p.updateSlow(now)
	}
	p.setWake()
}

// setWake recomputes when Pick must next call advance.
func (p *Pool) setWake() {
	if len(p.slow) > 0 {
		p.wake = always
	} else {
		p.wake = min(p.nextUneject, p.nextPassive)
	}
}

// slowFactor is the share of its configured weight an endpoint gets
// elapsed into a slow-start window (Envoy slow start, aggression 1,
// min_weight_percent 10).
func slowFactor(elapsed, window time.Duration) float64 {
	elapsed = max(elapsed, time.Second)
	f := float64(elapsed) / float64(window)
	return min(max(f, slowStartMinWeight), 1)
}

// startSlow puts endpoint i in slow start from time at (or from the next
// timed call when !timed).
func (p *Pool) startSlow(i int, at time.Duration, timed bool) {
	h := &p.hs[i]
	h.slowFrom = at
	h.slowPending = !timed
	if !h.slow {
		h.slow = true
		p.slow = append(p.slow, i)
	}
	p.eps[i].Weight = h.base * slowFactor(0, p.slowStart)
	p.wake = always
}

// endSlow takes endpoint i out of slow start at full weight.
func (p *Pool) endSlow(i int) {
	h := &p.hs[i]
	if !h.slow {
		return
	}
	h.slow, h.slowPending = false, false
	p.eps[i].Weight = h.base
	for k, j := range p.slow {
		if j == i {
			last := len(p.slow) - 1
			p.slow[k] = p.slow[last]
			p.slow = p.slow[:last]
			break
		}
	}
	p.setWake()
}

// updateSlow sets the effective weights of the endpoints in slow start and
// lets those whose window is over leave it.
func (p *Pool) updateSlow(now time.Duration) {
	k := 0
	for _, i := range p.slow {
		h := &p.hs[i]
		if h.slowPending {
			h.slowFrom, h.slowPending = now, false
		}
		el := now - h.slowFrom
		if el >= p.slowStart {
			h.slow = false
			p.eps[i].Weight = h.base
			continue
		}
		p.eps[i].Weight = h.base * slowFactor(el, p.slowStart)
		p.slow[k] = i
		k++
	}
	p.slow = p.slow[:k]
}
