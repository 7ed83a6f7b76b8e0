package gateway

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
	"testing"
	"time"

	"github.com/edgelab/edgelab/live/internal/livetest"
	"github.com/edgelab/edgelab/live/wire"
	"github.com/edgelab/edgelab/strategies"
)

// ups lists backends as upstreams of group 0.
func ups(bs ...*livetest.Backend) []Upstream {
	ups := make([]Upstream, len(bs))
	for i, b := range bs {
		ups[i] = Upstream{ID: b.ID, URL: b.Srv.URL, Weight: 1}
	}
	return ups
}

// start starts a gateway and a client for it, both closed at cleanup.
func start(t *testing.T, cfg Config) (*Gateway, *http.Client) {
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

func TestProxyEveryStrategy(t *testing.T) {
	bs := []*livetest.Backend{livetest.NewBackend(t, "web-0", nil), livetest.NewBackend(t, "web-1", nil), livetest.NewBackend(t, "web-2", nil)}
	sc := livetest.YAML{}.Parse(t)
	for _, name := range strategies.Names() {
		t.Run(name, func(t *testing.T) {
			before := make([]int64, len(bs))
			for i, b := range bs {
				before[i] = b.Hits.Load()
			}
			g, c := start(t, Config{Scenario: sc, Strategy: name, Upstreams: ups(bs...)})
			const n = 30
			servers := map[string]int{}
			for i := range n {
				a := livetest.Get(t, c, g.URL()+"/x", wire.HeaderKey, strconv.Itoa(i), wire.HeaderClient, strconv.Itoa(i%7))
				if a.Code != http.StatusOK || a.Header.Get(wire.HeaderAttempts) != "1" {
					t.Fatalf("request %d: %d %q attempts %q", i, a.Code, a.Body, a.Header.Get(wire.HeaderAttempts))
				}
				servers[a.Body]++
			}
			var sent int64
			for i, b := range bs {
				sent += b.Hits.Load() - before[i]
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
					a := livetest.Get(t, c, g.URL()+"/x", wire.HeaderKey, "4242", wire.HeaderClient, "17")
					if i == 0 {
						first = a.Body
					} else if a.Body != first {
						t.Fatalf("key 4242 went to %s then %s", first, a.Body)
					}
				}
			}
		})
	}
}

func TestProxyRoutesByPrefix(t *testing.T) {
	api := livetest.NewBackend(t, "api-0", nil)
	web := livetest.NewBackend(t, "web-0", nil)
	sc := livetest.YAML{
		Top: "gateway:\n  routes: [{prefix: /api, to: api}, {prefix: /, to: web}]\n",
		Servers: "  - {name: web, count: 1, service: {dist: constant, mean: 1ms}}\n" +
			"  - {name: api, count: 1, service: {dist: constant, mean: 1ms}}\n",
	}.Parse(t)
	ups := []Upstream{{ID: "web-0", URL: web.Srv.URL, Group: 0}, {ID: "api-0", URL: api.Srv.URL, Group: 1}}
	g, c := start(t, Config{Scenario: sc, Upstreams: ups})
	for range 3 {
		if a := livetest.Get(t, c, g.URL()+"/api/orders?x=1"); a.Body != "api-0" {
			t.Fatalf("/api went to %q", a.Body)
		}
		if a := livetest.Get(t, c, g.URL()+"/index.html"); a.Body != "web-0" {
			t.Fatalf("/ went to %q", a.Body)
		}
	}
	if st := g.Stats(); st.Endpoints != 2 || st.Healthy != 2 {
		t.Fatalf("stats %+v", st)
	}
}

// fail5xx answers 500 error_5xx.
func fail5xx(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set(wire.HeaderOutcome, "error_5xx")
	w.WriteHeader(http.StatusInternalServerError)
	_, _ = io.WriteString(w, "boom")
}

func TestProxyRetriesFailingUpstream(t *testing.T) {
	bad := livetest.NewBackend(t, "web-0", fail5xx)
	sc := livetest.YAML{Clients: "  retries: {max: 2, backoff: 1ms}\n", Servers: "  - {name: web, count: 1, service: {dist: constant, mean: 1ms}}\n"}.Parse(t)
	g, c := start(t, Config{Scenario: sc, Upstreams: ups(bad)})
	a := livetest.Get(t, c, g.URL()+"/x")
	if a.Code != http.StatusInternalServerError || a.Header.Get(wire.HeaderOutcome) != "error_5xx" || a.Header.Get(wire.HeaderAttempts) != "3" || a.Body != "boom" {
		t.Fatalf("got %d %q outcome %q attempts %q", a.Code, a.Body, a.Header.Get(wire.HeaderOutcome), a.Header.Get(wire.HeaderAttempts))
	}
	var nos []string
	for _, h := range bad.Headers() {
		nos = append(nos, h.Get(wire.HeaderAttempt))
	}
	if strings.Join(nos, ",") != "0,1,2" {
		t.Fatalf("attempt headers %v, want 0,1,2", nos)
	}
	if st := g.Stats(); st.Attempts != 3 {
		t.Fatalf("stats attempts %d, want 3", st.Attempts)
	}
}

func TestProxyRetryFindsGoodUpstream(t *testing.T) {
	bad := livetest.NewBackend(t, "web-0", fail5xx)
	good := livetest.NewBackend(t, "web-1", nil)
	sc := livetest.YAML{Clients: "  retries: {max: 2, backoff: 1ms}\n"}.Parse(t)
	g, c := start(t, Config{Scenario: sc, Upstreams: ups(bad, good)})
	// Round-robin starts with web-0: the first attempt fails, the retry
	// goes to web-1.
	a := livetest.Get(t, c, g.URL()+"/x")
	if a.Code != http.StatusOK || a.Body != "web-1" || a.Header.Get(wire.HeaderAttempts) != "2" {
		t.Fatalf("got %d %q attempts %q", a.Code, a.Body, a.Header.Get(wire.HeaderAttempts))
	}
}

func TestProxyRetryBudgetLimitsRetries(t *testing.T) {
	blocked := make(chan struct{}, 4)
	release := make(chan struct{})
	b := livetest.NewBackend(t, "web-0", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get(wire.HeaderAttempt) != "0" {
			blocked <- struct{}{}
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}
		fail5xx(w, r)
	})
	sc := livetest.YAML{Clients: "  retries: {max: 1, backoff: 1ms, budget: 0.01, min_concurrency: 1}\n",
		Servers: "  - {name: web, count: 1, service: {dist: constant, mean: 1ms}}\n"}.Parse(t)
	g, c := start(t, Config{Scenario: sc, Upstreams: ups(b)})
	first := make(chan livetest.Answer, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodGet, g.URL()+"/first", nil)
		resp, err := c.Do(req)
		if err != nil {
			first <- livetest.Answer{Code: -1, Body: err.Error()}
			return
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		first <- livetest.Answer{Code: resp.StatusCode, Header: resp.Header, Body: string(body)}
	}()
	select {
	case <-blocked: // the first request's retry holds the budget's only slot
	case <-time.After(3 * time.Second):
		close(release)
		t.Fatal("the first request was never retried")
	}
	// The budget admits max(1, 1% of 2 active) = 1 concurrent retry:
	// the second request fails without one.
	a := livetest.Get(t, c, g.URL()+"/second")
	close(release)
	if a.Code != http.StatusInternalServerError || a.Header.Get(wire.HeaderAttempts) != "1" {
		t.Fatalf("second: %d attempts %q, want 500 after 1 attempt (no budget)", a.Code, a.Header.Get(wire.HeaderAttempts))
	}
	f := <-first
	if f.Code != http.StatusInternalServerError || f.Header.Get(wire.HeaderAttempts) != "2" {
		t.Fatalf("first: %d %q attempts %q, want 500 after 2 attempts", f.Code, f.Body, f.Header.Get(wire.HeaderAttempts))
	}
}

func TestProxyHedgeFastAnswerWins(t *testing.T) {
	cancelled := make(chan struct{})
	b := livetest.NewBackend(t, "web-0", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get(wire.HeaderAttempt) == "0" {
			<-r.Context().Done() // the slow first attempt: only cancellation ends it
			close(cancelled)
			return
		}
		_, _ = io.WriteString(w, "fast")
	})
	sc := livetest.YAML{Clients: "  hedge: {after: 20ms, max: 1}\n", Servers: "  - {name: web, count: 1, service: {dist: constant, mean: 1ms}}\n"}.Parse(t)
	g, c := start(t, Config{Scenario: sc, Upstreams: ups(b)})
	a := livetest.Get(t, c, g.URL()+"/x")
	if a.Code != http.StatusOK || a.Body != "fast" || a.Header.Get(wire.HeaderAttempts) != "2" {
		t.Fatalf("got %d %q attempts %q", a.Code, a.Body, a.Header.Get(wire.HeaderAttempts))
	}
	select {
	case <-cancelled:
	case <-time.After(3 * time.Second):
		t.Fatal("the losing attempt was not cancelled")
	}
	livetest.Eventually(t, "in-flight back to 0", func() bool { return g.Stats().InFlight[0] == 0 })
}

// hang blocks until the request is cancelled.
func hang(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() }

func TestProxyPerTryTimeout(t *testing.T) {
	b := livetest.NewBackend(t, "web-0", hang)
	sc := livetest.YAML{Clients: "  retries: {max: 1, backoff: 1ms, per_try_timeout: 50ms}\n",
		Servers: "  - {name: web, count: 1, service: {dist: constant, mean: 1ms}}\n"}.Parse(t)
	g, c := start(t, Config{Scenario: sc, Upstreams: ups(b)})
	a := livetest.Get(t, c, g.URL()+"/x")
	if a.Code != http.StatusGatewayTimeout || a.Header.Get(wire.HeaderOutcome) != "timeout" || a.Header.Get(wire.HeaderAttempts) != "2" {
		t.Fatalf("got %d outcome %q attempts %q", a.Code, a.Header.Get(wire.HeaderOutcome), a.Header.Get(wire.HeaderAttempts))
	}
}

func TestProxyOverallTimeout(t *testing.T) {
	b := livetest.NewBackend(t, "web-0", hang)
	sc := livetest.YAML{Clients: "  timeout: 100ms\n", Servers: "  - {name: web, count: 1, service: {dist: constant, mean: 1ms}}\n"}.Parse(t)
	g, c := start(t, Config{Scenario: sc, Upstreams: ups(b)})
	a := livetest.Get(t, c, g.URL()+"/x")
	if a.Code != http.StatusGatewayTimeout || a.Header.Get(wire.HeaderOutcome) != "timeout" || a.Header.Get(wire.HeaderAttempts) != "1" {
		t.Fatalf("got %d outcome %q attempts %q", a.Code, a.Header.Get(wire.HeaderOutcome), a.Header.Get(wire.HeaderAttempts))
	}
	livetest.Eventually(t, "in-flight back to 0", func() bool { return g.Stats().InFlight[0] == 0 })
}

func TestProxyActiveHealthEjectsSickUpstream(t *testing.T) {
	good := livetest.NewBackend(t, "web-0", nil)
	sick := livetest.NewBackend(t, "web-1", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "web-1")
	})
	sc := livetest.YAML{Balancer: "  health:\n    active: {interval: 20ms, timeout: 1s, unhealthy: 1, healthy: 1}\n    panic_threshold: 0\n",
		Servers: "  - {name: web, count: 2, service: {dist: constant, mean: 1ms}}\n"}.Parse(t)
	g, c := start(t, Config{Scenario: sc, Upstreams: ups(good, sick)})
	livetest.Eventually(t, "the sick upstream to be taken out", func() bool { return g.Stats().Healthy == 1 })
	before := sick.Hits.Load()
	for range 20 {
		if a := livetest.Get(t, c, g.URL()+"/x"); a.Code != http.StatusOK || a.Body != "web-0" {
			t.Fatalf("got %d %q", a.Code, a.Body)
		}
	}
	if n := sick.Hits.Load() - before; n != 0 {
		t.Fatalf("the unhealthy upstream still got %d requests", n)
	}
}

func TestProxyOutlierEjection(t *testing.T) {
	good := livetest.NewBackend(t, "web-0", nil)
	bad := livetest.NewBackend(t, "web-1", fail5xx)
	sc := livetest.YAML{Balancer: "  health:\n    outlier: {consecutive_5xx: 3, base_ejection: 1m, max_ejection_percent: 50}\n    panic_threshold: 0\n",
		Servers: "  - {name: web, count: 2, service: {dist: constant, mean: 1ms}}\n"}.Parse(t)
	g, c := start(t, Config{Scenario: sc, Upstreams: ups(good, bad)})
	for range 6 { // round-robin: 3 go to the bad upstream
		livetest.Get(t, c, g.URL()+"/x")
	}
	if n := bad.Hits.Load(); n != 3 {
		t.Fatalf("bad upstream got %d requests, want 3", n)
	}
	if st := g.Stats(); st.Ejections != 1 || st.Healthy != 1 {
		t.Fatalf("after 3 consecutive 5xx: stats %+v", st)
	}
	for range 10 {
		if a := livetest.Get(t, c, g.URL()+"/x"); a.Code != http.StatusOK {
			t.Fatalf("got %d %q", a.Code, a.Body)
		}
	}
	if n := bad.Hits.Load(); n != 3 {
		t.Fatalf("the ejected upstream got %d more requests", n-3)
	}
}

func TestProxyNoUpstreamWhenAllDown(t *testing.T) {
	sc := livetest.YAML{Balancer: "  health:\n    active: {interval: 10ms, timeout: 200ms, unhealthy: 1, healthy: 1}\n    panic_threshold: 0\n",
		Servers: "  - {name: web, count: 2, service: {dist: constant, mean: 1ms}}\n"}.Parse(t)
	ups := []Upstream{{ID: "web-0", URL: livetest.DeadURL(t)}, {ID: "web-1", URL: livetest.DeadURL(t)}}
	g, c := start(t, Config{Scenario: sc, Upstreams: ups})
	livetest.Eventually(t, "every upstream to be unhealthy", func() bool { return g.Stats().Healthy == 0 })
	a := livetest.Get(t, c, g.URL()+"/x")
	if a.Code != http.StatusServiceUnavailable || a.Header.Get(wire.HeaderOutcome) != "no_upstream" || a.Header.Get(wire.HeaderAttempts) != "0" {
		t.Fatalf("got %d outcome %q attempts %q", a.Code, a.Header.Get(wire.HeaderOutcome), a.Header.Get(wire.HeaderAttempts))
	}
}

func TestProxyConnectFailure(t *testing.T) {
	sc := livetest.YAML{Clients: "  retries: {max: 1, backoff: 1ms}\n", Servers: "  - {name: web, count: 1, service: {dist: constant, mean: 1ms}}\n"}.Parse(t)
	g, c := start(t, Config{Scenario: sc, Upstreams: []Upstream{{ID: "web-0", URL: livetest.DeadURL(t)}}})
	a := livetest.Get(t, c, g.URL()+"/x")
	if a.Code != http.StatusBadGateway || a.Header.Get(wire.HeaderOutcome) != "connect_failure" || a.Header.Get(wire.HeaderAttempts) != "2" {
		t.Fatalf("got %d outcome %q attempts %q", a.Code, a.Header.Get(wire.HeaderOutcome), a.Header.Get(wire.HeaderAttempts))
	}
	g.proxy.mu.Lock()
	sig := g.proxy.signal(0)
	g.proxy.mu.Unlock()
	if sig.Utilization != 1 {
		t.Fatalf("a refusing upstream should report the worst load, got %+v", sig)
	}
}

func TestProxySignalsFromAnswers(t *testing.T) {
	b := livetest.NewBackend(t, "web-0", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set(wire.HeaderInFlight, "7")
		w.Header().Set(wire.HeaderUtilization, "0.75")
		w.Header().Set(wire.HeaderServiceTime, "2500000")
	})
	sc := livetest.YAML{Servers: "  - {name: web, count: 1, service: {dist: constant, mean: 1ms}}\n"}.Parse(t)
	g, c := start(t, Config{Scenario: sc, Strategy: "prequal", Upstreams: ups(b)})
	livetest.Get(t, c, g.URL()+"/x")
	g.proxy.mu.Lock()
	sig := g.proxy.signal(0)
	g.proxy.mu.Unlock()
	if want := (strategies.Signal{InFlight: 7, Utilization: 0.75, ServiceTime: 2500 * time.Microsecond}); sig != want {
		t.Fatalf("signal %+v, want %+v", sig, want)
	}
}

// rawExchange sends a raw HTTP/1.1 request and reads the answer.
func rawExchange(t *testing.T, addr, raw string) *http.Response {
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
	b := livetest.NewBackend(t, "web-0", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Keep-Alive", "timeout=99")
		w.Header().Set("Proxy-Thing", "x")
		w.Header().Set("X-Answer", "kept")
	})
	sc := livetest.YAML{Servers: "  - {name: web, count: 1, service: {dist: constant, mean: 1ms}}\n"}.Parse(t)
	g, _ := start(t, Config{Scenario: sc, Upstreams: ups(b)})
	resp := rawExchange(t, g.Addr(), "GET /x HTTP/1.1\r\nHost: gw\r\nConnection: keep-alive, X-Hop\r\nX-Hop: secret\r\n"+
		"Keep-Alive: timeout=5\r\nProxy-Authorization: Basic eDp5\r\nProxy-Foo: bar\r\nTE: trailers\r\nUpgrade: websocket\r\n"+
		"X-Forwarded-For: 203.0.113.9\r\nX-Keep: yes\r\n"+wire.HeaderAttempt+": 9\r\nConnection: close\r\n\r\n")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	hs := b.Headers()
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
	if got := h.Get(wire.HeaderAttempt); got != "0" {
		t.Errorf("attempt header %q, want the proxy's 0", got)
	}
	if resp.Header.Get("Keep-Alive") != "" || resp.Header.Get("Proxy-Thing") != "" || resp.Header.Get("X-Answer") != "kept" {
		t.Errorf("answer headers %v", resp.Header)
	}
}

func TestProxyRefusesOpenProxyRequests(t *testing.T) {
	b := livetest.NewBackend(t, "web-0", nil)
	sc := livetest.YAML{Servers: "  - {name: web, count: 1, service: {dist: constant, mean: 1ms}}\n"}.Parse(t)
	g, _ := start(t, Config{Scenario: sc, Upstreams: ups(b)})
	for _, raw := range []string{
		"GET http://example.com/x HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n",
		"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\nConnection: close\r\n\r\n",
	} {
		if resp := rawExchange(t, g.Addr(), raw); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%q: status %d, want 400", strings.SplitN(raw, "\r\n", 2)[0], resp.StatusCode)
		}
	}
	// The handler refuses them too when called directly.
	for _, r := range []*http.Request{
		httptest.NewRequest(http.MethodGet, "http://example.com/x", nil),
		httptest.NewRequest(http.MethodConnect, "example.com:443", nil),
	} {
		w := httptest.NewRecorder()
		g.proxy.ServeHTTP(w, r)
		if w.Code != http.StatusBadRequest {
			t.Errorf("%s %s: status %d, want 400", r.Method, r.RequestURI, w.Code)
		}
	}
	if n := b.Hits.Load(); n != 0 {
		t.Fatalf("the backend got %d requests", n)
	}
}

func TestProxyBodyLimit(t *testing.T) {
	b := livetest.NewBackend(t, "web-0", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		_, _ = w.Write(body)
	})
	sc := livetest.YAML{Servers: "  - {name: web, count: 1, service: {dist: constant, mean: 1ms}}\n"}.Parse(t)
	g, c := start(t, Config{Scenario: sc, Upstreams: ups(b), MaxBody: 16})
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
	b := livetest.NewBackend(t, "web-0", nil)
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
	sc := livetest.YAML{Top: "gateway:\n  concurrency: 1\n  queue: 1\n", Servers: "  - {name: web, count: 1, service: {dist: constant, mean: 1ms}}\n"}.Parse(t)
	g, c := start(t, Config{Scenario: sc, Upstreams: ups(b), Middleware: mw})
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
	livetest.Eventually(t, "a request to wait in the queue", func() bool {
		g.adm.mu.Lock()
		defer g.adm.mu.Unlock()
		return g.adm.waiting.Len() == 1
	})
	a := livetest.Get(t, c, g.URL()+"/x")
	close(release)
	if a.Code != http.StatusServiceUnavailable || a.Header.Get(wire.HeaderOutcome) != "queue_full" {
		t.Fatalf("third request: %d outcome %q, want 503 queue_full", a.Code, a.Header.Get(wire.HeaderOutcome))
	}
	for range 2 {
		if code := <-done; code != http.StatusOK {
			t.Fatalf("admitted request: status %d", code)
		}
	}
	if a := livetest.Get(t, c, g.URL()+"/x"); a.Code != http.StatusOK {
		t.Fatalf("after the queue drained: %d", a.Code)
	}
}

func TestGatewayHealthzAndStats(t *testing.T) {
	b := livetest.NewBackend(t, "web-0", nil)
	sc := livetest.YAML{Servers: "  - {name: web, count: 1, service: {dist: constant, mean: 1ms}}\n"}.Parse(t)
	g, c := start(t, Config{Scenario: sc, Upstreams: ups(b)})
	if a := livetest.Get(t, c, g.URL()+"/healthz"); a.Code != http.StatusOK {
		t.Fatalf("/healthz: %d", a.Code)
	}
	if n := b.Hits.Load(); n != 0 {
		t.Fatalf("/healthz reached the backend")
	}
	if !strings.HasPrefix(g.URL(), "http://127.0.0.1:") {
		t.Fatalf("URL %s", g.URL())
	}
	if st := g.Stats(); st.Requests != 0 || st.Endpoints != 1 || len(st.InFlight) != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestGatewayCloseLeaksNothing(t *testing.T) {
	b := livetest.NewBackend(t, "web-0", nil)
	slow := livetest.NewBackend(t, "web-1", hang)
	sc := livetest.YAML{Clients: "  hedge: {after: 5ms, max: 1}\n",
		Balancer: "  health:\n    active: {interval: 10ms, timeout: 100ms}\n",
		Servers:  "  - {name: web, count: 2, service: {dist: constant, mean: 1ms}}\n"}.Parse(t)
	base := runtime.NumGoroutine()
	g, err := StartGateway(Config{Scenario: sc, Start: time.Now(), Upstreams: ups(b, slow)})
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{}
	c := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	for i := range 4 {
		if a := livetest.Get(t, c, g.URL()+"/x"); a.Code != http.StatusOK {
			t.Fatalf("request %d: %d", i, a.Code)
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
	livetest.GoroutinesSettle(t, base)
	if st := g.Stats(); fmt.Sprint(st.InFlight) != "[0 0]" {
		t.Fatalf("in flight after close: %v", st.InFlight)
	}
}
