package l4

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"net"
	"net/http"
	"runtime/pprof"
	"sync"
	"time"

	"github.com/edgelab/edgelab/plan"
	"github.com/edgelab/edgelab/strategies"
	"github.com/edgelab/edgelab/workloads"
)

// Config configures the L4 (TCP) balancer in front of gateway instances.
type Config struct {
	// Mode is round-robin (default), flow-hash (by the connection's
	// addresses) or least-conn (fewest open connections).
	Mode string
	// Backends are the gateway instances' host:port addresses.
	Backends []string
	// Health, when set, probes every backend (gateway.health); nil means
	// no health checks.
	Health *workloads.ActiveHealth
	// HealthTCP probes with a TCP connect instead of GET /healthz.
	HealthTCP bool
	// Start is the run's time origin (the strategies' clock).
	Start time.Time
	// Seed and Rep seed least-conn's tie-breaking stream ("l4", as the
	// simulator names it).
	Seed uint64
	Rep  int
	// Logf receives health transitions (nil = silent).
	Logf func(string, ...any)
	// Listen is the address to listen on ("" = 127.0.0.1 on a free port).
	Listen string
	// TLS, when set, makes the balancer terminate TLS (gateway.tls.at:
	// edge): it handshakes with each client and relays the plain bytes
	// to the instance it picked; URL is then https://.
	TLS *tls.Config
	// ProfileLabels, key and value pairs, label the balancer's goroutines
	// for the CPU profiler (see runtime/pprof.Labels).
	ProfileLabels []string
	// BackendTLS says the gateway instances terminate TLS: the balancer
	// passes the clients' TLS through untouched, URL is https://, and the
	// health checks GET /healthz over TLS (not checking the certificate).
	BackendTLS bool
}

// Stats is a snapshot of the L4 balancer's state.
type Stats struct {
	// Conns counts the connections sent to each backend.
	Conns []int64
	// Open is the number of connections open now to each backend.
	Open []int
	// Failed counts connections the chosen backend refused.
	Failed int64
	// Healthy is the number of backends health checking lets in.
	Healthy int
}

// L4 is a TCP proxy on loopback that spreads client connections over
// gateway instances with the pool plan.NewL4 builds for both worlds:
// round-robin, flow-hash or least-conn, with optional
// active health checks. Each client connection goes, whole, to one
// instance; bytes are copied both ways with half-close.
type L4 struct {
	cfg    Config
	ln     net.Listener
	start  time.Time
	dialer net.Dialer
	health *http.Transport
	ctx    context.Context
	cancel context.CancelFunc

	mu     sync.Mutex // guards the pool and everything below
	pool   *strategies.Pool
	conns  map[net.Conn]struct{}
	sent   []int64
	failed int64
	closed bool

	wg        sync.WaitGroup // accept loop, connections, health checkers
	closeOnce sync.Once
}

// l4DialTimeout bounds the connect to a gateway instance.
const l4DialTimeout = 2 * time.Second

// StartL4 starts an L4 balancer on 127.0.0.1 (a free port). Close stops
// it.
func StartL4(cfg Config) (l *L4, err error) {
	if len(cfg.ProfileLabels) > 0 {
		pprof.Do(context.Background(), pprof.Labels(cfg.ProfileLabels...), func(context.Context) {
			l, err = startBalancer(cfg)
		})
		return l, err
	}
	return startBalancer(cfg)
}

func startBalancer(cfg Config) (*L4, error) {
	if len(cfg.Backends) == 0 {
		return nil, errors.New("live: L4: no backends")
	}
	pool, _, err := plan.NewL4(cfg.Mode, cfg.Health, len(cfg.Backends), cfg.Seed, cfg.Rep)
	if err != nil {
		return nil, fmt.Errorf("live: L4: %w", err)
	}
	if cfg.Start.IsZero() {
		cfg.Start = time.Now()
	}
	ln, err := net.Listen("tcp", listenAddr(cfg.Listen))
	if err != nil {
		return nil, fmt.Errorf("live: L4: listen: %w", err)
	}
	l := &L4{
		cfg:    cfg,
		ln:     ln,
		start:  cfg.Start,
		dialer: net.Dialer{Timeout: l4DialTimeout, KeepAlive: 30 * time.Second},
		health: &http.Transport{Proxy: nil, DisableKeepAlives: true, DisableCompression: true,
			TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, //nolint:gosec // a liveness probe, not authentication
		pool:  pool,
		conns: map[net.Conn]struct{}{},
		sent:  make([]int64, len(cfg.Backends)),
	}
	l.ctx, l.cancel = context.WithCancel(context.Background())
	if h := cfg.Health; h != nil && h.Interval > 0 {
		n := time.Duration(len(cfg.Backends))
		for i := range cfg.Backends {
			l.wg.Add(1)
			go l.checker(i, h.Interval.D()*time.Duration(i)/n, h)
		}
	}
	l.wg.Add(1)
	go l.accept()
	return l, nil
}

// Addr is the balancer's host:port.
func (l *L4) Addr() string { return l.ln.Addr().String() }

// URL is the balancer's base URL (http://host:port, https:// when
// its backends terminate TLS).
func (l *L4) URL() string { return l.scheme() + "://" + l.Addr() }

func (l *L4) scheme() string {
	if l.cfg.BackendTLS || l.cfg.TLS != nil {
		return "https"
	}
	return "http"
}

// backendScheme is how the instances are spoken to.
func (l *L4) backendScheme() string {
	if l.cfg.BackendTLS {
		return "https"
	}
	return "http"
}

// Stats returns a snapshot of the balancer's counters.
func (l *L4) Stats() Stats {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pool.Refresh(l.now())
	st := Stats{Conns: append([]int64(nil), l.sent...), Open: make([]int, len(l.sent)), Failed: l.failed, Healthy: l.pool.HealthyCount()}
	for i := range st.Open {
		st.Open[i] = l.pool.InFlight(i)
	}
	return st
}

// Close stops accepting, closes every open connection and waits for every
// goroutine of the balancer to end.
func (l *L4) Close() error {
	var err error
	l.closeOnce.Do(func() {
		l.mu.Lock()
		l.closed = true
		err = l.ln.Close()
		l.cancel()
		for c := range l.conns {
			_ = c.Close()
		}
		l.mu.Unlock()
		l.wg.Wait()
		l.health.CloseIdleConnections()
		if errors.Is(err, net.ErrClosed) {
			err = nil
		}
		if err != nil {
			err = fmt.Errorf("live: L4: close: %w", err)
		}
	})
	return err
}

func (l *L4) now() time.Duration { return time.Since(l.start) }

// accept takes client connections until the listener closes.
func (l *L4) accept() {
	defer l.wg.Done()
	var delay time.Duration
	for {
		c, err := l.ln.Accept()
		if err != nil {
			if l.ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors and the like: back off a little.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			select {
			case <-time.After(delay):
				continue
			case <-l.ctx.Done():
				return
			}
		}
		delay = 0
		if !l.track(c) {
			_ = c.Close()
			return
		}
		l.wg.Add(1) // counted while tracked: Close's Wait cannot have begun
		go l.serve(c)
	}
}

// track records an open connection so that Close can close it; false
// once the balancer is closed.
func (l *L4) track(c net.Conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return false
	}
	l.conns[c] = struct{}{}
	return true
}

func (l *L4) untrack(c net.Conn) {
	l.mu.Lock()
	delete(l.conns, c)
	l.mu.Unlock()
	_ = c.Close()
}

// l4FlowKey hashes a connection's addresses (the TCP 5-tuple: the
// protocol is always TCP) into the flow-hash client identity.
func l4FlowKey(c net.Conn) uint64 {
	h := fnv.New64a()
	_, _ = io.WriteString(h, c.RemoteAddr().String())
	_, _ = io.WriteString(h, "|")
	_, _ = io.WriteString(h, c.LocalAddr().String())
	return h.Sum64()
}

// pick chooses the backend for a new connection.
func (l *L4) pick(c net.Conn) (int, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	i, ok := l.pool.Pick(l.now(), strategies.Request{Client: l4FlowKey(c)})
	if ok {
		l.sent[i]++
	}
	return i, ok
}

// done ends a connection to backend i at the balancer.
func (l *L4) done(i int, from time.Duration, o strategies.Outcome) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if o == strategies.ConnectFail {
		l.failed++
	}
	l.pool.Done(now, i, now-from, o)
}

// serve relays one client connection to a backend. As in the simulator,
// a chosen instance that refuses the connection is a connect failure for
// the client: its connection is closed, no other instance is tried.
func (l *L4) serve(c net.Conn) {
	defer l.wg.Done()
	defer l.untrack(c)
	if l.cfg.TLS != nil {
		// The handshake happens on the first read, in the copy below.
		c = tls.Server(c, l.cfg.TLS)
	}
	i, ok := l.pick(c)
	if !ok {
		return // no healthy instance
	}
	from := l.now()
	bc, err := l.dialer.DialContext(l.ctx, "tcp", l.cfg.Backends[i])
	if err != nil {
		l.done(i, from, strategies.ConnectFail)
		return
	}
	if !l.track(bc) {
		_ = bc.Close()
		l.done(i, from, strategies.Cancelled)
		return
	}
	defer l.untrack(bc)
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		l4Copy(bc, c) // client → instance
	}()
	l4Copy(c, bc) // instance → client
	<-finished
	l.done(i, from, strategies.OK)
}

// l4Copy copies src to dst until src ends. A clean end (EOF) is passed on
// as a half-close of dst's write side; an error tears both down, so that
// the other direction ends too.
func l4Copy(dst, src net.Conn) {
	if _, err := io.Copy(dst, src); err != nil {
		_ = dst.Close()
		_ = src.Close()
		return
	}
	if cw, ok := dst.(interface{ CloseWrite() error }); ok {
		if cw.CloseWrite() == nil {
			return
		}
	}
	_ = dst.Close()
}

// checker probes backend i every interval until the balancer closes.
func (l *L4) checker(i int, offset time.Duration, a *workloads.ActiveHealth) {
	defer l.wg.Done()
	iv := a.Interval.D()
	next := l.start.Add(offset)
	t := time.NewTimer(max(time.Until(next), 0))
	defer t.Stop()
	healthy := true
	for {
		select {
		case <-l.ctx.Done():
			return
		case <-t.C:
		}
		ok := l.probe(i, a.Timeout.D())
		if l.ctx.Err() != nil {
			return
		}
		l.mu.Lock()
		l.pool.ProbeResult(l.now(), i, ok)
		up := l.pool.Health(i).ActiveHealthy
		l.mu.Unlock()
		if up != healthy && l.cfg.Logf != nil {
			state := "unhealthy"
			if up {
				state = "healthy"
			}
			l.cfg.Logf("live: L4: gateway-%d (%s) is %s", i, l.cfg.Backends[i], state)
		}
		healthy = up
		for next = next.Add(iv); time.Until(next) < 0; next = next.Add(iv) {
		}
		t.Reset(time.Until(next))
	}
}

// probe checks backend i once: a TCP connect, or GET /healthz answering
// 2xx, within timeout.
func (l *L4) probe(i int, timeout time.Duration) bool {
	ctx, cancel := context.WithTimeout(l.ctx, timeout)
	defer cancel()
	addr := l.cfg.Backends[i]
	if l.cfg.HealthTCP {
		c, err := l.dialer.DialContext(ctx, "tcp", addr)
		if err != nil {
			return false
		}
		_ = c.Close()
		return true
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, l.backendScheme()+"://"+addr+"/healthz", nil)
	if err != nil {
		return false
	}
	req.Header.Set("User-Agent", "edgelab-l4-health")
	resp, err := l.health.RoundTrip(req)
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	return resp.StatusCode >= 200 && resp.StatusCode < 300
}

// listenAddr is addr, or 127.0.0.1 on a free port when it is empty.
func listenAddr(addr string) string {
	if addr == "" {
		return "127.0.0.1:0"
	}
	return addr
}
