package gateway

import (
	"container/list"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/edgelab/edgelab/plan"
)

// Gateway is one running gateway instance: a hardened HTTP server on
// loopback, holding at most Config.MaxConnections client connections
// (DefaultMaxConnections), answering its own /healthz, admitting requests to its workers
// (gateway.concurrency and gateway.queue), running the stages middleware
// and then the reverse proxy.
type Gateway struct {
	cfg     Config
	proxy   *proxy
	inner   http.Handler // middleware(proxy)
	ln      net.Listener
	srv     *http.Server
	adm     *admission // nil without a gateway section
	timeout time.Duration
	served  chan error
	scheme  string // http or https
	// keepRequests closes a connection after this many requests
	// (clients.keepalive.requests, NGINX's keepalive_requests; 0: never).
	keepRequests int64

	base       context.Context
	cancelBase context.CancelFunc

	mu     sync.Mutex
	closed bool
	wg     sync.WaitGroup // handlers in progress

	closeOnce sync.Once
	closeErr  error
}

// Server limits of a gateway instance.
const (
	gwReadHeaderTimeout = 10 * time.Second
	gwReadTimeout       = 60 * time.Second
	gwIdleTimeout       = 120 * time.Second
	gwMaxHeaderBytes    = 64 << 10
	gwShutdownGrace     = 2 * time.Second
)

// StartGateway starts a gateway instance on cfg.Listen (default 127.0.0.1
// on a free port) with the proxy cfg describes. Close stops it.
//
// The instance's goroutines (connections, handlers, upstream attempts,
// health checks) carry the profiler label CPULabel=CPUGateway, so that a
// CPU profile tells the gateway's CPU time from the rest of the process.
func StartGateway(cfg Config) (g *Gateway, err error) {
	pprof.Do(context.Background(), pprof.Labels(CPULabel, CPUGateway), func(context.Context) {
		g, err = startGateway(cfg)
	})
	return g, err
}

func startGateway(cfg Config) (*Gateway, error) {
	p, err := newProxy(cfg)
	if err != nil {
		return nil, fmt.Errorf("gateway %d: %w", cfg.Instance, err)
	}
	ln, err := net.Listen("tcp", listenAddr(cfg.Listen))
	if err != nil {
		_ = p.Close()
		return nil, fmt.Errorf("gateway %d: listen: %w", cfg.Instance, err)
	}
	maxConns := cfg.MaxConnections
	if maxConns <= 0 {
		maxConns = DefaultMaxConnections
	}
	lim := newConnLimiter(ln, maxConns, cfg.ConnMode)
	keep := cfg.Scenario.Clients.Keepalive
	g := &Gateway{cfg: cfg, proxy: p, ln: lim, timeout: cfg.Scenario.Clients.Timeout.D(), served: make(chan error, 1), scheme: "http"}
	if keep != nil {
		g.keepRequests = int64(keep.Requests)
	}
	var front net.Listener = lim
	protocols := new(http.Protocols)
	protocols.SetHTTP1(true)
	if cfg.TLS != nil {
		tc := cfg.TLS.Clone()
		tc.NextProtos = []string{"http/1.1"}
		if keep != nil && keep.Multiplex {
			tc.NextProtos = []string{"h2", "http/1.1"}
			protocols.SetHTTP2(true)
		}
		front = tls.NewListener(lim, tc)
		g.scheme = "https"
	} else if keep != nil && keep.Multiplex {
		protocols.SetUnencryptedHTTP2(true) // h2c with prior knowledge
	}
	if gc := cfg.Scenario.Gateway; gc != nil {
		queue := -1
		if gc.Queue != nil {
			queue = *gc.Queue
		}
		g.adm = newPxAdmission(max(gc.Concurrency, 1), queue)
	}
	g.inner = p
	if cfg.Middleware != nil {
		g.inner = cfg.Middleware(p)
	}
	g.base, g.cancelBase = context.WithCancel(context.Background())
	errLog := log.New(io.Discard, "", 0)
	if cfg.Logf != nil {
		errLog = log.New(gwLogWriter{logf: cfg.Logf, instance: cfg.Instance}, "", 0)
	}
	idle := gwIdleTimeout
	if keep != nil && keep.Idle > 0 {
		idle = keep.Idle.D()
	}
	g.srv = &http.Server{
		Handler:           http.HandlerFunc(g.serve),
		ReadHeaderTimeout: gwReadHeaderTimeout,
		ReadTimeout:       gwReadTimeout,
		IdleTimeout:       idle,
		MaxHeaderBytes:    gwMaxHeaderBytes,
		BaseContext:       func(net.Listener) context.Context { return g.base },
		ErrorLog:          errLog,
		ConnState:         lim.connState,
		Protocols:         protocols,
	}
	if g.keepRequests > 0 {
		g.srv.ConnContext = func(ctx context.Context, _ net.Conn) context.Context {
			return context.WithValue(ctx, connReqsKey{}, new(atomic.Int64))
		}
	}
	go func() { g.served <- g.srv.Serve(front) }()
	return g, nil
}

// The profiler label of the gateway instances' goroutines.
const (
	CPULabel   = "edgelab"
	CPUGateway = "gateway"
)

// connReqsKey keys a connection's request count in its requests'
// contexts (clients.keepalive.requests).
type connReqsKey struct{}

// gwLogWriter sends the HTTP server's error log to Config.Logf.
type gwLogWriter struct {
	logf     func(string, ...any)
	instance int
}

func (w gwLogWriter) Write(b []byte) (int, error) {
	w.logf("live: gateway %d: %s", w.instance, strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

// Addr is the gateway's host:port.
func (g *Gateway) Addr() string { return g.ln.Addr().String() }

// URL is the gateway's base URL (http://host:port, https:// when it
// terminates TLS).
func (g *Gateway) URL() string { return g.scheme + "://" + g.Addr() }

// Stats returns a snapshot of the instance's proxy counters and
// balancer state.
func (g *Gateway) Stats() ProxyStats { return g.proxy.Stats() }

// Close stops accepting requests, lets those in progress finish for a
// short grace period (then cancels them), and waits for every handler,
// upstream attempt and health checker to end.
func (g *Gateway) Close() error {
	g.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), gwShutdownGrace)
		err := g.srv.Shutdown(ctx)
		cancel()
		g.cancelBase()
		if err != nil {
			_ = g.srv.Close()
		}
		if serr := <-g.served; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
			g.closeErr = fmt.Errorf("gateway %d: serve: %w", g.cfg.Instance, serr)
		}
		g.mu.Lock()
		g.closed = true
		g.mu.Unlock()
		g.wg.Wait()
		if perr := g.proxy.Close(); perr != nil && g.closeErr == nil {
			g.closeErr = fmt.Errorf("gateway %d: %w", g.cfg.Instance, perr)
		}
	})
	return g.closeErr
}

// serve is the instance's front handler: its own /healthz, edge checks,
// admission, then the middleware and proxy.
func (g *Gateway) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/healthz" && r.RequestURI == "/healthz" && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		if r.Method == http.MethodGet {
			_, _ = io.WriteString(w, "ok\n")
		}
		return
	}
	arrival := time.Now()
	if g.keepRequests > 0 {
		// The connection's last request: the answer says so and the
		// server closes the connection after it (HTTP/2: a GOAWAY).
		if n, ok := r.Context().Value(connReqsKey{}).(*atomic.Int64); ok && n.Add(1) >= g.keepRequests {
			w.Header().Set("Connection", "close")
		}
	}
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		ownReply(w, r, http.StatusServiceUnavailable, "", 0, "gateway is shutting down")
		return
	}
	g.wg.Add(1)
	g.mu.Unlock()
	defer g.wg.Done()
	if msg := edgeCheck(r); msg != "" {
		http.Error(w, msg, http.StatusBadRequest)
		return
	}
	if r.Body != nil && r.Body != http.NoBody {
		r.Body = http.MaxBytesReader(w, r.Body, g.proxy.maxBody)
	}
	g.proxy.countRequest()
	ctx := context.WithValue(r.Context(), arrivalKey{}, arrival)
	ctx = context.WithValue(ctx, baseKey{}, g.base)
	if g.adm != nil {
		wctx := ctx
		if g.timeout > 0 {
			var cancel context.CancelFunc
			wctx, cancel = context.WithDeadline(ctx, arrival.Add(g.timeout))
			defer cancel()
		}
		release, ok, full := g.adm.acquire(wctx)
		if !ok {
			if full {
				ownReply(w, r, http.StatusServiceUnavailable, plan.QueueFull.String(), 0, "gateway queue full")
			} else {
				ownReply(w, r, http.StatusGatewayTimeout, plan.Timeout.String(), 0, "timed out waiting for a gateway worker")
			}
			return
		}
		slot := &slot{release: release}
		defer slot.free()
		ctx = context.WithValue(ctx, slotKey{}, slot)
	}
	g.inner.ServeHTTP(w, r.WithContext(ctx))
}

// admission is a gateway instance's workers and waiting room: at most
// conc requests are processed at once, up to queue more wait in FIFO
// order (queue < 0: unbounded), the rest are refused (queue_full), as the
// simulator's gateway instance does.
type admission struct {
	mu       sync.Mutex
	conc     int
	busy     int
	queueCap int
	waiting  *list.List // of chan struct{}, closed when granted a worker
}

func newPxAdmission(conc, queue int) *admission {
	return &admission{conc: conc, queueCap: queue, waiting: list.New()}
}

// acquire takes a worker, waiting in line while ctx allows. ok reports
// that the caller holds a worker and must call release; otherwise full
// tells a full waiting room from ctx ending first.
func (a *admission) acquire(ctx context.Context) (release func(), ok, full bool) {
	a.mu.Lock()
	if a.busy < a.conc && a.waiting.Len() == 0 {
		a.busy++
		a.mu.Unlock()
		return a.release, true, false
	}
	if a.queueCap >= 0 && a.waiting.Len() >= a.queueCap {
		a.mu.Unlock()
		return nil, false, true
	}
	ch := make(chan struct{})
	e := a.waiting.PushBack(ch)
	a.mu.Unlock()
	select {
	case <-ch:
		return a.release, true, false
	case <-ctx.Done():
	}
	a.mu.Lock()
	select {
	case <-ch:
		// Granted a worker just as the wait ended: hand it on.
		a.mu.Unlock()
		a.release()
	default:
		a.waiting.Remove(e)
		a.mu.Unlock()
	}
	return nil, false, false
}

// release frees a worker: the first in line takes it over, or it idles.
func (a *admission) release() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if e := a.waiting.Front(); e != nil {
		a.waiting.Remove(e)
		close(e.Value.(chan struct{}))
		return
	}
	a.busy--
}

// listenAddr is addr, or 127.0.0.1 on a free port when it is empty.
func listenAddr(addr string) string {
	if addr == "" {
		return "127.0.0.1:0"
	}
	return addr
}
