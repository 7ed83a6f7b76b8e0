package live

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgelab/edgelab/live/wire"
	"github.com/edgelab/edgelab/reports"
	"github.com/edgelab/edgelab/sim"
	"github.com/edgelab/edgelab/strategies"
	"github.com/edgelab/edgelab/workloads"
)

func parse(t *testing.T, yaml string, sets ...string) *workloads.Scenario {
	t.Helper()
	sc, err := workloads.Parse([]byte(yaml), t.Name()+".yaml", sets)
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

func conserved(t *testing.T, r reports.Run) {
	t.Helper()
	if r.OK+r.Failed+r.Rejected != r.Requests || r.Requests == 0 {
		t.Errorf("%s: ok %d + failed %d + rejected %d != requests %d", r.Strategy, r.OK, r.Failed, r.Rejected, r.Requests)
	}
}

// Every strategy of the catalogue runs unchanged in the real proxy, in
// front of emulated backends that report their load (so prequal, c3 and
// orca-wrr have signals to read): every request succeeds and every
// backend serves some.
func TestEveryStrategyLive(t *testing.T) {
	sc := parse(t, `
name: every-strategy
duration: 600ms
warmup: 200ms
clients:
  arrival: {process: poisson, rate: 150}
  keys: {dist: uniform, n: 1000}
  timeout: 2s
servers:
  - {name: web, count: 3, concurrency: 2, service: {dist: exponential, mean: 2ms}}
`)
	names := strategies.Names()
	res, err := Run(context.Background(), sc, Options{Strategies: names})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Runs) != len(names) || res.Mode != "live" {
		t.Fatalf("%d runs in mode %q for %d strategies", len(res.Runs), res.Mode, len(names))
	}
	for _, r := range res.Runs {
		conserved(t, r)
		if r.OK != r.Requests {
			t.Errorf("%s: %d of %d ok (%+v)", r.Strategy, r.OK, r.Requests, r.Outcomes)
		}
		served := 0
		for _, s := range r.Servers {
			if s.Requests > 0 {
				served++
			}
		}
		// first (HAProxy's bin packing) fills the first server before the
		// next. least-time may legitimately stay on one backend: when the
		// first answers of the others were slow (a busy machine), their
		// latency estimates stay high because they get no traffic to
		// lower them — NGINX Plus's least_time does the same. Every other
		// strategy spreads the load.
		if r.Strategy != "first" && r.Strategy != "least-time" && served < 2 {
			t.Errorf("%s: only %d of 3 backends served: %+v", r.Strategy, served, r.Servers)
		}
		if r.Live == nil || r.Live.AchievedRPS <= 0 {
			t.Errorf("%s: no live stats", r.Strategy)
		}
	}
}

// A gateway tier for real: two instances behind the L4 balancer, JWT
// auth rejecting a tenth of the requests, a rate limit, a cache, an access
// log and path routes to two groups.
func TestRunGatewayTier(t *testing.T) {
	sc := parse(t, `
name: tier
duration: 1s
warmup: 200ms
clients:
  arrival: {process: poisson, rate: 200}
  keys: {dist: zipf, n: 50, s: 1.1}
  timeout: 2s
  paths: [{path: /orders/1, weight: 1}, {path: /web, weight: 3}]
gateway:
  instances: 2
  l4: round-robin
  stages:
    - {type: auth, reject: 0.1, alg: RS256}
    - {type: ratelimit, rate: 1000, burst: 100}
    - {type: cache, ttl: 10s, size: 100}
    - {type: log}
  routes: [{prefix: /orders, to: orders}, {prefix: /, to: web}]
servers:
  - {name: web, count: 2, concurrency: 4, service: {dist: constant, mean: 20ms}}
  - {name: orders, count: 2, concurrency: 4, service: {dist: constant, mean: 3ms}}
`)
	// The L4 balancer places connections: web's 20 ms keep several
	// requests in flight, so the attacker opens several connections (with
	// one, every request would go to one instance).
	dir := t.TempDir()
	res, err := Run(context.Background(), sc, Options{OutDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	r := res.Runs[0]
	conserved(t, r)
	if f := float64(r.Outcomes.AuthRejected) / float64(r.Requests); f < 0.03 || f > 0.2 {
		t.Errorf("auth rejected %.3f of requests, want about 0.1", f)
	}
	if r.Failed != 0 {
		t.Errorf("%d failed: %+v", r.Failed, r.Outcomes)
	}
	g := r.Gateway
	if g == nil || len(g.Instances) != 2 || len(g.Stages) != 4 {
		t.Fatalf("gateway stats: %+v", g)
	}
	if g.CacheHits == 0 {
		t.Errorf("no cache hits on 50 zipf keys")
	}
	for _, inst := range g.Instances {
		if inst.Requests == 0 {
			t.Errorf("the L4 balancer sent nothing to %s", inst.ID)
		}
	}
	for _, name := range []string{"access-round-robin-0.log", "access-round-robin-1.log", "vegeta.bin"} {
		if st, err := os.Stat(filepath.Join(dir, name)); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// Ctrl-C: the attack stops, in-flight requests drain, and the results so
// far come back marked partial, still conserving requests.
func TestRunInterrupted(t *testing.T) {
	sc := parse(t, `
name: interrupted
duration: 20s
clients:
  arrival: {process: constant, rate: 100}
  timeout: 1s
servers:
  - {name: web, count: 2, service: {dist: constant, mean: 2ms}}
`)
	ctx, cancel := context.WithTimeout(context.Background(), 1200*time.Millisecond)
	defer cancel()
	t0 := time.Now()
	res, err := Run(ctx, sc, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Partial {
		t.Error("not marked partial")
	}
	if time.Since(t0) > 10*time.Second {
		t.Errorf("took %v to stop", time.Since(t0))
	}
	conserved(t, res.Runs[0])
}

func TestCheckRefuses(t *testing.T) {
	closed := parse(t, `
name: closed
duration: 1s
clients: {arrival: {process: closed, users: 5}}
servers: [{name: web, count: 1, service: {dist: constant, mean: 1ms}}]
`)
	err := Check(closed, Options{})
	if !workloads.IsInputError(err) || !strings.Contains(err.Error(), "clients.arrival.process") {
		t.Errorf("closed loop: %v", err)
	}
	open := parse(t, `
name: open
duration: 1s
clients: {arrival: {process: poisson, rate: 10}}
servers: [{name: web, count: 1, service: {dist: constant, mean: 1ms}}]
`)
	for _, opt := range []Options{
		{Backends: []string{"http://192.0.2.1:80"}},
		{Gateway: "http://192.0.2.1:80"},
		{Gateway: "http://127.0.0.1:1", Backends: []string{"http://127.0.0.1:2"}},
		{BackendPort: 65536},
	} {
		if err := Check(open, opt); err == nil {
			t.Errorf("%+v: accepted", opt)
		}
	}
	// Nothing was sent: Run refuses before starting anything.
	if _, err := Run(context.Background(), open, Options{Backends: []string{"http://192.0.2.1:80"}}); err == nil || errors.Is(err, context.Canceled) {
		t.Errorf("Run with a remote backend: %v", err)
	}
}

// Serve runs the gateway and emulated backends without load until its
// context ends; a request sent to the entry point is balanced through.
func TestServe(t *testing.T) {
	sc := parse(t, `
name: serve
duration: 10s
clients:
  arrival: {process: poisson, rate: 10}
servers:
  - {name: web, count: 2, service: {dist: constant, mean: 1ms}}
`)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	entry := make(chan string, 1)
	go func() {
		done <- Serve(ctx, sc, "p2c", Options{}, func(info ServeInfo) {
			if len(info.Upstreams) != 2 || info.Token != "" {
				t.Errorf("%d upstreams, token %q", len(info.Upstreams), info.Token)
			}
			entry <- info.Entry
		})
	}()
	var url string
	select {
	case url = <-entry:
	case err := <-done:
		t.Fatal(err)
	}
	resp, err := http.Get(url + "/hello")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get(wire.HeaderServer) == "" {
		t.Errorf("status %d, server %q", resp.StatusCode, resp.Header.Get(wire.HeaderServer))
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := Serve(context.Background(), sc, "p2c", Options{Listen: "10.1.2.3:80"}, nil); err == nil {
		t.Error("Serve listened on a remote address")
	}
}

// Serve a closed-loop scenario (it sends no load, so the loop does not
// matter) whose gateway authenticates and logs: the token it hands out
// passes the auth stage, a request without it does not, and the access
// log is written to OutDir.
func TestServeAuthAndLog(t *testing.T) {
	sc := parse(t, `
name: serve-auth
duration: 10s
clients:
  arrival: {process: closed, users: 3}
gateway:
  instances: 1
  stages: [{type: auth}, {type: log}]
servers:
  - {name: web, count: 1, service: {dist: constant, mean: 1ms}}
`)
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	ready := make(chan ServeInfo, 1)
	go func() {
		done <- Serve(ctx, sc, "round-robin", Options{OutDir: dir}, func(info ServeInfo) { ready <- info })
	}()
	var info ServeInfo
	select {
	case info = <-ready:
	case err := <-done:
		t.Fatal(err)
	}
	get := func(token string) int {
		req, _ := http.NewRequest(http.MethodGet, info.Entry+"/hello", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if info.Token == "" || get(info.Token) != 200 || get("") != 401 {
		t.Errorf("token %q: with it %d, without %d; want 200 and 401", info.Token, get(info.Token), get(""))
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if len(info.AccessLogs) != 1 {
		t.Fatalf("access logs %v", info.AccessLogs)
	}
	if st, err := os.Stat(info.AccessLogs[0]); err != nil || st.Size() == 0 {
		t.Errorf("access log %s: %v", info.AccessLogs[0], err)
	}
}

// The live gateway retries what clients.retries.on names, as the
// simulator does (plan.RetryPolicy; sim's TestRetryOn): backends that
// always answer 5xx get every retry by default and none under NGINX's
// "error timeout".
func TestRetryOnLive(t *testing.T) {
	const base = `
name: retry-on-live
duration: 500ms
warmup: 0s
clients:
  arrival: {process: constant, rate: 40}
  retries: {max: 2, backoff: 0s%s}
servers:
  - {name: web, count: 2, errors: 1, service: {dist: constant, mean: 1ms}}
`
	for _, c := range []struct {
		on       string
		attempts int64
	}{{"", 3}, {", on: [connect_failure, timeout]", 1}} {
		res, err := Run(context.Background(), parse(t, fmt.Sprintf(base, c.on)), Options{})
		if err != nil {
			t.Fatal(err)
		}
		r := res.Runs[0]
		conserved(t, r)
		if r.Requests == 0 || r.Attempts != c.attempts*r.Requests || r.Outcomes.Error5xx != r.Requests {
			t.Errorf("on%q: %d attempts for %d requests (%+v); want %d each", c.on, r.Attempts, r.Requests, r.Outcomes, c.attempts)
		}
	}
}

// The live gateway sends a retry to a backend the request has not tried
// (clients.retries.other_host), as the simulator does: with one of three
// backends crashed from the start and one retry, every request succeeds,
// even under random balancing.
func TestRetriesAvoidTriedHostsLive(t *testing.T) {
	sc := parse(t, `
name: other-host-live
duration: 600ms
warmup: 0s
clients:
  arrival: {process: constant, rate: 60}
  retries: {max: 1, backoff: 0s, other_host: true}
servers:
  - {name: web, count: 3, service: {dist: constant, mean: 1ms}, failures: [{kind: crash, at: 0s, instances: [0]}]}
`)
	res, err := Run(context.Background(), sc, Options{Strategies: []string{"random"}})
	if err != nil {
		t.Fatal(err)
	}
	r := res.Runs[0]
	conserved(t, r)
	if r.Requests == 0 || r.OK != r.Requests {
		t.Errorf("%d of %d ok (%+v)", r.OK, r.Requests, r.Outcomes)
	}
}

// The live gateway retries as the simulator does (plan.RetryPolicy.Step;
// sim's TestRetriesOncePerHost and TestRetriesSameHostHAProxy): HAProxy's
// same-server retries fail every request sent to a crashed backend,
// option redispatch under round robin saves them all, and NGINX's tried
// set makes each request try each of three dead backends exactly once.
func TestRetryRoutesLive(t *testing.T) {
	const base = `
name: retry-routes-live
duration: 800ms
warmup: 0s
clients:
  arrival: {process: constant, rate: 60}
  retries: {%s}
servers:
  - {name: web, count: %d, service: {dist: constant, mean: 1ms}, failures: [{kind: crash, at: 0s, instances: %s}]}
`
	run := func(retries string, n int, crashed string) reports.Run {
		t.Helper()
		sc := parse(t, fmt.Sprintf(base, retries, n, crashed))
		res, err := Run(context.Background(), sc, Options{Strategies: []string{"round-robin"}})
		if err != nil {
			t.Fatal(err)
		}
		r := res.Runs[0]
		conserved(t, r)
		return r
	}
	same := run("max: 3, on: [connect_failure], same_host: true, turnaround: 50ms", 4, "[0]")
	if share := float64(same.Outcomes.ConnectFailure) / float64(same.Requests); share < 0.2 || share > 0.3 {
		t.Errorf("same host, no redispatch: %.2f failed (%+v), want the quarter sent to the crashed backend", share, same.Outcomes)
	}
	redispatch := run("max: 3, on: [connect_failure], same_host: true, turnaround: 50ms, redispatch: -1", 4, "[0]")
	if redispatch.Failed != 0 {
		t.Errorf("redispatch under round robin: %d failed (%+v), want none", redispatch.Failed, redispatch.Outcomes)
	}
	once := run("max: 10, backoff: 0s, once_per_host: true", 3, "[0, 1, 2]")
	if once.Outcomes.ConnectFailure != once.Requests || once.Attempts != 3*once.Requests {
		t.Errorf("once per host, all down: %d attempts for %d requests (%+v), want 3 each, all failed", once.Attempts, once.Requests, once.Outcomes)
	}
}

// balancer.ignore_client_abort in the live gateway (sim's
// TestIgnoreClientAbort): with the crashed backend retried on the same
// server every 100 ms and clients giving up at 150 ms, a dropped request
// makes 2 attempts there and a kept one all 4 (the last ones of the run
// may end after it); the clients see the same timeouts.
func TestIgnoreClientAbortLive(t *testing.T) {
	const base = `
name: ignore-abort-live
duration: 800ms
warmup: 0s
clients:
  arrival: {process: constant, rate: 40}
  timeout: 150ms
  retries: {max: 3, on: [connect_failure], same_host: true, turnaround: 100ms}
balancer: {ignore_client_abort: %v}
servers:
  - {name: web, count: 4, service: {dist: constant, mean: 1ms}, failures: [{kind: crash, at: 0s, instances: [0]}]}
`
	run := func(keep bool) reports.Run {
		t.Helper()
		res, err := Run(context.Background(), parse(t, fmt.Sprintf(base, keep)), Options{Strategies: []string{"round-robin"}})
		if err != nil {
			t.Fatal(err)
		}
		r := res.Runs[0]
		conserved(t, r)
		return r
	}
	drop, keep := run(false), run(true)
	if drop.Outcomes.Timeout == 0 || keep.Outcomes.Timeout != drop.Outcomes.Timeout {
		t.Errorf("timeouts: dropped %+v, kept %+v", drop.Outcomes, keep.Outcomes)
	}
	// The attempts at the crashed backend, counted by the proxy as they
	// are refused (the clients' attempts counts cannot see a timed-out
	// request's).
	if got, want := keep.Servers[0].Requests-drop.Servers[0].Requests, 2*drop.Outcomes.Timeout; got < want*7/10 || got > want {
		t.Errorf("kept requests made %d more attempts at the crashed backend, want about %d", got, want)
	}
}

// Bursty arrivals (an mmpp) are the simulator's in live mode too: the
// attacker reads the same arrival clock, so a live run sends exactly the
// simulated number of requests.
func TestMMPPArrivalsLive(t *testing.T) {
	sc := parse(t, `
name: mmpp-live
duration: 1s
warmup: 0s
clients:
  arrival: {process: mmpp, rate: 200, low: 0, burst: 100ms, calm: 100ms}
servers:
  - {name: web, count: 2, concurrency: 4, service: {dist: constant, mean: 1ms}}
`)
	res, err := Run(context.Background(), sc, Options{Strategies: []string{"round-robin"}})
	if err != nil {
		t.Fatal(err)
	}
	simRes, err := sim.Run(context.Background(), sc, sim.Options{Strategies: []string{"round-robin"}})
	if err != nil {
		t.Fatal(err)
	}
	r, s := res.Runs[0], simRes.Runs[0]
	conserved(t, r)
	if r.Requests == 0 || r.Requests != s.Requests {
		t.Errorf("live sent %d requests, the simulation %d", r.Requests, s.Requests)
	}
}

// NGINX's passive health in the live gateway, from the same pool code as
// the simulator (sim's TestPassiveHealthNGINXWindow): with one of three
// backends crashed for the whole run, only the first request sent to it
// fails.
func TestPassiveHealthLive(t *testing.T) {
	sc := parse(t, `
name: nginx-window-live
duration: 1500ms
warmup: 0s
clients: {arrival: {process: constant, rate: 60}}
balancer: {health: {passive: {max_fails: 1, fail_timeout: 10s}}}
servers:
  - {name: web, count: 3, service: {dist: constant, mean: 1ms}, failures: [{kind: crash, at: 0s, instances: [0]}]}
`)
	res, err := Run(context.Background(), sc, Options{Strategies: []string{"round-robin"}})
	if err != nil {
		t.Fatal(err)
	}
	r := res.Runs[0]
	conserved(t, r)
	if r.Failed != 1 || r.Outcomes.ConnectFailure != 1 {
		t.Errorf("%d failed (%+v), want the first request to the crashed backend only", r.Failed, r.Outcomes)
	}
}

// An external gateway is waited for: the load starts only once a request
// through it is answered below 500 (here it answers 503 for 600 ms from
// its first request, as HAProxy does while its checks still hold every
// server DOWN), so no request of the run fails (without the wait none
// succeeds); one that never answers is an error before the run, naming
// the last failure. The scenario keys the external gateway makes moot are
// listed, and only those that are set.
func TestExternalGatewayIsWaitedFor(t *testing.T) {
	sc := parse(t, `
name: external
duration: 500ms
warmup: 100ms
clients:
  arrival: {process: poisson, rate: 60}
servers:
  - {name: web, count: 1, service: {dist: constant, mean: 1ms}}
`)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	backend, _ := url.Parse(fmt.Sprintf("http://127.0.0.1:%d", port))
	proxy := httputil.NewSingleHostReverseProxy(backend)
	var early, first atomic.Int64
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := time.Now().UnixNano()
		first.CompareAndSwap(0, now)
		if now-first.Load() < int64(600*time.Millisecond) {
			early.Add(1)
			http.Error(w, "no server is available", http.StatusServiceUnavailable)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	defer gw.Close()
	res, err := Run(context.Background(), sc, Options{Gateway: gw.URL, BackendPort: port, GatewayWait: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	r := res.Runs[0]
	conserved(t, r)
	if r.Strategy != "external" || r.OK != r.Requests {
		t.Errorf("%s: %d of %d requests ok", r.Strategy, r.OK, r.Requests)
	}
	if early.Load() == 0 {
		t.Error("the gateway was never asked before it was up")
	}

	if keys := ExternalIgnores(sc); len(keys) != 0 {
		t.Errorf("a scenario without balancer keys: %v reported as ignored", keys)
	}
	full := parse(t, `
name: ignored
duration: 1s
clients:
  arrival: {process: poisson, rate: 10}
  retries: {max: 2}
balancer:
  strategy: p2c
  health: {passive: {max_fails: 1, fail_timeout: 10s}}
gateway:
  instances: 1
servers:
  - {name: web, count: 2, service: {dist: constant, mean: 1ms}}
`)
	if got := strings.Join(ExternalIgnores(full), ","); got != "clients.retries,balancer.health,gateway" {
		t.Errorf("ignored keys %s", got)
	}

	closed := gw.URL
	gw.Close()
	_, err = Run(context.Background(), sc, Options{Gateway: closed, GatewayWait: 300 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "was answered") || !strings.Contains(err.Error(), "refused") {
		t.Errorf("a gateway that does not listen: %v", err)
	}
}

// A crashed server's refused attempts count in its requests, as the
// simulator counts them (docs/scenario.md, servers[].requests). With the
// same arrivals and round robin, each server's count equals the
// simulation's (the crashed one's was short by its refused attempts), and
// the servers' counts add up to the attempts. The crash is mid-run, after
// the server has answered (and reported its load).
func TestRefusedAttemptsCountAsServerRequests(t *testing.T) {
	sc := parse(t, `
name: refused-live
seed: 3
duration: 1500ms
warmup: 0s
clients:
  arrival: {process: poisson, rate: 100}
servers:
  - {name: web, count: 3, service: {dist: exponential, mean: 2ms}, failures: [{kind: crash, at: 500ms, for: 500ms, instances: [0]}]}
`)
	res, err := Run(context.Background(), sc, Options{Strategies: []string{"round-robin"}})
	if err != nil {
		t.Fatal(err)
	}
	simRes, err := sim.Run(context.Background(), sc, sim.Options{Strategies: []string{"round-robin"}})
	if err != nil {
		t.Fatal(err)
	}
	r, s := res.Runs[0], simRes.Runs[0]
	conserved(t, r)
	// The servers are counted over the measured window, attempts by
	// request: one sent late on a loaded machine may fall outside the
	// window, so allow two.
	near := func(a, b int64) bool { return a-b <= 2 && b-a <= 2 }
	var sum int64
	for i := range r.Servers {
		sum += r.Servers[i].Requests
		if !near(r.Servers[i].Requests, s.Servers[i].Requests) {
			t.Errorf("%s: %d requests live, %d simulated", r.Servers[i].ID, r.Servers[i].Requests, s.Servers[i].Requests)
		}
	}
	if r.Outcomes.ConnectFailure < 5 || !near(sum, r.Attempts) {
		t.Errorf("servers sum to %d, attempts %d, connect failures %d", sum, r.Attempts, r.Outcomes.ConnectFailure)
	}
}

// The wait for an external gateway takes a redirect as an answer and does
// not follow it: the Location could be off loopback.
func TestGatewayWaitDoesNotFollowRedirects(t *testing.T) {
	var followed atomic.Int64
	target := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { followed.Add(1) }))
	defer target.Close()
	gw := httptest.NewServer(http.RedirectHandler(target.URL+"/elsewhere", http.StatusFound))
	defer gw.Close()
	if n, err := waitForGateway(context.Background(), Options{Gateway: gw.URL, GatewayWait: 300 * time.Millisecond}, "/"); err != nil || n != 1 {
		t.Fatalf("%d probes answered, %v; want the first", n, err)
	}
	if followed.Load() != 0 {
		t.Error("the redirect was followed")
	}
}
