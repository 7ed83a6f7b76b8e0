package strategies

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// Brooker, "Exponential Backoff And Jitter" (AWS Architecture Blog, 2015),
// full jitter: uniform in [0, min(cap, base·2^attempt)), so the mean is half
// the ceiling. Envoy's default max_interval is 10 × base.
func TestBackoffBoundsAndMean(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	const base = 25 * time.Millisecond
	cases := []struct {
		max     time.Duration
		retry   int
		ceiling time.Duration
	}{
		{0, 0, 25 * time.Millisecond},
		{0, 1, 50 * time.Millisecond},
		{0, 2, 100 * time.Millisecond},
		{0, 3, 200 * time.Millisecond},
		{0, 4, 250 * time.Millisecond}, // 400ms capped at 10 × base
		{0, 40, 250 * time.Millisecond},
		{0, 1000, 250 * time.Millisecond}, // no overflow
		{time.Second, 5, 800 * time.Millisecond},
		{time.Second, 6, time.Second}, // 1.6s capped
		{time.Second, 3, 200 * time.Millisecond},
		{10 * time.Millisecond, 0, 10 * time.Millisecond}, // max below base
	}
	for _, c := range cases {
		const n = 20000
		sum := 0.0
		for range n {
			d := Backoff(base, c.max, c.retry, r)
			if d < 0 || d >= c.ceiling {
				t.Fatalf("max %v retry %d: %v outside [0, %v)", c.max, c.retry, d, c.ceiling)
			}
			sum += float64(d)
		}
		// The mean of n uniforms has standard deviation ceiling/√(12n),
		// about 0.2% of the ceiling here: 1% is five of them.
		if mean := sum / n; math.Abs(mean/float64(c.ceiling)-0.5) > 0.01 {
			t.Errorf("max %v retry %d: mean %v, want about %v", c.max, c.retry, time.Duration(mean), c.ceiling/2)
		}
	}
	if Backoff(0, time.Second, 3, r) != 0 {
		t.Error("zero base means no wait")
	}
	huge := time.Duration(math.MaxInt64 / 4)
	for _, retry := range []int{0, 1, 2, 3, 62, 63, 64, -1} {
		if d := Backoff(huge, 0, retry, r); d < 0 {
			t.Errorf("huge base, retry %d: %v", retry, d)
		}
	}
}

// Envoy retry_budget: active retries stay below max(min_retry_concurrency,
// budget_percent × active requests).
func TestRetryBudgetAdmits(t *testing.T) {
	cases := []struct {
		pct    float64
		min    int
		active int
		want   int
	}{
		{20, 3, 100, 20},
		{20, 3, 10, 3}, // 2 < the floor of 3
		{20, 3, 0, 3},
		{50, 0, 7, 3}, // 3.5 truncated, as Envoy converts to an integer
		{50, 0, 1, 0},
		{0, 2, 1000, 2},
		{100, 1, 4, 4},
	}
	for _, c := range cases {
		b := &RetryBudget{Percent: c.pct, MinConcurrency: c.min}
		for range c.active {
			b.BeginRequest()
		}
		got := 0
		for b.TryRetry() {
			got++
			if got > 10000 {
				break
			}
		}
		if got != c.want || b.Allowed() != c.want || b.ActiveRetries() != c.want {
			t.Errorf("%v%% min %d with %d active: admitted %d, want %d", c.pct, c.min, c.active, got, c.want)
		}
		if c.want > 0 {
			b.EndRetry()
			if !b.TryRetry() || b.TryRetry() {
				t.Errorf("%v%% min %d: ending one retry frees exactly one slot", c.pct, c.min)
			}
		}
	}
	// Requests ending shrink the budget.
	b := &RetryBudget{Percent: 20, MinConcurrency: 1}
	for range 50 {
		b.BeginRequest()
	}
	for range 10 {
		b.TryRetry()
	}
	for range 25 {
		b.EndRequest()
	}
	if b.Active() != 25 || b.TryRetry() {
		t.Error("with 25 active, 10 retries exceed the 20% budget")
	}
	// No budget: always admit.
	var none RetryBudget
	for range 1000 {
		if !none.TryRetry() {
			t.Fatal("the zero RetryBudget must always admit")
		}
	}
	none.EndRequest() // never below zero
	if none.Active() != 0 {
		t.Fatal("EndRequest below zero")
	}
}

// Finagle RetryBudget(ttl, minRetriesPerSec, percentCanRetry): about
// percentCanRetry retries per deposit, plus minRetriesPerSec × ttl, with
// deposits and withdrawals expiring after ttl.
func TestTokenRetryBudget(t *testing.T) {
	b := NewTokenRetryBudget(10*time.Second, 0, 0.2)
	if b.TryWithdraw(0) {
		t.Fatal("no deposits, no reserve: no retry")
	}
	for range 100 {
		b.Deposit(time.Second)
	}
	if b.Balance(time.Second) != 20 {
		t.Fatalf("balance %d after 100 deposits at 20%%, want 20", b.Balance(time.Second))
	}
	got := 0
	for b.TryWithdraw(2 * time.Second) {
		got++
	}
	if got != 20 {
		t.Fatalf("withdrew %d, want 20", got)
	}
	// Deposits made at 1s are gone after a full ttl, withdrawals too.
	for range 50 {
		b.Deposit(5 * time.Second)
	}
	if n := b.Balance(5 * time.Second); n != 10 {
		t.Fatalf("balance %d, want 30 deposited − 20 withdrawn worth = 10", n)
	}
	// At 11s the deposits of 1s have left the window but the withdrawals
	// of 2s have not: 10 − 20 retries' worth, nothing to withdraw.
	if n := b.Balance(11*time.Second + time.Millisecond); n != 0 {
		t.Fatalf("after the 1s deposits expire: %d, want 0", n)
	}
	if n := b.Balance(12 * time.Second); n != 10 {
		t.Fatalf("after the 2s withdrawals expire too: %d, want 10 (50 at 5s)", n)
	}
	if n := b.Balance(16 * time.Second); n != 0 {
		t.Fatalf("after everything expires: %d", n)
	}

	// The reserve: minRetriesPerSec × ttl retries per window.
	r := NewTokenRetryBudget(2*time.Second, 3, 0)
	got = 0
	for r.TryWithdraw(0) {
		got++
	}
	if got != 6 {
		t.Fatalf("reserve allowed %d, want 3/s × 2s = 6", got)
	}
	if r.TryWithdraw(time.Second) || !r.TryWithdraw(2*time.Second) {
		t.Fatal("the reserve refills as withdrawals leave the window")
	}
	var zero TokenRetryBudget
	zero.Deposit(0)
	if zero.TryWithdraw(0) || zero.Balance(0) != 0 {
		t.Fatal("the zero TokenRetryBudget admits nothing")
	}
}
