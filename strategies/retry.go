package strategies

import (
	"math/rand/v2"
	"time"
)

// Backoff returns the wait before retry number retry (0 for the first
// retry, 1 for the second, ...) with "full jitter": uniform in
// [0, min(max, base·2^retry)). This is the FullJitter policy of Marc
// Brooker, "Exponential Backoff And Jitter", AWS Architecture Blog, 2015
// (sleep = random_between(0, min(cap, base · 2^attempt))), which spreads
// competing clients out best for the least total work.
//
// max ≤ 0 means 10 × base, Envoy's default max_interval
// (config.core.v3.BackoffStrategy). Envoy's own router back-off is also
// fully jittered but draws from [0, (2^N − 1)·base) for retry N = 1, 2, ...
// (0–24ms, 0–74ms, 0–174ms with its default 25ms base); Brooker's form used
// here starts at [0, base) and doubles. base ≤ 0 gives 0. base·2^retry is
// computed without overflow: once it would exceed max, max is the cap.
// r must not be nil.
func Backoff(base, max time.Duration, retry int, r *rand.Rand) time.Duration {
	if base <= 0 {
		return 0
	}
	if max <= 0 {
		max = never
		if base <= never/10 {
			max = 10 * base
		}
	}
	ceiling := max
	if retry < 0 {
		retry = 0
	}
	if retry < 63 && base <= max>>uint(retry) {
		ceiling = base << uint(retry)
	}
	return time.Duration(r.Int64N(int64(ceiling)))
}

// RetryBudget limits concurrent retries to a share of the requests in
// progress, as Envoy's retry budget does (config.cluster.v3.CircuitBreakers
// .Thresholds.RetryBudget, "Retry budgets"): a retry is admitted only while
// the active retries are fewer than max(MinConcurrency, Percent/100 × active
// requests), the product truncated to an integer as Envoy does. Envoy's
// defaults are budget_percent 20 and min_retry_concurrency 3; the scenario
// layer sets ours (note that clients.retries.budget in a scenario is a
// fraction, 0.2, while Percent is a percentage, 20).
//
// Callers call BeginRequest when a client request starts and EndRequest
// when it is over (after all its attempts), TryRetry before sending a retry
// and EndRetry when an admitted retry attempt finishes. Envoy counts active
// and pending upstream requests, retries included; a caller that wants
// exactly that calls BeginRequest/EndRequest around every attempt too.
//
// The zero value (Percent 0 and MinConcurrency 0) is no budget: TryRetry
// always admits (and still counts the retry).
//
// Unlike Finagle's RetryBudget (see TokenRetryBudget), which is a token
// bucket over a time window (every request deposits, every retry withdraws,
// deposits expire after a TTL, plus a floor of retries per second), this
// budget has no memory and no time: it compares two gauges at the moment of
// the retry, so it bounds retry concurrency, not the retry rate, and it
// relaxes as soon as load drops.
type RetryBudget struct {
	// Percent is the share of active requests that may be retries at
	// once, in percent (Envoy budget_percent).
	Percent float64
	// MinConcurrency is the number of concurrent retries always allowed
	// whatever the load (Envoy min_retry_concurrency).
	MinConcurrency int

	active  int
	retries int
}

// BeginRequest counts a request as active.
func (b *RetryBudget) BeginRequest() { b.active++ }

// EndRequest stops counting a request as active.
func (b *RetryBudget) EndRequest() {
	if b.active > 0 {
		b.active--
	}
}

// TryRetry reports whether a retry may be sent now and, if so, counts it
// as an active retry until EndRetry.
func (b *RetryBudget) TryRetry() bool {
	if b.Percent > 0 || b.MinConcurrency > 0 {
		if b.retries >= b.Allowed() {
			return false
		}
	}
	b.retries++
	return true
}

// EndRetry stops counting an admitted retry attempt as active.
func (b *RetryBudget) EndRetry() {
	if b.retries > 0 {
		b.retries--
	}
}

// Allowed is the number of concurrent retries the budget allows now:
// max(MinConcurrency, ⌊Percent/100 × active requests⌋). Without a budget it
// is meaningless (TryRetry always admits).
func (b *RetryBudget) Allowed() int {
	return max(b.MinConcurrency, int(b.Percent/100*float64(b.active)))
}

// Active is the number of active requests.
func (b *RetryBudget) Active() int { return b.active }

// ActiveRetries is the number of admitted retries not yet ended.
func (b *RetryBudget) ActiveRetries() int { return b.retries }

// TokenRetryBudget is Finagle's RetryBudget (com.twitter.finagle.service
// .RetryBudget(ttl, minRetriesPerSec, percentCanRetry)) with time passed as
// an argument: every request deposits into a token bucket, every retry
// withdraws from it, and both expire after about TTL, so over any TTL
// window the retries admitted are about PercentCanRetry × the requests made
// plus a reserve of MinRetriesPerSec × TTL that never runs out for good.
// Finagle's defaults are ttl 10s, minRetriesPerSec 10, percentCanRetry 0.2
// (a fraction here, as in Finagle: 0.2 means one retry per five requests).
//
// Deposits and withdrawals are kept in ten slices of TTL/10 each, as a
// sliding window; an entry leaves the window between 0.9 × TTL and TTL after
// it was made. Amounts are integers (one request deposits 1000 units, one
// retry costs 1000/PercentCanRetry), so sums never drift.
//
// Use NewTokenRetryBudget; the zero value admits nothing.
type TokenRetryBudget struct {
	ttl      time.Duration
	slice    time.Duration
	deposit  int64 // units per Deposit
	withdraw int64 // units per retry
	reserve  int64 // units always present: minRetriesPerSec × ttl retries
	sums     [tokenSlices]int64
	epochs   [tokenSlices]int64
}

const (
	tokenSlices = 10
	tokenScale  = 1000
)

// NewTokenRetryBudget returns a Finagle-style retry budget. ttl is clamped
// to [1s, 60s] as Finagle requires; minRetriesPerSec < 0 counts as 0;
// percentCanRetry is clamped to [0, 1000] (0: only the reserve).
func NewTokenRetryBudget(ttl time.Duration, minRetriesPerSec int, percentCanRetry float64) *TokenRetryBudget {
	ttl = min(max(ttl, time.Second), time.Minute)
	minRetriesPerSec = max(minRetriesPerSec, 0)
	percentCanRetry = min(max(percentCanRetry, 0), 1000)
	b := &TokenRetryBudget{ttl: ttl, slice: ttl / tokenSlices}
	if percentCanRetry == 0 {
		b.deposit, b.withdraw = 0, tokenScale
	} else {
		b.deposit = tokenScale
		b.withdraw = max(int64(tokenScale/percentCanRetry), 1)
	}
	b.reserve = int64(minRetriesPerSec) * int64(ttl/time.Second) * b.withdraw
	for i := range b.epochs {
		b.epochs[i] = -1 << 62
	}
	return b
}

// Deposit records one request at time now.
func (b *TokenRetryBudget) Deposit(now time.Duration) {
	if b.withdraw == 0 {
		return
	}
	b.add(now, b.deposit)
}

// TryWithdraw reports whether a retry may be sent at time now and, if so,
// takes its cost from the budget.
func (b *TokenRetryBudget) TryWithdraw(now time.Duration) bool {
	if b.withdraw == 0 || b.units(now) < b.withdraw {
		return false
	}
	b.add(now, -b.withdraw)
	return true
}

// Balance is the number of retries the budget would admit at time now.
func (b *TokenRetryBudget) Balance(now time.Duration) int {
	if b.withdraw == 0 {
		return 0
	}
	return int(max(b.units(now), 0) / b.withdraw)
}

func (b *TokenRetryBudget) epoch(now time.Duration) int64 {
	return int64(max(now, 0) / b.slice)
}

func (b *TokenRetryBudget) add(now time.Duration, units int64) {
	e := b.epoch(now)
	k := e % tokenSlices
	if b.epochs[k] != e {
		b.epochs[k], b.sums[k] = e, 0
	}
	b.sums[k] += units
}

func (b *TokenRetryBudget) units(now time.Duration) int64 {
	e := b.epoch(now)
	total := b.reserve
	for k := range b.sums {
		if d := e - b.epochs[k]; d >= 0 && d < tokenSlices {
			total += b.sums[k]
		}
	}
	return total
}
