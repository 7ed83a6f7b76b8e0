package plan

import (
	"fmt"

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
// sends again (clients.retries.on). Both worlds ask it after every failed
// attempt. The zero value retries nothing.
type RetryPolicy struct {
	on [NumOutcomes]bool
}

// NewRetryPolicy reads clients.retries.on: the outcomes it names, or,
// when it is absent, server errors, connect failures, full queues (a
// 503) and per-try timeouts, as Envoy's retry_on: 5xx does (which covers
// resets and connect failures). No eligible endpoint and policy
// rejections are never retried.
func NewRetryPolicy(r workloads.Retries) RetryPolicy {
	var p RetryPolicy
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
