package plan

import (
	"fmt"
	"time"

	"github.com/edgelab/edgelab/reports"
	"github.com/edgelab/edgelab/strategies"
	"github.com/edgelab/edgelab/workloads"
)

// Outcome is how a client request (or its last attempt) ended, in
// results.json's terms. Both worlds count requests by it: the simulator
// when it finishes a request, live mode when an answer (or its absence)
// reaches the attacker.
type Outcome uint8

// The outcomes, named as results.json names them (Outcome.String).
const (
	OK             Outcome = iota // answered successfully
	Error5xx                      // answered with a server error
	Timeout                       // the client or a per-try timeout gave up
	QueueFull                     // refused by a full queue (a 503)
	NoUpstream                    // no endpoint was eligible
	ConnectFailure                // connection refused or reset by a crashed instance
	AuthRejected                  // rejected by the gateway's auth stage
	RateLimited                   // rejected by the gateway's rate limiter

	// NumOutcomes is the number of outcomes: they are 0 … NumOutcomes-1.
	NumOutcomes
)

var outcomeNames = [NumOutcomes]string{"ok", "error_5xx", "timeout", "queue_full", "no_upstream", "connect_failure", "auth_rejected", "rate_limited"}

// String names the outcome as results.json and the X-Edgelab-Outcome
// header do ("error_5xx").
func (o Outcome) String() string {
	if o < NumOutcomes {
		return outcomeNames[o]
	}
	return fmt.Sprintf("outcome(%d)", uint8(o))
}

// Status is the HTTP status an access log records for a request that
// ended so: 200, 500, 504, 503 (queue_full, no_upstream), 502
// (connect_failure), 401 and 429 — statuses live mode's attacker reads
// back as the same outcomes.
func (o Outcome) Status() int {
	switch o {
	case OK:
		return 200
	case Error5xx:
		return 500
	case Timeout:
		return 504
	case QueueFull, NoUpstream:
		return 503
	case ConnectFailure:
		return 502
	case AuthRejected:
		return 401
	case RateLimited:
		return 429
	}
	return 500
}

// OutcomeNamed is the outcome String names; false for any other name.
func OutcomeNamed(name string) (Outcome, bool) {
	for o, n := range outcomeNames {
		if n == name {
			return Outcome(o), true
		}
	}
	return 0, false
}

// FromAttempt is the outcome of a request whose last attempt ended with
// the balancer outcome o (Cancelled, which no request ends with, counts
// as a connect failure).
func FromAttempt(o strategies.Outcome) Outcome {
	switch o {
	case strategies.OK:
		return OK
	case strategies.Error5xx:
		return Error5xx
	case strategies.Timeout:
		return Timeout
	case strategies.QueueFull:
		return QueueFull
	}
	return ConnectFailure
}

// RetryPolicy says which attempt outcomes the client's retry policy
// sends again (clients.retries.on), and where and when each retry goes
// (Step). Both worlds ask it after every failed attempt. The zero value
// retries nothing.
type RetryPolicy struct {
	on [NumOutcomes]bool
	// max is clients.retries.max.
	max int
	// route is where every retry goes unless same-host rules say
	// otherwise; once stops a request that has tried every endpoint.
	route RetryRoute
	once  bool
	// same, turnaround and redispatch are HAProxy's retry rules.
	same       bool
	turnaround time.Duration
	redispatch int
	// within is clients.retries.timeout.
	within time.Duration
}

// RetryRoute is where a retry goes.
type RetryRoute uint8

// Retry routes.
const (
	// ViaBalancer picks the retry's endpoint like any attempt's.
	ViaBalancer RetryRoute = iota
	// Untried picks among the endpoints the request has not tried
	// (Pool.PickAvoiding).
	Untried
	// SameHost sends the retry to the endpoint that failed (Pool.Take).
	SameHost
	// Elsewhere picks among every eligible endpoint but the one that
	// failed (HAProxy's redispatch: its algorithms skip the server to
	// avoid, hash ones walking on along the ring).
	Elsewhere
	// Stop sends no retry: the request has tried every endpoint once
	// (once_per_host) or is past clients.retries.timeout, and its last
	// failure stands.
	Stop
)

// RetryStep is the decision for one retry.
type RetryStep struct {
	// Route is where it goes.
	Route RetryRoute
	// Backoff says it waits the policy's exponential backoff
	// (strategies.Backoff); otherwise it waits Wait.
	Backoff bool
	// Wait is the fixed wait when Backoff is false.
	Wait time.Duration
}

// Avoids reports whether requests must remember the endpoints they tried
// (strategies.Avoid): other_host and once_per_host need them.
func (p RetryPolicy) Avoids() bool { return p.route == Untried }

// Strict reports whether a retry may go only to an endpoint the request
// has not tried (once_per_host), never back to a tried one.
func (p RetryPolicy) Strict() bool { return p.once }

// Step decides retry k (1 for the first) of a request that began elapsed
// ago, has tried `tried` distinct endpoints (with Avoids) and whose last
// attempt went to endpoint last of pool. It is HAProxy's
// stream_choose_redispatch and back_handle_st_cer for same_host, NGINX's
// tried set for once_per_host and its proxy_next_upstream_timeout for
// clients.retries.timeout, and the balancer with backoff otherwise.
func (p RetryPolicy) Step(k int, pool *strategies.Pool, last, tried int, elapsed time.Duration) RetryStep {
	switch {
	case p.within > 0 && elapsed >= p.within:
		return RetryStep{Route: Stop}
	case p.same && last < 0:
		return RetryStep{Route: Elsewhere, Wait: p.turnaround}
	case p.same:
		redispatch := p.redispatch != 0 && (!pool.Eligible(last) ||
			(p.redispatch > 0 && k%p.redispatch == 0) ||
			(p.redispatch < 0 && k%(p.max+1+p.redispatch) == 0) ||
			(!pool.Hashed() && pool.HealthyCount() > 1))
		if !redispatch {
			return RetryStep{Route: SameHost, Wait: p.turnaround}
		}
		// HAProxy waits its turn-around on a redispatch too when at most
		// one server is active.
		if pool.HealthyCount() <= 1 {
			return RetryStep{Route: Elsewhere, Wait: p.turnaround}
		}
		return RetryStep{Route: Elsewhere}
	case p.once && tried >= pool.Len():
		return RetryStep{Route: Stop}
	}
	return RetryStep{Route: p.route, Backoff: true}
}

// NewRetryPolicy reads clients.retries.on: the outcomes it names, or,
// when it is absent, server errors, connect failures, full queues (a
// 503) and per-try timeouts, as Envoy's retry_on: 5xx does (which covers
// resets and connect failures). No eligible endpoint and policy
// rejections are never retried.
func NewRetryPolicy(r workloads.Retries) RetryPolicy {
	p := RetryPolicy{max: r.Max, once: r.OncePerHost, same: r.SameHost, turnaround: r.Turnaround.D(), redispatch: r.Redispatch, within: r.Timeout.D()}
	if r.OtherHost || r.OncePerHost {
		p.route = Untried
	}
	if r.On == nil {
		for _, o := range []Outcome{Error5xx, ConnectFailure, QueueFull, Timeout} {
			p.on[o] = true
		}
		return p
	}
	for _, name := range r.On {
		if o, ok := OutcomeNamed(name); ok && o != OK && o != NoUpstream && o != AuthRejected && o != RateLimited {
			p.on[o] = true
		}
	}
	return p
}

// Retries reports whether an attempt that ended with o is sent again
// (within the retry count and budget).
func (p RetryPolicy) Retries(o Outcome) bool { return o < NumOutcomes && p.on[o] }

// Counter returns o's counter in out.
func (o Outcome) Counter(out *reports.Outcomes) *int64 {
	switch o {
	case OK:
		return &out.OK
	case Error5xx:
		return &out.Error5xx
	case Timeout:
		return &out.Timeout
	case QueueFull:
		return &out.QueueFull
	case NoUpstream:
		return &out.NoUpstream
	case AuthRejected:
		return &out.AuthRejected
	case RateLimited:
		return &out.RateLimited
	}
	return &out.ConnectFailure
}

// Series returns o's per-bucket counts in s.
func (o Outcome) Series(s *reports.Series) []int64 {
	switch o {
	case OK:
		return s.OK
	case Error5xx:
		return s.Error5xx
	case Timeout:
		return s.Timeout
	case QueueFull:
		return s.QueueFull
	case NoUpstream:
		return s.NoUpstream
	case AuthRejected:
		return s.AuthRejected
	case RateLimited:
		return s.RateLimited
	}
	return s.ConnectFailure
}
