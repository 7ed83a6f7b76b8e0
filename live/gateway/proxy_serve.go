package gateway

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"syscall"
	"time"

	"github.com/edgelab/edgelab/live/wire"
	"github.com/edgelab/edgelab/plan"
	"github.com/edgelab/edgelab/strategies"
)

// Causes of the contexts the proxy cancels, to tell its own decisions
// apart from the client's.
var (
	errTimeout  = errors.New("request timeout (clients.timeout)")
	errPerTry   = errors.New("per-try timeout (clients.retries.per_try_timeout)")
	errLost     = errors.New("attempt abandoned: another attempt answered or the request ended")
	errTooLarge = errors.New("upstream answer too large")
	errClosed   = errors.New("gateway closed")
)

// noCancel is the cancel of an attempt run in its request's goroutine:
// it ends before anything could abandon it.
func noCancel(error) {}

// outcomeNoUpstream is the outcome name of a request the pool had no endpoint
// for (Envoy's "no healthy upstream").
var outcomeNoUpstream = plan.NoUpstream.String()

// attempt is one upstream try of a request.
type attempt struct {
	no     int // attempt number within the request (X-Edgelab-Attempt)
	local  int // endpoint index in the pool
	ui     int // upstream index
	sent   time.Duration
	retry  bool // admitted by the retry budget
	cancel context.CancelCauseFunc
}

// result is what became of an attempt.
type result struct {
	a       *attempt
	outcome strategies.Outcome
	status  int // 0: no usable answer (err says why)
	header  http.Header
	body    []byte
	err     error
}

// final is a request's fate.
type final struct {
	outcome string  // results.json outcome name; "ok" when it succeeded
	ans     *result // the upstream answer to forward, if any
	tries   int
}

// exchange is one client request's life at the proxy: the simulator's
// request with its attempts, timers and retry state, run by the request's
// goroutine. Only that goroutine touches it, except the immutable fields
// the attempts read.
type exchange struct {
	p       *proxy
	ctx     context.Context // the request's, with the overall deadline
	pool    *balancerPool
	req     strategies.Request
	method  string
	uri     string // origin-form request URI
	header  http.Header
	body    []byte
	results chan result // attempts' results when they run apart (hedging), else nil

	// ready is the result of the attempt send ran in the request's own
	// goroutine (no hedging), when hasReady.
	ready    result
	hasReady bool

	began                  time.Time // when the gateway received the request
	live                   []*attempt
	tried                  strategies.Avoid // endpoints tried (other_host, once_per_host)
	retryTo                plan.RetryRoute  // where a pending retry goes (same_host)
	retryAt                int              // the endpoint that failed, for retryTo
	tries, retries, hedges int
	pending                bool // a budgeted retry waits out its backoff
	hedgeT, retryT         *time.Timer
	hedgeC, retryC         <-chan time.Time
}

// ServeHTTP implements http.Handler: it balances the request over the
// upstreams with client-side resilience and forwards the answer.
func (p *proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !p.enter() {
		ownReply(w, r, http.StatusServiceUnavailable, "", 0, "gateway is shutting down")
		return
	}
	defer p.wg.Done()
	if msg := edgeCheck(r); msg != "" {
		http.Error(w, msg, http.StatusBadRequest)
		return
	}
	arrival, behind := r.Context().Value(arrivalKey{}).(time.Time)
	if !behind {
		// Used on its own, not behind a Gateway: count the request here.
		arrival = time.Now()
		p.countRequest()
	}
	var body []byte
	if r.Body != nil && r.Body != http.NoBody {
		b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, p.maxBody))
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
				return
			}
			http.Error(w, "cannot read the request body", http.StatusBadRequest)
			return
		}
		body = b
	}
	pi := p.route(r.URL.Path)
	if pi < 0 {
		ownReply(w, r, http.StatusNotFound, outcomeNoUpstream, 0, "no route for this path")
		return
	}
	// The gateway worker is done with the request (its stages ran): as in
	// the simulator, the upstream exchange holds no gateway worker.
	releaseSlot(r.Context())
	ctx := r.Context()
	if p.keep {
		// balancer.ignore_client_abort: the request goes on when its
		// client gives up (the simulator's orphan); only Close ends it.
		ctx = context.WithoutCancel(ctx)
	}
	if !behind || p.keep {
		// Close cancels the requests in progress, whoever serves the
		// proxy. (Behind a Gateway, the server's base context does: the
		// Gateway cancels it before it closes the proxy; a request kept
		// apart from its client still listens to it.)
		c, cancel := context.WithCancelCause(ctx)
		defer cancel(nil)
		defer context.AfterFunc(p.stop, func() { cancel(errClosed) })()
		if base, ok := r.Context().Value(baseKey{}).(context.Context); ok && p.keep {
			defer context.AfterFunc(base, func() { cancel(errClosed) })()
		}
		ctx = c
	}
	if p.timeout > 0 && !p.keep {
		var cancelT context.CancelFunc
		ctx, cancelT = context.WithDeadlineCause(ctx, arrival.Add(p.timeout), errTimeout)
		defer cancelT()
	}
	x := &exchange{
		p:      p,
		ctx:    ctx,
		pool:   p.pools[pi],
		req:    strategies.Request{Key: wire.Number(r.Header.Get(wire.HeaderKey)), Client: wire.Number(r.Header.Get(wire.HeaderClient))},
		method: r.Method,
		uri:    r.URL.RequestURI(),
		header: outboundHeader(r),
		body:   body,
		began:  arrival,
	}
	if p.hedging() {
		x.results = make(chan result, 1+max(p.retry.Max, 0)+p.hedge.Max)
	}
	p.reply(w, r, x.run())
}

// hedging reports whether requests send hedged attempts: then attempts
// run in goroutines of their own, else in the request's.
func (p *proxy) hedging() bool { return p.hedge.Max > 0 && p.hedge.After > 0 }

// run drives the request to its end as the simulator's model does: send,
// hedge, retry within the policy and budget, or give up at the deadline.
func (x *exchange) run() final {
	p := x.p
	p.mu.Lock()
	if p.budget != nil {
		p.budget.BeginRequest()
	}
	p.mu.Unlock()
	defer x.finish()
	if f, done := x.send(false); done {
		return f
	}
	for {
		if x.ctx.Err() != nil {
			return x.timedOut()
		}
		if x.hasReady {
			res := x.ready
			x.ready, x.hasReady = result{}, false
			if f, done := x.handle(res); done {
				return f
			}
			continue
		}
		select {
		case res := <-x.results:
			if f, done := x.handle(res); done {
				return f
			}
		case <-x.hedgeC:
			x.hedgeC = nil
			if len(x.live) > 0 && x.hedges < p.hedge.Max {
				x.hedges++
				if f, done := x.send(false); done {
					return f
				}
				if x.hedges < p.hedge.Max {
					x.hedgeT.Reset(p.hedge.After.D())
					x.hedgeC = x.hedgeT.C
				}
			}
		case <-x.retryC:
			x.retryC = nil
			x.pending = false
			if f, done := x.send(p.budget != nil); done {
				return f
			}
		case <-x.ctx.Done():
			return x.timedOut()
		}
	}
}

// handle takes an attempt's result (the simulator's attempt end): the
// balancer learns the outcome, then the request succeeds, or waits for
// other attempts, retries or fails. done reports that it is over.
func (x *exchange) handle(res result) (final, bool) {
	if !x.unlink(res.a) {
		return final{}, false // abandoned earlier; its Done was reported then
	}
	p := x.p
	p.mu.Lock()
	now := p.now()
	x.pool.pool.Done(now, res.a.local, now-res.a.sent, res.outcome)
	if res.a.retry && p.budget != nil {
		p.budget.EndRetry()
	}
	p.mu.Unlock()
	if x.ctx.Err() != nil {
		return x.timedOut(), true
	}
	if res.outcome == strategies.OK {
		x.abandonAll(strategies.Cancelled)
		return final{outcome: plan.OK.String(), ans: &res, tries: x.tries}, true
	}
	return x.failed(res.outcome, false, &res)
}

// finish releases the request's timers and budget share.
func (x *exchange) finish() {
	if x.hedgeT != nil {
		x.hedgeT.Stop()
	}
	if x.retryT != nil {
		x.retryT.Stop()
	}
	p := x.p
	p.mu.Lock()
	if p.budget != nil {
		if x.pending {
			p.budget.EndRetry()
			x.pending = false
		}
		p.budget.EndRequest()
	}
	p.mu.Unlock()
}

// timedOut abandons every live attempt: the overall deadline passed (or
// the client went away, which is the client giving up too).
func (x *exchange) timedOut() final {
	x.abandonAll(strategies.Timeout)
	return final{outcome: strategies.Timeout.String(), tries: x.tries}
}

// send routes a new attempt through the balancer (the simulator's send).
// retry is true for an attempt admitted by the retry budget. done reports
// that the request is over (no upstream and nothing else to wait for).
func (x *exchange) send(retry bool) (f final, done bool) {
	p := x.p
	p.mu.Lock()
	now := p.now()
	var local int
	var ok bool
	to := x.retryTo
	x.retryTo = plan.ViaBalancer
	switch {
	case to == plan.SameHost:
		local, ok = x.retryAt, true
		x.pool.pool.Take(now, local)
	case to == plan.Elsewhere:
		var avoid strategies.Avoid
		avoid.Add(x.retryAt)
		local, ok = x.pool.pool.PickAvoiding(now, x.req, &avoid, false)
	case p.retryOn.Avoids():
		if local, ok = x.pool.pool.PickAvoiding(now, x.req, &x.tried, p.retryOn.Strict()); ok {
			x.tried.Add(local)
		}
	default:
		local, ok = x.pool.pool.Pick(now, x.req)
	}
	if !ok {
		if retry && p.budget != nil {
			p.budget.EndRetry()
		}
		p.mu.Unlock()
		return x.failed(0, true, nil)
	}
	p.attempts++
	p.mu.Unlock()
	a := &attempt{no: x.tries, local: local, ui: x.pool.ups[local], sent: now, retry: retry}
	x.tries++
	x.live = append(x.live, a)
	if x.tries == 1 && p.hedging() {
		x.hedgeT = time.NewTimer(p.hedge.After.D())
		x.hedgeC = x.hedgeT.C
	}
	if x.results == nil {
		// No hedging: the attempt runs in the request's goroutine, and
		// the loop in run takes its result next.
		a.cancel = noCancel
		actx, stop := x.ctx, context.CancelFunc(nil)
		if per := p.retry.PerTryTimeout.D(); per > 0 {
			actx, stop = context.WithTimeoutCause(actx, per, errPerTry)
		}
		x.ready, x.hasReady = p.exchange(actx, a, x), true
		if stop != nil {
			stop()
		}
		return final{}, false
	}
	actx, cancel := context.WithCancelCause(x.ctx)
	a.cancel = cancel
	stop := context.CancelFunc(func() {})
	if per := p.retry.PerTryTimeout.D(); per > 0 {
		actx, stop = context.WithTimeoutCause(actx, per, errPerTry)
	}
	p.wg.Add(1) // the handler holds a count, so this never races Wait
	go p.attempt(actx, stop, a, x)
	return final{}, false
}

// failed handles a failed attempt as the simulator's attemptFailed does,
// with the same retry rule (plan.RetryPolicy) and budget: wait
// for other live attempts (hedging), retry within the policy and budget,
// or end the request with this outcome.
func (x *exchange) failed(o strategies.Outcome, noUpstream bool, ans *result) (final, bool) {
	if len(x.live) > 0 {
		return final{}, false
	}
	p := x.p
	if !noUpstream && x.retries < p.retry.Max && p.retryOn.Retries(plan.FromAttempt(o)) {
		last := -1
		if ans != nil {
			last = ans.a.local
		}
		p.mu.Lock()
		step := p.retryOn.Step(x.retries+1, x.pool.pool, last, x.tried.Tried(), time.Since(x.began))
		admit := step.Route != plan.Stop && (p.budget == nil || p.budget.TryRetry())
		backoff := step.Wait
		if admit && step.Backoff {
			backoff = strategies.Backoff(p.retry.Backoff.D(), p.retry.MaxBackoff.D(), x.retries, p.retryR)
		}
		p.mu.Unlock()
		if admit {
			if step.Route == plan.SameHost || step.Route == plan.Elsewhere {
				x.retryTo, x.retryAt = step.Route, last
			}
			x.retries++
			x.pending = p.budget != nil
			if x.retryT == nil {
				x.retryT = time.NewTimer(backoff)
			} else {
				x.retryT.Reset(backoff)
			}
			x.retryC = x.retryT.C
			return final{}, false
		}
	}
	if noUpstream {
		return final{outcome: outcomeNoUpstream, tries: x.tries}, true
	}
	return final{outcome: o.String(), ans: ans, tries: x.tries}, true
}

// unlink removes a from the live attempts; false if it was not live.
func (x *exchange) unlink(a *attempt) bool {
	for k, b := range x.live {
		if b == a {
			last := len(x.live) - 1
			x.live[k] = x.live[last]
			x.live[last] = nil
			x.live = x.live[:last]
			return true
		}
	}
	return false
}

// abandonAll gives up on every live attempt: the balancer learns outcome
// o for each now, and their upstream requests are cancelled.
func (x *exchange) abandonAll(o strategies.Outcome) {
	if len(x.live) == 0 {
		return
	}
	p := x.p
	p.mu.Lock()
	now := p.now()
	for _, a := range x.live {
		x.pool.pool.Done(now, a.local, now-a.sent, o)
		if a.retry && p.budget != nil {
			p.budget.EndRetry()
		}
	}
	p.mu.Unlock()
	for k, a := range x.live {
		a.cancel(errLost)
		x.live[k] = nil
	}
	x.live = x.live[:0]
}

// attempt runs one upstream try in a goroutine of its own (hedging) and
// reports its result on x.results (buffered for every attempt the request
// may make, so it never blocks).
func (p *proxy) attempt(ctx context.Context, stop context.CancelFunc, a *attempt, x *exchange) {
	defer p.wg.Done()
	defer stop()
	defer a.cancel(nil)
	x.results <- p.exchange(ctx, a, x)
}

// exchange sends one upstream try of x and reads its answer whole.
func (p *proxy) exchange(ctx context.Context, a *attempt, x *exchange) result {
	res := result{a: a}
	u := &p.ups[a.ui]
	out := upRequest{method: x.method, uri: u.path + x.uri, header: x.header, body: x.body, attempt: a.no}
	in, err := p.client.do(ctx, a.ui, &u.target, &out, maxResponse)
	switch {
	case err == nil:
		p.noteSignal(a.ui, in.header)
		res.status, res.header, res.body = in.status, in.header, in.body
		res.outcome = statusOutcome(in.status, in.header)
	case errors.Is(err, errTooLarge) && ctx.Err() == nil:
		res.outcome, res.err = strategies.Error5xx, err
	default:
		res.err = err
		res.outcome = errOutcome(ctx, err)
		if res.outcome == strategies.ConnectFail && errors.Is(err, syscall.ECONNREFUSED) {
			p.noteRefused(a.ui)
		}
	}
	return res
}

// statusOutcome maps an upstream answer to the balancer's outcome: a
// 5xx is Error5xx unless the backend named it (a 503 queue_full is
// QueueFull), anything else is OK.
func statusOutcome(status int, h http.Header) strategies.Outcome {
	if status < 500 {
		return strategies.OK
	}
	if o, ok := plan.OutcomeNamed(h.Get(wire.HeaderOutcome)); ok {
		switch o {
		case plan.QueueFull:
			return strategies.QueueFull
		case plan.Timeout:
			return strategies.Timeout
		case plan.ConnectFailure:
			return strategies.ConnectFail
		}
	}
	return strategies.Error5xx
}

// errOutcome maps a failed exchange to the balancer's outcome: a
// per-try, overall or client timeout is Timeout; anything else (refused,
// reset, closed before answering) is a connect failure, as the simulator
// counts a crashed server's attempts.
func errOutcome(ctx context.Context, err error) strategies.Outcome {
	if ctx.Err() != nil {
		if errors.Is(context.Cause(ctx), errLost) {
			return strategies.Cancelled
		}
		return strategies.Timeout
	}
	return strategies.ConnectFail
}

// reply writes the request's fate to the client: the upstream answer when
// there is one, else the proxy's own with X-Edgelab-Outcome.
func (p *proxy) reply(w http.ResponseWriter, r *http.Request, f final) {
	if a := f.ans; a != nil && a.status != 0 {
		h := w.Header()
		stripHop(a.header)
		head := r.Method == http.MethodHead
		if !head {
			a.header.Del("Content-Length")
		}
		for k, vv := range a.header {
			h[k] = vv
		}
		h.Set(wire.HeaderAttempts, wire.FormatNumber(uint64(f.tries)))
		if !head {
			h.Set("Content-Length", strconv.Itoa(len(a.body)))
		}
		w.WriteHeader(a.status)
		if !head {
			_, _ = w.Write(a.body)
		}
		return
	}
	switch f.outcome {
	case strategies.Timeout.String():
		ownReply(w, r, http.StatusGatewayTimeout, f.outcome, f.tries, "upstream request timed out")
	case strategies.ConnectFail.String():
		ownReply(w, r, http.StatusBadGateway, f.outcome, f.tries, "upstream connection failed")
	case strategies.QueueFull.String():
		ownReply(w, r, http.StatusServiceUnavailable, f.outcome, f.tries, "upstream queue full")
	case outcomeNoUpstream:
		ownReply(w, r, http.StatusServiceUnavailable, f.outcome, f.tries, "no healthy upstream")
	default:
		ownReply(w, r, http.StatusBadGateway, strategies.Error5xx.String(), f.tries, "bad gateway")
	}
}

// ownReply writes an answer the gateway decided itself.
func ownReply(w http.ResponseWriter, r *http.Request, code int, outcome string, tries int, msg string) {
	h := w.Header()
	if outcome != "" {
		h.Set(wire.HeaderOutcome, outcome)
	}
	h.Set(wire.HeaderAttempts, wire.FormatNumber(uint64(tries)))
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Del("Content-Length")
	w.WriteHeader(code)
	if r.Method != http.MethodHead {
		_, _ = io.WriteString(w, msg+"\n")
	}
}
