package attack

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/edgelab/edgelab/live/internal/clock"
	"github.com/edgelab/edgelab/live/wire"
	"github.com/edgelab/edgelab/plan"
	"github.com/edgelab/edgelab/reports"
	"github.com/edgelab/edgelab/traces"
	"github.com/edgelab/edgelab/workloads"
)

// Limits of the load generator.
const (
	// defaultMaxWorkers is the attacker's default bound on requests in
	// flight at once (vegeta workers, each one connection).
	defaultMaxWorkers = 10_000
	// maxWorkersCap caps Config.MaxWorkers: beyond it, open
	// connections exhaust file descriptors and ephemeral ports long before
	// they add load.
	maxWorkersCap = 100_000
	// noTimeoutCap is the HTTP client's timeout when the scenario has no
	// clients.timeout: a request still unanswered after it is a timeout,
	// so that the attack always ends.
	noTimeoutCap = 30 * time.Second
)

// Bounds on the attacker's connections, from the open file limit.
const (
	// fdsPerConn is what one attacker connection may cost in file
	// descriptors when the backends, gateways and L4 balancer run in the
	// same process (edgelab live, edgelab serve): its own end, the L4
	// balancer's two, the gateway's accepted end, and an upstream
	// connection's two ends.
	fdsPerConn = 6
	// fdReserve is left to everything else: listeners, health checks,
	// idle upstream connections, output files.
	fdReserve = 256
	// minConns is the least bound, whatever the limit.
	minConns = 16
	// unknownFDLimit stands in for a limit that cannot be read.
	unknownFDLimit = 1024
)

// fileLimit is openFileLimit (replaced by tests).
var fileLimit = openFileLimit

// maxConns is the attacker's bound on its open connections for an open
// file limit of nofile (0 = unknown): each may cost fdsPerConn
// descriptors in this process, after fdReserve for the rest. Vegeta's
// workers are capped to it too (a worker holds one connection): a rate
// the machine cannot sustain then shows as a shortfall of the achieved
// rate and as send lag, not as "too many open files".
func maxConns(nofile uint64) uint64 {
	if nofile == 0 {
		nofile = unknownFDLimit
	}
	if nofile < fdReserve+fdsPerConn*minConns {
		return minConns
	}
	return (nofile - fdReserve) / fdsPerConn
}

const (
	// cancelGrace is how long a cancelled attack lets requests in
	// flight finish before it closes their connections.
	cancelGrace = 500 * time.Millisecond
	// maxBuckets bounds the time series' length, as the simulator's.
	maxBuckets = 600
)

// Config is one live load generation run.
type Config struct {
	// Scenario gives the arrival process, keys, clients, paths, demands,
	// the timeout and the run's warm-up and duration.
	Scenario *workloads.Scenario
	// Rep is the replication whose random streams are replayed (0 for
	// the first).
	Rep int
	// Target is the base URL requests go to, e.g. http://127.0.0.1:8080
	// (the L4 balancer, a gateway or the user's own gateway).
	Target string
	// Start is the run's start instant: arrival times count from it (the
	// first request is due at Start + the first arrival time). Attack
	// waits until Start if it is in the future; zero means now.
	Start time.Time
	// Tokens, when set, gives the bearer token of request seq (sent as
	// Authorization: Bearer <token>; none when it returns ""). It is
	// called from vegeta's workers at once and must be quick.
	Tokens func(seq uint64) string
	// VegetaOut, when set, receives vegeta's results stream (gob, as
	// vegeta attack writes it), readable by vegeta report.
	VegetaOut io.Writer
	// Vegeta, when set instead, is a results stream shared by several
	// attacks (one file for a run of several strategies).
	Vegeta *VegetaLog
	// Name is the attack's name in vegeta's results (vegeta report
	// -every… and vegeta plot group results by it): the strategy.
	Name string
	// MaxWorkers bounds the requests in flight at once (0 means
	// defaultMaxWorkers; at most maxWorkersCap, and at most the bound on
	// connections the open file limit allows, see maxConns). When every
	// worker waits
	// for an answer, requests leave late: their latency still counts
	// from their scheduled time.
	MaxWorkers uint64
	// Timeout overrides the HTTP client's timeout. Zero means
	// clients.timeout plus a margin (a tenth, at least 50 ms) so that a
	// gateway's own 504 arrives first, or noTimeoutCap without one.
	Timeout time.Duration
	// AccessLog, when set, logs every answer (or its absence) as the
	// client saw it: the request's scheduled arrival, its whole time, the
	// status, the answering server and, from edgelab's backends, the
	// upstream time and the demand (package wire). The caller flushes it.
	AccessLog *traces.Writer
	// TLS, when set, is the client's TLS configuration for an https://
	// Target (the pool that trusts the gateway's certificate); nil does
	// not check the certificate of an https:// Target.
	TLS *tls.Config
	// OnBucket, when set, is called at the end of every time-series
	// bucket k (at Start + (k+1)·interval, the last one at warm-up +
	// duration) with the series, to fill bucket k's gauges: Healthy,
	// Instances, InFlight and Utilization (the attack fills the rest). It
	// is called from Attack's goroutine and must return quickly; not
	// after a cancellation. Gauges may also be filled in after Attack
	// returns.
	OnBucket func(k int, s *reports.Series)
}

// Result is what a live attack measured, after warm-up, like a
// simulated replication.
type Result struct {
	// Rep holds the latency of ok requests (from their scheduled send
	// time), the outcomes, the upstream attempts and the time series.
	// Servers and Gateway are left for the caller, which knows them; the
	// series' instance arrays are sized for Scenario.Instances().
	Rep reports.Replication
	// Live describes the load generation: target and achieved rate and
	// the send lag.
	Live reports.LiveStats
	// Partial is true when ctx was cancelled before the run ended.
	Partial bool
	// Sent is the number of requests sent, warm-up included.
	Sent int64
	// Conns counts the connections opened and TLS handshakes in the
	// measured window.
	Conns ConnStats
}

// Attack sends the scenario's open-loop arrivals to cfg.Target with
// vegeta, replaying the simulator's arrival times and per-request draws
// (see newPacer and the header protocol of package wire), and measures the
// answers as the simulator does: requests scheduled in [warmup, warmup +
// duration) count, ok latencies are measured from the scheduled time (so
// a late send, coordinated omission, counts against the system), and the
// attack waits for requests in flight after the last arrival, each bounded
// by the client timeout. An answer that comes more than clients.timeout
// after its scheduled time is a timeout, whatever its status: the
// simulated client gives up then, however late the request left. The send
// lag (actual minus scheduled send time) of measured requests goes to
// Live.SendLagMS; Live.AchievedRPS is the requests actually sent between
// warm-up and the end, per second. Attack returns no earlier than the end
// of the run (Start + warm-up + duration), unless cancelled.
//
// When ctx is cancelled, Attack stops sending, gives requests in flight a
// short grace, then closes their connections (those count as timeouts, as
// in an interrupted simulation) and returns what it measured with Partial
// set. A closed-loop scenario is an input error (see newPacer). A failure
// to write VegetaOut is returned along with the results.
func Attack(ctx context.Context, cfg Config) (res *Result, err error) {
	sc := cfg.Scenario
	if sc == nil {
		return nil, errors.New("live attack: no scenario")
	}
	pacer, err := newPacer(sc, cfg.Rep)
	if err != nil {
		return nil, err
	}
	defer pacer.close()
	tg, err := newTargeter(sc, cfg.Rep, cfg.Target, cfg.Tokens)
	if err != nil {
		return nil, fmt.Errorf("live attack: %w", err)
	}
	defer tg.clock.Close()
	defer func() {
		if res != nil && tg.clock.Replay() != nil {
			res.Rep.Trace = plan.Trace(sc, tg.clock.Replay())
		}
	}()
	start := cfg.Start
	if start.IsZero() {
		start = time.Now()
	}
	c := newCollector(&cfg, start)
	if !clock.SleepUntil(ctx, start) {
		return c.result(true), nil
	}

	workers := cfg.MaxWorkers
	if workers == 0 {
		workers = defaultMaxWorkers
	}
	connCap := maxConns(fileLimit())
	workers = min(workers, maxWorkersCap, connCap)
	c.maxConns = int(workers)
	counter := &connCounter{start: start, from: c.warmup, until: c.end}
	// Plain connections count as they are dialled, TLS ones when their
	// handshake ends.
	conns := &conns{live: map[*trackedConn]struct{}{}, counter: counter, countDials: !strings.HasPrefix(cfg.Target, "https://")}
	conns.dialer.KeepAlive = 30 * time.Second
	newTransport := func() *http.Transport {
		tr := &http.Transport{
			DialContext:         conns.dial,
			MaxConnsPerHost:     int(workers), // Target is one host
			MaxIdleConnsPerHost: int(workers),
			IdleConnTimeout:     30 * time.Second,
			DisableCompression:  true,
		}
		// Keep-alive, HTTP/2 and TLS as the scenario says; vegeta's own
		// options for them would replace the dialer.
		configureTransport(tr, &cfg, conns)
		return tr
	}
	var rt interface {
		http.RoundTripper
		CloseIdleConnections()
	}
	if sc.Connections() {
		rt = newClientConns(newTransport, sc.Clients.Count, int(connCap))
	} else {
		rt = newTransport()
	}
	rt = scheduled{next: rt}
	defer rt.CloseIdleConnections()
	defer func() {
		if res != nil {
			res.Conns = counter.stats()
		}
	}()
	atk := vegeta.NewAttacker(
		vegeta.Client(&http.Client{Transport: rt}),
		vegeta.Redirects(vegeta.NoFollow),
		vegeta.Timeout(clientTimeout(sc, cfg.Timeout)),
		vegeta.MaxBody(0),
		vegeta.Workers(min(vegeta.DefaultWorkers, workers)),
		vegeta.MaxWorkers(workers),
	)

	pacer.origin = max(0, time.Since(start))
	pacer.done = ctx.Done()
	pacer.skew = &clock.Skew{}
	results := atk.Attack(tg.target, pacer, 0, cfg.Name)

	done := ctx.Done()
	var abort <-chan time.Time
	var abortTimer *time.Timer
	bucket := c.nextBucketTimer()
	for results != nil {
		select {
		case res, ok := <-results:
			if !ok {
				results = nil
				break
			}
			c.add(res)
		case <-done:
			done = nil
			c.cancel()
			atk.Stop()
			abortTimer = time.NewTimer(cancelGrace)
			abort = abortTimer.C
		case <-abort:
			abort = nil
			c.aborted = true
			conns.abort()
		case <-bucket:
			c.tick()
			bucket = c.nextBucketTimer()
		}
	}
	if abortTimer != nil {
		abortTimer.Stop()
	}
	// The run lasts warm-up + duration: let the last buckets end.
	for bucket != nil && !c.partial {
		select {
		case <-bucket:
			c.tick()
			bucket = c.nextBucketTimer()
		case <-ctx.Done():
			c.cancel()
		}
	}
	c.stopBucketTimer()
	return c.finish()
}

// clientTimeout is the HTTP client's timeout for a scenario.
func clientTimeout(sc *workloads.Scenario, override time.Duration) time.Duration {
	if override > 0 {
		return override
	}
	t := sc.Clients.Timeout.D()
	if t <= 0 {
		return noTimeoutCap
	}
	return t + max(50*time.Millisecond, t/10)
}

// collector turns vegeta's results into a replication's measurements.
// It runs on Attack's goroutine only.
type collector struct {
	cfg      *Config
	start    time.Time
	warmup   time.Duration
	end      time.Duration
	timeout  time.Duration // the scenario's client timeout (0 = none)
	interval time.Duration

	lat      *reports.LatencyRecorder
	lag      *reports.LatencyRecorder
	outcomes reports.Outcomes
	attempts int64
	sent     int64
	inWindow int64 // requests sent (not scheduled) in the measured window
	series   *reports.Series
	// Per-bucket ok latencies of the two newest open buckets, lo and
	// lo+1: results come in completion order, near enough.
	blat [2]*reports.LatencyRecorder
	lo   int

	ticked  int // buckets whose end has passed
	bucketT *time.Timer
	vlog    *VegetaLog
	encErr  error
	logErr  error // writing the access log
	partial bool
	stopped time.Duration // run time of the cancellation
	aborted bool          // in-flight connections were closed
	// maxConns is the bound on the attacker's connections (0 before the
	// attack started).
	maxConns int
}

func newCollector(cfg *Config, start time.Time) *collector {
	sc := cfg.Scenario
	c := &collector{
		cfg:     cfg,
		start:   start,
		warmup:  sc.Warmup.D(),
		end:     sc.Warmup.D() + sc.Duration.D(),
		timeout: sc.Clients.Timeout.D(),
		lat:     reports.NewLatencyRecorder(),
		lag:     reports.NewLatencyRecorder(),
		blat:    [2]*reports.LatencyRecorder{reports.NewCoarseLatencyRecorder(), reports.NewCoarseLatencyRecorder()},
	}
	c.interval = reports.SeriesInterval(c.end, maxBuckets)
	buckets := int((c.end + c.interval - 1) / c.interval)
	c.series = reports.NewSeries(c.interval, buckets, sc.Instances())
	c.vlog = cfg.Vegeta
	if c.vlog == nil && cfg.VegetaOut != nil {
		c.vlog = NewVegetaLog(cfg.VegetaOut)
	}
	return c
}

// add measures one result.
func (c *collector) add(res *vegeta.Result) {
	c.sent++
	if c.vlog != nil && c.encErr == nil {
		c.encErr = c.vlog.enc.Encode(res)
	}
	sentAt := res.Timestamp.Sub(c.start)
	_, at, ok := parseFragment(res.URL)
	if !ok {
		at = sentAt
	}
	doneAt := sentAt + res.Latency
	latency := doneAt - at
	o, attempts := classify(res, c.aborted)
	if o == plan.OK && c.timeout > 0 && latency > c.timeout {
		// The simulated client gives up timeout after the request's
		// creation, however late it left.
		o = plan.Timeout
	}
	if sentAt >= c.warmup && sentAt < c.end {
		c.inWindow++
	}
	if c.cfg.AccessLog != nil && c.logErr == nil {
		c.logErr = c.log(res, at, latency, o, attempts)
	}
	if at >= c.warmup && at < c.end {
		*o.Counter(&c.outcomes)++
		c.attempts += attempts
		if o == plan.OK {
			c.lat.Record(latency)
		}
		c.lag.Record(max(0, sentAt-at))
	}
	s := c.series
	if k := int(at / c.interval); at >= 0 && k < len(s.Offered) {
		s.Offered[k]++
	}
	if k := int(doneAt / c.interval); doneAt >= 0 && doneAt < c.end && k < len(s.OK) {
		o.Series(s)[k]++
		if o == plan.OK {
			c.bucketLatency(k, latency)
		}
	}
}

// log writes res's access log line.
func (c *collector) log(res *vegeta.Result, at, latency time.Duration, o plan.Outcome, attempts int64) error {
	key, client, path := fragmentKey(res.URL)
	e := traces.Entry{Start: c.start.UnixNano() + int64(at), Total: latency, Service: -1, Demand: -1,
		Path: path, Key: key, Client: client, Status: int(res.Code), Tries: int(attempts)}
	if res.Code == 0 || o == plan.Timeout {
		e.Status = o.Status() // no answer, or the client gave up first
	}
	if res.Headers != nil {
		e.Server = res.Headers.Get(wire.HeaderServer)
		if n, err := strconv.ParseInt(res.Headers.Get(wire.HeaderUpstreamTime), 10, 64); err == nil {
			e.Service = time.Duration(n)
		}
		if n, err := strconv.ParseInt(res.Headers.Get(wire.HeaderWork), 10, 64); err == nil {
			e.Demand = time.Duration(n)
		}
	}
	return c.cfg.AccessLog.Write(&e)
}

// bucketLatency records an ok latency in bucket k's percentiles, closing
// the buckets before k-1.
func (c *collector) bucketLatency(k int, d time.Duration) {
	if k < c.lo {
		return // too late for its bucket, which is closed
	}
	if k > c.lo+1 {
		c.closeBuckets(k - 1)
	}
	c.blat[k%2].Record(d)
}

// closeBuckets writes the percentiles of the open buckets before upTo.
func (c *collector) closeBuckets(upTo int) {
	s := c.series
	for ; c.lo < upTo; c.lo++ {
		r := c.blat[c.lo%2]
		if r.Count() == 0 {
			continue
		}
		if c.lo < len(s.P50MS) {
			s.P50MS[c.lo] = float64(r.Quantile(0.50)) / 1e6
			s.P99MS[c.lo] = float64(r.Quantile(0.99)) / 1e6
		}
		r.Reset()
	}
}

// nextBucketTimer arms the timer of the next bucket end; nil when every
// bucket has ended or the run was cancelled.
func (c *collector) nextBucketTimer() <-chan time.Time {
	if c.ticked >= len(c.series.T) || c.partial {
		return nil
	}
	at := min(time.Duration(c.ticked+1)*c.interval, c.end)
	d := time.Until(c.start.Add(at))
	if c.bucketT == nil {
		c.bucketT = time.NewTimer(d)
	} else {
		c.bucketT.Reset(d)
	}
	return c.bucketT.C
}

func (c *collector) stopBucketTimer() {
	if c.bucketT != nil {
		c.bucketT.Stop()
	}
}

// tick ends the current bucket for the caller's gauges.
func (c *collector) tick() {
	if c.cfg.OnBucket != nil {
		c.cfg.OnBucket(c.ticked, c.series)
	}
	c.ticked++
}

// cancel marks the run interrupted now.
func (c *collector) cancel() {
	if !c.partial {
		c.partial = true
		c.stopped = time.Since(c.start)
	}
}

// finish closes the measurements and returns them.
func (c *collector) finish() (*Result, error) {
	r := c.result(c.partial)
	var err error
	if c.vlog != nil {
		if c.encErr == nil {
			c.encErr = c.vlog.w.Flush()
		}
		if c.encErr != nil {
			err = fmt.Errorf("live attack: write vegeta results: %w", c.encErr)
		}
	}
	if c.logErr != nil && err == nil {
		err = fmt.Errorf("live attack: access log: %w", c.logErr)
	}
	return r, err
}

// result assembles the attack's result from what was measured.
func (c *collector) result(partial bool) *Result {
	if partial {
		c.cancel()
	}
	c.closeBuckets(len(c.series.T) + 2)
	sc := c.cfg.Scenario
	wall := time.Since(c.start)
	window := c.end - c.warmup
	if c.partial {
		window = min(c.end, c.stopped) - c.warmup
	}
	achieved := 0.0
	if window > 0 {
		achieved = float64(c.inWindow) / window.Seconds()
	}
	live := reports.LiveStats{
		TargetRPS:      reports.Round(sc.Clients.Arrival.MeanRate(c.warmup, c.end), 6),
		AchievedRPS:    reports.Round(achieved, 6),
		SendLagMS:      c.lag.Summary(),
		MaxConnections: c.maxConns,
		Target:         c.cfg.Target,
		WallS:          reports.Round(max(0, wall.Seconds()), 6),
	}
	if !c.partial {
		live.CheckRate() // an interrupted run sent less by design
	}
	return &Result{
		Rep: reports.Replication{
			Latency:  c.lat,
			Outcomes: c.outcomes,
			Attempts: c.attempts,
			WallS:    max(0, wall.Seconds()),
			Series:   c.series,
		},
		Live:    live,
		Partial: c.partial,
		Sent:    c.sent,
	}
}

// classify returns a result's outcome and the upstream attempts it
// took. An answer's X-Edgelab-Outcome header decides when present;
// otherwise its status: 2xx ok, 429 rate_limited, 401 and 403
// auth_rejected, 504 timeout, 503 no_upstream, any other status
// error_5xx (the request failed). Without an answer, a client timeout is
// a timeout and a refused, reset or dropped connection a connect_failure;
// after the attack closed connections (aborted), every failure without an
// answer is a timeout, as requests interrupted in the simulator are.
// Attempts come from X-Edgelab-Attempts: 1 without it when an answer
// arrived or the request timed out, 0 when it never reached a server.
func classify(res *vegeta.Result, aborted bool) (plan.Outcome, int64) {
	if res.Code == 0 {
		if aborted || isTimeout(res.Error) {
			return plan.Timeout, 1
		}
		return plan.ConnectFailure, 0
	}
	attempts := int64(1)
	if n, ok := wire.ParseAttempts(res.Headers.Get(wire.HeaderAttempts)); ok {
		attempts = n
	}
	if o, ok := plan.OutcomeNamed(res.Headers.Get(wire.HeaderOutcome)); ok {
		return o, attempts
	}
	switch code := res.Code; {
	case code >= 200 && code < 300:
		return plan.OK, attempts
	case code == http.StatusTooManyRequests:
		return plan.RateLimited, attempts
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		return plan.AuthRejected, attempts
	case code == http.StatusGatewayTimeout:
		return plan.Timeout, attempts
	case code == http.StatusServiceUnavailable:
		return plan.NoUpstream, attempts
	}
	return plan.Error5xx, attempts
}

// isTimeout reports whether a transport error is the client giving up
// (net/http's "Client.Timeout exceeded", a deadline) rather than a
// connection refused, reset or closed.
func isTimeout(e string) bool {
	if strings.Contains(e, "Client.Timeout") {
		return true
	}
	for _, s := range []string{"refused", "reset", "EOF", "broken pipe", "closed", "no such host", "unreachable"} {
		if strings.Contains(e, s) {
			return false
		}
	}
	return strings.Contains(e, "timeout") || strings.Contains(e, "deadline exceeded")
}

// conns dials the attack's connections and remembers them, so that a
// cancelled attack can close those still busy.
type conns struct {
	dialer  net.Dialer
	counter *connCounter
	// countDials counts plain connections as they are dialled (TLS ones
	// are counted when their handshake ends).
	countDials bool
	// sessions is the clients' TLS session cache (gateway.tls.resumption).
	sessions *sessionCache
	mu       sync.Mutex
	live     map[*trackedConn]struct{}
	closed   bool
}

// trackedConn is a connection that forgets itself when closed.
type trackedConn struct {
	net.Conn
	owner *conns
	once  sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.owner.mu.Lock()
		delete(c.owner.live, c)
		c.owner.mu.Unlock()
	})
	return c.Conn.Close()
}

func (cs *conns) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	conn, err := cs.dialer.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	c := &trackedConn{Conn: conn, owner: cs}
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.closed {
		conn.Close()
		return nil, fmt.Errorf("dial %s: attack aborted", addr)
	}
	cs.live[c] = struct{}{}
	if cs.countDials {
		cs.counter.dialed(ctx)
	}
	return c, nil
}

// abort closes every connection and refuses new ones.
func (cs *conns) abort() {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	cs.closed = true
	for c := range cs.live {
		c.Conn.Close()
	}
}
