package live

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgelab/edgelab/strategies"
	"github.com/edgelab/edgelab/workloads"
)

// pxYAML builds a small scenario: clients and balancer take extra YAML
// lines (indented by the caller for their section), top adds top-level
// sections, servers replaces the default group (3 web servers).
type pxYAML struct {
	clients, balancer, top, servers string
}

func (y pxYAML) parse(t *testing.T) *workloads.Scenario {
	t.Helper()
	servers := y.servers
	if servers == "" {
		servers = "  - {name: web, count: 3, service: {dist: constant, mean: 1ms}}\n"
	}
	doc := "name: proxytest\nseed: 7\nduration: 1s\nclients:\n  arrival: {process: constant, rate: 10}\n" + y.clients +
		"balancer:\n  strategy: round-robin\n" + y.balancer + y.top + "servers:\n" + servers
	sc, err := workloads.Parse([]byte(doc), "proxytest.yaml", nil)
	if err != nil {
		t.Fatalf("scenario: %v\n%s", err, doc)
	}
	return sc
}

// pxBackend is a tiny upstream that records what it receives.
type pxBackend struct {
	id   string
	srv  *httptest.Server
	hits atomic.Int64
	mu   sync.Mutex
	seen []http.Header // request headers, in arrival order
}

// newPxBackend starts a backend; h (nil = answer 200 "id") handles
// traffic, /healthz answers 200 unless h handles it.
func newPxBackend(t *testing.T, id string, h http.HandlerFunc) *pxBackend {
	t.Helper()
	b := &pxBackend{id: id}
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" && h == nil {
			w.WriteHeader(http.StatusOK)
			return
		}
		if r.URL.Path != "/healthz" {
			b.hits.Add(1)
			b.mu.Lock()
			b.seen = append(b.seen, r.Header.Clone())
			b.mu.Unlock()
		}
		w.Header().Set(HeaderServer, id)
		if h != nil {
			h(w, r)
			return
		}
		_, _ = io.WriteString(w, id)
	}))
	t.Cleanup(b.srv.Close)
	return b
}

func (b *pxBackend) headers() []http.Header {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]http.Header(nil), b.seen...)
}

// pxUps lists backends as upstreams of group 0.
func pxUps(bs ...*pxBackend) []Upstream {
	ups := make([]Upstream, len(bs))
	for i, b := range bs {
		ups[i] = Upstream{ID: b.id, URL: b.srv.URL, Weight: 1}
	}
	return ups
}

// pxDeadURL is a loopback URL nothing listens on.
func pxDeadURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return "http://" + addr
}

// pxStart starts a gateway and a client for it, both closed at cleanup.
func pxStart(t *testing.T, cfg GatewayConfig) (*Gateway, *http.Client) {
	t.Helper()
	if cfg.Start.IsZero() {
		cfg.Start = time.Now()
	}
	g, err := StartGateway(cfg)
	if err != nil {
		t.Fatalf("StartGateway: %v", err)
	}
	tr := &http.Transport{Proxy: nil}
	c := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		if err := g.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return g, c
}

// pxAnswer is a response read whole.
type pxAnswer struct {
	code int
	h    http.Header
	body string
}

func pxGet(t *testing.T, c *http.Client, url string, hdr ...string) pxAnswer {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: read: %v", url, err)
	}
	return pxAnswer{code: resp.StatusCode, h: resp.Header, body: string(b)}
}

// pxEventually polls cond every few milliseconds for up to 2s.
func pxEventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestProxyEveryStrategy(t *testing.T) {
	bs := []*pxBackend{newPxBackend(t, "web-0", nil), newPxBackend(t, "web-1", nil), newPxBackend(t, "web-2", nil)}
	sc := pxYAML{}.parse(t)
	for _, name := range strategies.Names() {
		t.Run(name, func(t *testing.T) {
			before := make([]int64, len(bs))
			for i, b := range bs {
				before[i] = b.hits.Load()
			}
			g, c := pxStart(t, GatewayConfig{Scenario: sc, Strategy: name, Upstreams: pxUps(bs...)})
			const n = 30
			servers := map[string]int{}
			for i := range n {
				a := pxGet(t, c, g.URL()+"/x", HeaderKey, strconv.Itoa(i), HeaderClient, strconv.Itoa(i%7))
				if a.code != http.StatusOK || a.h.Get(HeaderAttempts) != "1" {
					t.Fatalf("request %d: %d %q attempts %q", i, a.code, a.body, a.h.Get(HeaderAttempts))
				}
				servers[a.body]++
			}
			var sent int64
			for i, b := range bs {
				sent += b.hits.Load() - before[i]
			}
			if sent != n {
				t.Fatalf("backends saw %d requests, want %d", sent, n)
			}
			if st := g.Stats(); st.Attempts != n || st.Requests != n || st.Endpoints != 3 || st.Healthy != 3 {
				t.Fatalf("stats %+v", st)
			}
			bal, err := strategies.New(name, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			if ra, ok := bal.(strategies.RequestAware); ok && ra.UsesRequest() {
				// A hashing strategy keeps one key (and client) on one
				// upstream, and spreads different ones.
				if len(servers) < 2 {
					t.Errorf("%d distinct keys all went to %v", n, servers)
				}
				var first string
				for i := range 10 {
					a := pxGet(t, c, g.URL()+"/x", HeaderKey, "4242", HeaderClient, "17")
					if i == 0 {
						first = a.body
					} else if a.body != first {
						t.Fatalf("key 4242 went to %s then %s", first, a.body)
					}
				}
			}
		})
	}
}

func TestProxyRoutesByPrefix(t *testing.T) {
	api := newPxBackend(t, "api-0", nil)
	web := newPxBackend(t, "web-0", nil)
	sc := pxYAML{
		top: "gateway:\n  routes: [{prefix: /api, to: api}, {prefix: /, to: web}]\n",
		servers: "  - {name: web, count: 1, service: {dist: constant, mean: 1ms}}\n" +
			"  - {name: api, count: 1, service: {dist: constant, mean: 1ms}}\n",
	}.parse(t)
	ups := []Upstream{{ID: "web-0", URL: web.srv.URL, Group: 0}, {ID: "api-0", URL: api.srv.URL, Group: 1}}
	g, c := pxStart(t, GatewayConfig{Scenario: sc, Upstreams: ups})
	for range 3 {
		if a := pxGet(t, c, g.URL()+"/api/orders?x=1"); a.body != "api-0" {
			t.Fatalf("/api went to %q", a.body)
		}
		if a := pxGet(t, c, g.URL()+"/index.html"); a.body != "web-0" {
			t.Fatalf("/ went to %q", a.body)
		}
	}
	if st := g.Stats(); st.Endpoints != 2 || st.Healthy != 2 {
		t.Fatalf("stats %+v", st)
	}
}

// pxFail5xx answers 500 error_5xx.
func pxFail5xx(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set(HeaderOutcome, "error_5xx")
	w.WriteHeader(http.StatusInternalServerError)
	_, _ = io.WriteString(w, "boom")
}

func TestProxyRetriesFailingUpstream(t *testing.T) {
	bad := newPxBackend(t, "web-0", pxFail5xx)
	sc := pxYAML{clients: "  retries: {max: 2, backoff: 1ms}\n", servers: "  - {name: web, count: 1, service: {dist: constant, mean: 1ms}}\n"}.parse(t)
	g, c := pxStart(t, GatewayConfig{Scenario: sc, Upstreams: pxUps(bad)})
	a := pxGet(t, c, g.URL()+"/x")
	if a.code != http.StatusInternalServerError || a.h.Get(HeaderOutcome) != "error_5xx" || a.h.Get(HeaderAttempts) != "3" || a.body != "boom" {
		t.Fatalf("got %d %q outcome %q attempts %q", a.code, a.body, a.h.Get(HeaderOutcome), a.h.Get(HeaderAttempts))
	}
	var nos []string
	for _, h := range bad.headers() {
		nos = append(nos, h.Get(HeaderAttempt))
	}
	if strings.Join(nos, ",") != "0,1,2" {
		t.Fatalf("attempt headers %v, want 0,1,2", nos)
	}
	if st := g.Stats(); st.Attempts != 3 {
		t.Fatalf("stats attempts %d, want 3", st.Attempts)
	}
}

func TestProxyRetryFindsGoodUpstream(t *testing.T) {
	bad := newPxBackend(t, "web-0", pxFail5xx)
	good := newPxBackend(t, "web-1", nil)
	sc := pxYAML{clients: "  retries: {max: 2, backoff: 1ms}\n"}.parse(t)
	g, c := pxStart(t, GatewayConfig{Scenario: sc, Upstreams: pxUps(bad, good)})
	// Round-robin starts with web-0: the first attempt fails, the retry
	// goes to web-1.
	a := pxGet(t, c, g.URL()+"/x")
	if a.code != http.StatusOK || a.body != "web-1" || a.h.Get(HeaderAttempts) != "2" {
		t.Fatalf("got %d %q attempts %q", a.code, a.body, a.h.Get(HeaderAttempts))
	}
}

func TestProxyRetryBudgetLimitsRetries(t *testing.T) {
	blocked := make(chan struct{}, 4)
	release := make(chan struct{})
	b := newPxBackend(t, "web-0", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get(HeaderAttempt) != "0" {
			blocked <- struct{}{}
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}
		pxFail5xx(w, r)
	})
	sc := pxYAML{clients: "  retries: {max: 1, backoff: 1ms, budget: 0.01, min_concurrency: 1}\n",
		servers: "  - {name: web, count: 1, service: {dist: constant, mean: 1ms}}\n"}.parse(t)
	g, c := pxStart(t, GatewayConfig{Scenario: sc, Upstreams: pxUps(b)})
	first := make(chan pxAnswer, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodGet, g.URL()+"/first", nil)
		resp, err := c.Do(req)
		if err != nil {
			first <- pxAnswer{code: -1, body: err.Error()}
			return
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		first <- pxAnswer{code: resp.StatusCode, h: resp.Header, body: string(body)}
	}()
	select {
	case <-blocked: // the first request's retry holds the budget's only slot
	case <-time.After(3 * time.Second):
		close(release)
		t.Fatal("the first request was never retried")
	}
	// The budget admits max(1, 1% of 2 active) = 1 concurrent retry:
	// the second request fails without one.
	a := pxGet(t, c, g.URL()+"/second")
	close(release)
	if a.code != http.StatusInternalServerError || a.h.Get(HeaderAttempts) != "1" {
		t.Fatalf("second: %d attempts %q, want 500 after 1 attempt (no budget)", a.code, a.h.Get(HeaderAttempts))
	}
	f := <-first
	if f.code != http.StatusInternalServerError || f.h.Get(HeaderAttempts) != "2" {
		t.Fatalf("first: %d %q attempts %q, want 500 after 2 attempts", f.code, f.body, f.h.Get(HeaderAttempts))
	}
}

func TestProxyHedgeFastAnswerWins(t *testing.T) {
	cancelled := make(chan struct{})
	b := newPxBackend(t, "web-0", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get(HeaderAttempt) == "0" {
			<-r.Context().Done() // the slow first attempt: only cancellation ends it
			close(cancelled)
			return
		}
		_, _ = io.WriteString(w, "fast")
	})
	sc := pxYAML{clients: "  hedge: {after: 20ms, max: 1}\n", servers: "  - {name: web, count: 1, service: {dist: constant, mean: 1ms}}\n"}.parse(t)
	g, c := pxStart(t, GatewayConfig{Scenario: sc, Upstreams: pxUps(b)})
	a := pxGet(t, c, g.URL()+"/x")
	if a.code != http.StatusOK || a.body != "fast" || a.h.Get(HeaderAttempts) != "2" {
		t.Fatalf("got %d %q attempts %q", a.code, a.body, a.h.Get(HeaderAttempts))
	}
	select {
	case <-cancelled:
	case <-time.After(3 * time.Second):
		t.Fatal("the losing attempt was not cancelled")
	}
	pxEventually(t, "in-flight back to 0", func() bool { return g.Stats().InFlight[0] == 0 })
}

// pxHang blocks until the request is cancelled.
func pxHang(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() }

func TestProxyPerTryTimeout(t *testing.T) {
	b := newPxBackend(t, "web-0", pxHang)
	sc := pxYAML{clients: "  retries: {max: 1, backoff: 1ms, per_try_timeout: 50ms}\n",
		servers: "  - {name: web, count: 1, service: {dist: constant, mean: 1ms}}\n"}.parse(t)
	g, c := pxStart(t, GatewayConfig{Scenario: sc, Upstreams: pxUps(b)})
	a := pxGet(t, c, g.URL()+"/x")
	if a.code != http.StatusGatewayTimeout || a.h.Get(HeaderOutcome) != "timeout" || a.h.Get(HeaderAttempts) != "2" {
		t.Fatalf("got %d outcome %q attempts %q", a.code, a.h.Get(HeaderOutcome), a.h.Get(HeaderAttempts))
	}
}

func TestProxyOverallTimeout(t *testing.T) {
	b := newPxBackend(t, "web-0", pxHang)
	sc := pxYAML{clients: "  timeout: 100ms\n", servers: "  - {name: web, count: 1, service: {dist: constant, mean: 1ms}}\n"}.parse(t)
	g, c := pxStart(t, GatewayConfig{Scenario: sc, Upstreams: pxUps(b)})
	a := pxGet(t, c, g.URL()+"/x")
	if a.code != http.StatusGatewayTimeout || a.h.Get(HeaderOutcome) != "timeout" || a.h.Get(HeaderAttempts) != "1" {
		t.Fatalf("got %d outcome %q attempts %q", a.code, a.h.Get(HeaderOutcome), a.h.Get(HeaderAttempts))
	}
	pxEventually(t, "in-flight back to 0", func() bool { return g.Stats().InFlight[0] == 0 })
}

func TestProxyActiveHealthEjectsSickUpstream(t *testing.T) {
	good := newPxBackend(t, "web-0", nil)
	sick := newPxBackend(t, "web-1", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "web-1")
	})
	sc := pxYAML{balancer: "  health:\n    active: {interval: 20ms, timeout: 1s, unhealthy: 1, healthy: 1}\n    panic_threshold: 0\n",
		servers: "  - {name: web, count: 2, service: {dist: constant, mean: 1ms}}\n"}.parse(t)
	g, c := pxStart(t, GatewayConfig{Scenario: sc, Upstreams: pxUps(good, sick)})
	pxEventually(t, "the sick upstream to be taken out", func() bool { return g.Stats().Healthy == 1 })
	before := sick.hits.Load()
	for range 20 {
		if a := pxGet(t, c, g.URL()+"/x"); a.code != http.StatusOK || a.body != "web-0" {
			t.Fatalf("got %d %q", a.code, a.body)
		}
	}
	if n := sick.hits.Load() - before; n != 0 {
		t.Fatalf("the unhealthy upstream still got %d requests", n)
	}
}

func TestProxyOutlierEjection(t *testing.T) {
	good := newPxBackend(t, "web-0", nil)
	bad := newPxBackend(t, "web-1", pxFail5xx)
	sc := pxYAML{balancer: "  health:\n    outlier: {consecutive_5xx: 3, base_ejection: 1m, max_ejection_percent: 50}\n    panic_threshold: 0\n",
		servers: "  - {name: web, count: 2, service: {dist: constant, mean: 1ms}}\n"}.parse(t)
	g, c := pxStart(t, GatewayConfig{Scenario: sc, Upstreams: pxUps(good, bad)})
	for range 6 { // round-robin: 3 go to the bad upstream
		pxGet(t, c, g.URL()+"/x")
	}
	if n := bad.hits.Load(); n != 3 {
		t.Fatalf("bad upstream got %d requests, want 3", n)
	}
	if st := g.Stats(); st.Ejections != 1 || st.Healthy != 1 {
		t.Fatalf("after 3 consecutive 5xx: stats %+v", st)
	}
	for range 10 {
		if a := pxGet(t, c, g.URL()+"/x"); a.code != http.StatusOK {
			t.Fatalf("got %d %q", a.code, a.body)
		}
	}
	if n := bad.hits.Load(); n != 3 {
		t.Fatalf("the ejected upstream got %d more requests", n-3)
	}
}

func TestProxyNoUpstreamWhenAllDown(t *testing.T) {
	sc := pxYAML{balancer: "  health:\n    active: {interval: 10ms, timeout: 200ms, unhealthy: 1, healthy: 1}\n    panic_threshold: 0\n",
		servers: "  - {name: web, count: 2, service: {dist: constant, mean: 1ms}}\n"}.parse(t)
	ups := []Upstream{{ID: "web-0", URL: pxDeadURL(t)}, {ID: "web-1", URL: pxDeadURL(t)}}
	g, c := pxStart(t, GatewayConfig{Scenario: sc, Upstreams: ups})
	pxEventually(t, "every upstream to be unhealthy", func() bool { return g.Stats().Healthy == 0 })
	a := pxGet(t, c, g.URL()+"/x")
	if a.code != http.StatusServiceUnavailable || a.h.Get(HeaderOutcome) != "no_upstream" || a.h.Get(HeaderAttempts) != "0" {
		t.Fatalf("got %d outcome %q attempts %q", a.code, a.h.Get(HeaderOutcome), a.h.Get(HeaderAttempts))
	}
}

func TestProxyConnectFailure(t *testing.T) {
	sc := pxYAML{clients: "  retries: {max: 1, backoff: 1ms}\n", servers: "  - {name: web, count: 1, service: {dist: constant, mean: 1ms}}\n"}.parse(t)
	g, c := pxStart(t, GatewayConfig{Scenario: sc, Upstreams: []Upstream{{ID: "web-0", URL: pxDeadURL(t)}}})
	a := pxGet(t, c, g.URL()+"/x")
	if a.code != http.StatusBadGateway || a.h.Get(HeaderOutcome) != "connect_failure" || a.h.Get(HeaderAttempts) != "2" {
		t.Fatalf("got %d outcome %q attempts %q", a.code, a.h.Get(HeaderOutcome), a.h.Get(HeaderAttempts))
	}
	g.proxy.mu.Lock()
	sig := g.proxy.signal(0)
	g.proxy.mu.Unlock()
	if sig.Utilization != 1 {
		t.Fatalf("a refusing upstream should report the worst load, got %+v", sig)
	}
}

func TestProxySignalsFromAnswers(t *testing.T) {
	b := newPxBackend(t, "web-0", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set(HeaderInFlight, "7")
		w.Header().Set(HeaderUtilization, "0.75")
		w.Header().Set(HeaderServiceTime, "2500000")
	})
	sc := pxYAML{servers: "  - {name: web, count: 1, service: {dist: constant, mean: 1ms}}\n"}.parse(t)
	g, c := pxStart(t, GatewayConfig{Scenario: sc, Strategy: "prequal", Upstreams: pxUps(b)})
	pxGet(t, c, g.URL()+"/x")
	g.proxy.mu.Lock()
	sig := g.proxy.signal(0)
	g.proxy.mu.Unlock()
	if want := (strategies.Signal{InFlight: 7, Utilization: 0.75, ServiceTime: 2500 * time.Microsecond}); sig != want {
		t.Fatalf("signal %+v, want %+v", sig, want)
	}
}

// pxRaw sends a raw HTTP/1.1 request and reads the answer.
func pxRaw(t *testing.T, addr, raw string) *http.Response {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(conn, raw); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("read answer: %v", err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

func TestProxyStripsHopByHopAndAppendsXFF(t *testing.T) {
	b := newPxBackend(t, "web-0", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Keep-Alive", "timeout=99")
		w.Header().Set("Proxy-Thing", "x")
		w.Header().Set("X-Answer", "kept")
	})
	sc := pxYAML{servers: "  - {name: web, count: 1, service: {dist: constant, mean: 1ms}}\n"}.parse(t)
	g, _ := pxStart(t, GatewayConfig{Scenario: sc, Upstreams: pxUps(b)})
	resp := pxRaw(t, g.Addr(), "GET /x HTTP/1.1\r\nHost: gw\r\nConnection: keep-alive, X-Hop\r\nX-Hop: secret\r\n"+
		"Keep-Alive: timeout=5\r\nProxy-Authorization: Basic eDp5\r\nProxy-Foo: bar\r\nTE: trailers\r\nUpgrade: websocket\r\n"+
		"X-Forwarded-For: 203.0.113.9\r\nX-Keep: yes\r\n"+HeaderAttempt+": 9\r\nConnection: close\r\n\r\n")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	hs := b.headers()
	if len(hs) != 1 {
		t.Fatalf("backend saw %d requests", len(hs))
	}
	h := hs[0]
	for _, k := range []string{"X-Hop", "Keep-Alive", "Proxy-Authorization", "Proxy-Foo", "Te", "Upgrade"} {
		if v := h.Get(k); v != "" {
			t.Errorf("hop-by-hop header %s reached the backend: %q", k, v)
		}
	}
	if h.Get("X-Keep") != "yes" {
		t.Errorf("end-to-end header X-Keep lost")
	}
	if got := h.Get("X-Forwarded-For"); got != "203.0.113.9, 127.0.0.1" {
		t.Errorf("X-Forwarded-For %q", got)
	}
	if got := h.Get(HeaderAttempt); got != "0" {
		t.Errorf("attempt header %q, want the proxy's 0", got)
	}
	if resp.Header.Get("Keep-Alive") != "" || resp.Header.Get("Proxy-Thing") != "" || resp.Header.Get("X-Answer") != "kept" {
		t.Errorf("answer headers %v", resp.Header)
	}
}

func TestProxyRefusesOpenProxyRequests(t *testing.T) {
	b := newPxBackend(t, "web-0", nil)
	sc := pxYAML{servers: "  - {name: web, count: 1, service: {dist: constant, mean: 1ms}}\n"}.parse(t)
	g, _ := pxStart(t, GatewayConfig{Scenario: sc, Upstreams: pxUps(b)})
	for _, raw := range []string{
		"GET http://example.com/x HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n",
		"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\nConnection: close\r\n\r\n",
	} {
		if resp := pxRaw(t, g.Addr(), raw); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%q: status %d, want 400", strings.SplitN(raw, "\r\n", 2)[0], resp.StatusCode)
		}
	}
	// The handler refuses them too when called directly.
	for _, r := range []*http.Request{
		httptest.NewRequest(http.MethodGet, "http://example.com/x", nil),
		httptest.NewRequest(http.MethodConnect, "example.com:443", nil),
	} {
		w := httptest.NewRecorder()
		g.Proxy().ServeHTTP(w, r)
		if w.Code != http.StatusBadRequest {
			t.Errorf("%s %s: status %d, want 400", r.Method, r.RequestURI, w.Code)
		}
	}
	if n := b.hits.Load(); n != 0 {
		t.Fatalf("the backend got %d requests", n)
	}
}

func TestProxyBodyLimit(t *testing.T) {
	b := newPxBackend(t, "web-0", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		_, _ = w.Write(body)
	})
	sc := pxYAML{servers: "  - {name: web, count: 1, service: {dist: constant, mean: 1ms}}\n"}.parse(t)
	g, c := pxStart(t, GatewayConfig{Scenario: sc, Upstreams: pxUps(b), MaxBody: 16})
	post := func(body string) (int, string) {
		resp, err := c.Post(g.URL()+"/x", "text/plain", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		got, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(got)
	}
	if code, got := post("small body"); code != http.StatusOK || got != "small body" {
		t.Fatalf("small: %d %q", code, got)
	}
	if code, _ := post(strings.Repeat("x", 100)); code != http.StatusRequestEntityTooLarge {
		t.Fatalf("large: %d, want 413", code)
	}
}

func TestGatewayAdmissionQueueFull(t *testing.T) {
	b := newPxBackend(t, "web-0", nil)
	entered := make(chan struct{}, 4)
	release := make(chan struct{})
	mw := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("X-Block") != "" {
				entered <- struct{}{}
				<-release
			}
			next.ServeHTTP(w, r)
		})
	}
	sc := pxYAML{top: "gateway:\n  concurrency: 1\n  queue: 1\n", servers: "  - {name: web, count: 1, service: {dist: constant, mean: 1ms}}\n"}.parse(t)
	g, c := pxStart(t, GatewayConfig{Scenario: sc, Upstreams: pxUps(b), Middleware: mw})
	done := make(chan int, 2)
	send := func() {
		req, _ := http.NewRequest(http.MethodGet, g.URL()+"/x", nil)
		req.Header.Set("X-Block", "1")
		resp, err := c.Do(req)
		if err != nil {
			done <- -1
			return
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		done <- resp.StatusCode
	}
	go send()
	select {
	case <-entered: // the only worker is busy
	case <-time.After(3 * time.Second):
		close(release)
		t.Fatal("the first request never reached the middleware")
	}
	go send()
	pxEventually(t, "a request to wait in the queue", func() bool {
		g.adm.mu.Lock()
		defer g.adm.mu.Unlock()
		return g.adm.waiting.Len() == 1
	})
	a := pxGet(t, c, g.URL()+"/x")
	close(release)
	if a.code != http.StatusServiceUnavailable || a.h.Get(HeaderOutcome) != "queue_full" {
		t.Fatalf("third request: %d outcome %q, want 503 queue_full", a.code, a.h.Get(HeaderOutcome))
	}
	for range 2 {
		if code := <-done; code != http.StatusOK {
			t.Fatalf("admitted request: status %d", code)
		}
	}
	if a := pxGet(t, c, g.URL()+"/x"); a.code != http.StatusOK {
		t.Fatalf("after the queue drained: %d", a.code)
	}
}

func TestGatewayHealthzAndStats(t *testing.T) {
	b := newPxBackend(t, "web-0", nil)
	sc := pxYAML{servers: "  - {name: web, count: 1, service: {dist: constant, mean: 1ms}}\n"}.parse(t)
	g, c := pxStart(t, GatewayConfig{Scenario: sc, Upstreams: pxUps(b)})
	if a := pxGet(t, c, g.URL()+"/healthz"); a.code != http.StatusOK {
		t.Fatalf("/healthz: %d", a.code)
	}
	if n := b.hits.Load(); n != 0 {
		t.Fatalf("/healthz reached the backend")
	}
	if !strings.HasPrefix(g.URL(), "http://127.0.0.1:") {
		t.Fatalf("URL %s", g.URL())
	}
	if st := g.Stats(); st.Requests != 0 || st.Endpoints != 1 || len(st.InFlight) != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// pxGoroutinesSettle waits for the goroutine count to drop to at most n.
func pxGoroutinesSettle(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > n {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			buf = buf[:runtime.Stack(buf, true)]
			t.Fatalf("%d goroutines, want at most %d:\n%s", runtime.NumGoroutine(), n, buf)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestGatewayCloseLeaksNothing(t *testing.T) {
	b := newPxBackend(t, "web-0", nil)
	slow := newPxBackend(t, "web-1", pxHang)
	sc := pxYAML{clients: "  hedge: {after: 5ms, max: 1}\n",
		balancer: "  health:\n    active: {interval: 10ms, timeout: 100ms}\n",
		servers:  "  - {name: web, count: 2, service: {dist: constant, mean: 1ms}}\n"}.parse(t)
	base := runtime.NumGoroutine()
	g, err := StartGateway(GatewayConfig{Scenario: sc, Start: time.Now(), Upstreams: pxUps(b, slow)})
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{}
	c := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	for i := range 4 {
		if a := pxGet(t, c, g.URL()+"/x"); a.code != http.StatusOK {
			t.Fatalf("request %d: %d", i, a.code)
		}
	}
	tr.CloseIdleConnections()
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	if err := g.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	// The hedged-away attempts to the hanging backend were cancelled; its
	// handlers end with them. Only the httptest servers' own goroutines
	// may remain.
	pxGoroutinesSettle(t, base)
	if st := g.Stats(); fmt.Sprint(st.InFlight) != "[0 0]" {
		t.Fatalf("in flight after close: %v", st.InFlight)
	}
}
