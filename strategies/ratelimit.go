package strategies

// Rate limiters for the gateway's ratelimit stage.
//
// Sources:
//   - Leaky bucket: NGINX limit_req (ngx_http_limit_req_module.c,
//     ngx_http_limit_req_lookup and ngx_http_limit_req_account;
//     https://nginx.org/en/docs/http/ngx_http_limit_req_module.html).
//   - Token bucket: golang.org/x/time/rate (continuous refill); NGINX
//     limit_req (https://nginx.org/r/limit_req, "burst"); Envoy local rate
//     limit filter (token_bucket max_tokens / tokens_per_fill / fill_interval).
//   - Sliding window: J. Desgats, "How we built rate limiting capable of
//     scaling to millions of domains", Cloudflare blog, June 2017,
//     https://blog.cloudflare.com/counting-things-a-lot-of-different-things/
//   - Per-client state eviction: NGINX limit_req_zone, which drops states
//     that carry no information when it needs room and otherwise removes the
//     least recently used state (https://nginx.org/r/limit_req_zone).

import (
	"fmt"
	"math"
	"time"

	"golang.org/x/time/rate"
)

// Limiter decides whether a request may pass a rate limit. Allow is called
// once per request with the time since the run began and the client id
// (ignored unless the limiter is per client); it returns false when the
// request is to be rejected. An admitted request is counted, a rejected one
// is not.
//
// Like every strategy, a Limiter is a single-threaded state machine: the
// caller serializes calls. now should not decrease, but a slightly earlier
// now than the previous call's (live callers racing for the mutex) is
// tolerated: it counts in the latest window, and the token bucket sees no
// time pass.
type Limiter interface {
	Allow(now time.Duration, client uint64) bool
	// Admit is Allow with the time an admitted request must wait before
	// it goes on: a leaky bucket delays requests over the rate (NGINX
	// limit_req without nodelay); the other algorithms never do (0).
	Admit(now time.Duration, client uint64) (ok bool, wait time.Duration)
}

// Rate-limit algorithm names accepted by LimiterConfig.Algorithm.
const (
	// LimiterTokenBucket is a token bucket of Burst tokens refilled
	// continuously at Rate tokens per second; a request takes one token.
	LimiterTokenBucket = "token-bucket"
	// LimiterSlidingWindow is Cloudflare's approximated sliding window
	// counter: the previous fixed window's count weighted by the part of it
	// still inside a sliding window, plus the current window's count.
	LimiterSlidingWindow = "sliding-window"
	// LimiterFixedWindow counts requests in windows aligned to multiples of
	// Window and admits at most ceil(Rate×Window) per window.
	LimiterFixedWindow = "fixed-window"
	// LimiterLeakyBucket is NGINX's limit_req (ngx_http_limit_req_module):
	// each request adds one to an excess that drains at Rate; a request
	// that would take the excess above Burst is rejected, and an admitted
	// one waits (excess − Delay)/Rate unless NoDelay (or its excess is at
	// most Delay), so that admitted requests leave at the rate.
	LimiterLeakyBucket = "leaky-bucket"
)

// DefaultLimiterMaxClients is the default LimiterConfig.MaxClients: 65536
// client states, a few megabytes (NGINX's documented limit_req_zone example,
// 10m, holds about 80 thousand 128-byte states).
const DefaultLimiterMaxClients = 1 << 16

// LimiterConfig configures NewLimiter. The zero value of each optional
// field selects its default.
type LimiterConfig struct {
	// Algorithm is LimiterTokenBucket, LimiterSlidingWindow or
	// LimiterFixedWindow; "" means token-bucket.
	Algorithm string
	// Rate is the sustained limit in requests per second (> 0, finite).
	Rate float64
	// Burst is the token bucket's size: the most requests admitted at one
	// instant after a quiet spell. 0 means one window's worth,
	// max(1, ceil(Rate×Window)) — with the default Window, Rate tokens, as
	// in an Envoy bucket whose max_tokens equals tokens_per_fill with a 1s
	// fill_interval — so that with defaults all three algorithms admit the
	// same Rate×1s from idle. Ignored by the window algorithms.
	Burst int
	// Delay and NoDelay are the leaky bucket's NGINX delay= and nodelay:
	// the excess requests admitted without waiting (Delay), or all of them
	// (NoDelay). For the leaky bucket, Burst is NGINX's burst, whose
	// default is 0: no excess at all.
	Delay   int
	NoDelay bool
	// Window is the counting window of the window algorithms (0 means 1s).
	// The token bucket uses it only for its default Burst.
	Window time.Duration
	// PerClient keeps one limiter state per client id instead of one shared
	// state.
	PerClient bool
	// MaxClients caps the number of client states kept when PerClient is
	// set (0 means DefaultLimiterMaxClients). States that equal a fresh
	// state (a full bucket, windows that have rolled past) are forgotten
	// lazily, least recently seen first, so memory is O(clients active
	// within the last refill time or two windows). When the cap is still
	// reached, the least recently seen client is forgotten (as NGINX does)
	// and starts afresh if it returns: an error in its favour.
	MaxClients int
}

// NewLimiter validates cfg, applies the defaults and returns the limiter.
// Errors name the offending field as the scenario file spells it (rate,
// burst, window, algorithm, max_clients).
func NewLimiter(cfg LimiterConfig) (Limiter, error) {
	core, err := newLimiterCore(cfg)
	if err != nil {
		return nil, err
	}
	if !cfg.PerClient {
		g := &globalLimiter{core: core}
		core.reset(&g.state)
		return g, nil
	}
	maxClients := cfg.MaxClients
	if maxClients == 0 {
		maxClients = DefaultLimiterMaxClients
	}
	if maxClients < 0 || maxClients > math.MaxInt32 {
		return nil, fmt.Errorf("ratelimit: max_clients must be between 1 and %d, got %d", math.MaxInt32, cfg.MaxClients)
	}
	l := &clientLimiter{core: core, max: maxClients, idx: make(map[uint64]int32)}
	l.lru.init(0)
	return l, nil
}

// limiterEpoch is the fixed origin of the explicit times handed to
// x/time/rate: t = limiterEpoch + now. The Limiter there only ever looks at
// differences between such times, so virtual time works as well as the
// wall clock.
var limiterEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

type limiterKind uint8

const (
	kindTokenBucket limiterKind = iota
	kindSlidingWindow
	kindFixedWindow
	kindLeakyBucket
)

// limiterCore holds one algorithm's parameters and applies it to a state.
type limiterCore struct {
	kind   limiterKind
	rate   float64
	burst  int
	window time.Duration
	// limit is the per-window count for the window algorithms:
	// ceil(Rate×Window) computed with a 1e-9 slack, so that 0.3×10 (which
	// is 3.0000000000000004 in floating point) gives 3, not 4. Admitting
	// while count < Rate×Window with an integer count is the same as
	// count < limit. The admitted long-run rate is limit/Window: exactly
	// Rate when Rate×Window is a whole number, otherwise above Rate by less
	// than one request per window.
	limit int64
	// delay and noDelay are the leaky bucket's (LimiterConfig).
	delay   float64
	noDelay bool
	// horizon is an idle time after which a state is indistinguishable from
	// a fresh one: Burst/Rate (plus 1µs of slack) for the bucket, which is
	// full again by then; one window for the fixed window; two for the
	// sliding window, whose estimate reaches back one window.
	horizon time.Duration
}

// limiterState is one limiter's state: a bucket, two window counters, or
// a leaky bucket's excess.
type limiterState struct {
	bucket *rate.Limiter
	win    int64 // index of the window cur counts; prev counts win-1
	cur    int64
	prev   int64
	excess float64       // leaky bucket: requests above the rate
	last   time.Duration // leaky bucket: when excess was last set
	seen   bool          // leaky bucket: a request was admitted
}

func newLimiterCore(cfg LimiterConfig) (limiterCore, error) {
	var c limiterCore
	switch cfg.Algorithm {
	case "", LimiterTokenBucket:
		c.kind = kindTokenBucket
	case LimiterSlidingWindow:
		c.kind = kindSlidingWindow
	case LimiterFixedWindow:
		c.kind = kindFixedWindow
	case LimiterLeakyBucket:
		c.kind = kindLeakyBucket
	default:
		return c, fmt.Errorf("ratelimit: unknown algorithm %q (known: %s, %s, %s, %s)",
			cfg.Algorithm, LimiterFixedWindow, LimiterLeakyBucket, LimiterSlidingWindow, LimiterTokenBucket)
	}
	if cfg.Delay < 0 {
		return c, fmt.Errorf("ratelimit: delay must not be negative, got %d", cfg.Delay)
	}
	c.delay, c.noDelay = float64(cfg.Delay), cfg.NoDelay
	if !(cfg.Rate > 0) || math.IsInf(cfg.Rate, 0) {
		return c, fmt.Errorf("ratelimit: rate must be a positive, finite number of requests per second, got %v", cfg.Rate)
	}
	c.rate = cfg.Rate
	switch {
	case cfg.Window < 0:
		return c, fmt.Errorf("ratelimit: window must be positive, got %v", cfg.Window)
	case cfg.Window == 0:
		c.window = time.Second
	default:
		c.window = cfg.Window
	}
	perWindow := math.Ceil(cfg.Rate*c.window.Seconds() - 1e-9)
	if perWindow > 1<<53 {
		return c, fmt.Errorf("ratelimit: rate × window must be at most 2^53 requests, got %v", cfg.Rate*c.window.Seconds())
	}
	c.limit = max(1, int64(perWindow))
	switch {
	case cfg.Burst < 0:
		return c, fmt.Errorf("ratelimit: burst must be positive (0 for the default), got %d", cfg.Burst)
	case cfg.Burst == 0 && c.kind == kindLeakyBucket:
		c.burst = 0 // NGINX's burst default
	case cfg.Burst == 0:
		if c.limit > math.MaxInt32 {
			return c, fmt.Errorf("ratelimit: rate × window is too large for a default burst; set burst")
		}
		c.burst = int(c.limit)
	default:
		c.burst = cfg.Burst
	}
	switch c.kind {
	case kindTokenBucket:
		h := float64(c.burst)/c.rate*float64(time.Second) + float64(time.Microsecond)
		if h >= math.MaxInt64 {
			c.horizon = math.MaxInt64
		} else {
			c.horizon = time.Duration(h)
		}
	case kindLeakyBucket:
		h := float64(c.burst+1)/c.rate*float64(time.Second) + float64(time.Microsecond)
		if h >= math.MaxInt64 {
			c.horizon = math.MaxInt64
		} else {
			c.horizon = time.Duration(h)
		}
	case kindFixedWindow:
		c.horizon = c.window
	case kindSlidingWindow:
		c.horizon = 2 * c.window
		if c.horizon < 0 {
			c.horizon = math.MaxInt64
		}
	}
	return c, nil
}

// reset makes s a fresh state: a full bucket, empty windows. A bucket that
// is already full (idle for horizon) is kept: it behaves exactly like a new
// one, and keeping it saves an allocation.
func (c *limiterCore) reset(s *limiterState) {
	s.win, s.cur, s.prev = 0, 0, 0
	s.excess, s.last, s.seen = 0, 0, false
	if c.kind == kindTokenBucket && s.bucket == nil {
		s.bucket = rate.NewLimiter(rate.Limit(c.rate), c.burst)
	}
}

// windowIndex is floor(now / window).
func windowIndex(now, window time.Duration) int64 {
	if now < 0 {
		return int64((now - window + 1) / window)
	}
	return int64(now / window)
}

// admit applies the algorithm to state s at time now, with the leaky
// bucket's wait.
func (c *limiterCore) admit(now time.Duration, s *limiterState) (bool, time.Duration) {
	if c.kind != kindLeakyBucket {
		return c.allow(now, s), 0
	}
	// ngx_http_limit_req_lookup: excess = excess − rate·elapsed + 1,
	// floored at 0 (0 for a new state); over burst, reject and keep the
	// state; else account.
	excess := 0.0
	if s.seen {
		elapsed := max(now-s.last, 0)
		excess = max(0, s.excess-c.rate*elapsed.Seconds()+1)
	}
	if excess > float64(c.burst)+1e-9 {
		return false, 0
	}
	s.excess, s.seen = excess, true
	s.last = max(s.last, now)
	// ngx_http_limit_req_account: no delay up to delay= excess requests.
	if c.noDelay || excess <= c.delay {
		return true, 0
	}
	return true, time.Duration((excess - c.delay) / c.rate * float64(time.Second))
}

// allow applies the algorithm to state s at time now.
func (c *limiterCore) allow(now time.Duration, s *limiterState) bool {
	if c.kind == kindLeakyBucket {
		ok, _ := c.admit(now, s)
		return ok
	}
	if c.kind == kindTokenBucket {
		// AllowN with explicit time: advance the bucket to t, take a token
		// if one is there. x/time/rate refills continuously (fractional
		// tokens), unlike Envoy's discrete fill_interval.
		return s.bucket.AllowN(limiterEpoch.Add(now), 1)
	}
	w := windowIndex(now, c.window)
	switch {
	case w == s.win:
	case w == s.win+1:
		s.win, s.prev, s.cur = w, s.cur, 0
	case w > s.win+1:
		s.win, s.prev, s.cur = w, 0, 0
	default: // time went backwards: count in the latest window, at its start
		w, now = s.win, time.Duration(s.win)*c.window
	}
	if c.kind == kindFixedWindow {
		if s.cur < c.limit {
			s.cur++
			return true
		}
		return false
	}
	// Cloudflare's estimate of the count over the sliding window
	// (now-Window, now]: the previous window's requests are assumed to have
	// been spread evenly, so the fraction 1 - elapsed/Window of them is
	// still inside it.
	elapsed := float64(now-time.Duration(w)*c.window) / float64(c.window)
	if float64(s.prev)*(1-elapsed)+float64(s.cur) < float64(c.limit) {
		s.cur++
		return true
	}
	return false
}

var (
	_ Limiter = (*globalLimiter)(nil)
	_ Limiter = (*clientLimiter)(nil)
)

// globalLimiter is one state shared by all clients.
type globalLimiter struct {
	core  limiterCore
	state limiterState
}

// Allow implements Limiter; client is ignored.
func (g *globalLimiter) Allow(now time.Duration, _ uint64) bool {
	return g.core.allow(now, &g.state)
}

// Admit implements Limiter; client is ignored.
func (g *globalLimiter) Admit(now time.Duration, _ uint64) (bool, time.Duration) {
	return g.core.admit(now, &g.state)
}

// clientEntry is one client's state.
type clientEntry struct {
	id    uint64
	last  time.Duration // latest call
	state limiterState
}

// clientLimiter keeps one state per client id in a slice of entries with a
// recency list by index over it (lruList), ordered by last call (front =
// most recent), and a map from client id to entry. Forgotten entries go to
// the list's free list and are reused, so once the number of clients stops
// growing Allow does not allocate.
type clientLimiter struct {
	core    limiterCore
	max     int
	idx     map[uint64]int32
	ents    []clientEntry
	lru     lruList
	evicted int64 // states forgotten while not yet fresh (cap reached)
}

// Allow implements Limiter.
func (l *clientLimiter) Allow(now time.Duration, client uint64) bool {
	return l.core.allow(now, l.state(now, client))
}

// Admit implements Limiter.
func (l *clientLimiter) Admit(now time.Duration, client uint64) (bool, time.Duration) {
	return l.core.admit(now, l.state(now, client))
}

// state returns client's state, made the most recently seen.
func (l *clientLimiter) state(now time.Duration, client uint64) *limiterState {
	l.expire(now)
	i, ok := l.idx[client]
	if ok {
		l.lru.unlink(i)
		l.ents[i].last = max(l.ents[i].last, now)
	} else {
		i = l.take()
		l.ents[i].id = client
		l.ents[i].last = now
		l.idx[client] = i
	}
	e := &l.ents[i]
	l.lru.pushFront(i)
	return &e.state
}

// expire forgets the least recently seen clients that have been idle for
// at least the horizon: their state is fresh again, so forgetting it changes
// no decision. Each entry is forgotten at most once per insertion, so the
// cost is amortized O(1) per call.
func (l *clientLimiter) expire(now time.Duration) {
	for i := l.lru.back(); i >= 0 && now-l.ents[i].last >= l.core.horizon; i = l.lru.back() {
		l.lru.release(i)
		delete(l.idx, l.ents[i].id)
	}
}

// take returns a fresh, unlinked entry: a forgotten one, a new one, or,
// when MaxClients states are held, the least recently seen one.
func (l *clientLimiter) take() int32 {
	if i := l.lru.reuse(); i >= 0 {
		l.core.reset(&l.ents[i].state) // its bucket, if any, is full
		return i
	}
	if l.lru.len() < l.max {
		l.ents = append(l.ents, clientEntry{})
		i := l.lru.grow()
		l.core.reset(&l.ents[i].state)
		return i
	}
	i := l.lru.back()
	l.lru.unlink(i)
	delete(l.idx, l.ents[i].id)
	l.evicted++
	l.ents[i].state.bucket = nil // not full: a new bucket (allocates)
	l.core.reset(&l.ents[i].state)
	return i
}
