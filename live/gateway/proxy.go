package gateway

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/edgelab/edgelab/engine"
	"github.com/edgelab/edgelab/live/wire"
	"github.com/edgelab/edgelab/plan"
	"github.com/edgelab/edgelab/strategies"
	"github.com/edgelab/edgelab/workloads"
)

// Upstream is one backend the gateway balances over.
type Upstream struct {
	// ID names the backend in results ("web-0").
	ID string
	// URL is the backend's base URL ("http://127.0.0.1:8081").
	URL string
	// Group is the index of the backend's server group in the scenario.
	Group int
	// Weight is the balancer weight (≤ 0 counts as 1).
	Weight float64
}

// Config configures one gateway instance: its reverse proxy and
// the HTTP server in front of it.
type Config struct {
	// Scenario supplies the balancer, health, client-resilience and
	// gateway settings.
	Scenario *workloads.Scenario
	// Strategy is the balancing strategy ("" = balancer.strategy).
	Strategy string
	// Rep is the replication number that seeds the random streams.
	Rep int
	// Instance is the gateway instance number; each instance has pools
	// and random streams of its own, named as the simulator names them.
	Instance int
	// Upstreams lists every backend, in scenario order.
	Upstreams []Upstream
	// Start is the run's time origin: strategies see now = time.Since(Start).
	Start time.Time
	// Middleware wraps the proxy with the gateway's stages (nil = none).
	// It runs after admission, before the proxy.
	Middleware func(http.Handler) http.Handler
	// Logf receives health transitions and other notable events (nil =
	// silent).
	Logf func(string, ...any)
	// MaxBody caps a request body in bytes (0 = 1 MiB); larger bodies
	// get 413.
	MaxBody int64
	// Listen is the address to listen on ("" = 127.0.0.1 on a free port).
	Listen string
	// MaxConnections bounds the client connections the instance holds
	// open at once (0 = DefaultMaxConnections); further clients wait in
	// the listen backlog.
	MaxConnections int
	// ConnMode is what the instance does at MaxConnections: ConnWait (the
	// default), ConnHold (HAProxy's maxconn) or ConnDrain (NGINX's
	// worker_connections).
	ConnMode ConnMode
	// UpstreamTLS is the client configuration for https:// upstreams (the
	// pool that trusts their certificates); nil uses the system's roots.
	UpstreamTLS *tls.Config
	// TLS, when set, makes the instance terminate TLS with this
	// configuration (its certificate); URL is then https://. With
	// clients.keepalive.multiplex it offers HTTP/2 by ALPN.
	TLS *tls.Config
}

// ProxyStats is a snapshot of a proxy's (gateway instance's) state.
type ProxyStats struct {
	// Requests counts the client requests the instance received (the
	// gateway's own /healthz excluded).
	Requests int64
	// Attempts counts upstream tries, retries and hedges included.
	Attempts int64
	// Healthy is the number of eligible endpoints, summed over the pools.
	Healthy int
	// Endpoints is the number of endpoints, summed over the pools.
	Endpoints int
	// InFlight is, per upstream (Config.Upstreams order), the
	// attempts the balancer counts in flight.
	InFlight []int
	// Ejections counts outlier ejections since the start, over the pools.
	Ejections int
	// Refused is, per upstream, the attempts whose connection it refused
	// since the start: sent to it, never received by it (a crashed
	// server), and counted in its requests as the simulator counts them.
	Refused []int64
}

// MaxIdlePerUpstream is how many idle connections the gateway keeps to
// each upstream server for reuse.
const MaxIdlePerUpstream = 1024

// Defaults of the proxy's limits.
const (
	defaultMaxBody = 1 << 20
	// maxResponse caps an upstream answer's body: answers are buffered
	// so that a hedge or retry can win cleanly; a larger one is a bad
	// gateway (502 error_5xx).
	maxResponse = 8 << 20
	dialTimeout = 2 * time.Second
	maxIdlePer  = MaxIdlePerUpstream
	// maxDialing bounds the dials in progress to one upstream (per
	// gateway instance); requests beyond wait for a freed connection or
	// a dial slot (client.get). Measured on loopback under a
	// connection storm: 4 held 7000 req/s where unbounded dialing
	// tipped into timeouts (docs/performance.md).
	maxDialing  = 4
	idleTimeout = 90 * time.Second
	maxRespHdr  = 64 << 10
	downSignal  = time.Second // how long a refused connection marks a signal "down"
)

// proxy is the gateway's reverse proxy: an http.Handler that balances
// requests over the upstreams with the strategies package, unchanged, one
// strategies.Pool per routed server group, with the client-side resilience
// the simulator models (timeout, retries with budget and backoff, per-try
// timeout, hedging), active health checks, and the signals backends report.
//
// Every pool call happens under one mutex with now = time.Since(Start).
type proxy struct {
	cfg     Config
	sc      *workloads.Scenario
	start   time.Time
	client  *client
	maxBody int64
	logf    func(string, ...any)

	timeout time.Duration
	// keep is balancer.ignore_client_abort: a request outlives its
	// client (and clients.timeout), ending only with its attempts.
	keep   bool
	retry  workloads.Retries
	hedge  workloads.Hedge
	routed bool
	probe  *workloads.ActiveHealth

	ups   []upstream
	pools []*balancerPool
	group []int // server group → pool (routed)

	mu       sync.Mutex // guards everything below and every pool
	budget   *strategies.RetryBudget
	retryOn  plan.RetryPolicy
	retryR   *rand.Rand
	signals  []signal // per upstream
	refused  []int64  // per upstream: attempts whose connection it refused
	attempts int64
	requests int64
	closed   bool

	wg       sync.WaitGroup // handlers, attempts and health checkers
	stop     context.Context
	stopFunc context.CancelFunc
}

// upstream is an upstream as the proxy uses it.
type upstream struct {
	Upstream
	target target
	path   string // the URL's path without a trailing slash, prepended to request URIs
	pool   int
	local  int
}

// balancerPool is one balancer pool and its upstreams.
type balancerPool struct {
	pool *strategies.Pool
	ups  []int // local endpoint → upstream index
}

// signal is an upstream's latest load report.
type signal struct {
	sig       strategies.Signal
	downUntil time.Duration // refused connection: report "down" until then
}

// newProxy builds a proxy for cfg and starts its active health checks.
// Close stops them.
func newProxy(cfg Config) (*proxy, error) {
	sc := cfg.Scenario
	if sc == nil {
		return nil, errors.New("live: proxy: no scenario")
	}
	strategy := cfg.Strategy
	if strategy == "" {
		strategy = sc.Balancer.Strategy
	}
	if cfg.Start.IsZero() {
		cfg.Start = time.Now()
	}
	p := &proxy{
		cfg:     cfg,
		sc:      sc,
		start:   cfg.Start,
		maxBody: cfg.MaxBody,
		logf:    cfg.Logf,
		timeout: sc.Clients.Timeout.D(),
		keep:    sc.Balancer.IgnoreClientAbort,
		retry:   sc.Clients.Retries,
		hedge:   sc.Clients.Hedge,
		probe:   sc.Balancer.Health.Active,
		signals: make([]signal, len(cfg.Upstreams)),
		refused: make([]int64, len(cfg.Upstreams)),
	}
	if p.maxBody <= 0 {
		p.maxBody = defaultMaxBody
	}
	if p.logf == nil {
		p.logf = func(string, ...any) {}
	}
	seed, rep := sc.Seed, cfg.Rep
	retryStream := "retries"
	if sc.Gateway != nil {
		retryStream = fmt.Sprintf("retries/%d", cfg.Instance)
	}
	p.retryR = engine.Stream(seed, rep, retryStream)
	p.budget = plan.RetryBudget(sc)
	p.retryOn = plan.NewRetryPolicy(sc.Clients.Retries)
	for _, u := range cfg.Upstreams {
		base, err := url.Parse(u.URL)
		if err != nil {
			return nil, fmt.Errorf("live: upstream %s: bad URL %q: %w", u.ID, u.URL, err)
		}
		if base.Scheme != "http" && base.Scheme != "https" || base.Host == "" {
			return nil, fmt.Errorf("live: upstream %s: want an http:// URL with a host, got %q", u.ID, u.URL)
		}
		if u.Group < 0 || u.Group >= len(sc.Servers) {
			return nil, fmt.Errorf("live: upstream %s: group %d out of range (the scenario has %d)", u.ID, u.Group, len(sc.Servers))
		}
		if base.User != nil || base.RawQuery != "" || base.Fragment != "" {
			return nil, fmt.Errorf("live: upstream %s: want scheme://host[:port][/path], got %q", u.ID, u.URL)
		}
		addr := base.Host
		if base.Port() == "" {
			port := "80"
			if base.Scheme == "https" {
				port = "443"
			}
			addr = net.JoinHostPort(base.Hostname(), port)
		}
		t := target{addr: addr, host: base.Host, tls: base.Scheme == "https", name: base.Hostname()}
		p.ups = append(p.ups, upstream{Upstream: u, target: t, path: strings.TrimSuffix(base.EscapedPath(), "/")})
	}
	if err := p.buildPools(strategy); err != nil {
		return nil, err
	}
	p.client = newPxClient(len(p.ups), maxIdlePer, maxDialing, idleTimeout, dialTimeout, maxRespHdr)
	p.client.tlsConfig = cfg.UpstreamTLS
	p.stop, p.stopFunc = context.WithCancel(context.Background())
	p.preconnect()
	p.startHealth()
	return p, nil
}

// preconnect opens one connection to every upstream in the background, as
// Envoy's preconnect policy does, so that no upstream's first answer pays
// for a TCP handshake the others did not: a latency-aware strategy
// (peak-ewma, least-time) would otherwise start with a view skewed by one
// dial, which the simulator (no connections) does not have. A failed dial
// is left to the first request to meet.
func (p *proxy) preconnect() {
	for ui := range p.ups {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			if pc, _, err := p.client.get(p.stop, ui, &p.ups[ui].target, false); err == nil {
				p.client.put(ui, pc)
			}
		}()
	}
}

// buildPools makes this gateway instance's pools as plan.Pools lays them
// out (the simulator's layout and random streams).
func (p *proxy) buildPools(strategy string) error {
	sc := p.sc
	groups := make([]int, len(p.ups))
	for i := range p.ups {
		groups[i] = p.ups[i].Group
	}
	g := sc.Gateway
	p.routed = g != nil && len(g.Routes) > 0
	if p.routed {
		p.group = make([]int, len(sc.Servers))
	}
	for _, spec := range plan.Pools(sc, p.cfg.Instance, groups) {
		ups := spec.Members
		names := make([]string, len(ups))
		weights := make([]float64, len(ups))
		pi := len(p.pools)
		for l, ui := range ups {
			u := &p.ups[ui]
			names[l], weights[l] = u.ID, u.Weight
			u.pool, u.local = pi, l
		}
		pool, _, err := plan.NewPool(sc, strategy, p.cfg.Rep, spec, names, weights,
			func(l int) strategies.Signal { return p.signal(ups[l]) })
		if err != nil {
			return fmt.Errorf("live: balancer: %w", err)
		}
		if spec.Group >= 0 {
			p.group[spec.Group] = pi
		}
		p.pools = append(p.pools, &balancerPool{pool: pool, ups: ups})
	}
	return nil
}

// now is the strategies' clock.
func (p *proxy) now() time.Duration { return time.Since(p.start) }

// signal is upstream ui's latest load report (p.mu held): what it last
// sent back, or the worst load for a while after it refused a connection
// (a crashed server answers nothing, which the simulator shows the
// balancer as the worst possible load).
func (p *proxy) signal(ui int) strategies.Signal {
	s := &p.signals[ui]
	if s.downUntil > 0 && p.now() < s.downUntil {
		return plan.DownSignal
	}
	return s.sig
}

// noteSignal records what an upstream's answer reports about its load.
func (p *proxy) noteSignal(ui int, h http.Header) {
	sig, ok := wire.ParseSignal(h)
	if !ok {
		return
	}
	p.mu.Lock()
	p.signals[ui] = signal{sig: sig}
	p.mu.Unlock()
}

// noteRefused counts an attempt whose connection upstream ui refused and
// marks its signal "down" for a while.
func (p *proxy) noteRefused(ui int) {
	p.mu.Lock()
	p.signals[ui].downUntil = p.now() + downSignal
	p.refused[ui]++
	p.mu.Unlock()
}

// Stats returns a snapshot of the proxy's counters and balancer state.
func (p *proxy) Stats() ProxyStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	st := ProxyStats{Requests: p.requests, Attempts: p.attempts, InFlight: make([]int, len(p.ups)), Refused: make([]int64, len(p.ups))}
	copy(st.Refused, p.refused)
	for _, pp := range p.pools {
		pp.pool.Refresh(now)
		st.Healthy += pp.pool.HealthyCount()
		st.Endpoints += pp.pool.Len()
		st.Ejections += pp.pool.Ejections()
		for l, ui := range pp.ups {
			st.InFlight[ui] = pp.pool.InFlight(l)
		}
	}
	return st
}

// countRequest counts a client request received by the instance.
func (p *proxy) countRequest() {
	p.mu.Lock()
	p.requests++
	p.mu.Unlock()
}

// enter counts a handler in; false once the proxy is closed.
func (p *proxy) enter() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.wg.Add(1)
	return true
}

// Close stops the health checks, cancels the requests in progress (they
// end as timeouts), waits for every request handler, attempt and checker
// to finish, and closes idle upstream connections. Requests that arrive
// afterwards get 503.
func (p *proxy) Close() error {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.stopFunc()
	p.wg.Wait()
	p.client.close()
	return nil
}

// route returns the pool for a request path, or -1 when no route matches.
func (p *proxy) route(path string) int {
	if !p.routed {
		return 0
	}
	g := p.sc.Gateway.Route(path, p.sc.Servers)
	if g < 0 {
		return -1
	}
	return p.group[g]
}
