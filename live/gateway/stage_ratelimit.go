package gateway

import (
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/edgelab/edgelab/plan"
	"github.com/edgelab/edgelab/strategies"
	"github.com/edgelab/edgelab/workloads"
)

// RateLimits holds the limiters of a gateway's ratelimit stages, one per
// stage for every gateway instance to share (the limit, global or per
// client, applies to the whole tier) or, with scope: instance, one per
// instance, as the simulator's (plan.Limiters). Each limiter is a strategies.Limiter (the simulator's
// code) called under its own mutex with now = time.Since(start) on the
// monotonic clock. The token bucket is golang.org/x/time/rate's Limiter,
// advanced to that wall-clock time; the sliding and fixed windows are the
// strategies package's counters. Per-client limiters keep at most
// strategies.DefaultLimiterMaxClients client states (least recently seen
// forgotten first).
//
// A RateLimits is safe for concurrent use.
type RateLimits struct {
	start time.Time
	lims  [][]*sharedLimiter // by stage index, then instance (one for the tier); nil for other stages
}

// sharedLimiter is one stage's limiter behind a mutex.
type sharedLimiter struct {
	start time.Time
	mu    sync.Mutex
	lim   strategies.Limiter
	per   bool // per client
}

// NewRateLimits creates the limiters of g's ratelimit stages, with time
// origin start (the run's). g may be nil.
func NewRateLimits(g *workloads.Gateway, start time.Time) (*RateLimits, error) {
	rl := &RateLimits{start: start}
	if g == nil {
		return rl, nil
	}
	lims, err := plan.Limiters(g)
	if err != nil {
		return nil, err
	}
	rl.lims = make([][]*sharedLimiter, len(g.Stages))
	for si, stage := range lims {
		for _, lim := range stage {
			rl.lims[si] = append(rl.lims[si], &sharedLimiter{start: start, lim: lim, per: g.Stages[si].Per == "client"})
		}
	}
	return rl, nil
}

// stage returns the limiter of stage si that gateway instance counts in,
// checking that it was made for st.
func (rl *RateLimits) stage(si, instance int, st *workloads.Stage) (*sharedLimiter, error) {
	if si >= len(rl.lims) || len(rl.lims[si]) == 0 {
		return nil, fmt.Errorf("the shared rate limits have no limiter for this %s stage (made for another gateway?)", st.Type)
	}
	ls := rl.lims[si]
	if ls[0].per != (st.Per == "client") || (len(ls) > 1 && instance >= len(ls)) {
		return nil, fmt.Errorf("the shared rate limits were made for another gateway")
	}
	if len(ls) == 1 {
		return ls[0], nil
	}
	return ls[instance], nil
}

// admit reports whether the limiter admits a request from client now,
// and how long a leaky bucket makes it wait.
func (l *sharedLimiter) admit(client uint64) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	// now is read under the lock, so that calls see it in order.
	return l.lim.Admit(time.Since(l.start), client)
}

// run is the ratelimit stage: a request over the limit is answered 429
// with X-Edgelab-Outcome: rate_limited.
func (l *sharedLimiter) run(w http.ResponseWriter, r *http.Request, rs *reqState) bool {
	var client uint64
	if l.per {
		client = rs.clientID(r)
	}
	ok, wait := l.admit(client)
	if ok {
		if wait > 0 {
			rs.hold = time.Now().Add(wait)
		}
		return false
	}
	w.Header().Set("Retry-After", "1")
	refuse(w, http.StatusTooManyRequests, plan.RateLimited.String(), "rate limited")
	return true
}
