package gateway

import (
	"errors"
	"fmt"
	"hash/fnv"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/edgelab/edgelab/engine"
	"github.com/edgelab/edgelab/live/wire"
	"github.com/edgelab/edgelab/reports"
	"github.com/edgelab/edgelab/workloads"
)

// StageOptions configures one gateway instance's stages.
type StageOptions struct {
	// Instance is the gateway instance number (for request ids).
	Instance int
	// Seed and Rep are the run's seed and replication; an Auth must have
	// been made with the same ones.
	Seed uint64
	Rep  int
	// Start is the run's time origin: caches and window limiters see
	// now = time.Since(Start).
	Start time.Time
	// Warmup excludes requests that enter the stages before Start+Warmup
	// from Stats and CacheStats, as the simulator counts measured requests
	// only (0 = count every request).
	Warmup time.Duration
	// Auth holds the JWT keys, shared by all instances and the attacker;
	// required when the gateway has an auth stage, nil otherwise.
	Auth *Auth
	// Limits holds the ratelimit stages' limiters. Pass one RateLimits to
	// every instance for limits shared by the whole gateway tier, as the
	// simulator has them. nil gives this instance limiters of its own, so
	// that with N instances the tier admits up to N times the rate.
	Limits *RateLimits
	// AccessLog is the file the log stage writes to, created (truncated)
	// by NewStages; "" discards the lines (they are still formatted, so
	// the stage costs what it would).
	AccessLog string
}

// Stages is one gateway instance's pipeline: the scenario's stages as HTTP
// middleware in front of the proxy. Like the simulator's, the stages run
// in order and stop at the first that answers: an auth rejection (401), a
// rate-limit rejection (429) or a cache hit. The log stage writes one line
// for every request the instance answers, wherever it is listed.
//
// A Stages is safe for concurrent use.
type Stages struct {
	instance int
	start    time.Time
	warmup   time.Duration
	steps    []*step
	cache    *respCache
	cacheAt  int // index of the cache stage in steps, -1 without one
	log      *accessLog
	logAt    int // index of the log stage, -1 without one
	ids      atomic.Uint64
	hits     atomic.Int64
	misses   atomic.Int64
}

// step is one stage of the pipeline and its measured work.
type step struct {
	typ  string
	run  func(w http.ResponseWriter, r *http.Request, rs *reqState) (answered bool)
	reqs atomic.Int64 // measured requests that reached the stage
	ns   atomic.Int64 // time they spent in it
}

// reqState is one request's passage through the pipeline.
type reqState struct {
	now      time.Duration // time.Since(start) on entry
	hold     time.Time     // a leaky bucket's delay: go on at this time
	measured bool
	cacheID  cacheID
	store    bool // a cacheable miss: store the answer
	client   uint64
	clientOK bool
}

// NewStages builds one gateway instance's stages from g (nil or without
// stages: Wrap returns next unchanged).
func NewStages(g *workloads.Gateway, opt StageOptions) (*Stages, error) {
	s := &Stages{instance: opt.Instance, start: opt.Start, warmup: opt.Warmup, cacheAt: -1, logAt: -1}
	if s.start.IsZero() {
		s.start = time.Now()
	}
	if g == nil {
		return s, nil
	}
	limits := opt.Limits
	for si := range g.Stages {
		st := &g.Stages[si]
		p := fmt.Sprintf("gateway.stages[%d]", si)
		sp := &step{typ: st.Type}
		switch st.Type {
		case workloads.StageAuth:
			if err := checkAuth(opt, st); err != nil {
				return nil, fmt.Errorf("%s: %w", p, err)
			}
			sp.run = authStage(opt.Auth)
		case workloads.StageRateLimit:
			if limits == nil {
				var err error
				if limits, err = NewRateLimits(g, s.start); err != nil {
					return nil, err
				}
			}
			lim, err := limits.stage(si, opt.Instance, st)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", p, err)
			}
			sp.run = lim.run
		case workloads.StageCache:
			s.cache = newRespCache(st.Size, st.TTL.D())
			s.cacheAt = len(s.steps)
			sp.run = s.cacheLookup
		case workloads.StageTransform:
			sp.run = newTransform(opt.Instance, st.Headers, &s.ids).run
		case workloads.StageLog:
			if s.log == nil {
				l, err := newAccessLog(opt.AccessLog, opt.Instance)
				if err != nil {
					return nil, err
				}
				s.log = l
			}
			s.logAt = len(s.steps)
			sp.run = func(http.ResponseWriter, *http.Request, *reqState) bool { return false }
		default:
			return nil, fmt.Errorf("%s: unknown stage type %q", p, st.Type)
		}
		s.steps = append(s.steps, sp)
	}
	return s, nil
}

// checkAuth checks that opt.Auth fits the auth stage st.
func checkAuth(opt StageOptions, st *workloads.Stage) error {
	a := opt.Auth
	alg := st.Alg
	if alg == "" {
		alg = workloads.AuthHS256
	}
	switch {
	case a == nil:
		return errors.New("an auth stage needs StageOptions.Auth (the keys the attacker's tokens are signed with)")
	case a.algorithm() != alg:
		return fmt.Errorf("the auth stage verifies %s but the keys are for %s", alg, a.algorithm())
	case a.key != engine.Key(opt.Seed, opt.Rep, "auth"):
		return errors.New("the auth keys were made for another seed or replication")
	case a.rejectShare() != st.Reject:
		return fmt.Errorf("the auth keys reject %v of tokens but the stage says %v", a.rejectShare(), st.Reject)
	}
	return nil
}

// Wrap returns next behind the stages.
func (s *Stages) Wrap(next http.Handler) http.Handler {
	if len(s.steps) == 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.serve(next, w, r)
	})
}

func (s *Stages) serve(next http.Handler, w http.ResponseWriter, r *http.Request) {
	t0 := time.Now()
	rs := reqState{now: t0.Sub(s.start)}
	rs.measured = rs.now >= s.warmup
	if s.log != nil {
		rec := &statusRecorder{ResponseWriter: w}
		w = rec
		// Deferred, so that a request whose handler aborts (the proxy
		// panics with http.ErrAbortHandler when the client goes away
		// mid-answer) is logged too.
		defer func() {
			tl := time.Now()
			s.log.write(r, rec, tl.Sub(t0))
			if rs.measured {
				s.steps[s.logAt].ns.Add(int64(time.Since(tl)))
			}
		}()
	}
	answered := false
	t := t0
	for _, sp := range s.steps {
		answered = sp.run(w, r, &rs)
		t1 := time.Now()
		if rs.measured {
			sp.reqs.Add(1)
			sp.ns.Add(int64(t1.Sub(t)))
		}
		t = t1
		if answered {
			break
		}
	}
	if !answered && !rs.hold.IsZero() {
		// A leaky bucket delays the request (NGINX limit_req): the gateway
		// worker is free meanwhile, as the simulator's is.
		releaseSlot(r.Context())
		tm := time.NewTimer(time.Until(rs.hold))
		select {
		case <-tm.C:
		case <-r.Context().Done():
			tm.Stop()
			return
		}
	}
	if !answered {
		if rs.store {
			cw := &captureWriter{ResponseWriter: w}
			next.ServeHTTP(cw, r)
			ts := time.Now()
			s.cache.store(time.Since(s.start), rs.cacheID, cw)
			if rs.measured {
				s.steps[s.cacheAt].ns.Add(int64(time.Since(ts)))
			}
		} else {
			next.ServeHTTP(w, r)
		}
	}
	if rec, ok := w.(*statusRecorder); ok {
		rec.done = true
	}
}

// clientID is the request's client identity: the X-Edgelab-Client number,
// or, without one, a hash of the peer's IP address (with the top bit set,
// so that it never equals a lab client number).
func (rs *reqState) clientID(r *http.Request) uint64 {
	if rs.clientOK {
		return rs.client
	}
	rs.clientOK = true
	if c, err := wire.ParseNumber(r.Header.Get(wire.HeaderClient), 64); err == nil {
		rs.client = c
		return c
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	h := fnv.New64a()
	_, _ = h.Write([]byte(host))
	rs.client = h.Sum64() | 1<<63
	return rs.client
}

// Stats returns each stage's measured requests (those that reached it)
// and cost_ms, the mean wall time one of them spent in the stage's own
// work (not in later stages or upstream). A cache stage's time includes
// storing answers; a log stage's includes writing every line, also those
// of requests answered before it. LatencyShare is left to the caller.
func (s *Stages) Stats() []reports.Stage {
	out := make([]reports.Stage, len(s.steps))
	for i, sp := range s.steps {
		n := sp.reqs.Load()
		out[i] = reports.Stage{Type: sp.typ, Requests: n}
		if n > 0 {
			out[i].CostMS = float64(sp.ns.Load()) / float64(n) / 1e6
		}
	}
	return out
}

// CacheStats returns the cache stage's measured hits and misses (GET
// requests that reached it; others bypass the cache).
func (s *Stages) CacheStats() (hits, misses int64) {
	return s.hits.Load(), s.misses.Load()
}

// Close flushes and closes the access log. Requests served after Close
// are not logged.
func (s *Stages) Close() error {
	if s.log == nil {
		return nil
	}
	return s.log.close()
}

// statusRecorder notes the status and size of an answer for the access
// log.
type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int64
	done   bool // the handlers returned (false: aborted)
}

// WriteHeader implements http.ResponseWriter.
func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 && code >= 200 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

// Write implements http.ResponseWriter.
func (r *statusRecorder) Write(p []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(p)
	r.bytes += int64(n)
	return n, err
}

// Flush implements http.Flusher.
func (r *statusRecorder) Flush() {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	_ = http.NewResponseController(r.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
