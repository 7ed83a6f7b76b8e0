package attack

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/edgelab/edgelab/engine"
	"github.com/edgelab/edgelab/live/wire"
	"github.com/edgelab/edgelab/workloads"
)

// ConnStats counts the attacker's connections opened in the measured
// window (warm-up to its end), as the simulator counts those measured
// requests opened, and their TLS handshakes.
type ConnStats struct {
	Opened, Full, Resumed int64
	// Setup is the median time a new connection took to be ready, from
	// the start of its TCP connect to the end of its TLS handshake (0
	// without new connections measured).
	Setup time.Duration
}

// connCounter counts connections and handshakes whose time falls in the
// measured window; it is safe for concurrent use.
type connCounter struct {
	start       time.Time
	from, until time.Duration
	opened      atomic.Int64
	full        atomic.Int64
	resumed     atomic.Int64

	mu    sync.Mutex
	setup []time.Duration // measured connections' setup times (bounded)
}

// maxSetups bounds the setup times kept for the median.
const maxSetups = 1 << 16

// ready counts a TLS connection opened for the request of ctx, whose
// handshake (resumed or not) ended after d.
func (c *connCounter) ready(ctx context.Context, d time.Duration, resumed bool) {
	if !c.measured(ctx) {
		return
	}
	c.opened.Add(1)
	if resumed {
		c.resumed.Add(1)
	} else {
		c.full.Add(1)
	}
	c.mu.Lock()
	if len(c.setup) < maxSetups {
		c.setup = append(c.setup, d)
	}
	c.mu.Unlock()
}

// measured tells a connection dialled for the request of ctx is
// counted: the request was scheduled in the measured window, as the
// simulator counts the connections measured requests open (late sends
// near the window's edges would otherwise count on the wrong side). A
// dial with no schedule in ctx counts by its own time.
func (c *connCounter) measured(ctx context.Context) bool {
	at, ok := ctx.Value(scheduledKey{}).(time.Duration)
	if !ok {
		at = time.Since(c.start)
	}
	return at >= c.from && at < c.until
}

func (c *connCounter) dialed(ctx context.Context) {
	if c.measured(ctx) {
		c.opened.Add(1)
	}
}

// scheduledKey keys a request's scheduled time (since the attack's
// start) in its context, which the transport's dials inherit.
type scheduledKey struct{}

// scheduled is the attacker's RoundTripper: it puts each request's
// scheduled time, from its URL's fragment, in its context.
type scheduled struct {
	next interface {
		http.RoundTripper
		CloseIdleConnections()
	}
}

// RoundTrip implements http.RoundTripper.
func (s scheduled) RoundTrip(req *http.Request) (*http.Response, error) {
	if _, at, ok := parseFragment("#" + req.URL.Fragment); ok {
		req = req.WithContext(context.WithValue(req.Context(), scheduledKey{}, at))
	}
	return s.next.RoundTrip(req)
}

// CloseIdleConnections closes the idle connections.
func (s scheduled) CloseIdleConnections() { s.next.CloseIdleConnections() }

func (c *connCounter) stats() ConnStats {
	st := ConnStats{Opened: c.opened.Load(), Full: c.full.Load(), Resumed: c.resumed.Load()}
	c.mu.Lock()
	defer c.mu.Unlock()
	if n := len(c.setup); n > 0 {
		slices.Sort(c.setup)
		st.Setup = c.setup[n/2]
	}
	return st
}

// configureTransport sets up the attacker's transport for the scenario's
// connections: plain HTTP/1.1 kept alive by default, a new connection a
// request with clients.keepalive.requests 1, HTTP/2 (over TLS by ALPN,
// else h2c with prior knowledge) with clients.keepalive.multiplex, and
// TLS to an https:// target. The gateway closes a connection after its
// keepalive.requests (the attacker follows its Connection: close) and
// after keepalive.idle; the attacker's own idle timeout stays longer.
//
// Resumption: with gateway.tls.resumption p > 0 the client keeps the
// session tickets it is given, and each new connection offers one with
// probability p (drawn from the "tls-client" stream), so that about a
// share p of handshakes resume, as the simulator draws them.
func configureTransport(tr *http.Transport, cfg *Config, conns *conns) {
	counter := conns.counter
	sc := cfg.Scenario
	keep := sc.Clients.Keepalive
	protocols := new(http.Protocols)
	if keep != nil && keep.Multiplex {
		if strings.HasPrefix(cfg.Target, "https://") {
			protocols.SetHTTP2(true)
			tr.ForceAttemptHTTP2 = true
		} else {
			protocols.SetUnencryptedHTTP2(true)
		}
	} else {
		protocols.SetHTTP1(true)
	}
	tr.Protocols = protocols
	if keep != nil && keep.Requests == 1 {
		tr.DisableKeepAlives = true
	}
	if keep != nil && keep.Idle > 0 {
		// The gateway closes idle connections (keepalive.idle), as the
		// simulated server does: the attacker keeps them a little longer.
		tr.IdleConnTimeout = keep.Idle.D() + 5*time.Second
	}
	if !strings.HasPrefix(cfg.Target, "https://") {
		return
	}
	tc := &tls.Config{InsecureSkipVerify: true} //nolint:gosec // an external gateway's certificate is not ours to check
	if cfg.TLS != nil {
		tc = cfg.TLS.Clone()
	}
	if t := gatewayTLS(sc); t != nil && t.Resumption > 0 {
		// One cache and one stream of draws for all the clients.
		if conns.sessions == nil {
			conns.sessions = &sessionCache{inner: tls.NewLRUClientSessionCache(4096), share: t.Resumption,
				key: engine.Key(sc.Seed, cfg.Rep, "tls-client")}
		}
		tc.ClientSessionCache = conns.sessions
	}
	tc.NextProtos = []string{"http/1.1"}
	if keep != nil && keep.Multiplex {
		tc.NextProtos = []string{"h2", "http/1.1"}
	}
	// The attacker makes its TLS connections itself, to time them.
	tr.DialTLSContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		t0 := time.Now()
		raw, err := conns.dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		c := tc
		if c.ServerName == "" && !c.InsecureSkipVerify {
			c = tc.Clone()
			c.ServerName, _, _ = net.SplitHostPort(addr)
		}
		tlsConn := tls.Client(raw, c)
		if err := tlsConn.HandshakeContext(ctx); err != nil {
			_ = raw.Close()
			return nil, err
		}
		counter.ready(ctx, time.Since(t0), tlsConn.ConnectionState().DidResume)
		return tlsConn, nil
	}
}

func gatewayTLS(sc *workloads.Scenario) *workloads.TLS {
	if sc.Gateway == nil {
		return nil
	}
	return sc.Gateway.TLS
}

// sessionCache offers a cached session to a share of new connections.
type sessionCache struct {
	inner tls.ClientSessionCache
	share float64
	key   uint64

	mu sync.Mutex
	n  uint64
}

// Get implements tls.ClientSessionCache.
func (c *sessionCache) Get(k string) (*tls.ClientSessionState, bool) {
	c.mu.Lock()
	c.n++
	u := engine.Uniform(c.key, c.n, 0)
	c.mu.Unlock()
	if u >= c.share {
		return nil, false
	}
	return c.inner.Get(k)
}

// Put implements tls.ClientSessionCache.
func (c *sessionCache) Put(k string, cs *tls.ClientSessionState) { c.inner.Put(k, cs) }

// clientConns gives each client identity connections of its own, as the
// simulator does when the scenario models connections: a request goes on
// an idle connection of its client (the X-Edgelab-Client header the
// targeter sets), or opens one, so that connections, handshakes and the
// L4 balancer's placement follow clients, not the attacker's one pool.
// Clients beyond slots share (client mod slots), bounded by the
// connections the open file limit allows; so are their idle connections,
// maxConns/slots a client (at least one).
type clientConns struct {
	make  func() *http.Transport
	mu    sync.Mutex
	trs   []*http.Transport // by client mod len, made when first used
	slots uint64
	idle  int // idle connections kept per client
}

var _ http.RoundTripper = (*clientConns)(nil)

func newClientConns(newTransport func() *http.Transport, clients, maxConns int) *clientConns {
	n := max(1, min(clients, maxConns))
	return &clientConns{make: newTransport, trs: make([]*http.Transport, n), slots: uint64(n), idle: max(1, maxConns/n)}
}

// RoundTrip implements http.RoundTripper.
func (c *clientConns) RoundTrip(req *http.Request) (*http.Response, error) {
	id, _ := strconv.ParseUint(req.Header.Get(wire.HeaderClient), 10, 64)
	i := id % c.slots
	c.mu.Lock()
	tr := c.trs[i]
	if tr == nil {
		tr = c.make()
		tr.MaxIdleConnsPerHost = c.idle
		c.trs[i] = tr
	}
	c.mu.Unlock()
	return tr.RoundTrip(req)
}

// CloseIdleConnections closes every client's idle connections.
func (c *clientConns) CloseIdleConnections() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, tr := range c.trs {
		if tr != nil {
			tr.CloseIdleConnections()
		}
	}
}
