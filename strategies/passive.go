package strategies

import "time"

// PassiveHealth configures NGINX's passive health checking: a server that
// fails MaxFails attempts is out for FailTimeout, then one request probes
// it. The rule is NGINX's own, from ngx_http_upstream_round_robin.c (the
// peer's fails, accessed and checked fields; nginx.org/en/docs/http/
// ngx_http_upstream_module.html#max_fails):
//
//   - a failure (an outcome in Fails) adds one to the endpoint's failure
//     count and sets its accessed and checked times to now;
//   - the endpoint is out while count ≥ MaxFails and now − checked ≤
//     FailTimeout, times in whole seconds (NGINX reads a one-second clock,
//     ngx_time): one failure at t takes a server out until the second after
//     t + FailTimeout;
//   - the first pick after that sets checked to now, which takes it out
//     again for everyone else: one request probes it; a success of a pick
//     made after the last failure (accessed < checked) clears the count,
//     a failure counts and starts a new window;
//   - a pool of one endpoint never takes it out (NGINX's single peer);
//   - the failures are not forgotten with time, only by such a success, so
//     MaxFails failures spread over a longer time also take a server out.
//
// NGINX answers 502 when every server is out; the pool reports no upstream
// (unless a panic threshold says otherwise). NGINX before 1.11.5 then
// cleared every count ("quick recovery"); since, it does not (commit
// fd9e74f "Upstream: removed the quick recovery mechanism").
type PassiveHealth struct {
	// MaxFails is the number of failures that take an endpoint out (NGINX
	// max_fails; 0 turns accounting off).
	MaxFails int
	// FailTimeout is how long an endpoint stays out (NGINX fail_timeout),
	// counted in whole seconds.
	FailTimeout time.Duration
	// Fails lists the attempt outcomes that count as failures, as bits
	// 1<<Outcome: NGINX's proxy_next_upstream "error timeout" (its
	// default) is 1<<ConnectFail | 1<<Timeout; http_500…http_504 add
	// 1<<Error5xx and 1<<QueueFull.
	Fails uint8
}

// passiveState is one endpoint's NGINX peer state.
type passiveState struct {
	fails    int
	accessed int64 // second of the last failure
	checked  int64 // second of the last failure or probe pick
	out      bool  // out of the candidates now
}

// nginxSecond is NGINX's clock: whole seconds since the run began.
func nginxSecond(now time.Duration) int64 { return int64(now / time.Second) }

// passiveOut reports whether endpoint i is out at now.
func (p *Pool) passiveOut(i int, now time.Duration) bool {
	s := &p.passive[i]
	return s.fails >= p.passiveCfg.MaxFails && nginxSecond(now)-s.checked <= int64(p.passiveCfg.FailTimeout/time.Second)
}

// passiveSync brings endpoint i's passive state into its eligibility.
func (p *Pool) passiveSync(i int, now time.Duration) {
	out := len(p.eps) > 1 && p.passiveOut(i, now)
	s := &p.passive[i]
	if out == s.out {
		return
	}
	s.out = out
	p.sync(i, now, true)
	if out {
		back := time.Duration(s.checked+int64(p.passiveCfg.FailTimeout/time.Second)+1) * time.Second
		p.nextPassive = min(p.nextPassive, back)
		p.setWake()
	}
}

// passivePicked notes a pick of endpoint i: a pick past the window is the
// probe, which resets checked and so takes the endpoint out for others.
func (p *Pool) passivePicked(i int, now time.Duration) {
	s := &p.passive[i]
	if nginxSecond(now)-s.checked > int64(p.passiveCfg.FailTimeout/time.Second) {
		s.checked = nginxSecond(now)
	}
	p.passiveSync(i, now)
}

// passiveDone counts an attempt's outcome.
func (p *Pool) passiveDone(now time.Duration, i int, o Outcome) {
	s := &p.passive[i]
	switch {
	case len(p.eps) == 1:
		s.fails = 0
	case p.passiveCfg.Fails&(1<<o) != 0:
		s.fails++
		s.accessed, s.checked = nginxSecond(now), nginxSecond(now)
	case o == Cancelled:
		return // a hedge that lost: no verdict on the server
	case s.accessed < s.checked:
		s.fails = 0
	}
	p.passiveSync(i, now)
}

// passiveAdvance returns endpoints whose window has passed to the
// candidates (their probe is the next pick).
func (p *Pool) passiveAdvance(now time.Duration) {
	if now < p.nextPassive {
		return
	}
	next := never
	for i := range p.passive {
		s := &p.passive[i]
		if !s.out {
			continue
		}
		p.passiveSync(i, now)
		if s.out {
			next = min(next, time.Duration(s.checked+int64(p.passiveCfg.FailTimeout/time.Second)+1)*time.Second)
		}
	}
	p.nextPassive = next
}
