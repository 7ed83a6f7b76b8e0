package backend_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/edgelab/edgelab/engine"
	"github.com/edgelab/edgelab/live/backend"
	"github.com/edgelab/edgelab/live/wire"
	"github.com/edgelab/edgelab/sim"
	"github.com/edgelab/edgelab/workloads"
)

// Behaviour tests of the emulated backends: low rates, loopback only, and
// only lower bounds on times (a loaded machine makes everything slower,
// never faster).

const scenarioHead = `name: backend-test
seed: 3
duration: 10s
clients: {arrival: {process: poisson, rate: 10}}
balancer: {strategy: round-robin}
`

func startFleet(t *testing.T, servers string) *backend.Fleet {
	t.Helper()
	sc, err := workloads.Parse([]byte(scenarioHead+servers), "backend-test.yaml", nil)
	if err != nil {
		t.Fatalf("scenario: %v", err)
	}
	f, err := backend.StartFleet(sc, backend.FleetOptions{Logf: t.Logf})
	if err != nil {
		t.Fatalf("StartFleet: %v", err)
	}
	t.Cleanup(func() {
		if err := f.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return f
}

type result struct {
	code    int
	header  http.Header
	elapsed time.Duration
	err     error
}

func client(t *testing.T, timeout time.Duration) *http.Client {
	tr := &http.Transport{MaxIdleConnsPerHost: 16}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: timeout}
}

// call sends GET url with headers given as name, value pairs.
func call(c *http.Client, url string, kv ...string) result {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return result{err: err}
	}
	for i := 0; i+1 < len(kv); i += 2 {
		req.Header.Set(kv[i], kv[i+1])
	}
	start := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		return result{err: err, elapsed: time.Since(start)}
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return result{code: resp.StatusCode, header: resp.Header, elapsed: time.Since(start)}
}

// async runs call in the background.
func async(c *http.Client, url string, kv ...string) <-chan result {
	ch := make(chan result, 1)
	go func() { ch <- call(c, url, kv...) }()
	return ch
}

// waitFor polls cond for up to 2 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

func requests(b *backend.Backend) func() int64 {
	return func() int64 { return b.Stats().Requests }
}

func ms(d int) string { return strconv.Itoa(d * 1e6) }

func TestBackendFIFOConcurrency(t *testing.T) {
	f := startFleet(t, `servers:
  - {name: web, count: 1, concurrency: 1, service: {dist: constant, mean: 200ms}}
`)
	b := f.Backends()[0]
	if b.ID() != "web-0" || b.Group() != 0 || !strings.HasPrefix(b.URL(), "http://127.0.0.1:") {
		t.Fatalf("backend %s group %d at %s", b.ID(), b.Group(), b.URL())
	}
	c := client(t, 5*time.Second)
	t0 := time.Now()
	first := async(c, b.URL(), wire.HeaderDemand, ms(200), wire.HeaderSeq, "1")
	waitFor(t, "the first request", func() bool { return requests(b)() == 1 })
	second := async(c, b.URL(), wire.HeaderDemand, ms(200), wire.HeaderSeq, "2")
	r1, r2 := <-first, <-second
	done := time.Since(t0)
	if r1.err != nil || r2.err != nil || r1.code != 200 || r2.code != 200 {
		t.Fatalf("answers: %+v %+v", r1, r2)
	}
	if r1.elapsed < 195*time.Millisecond {
		t.Errorf("first request took %v, want at least its 200ms demand", r1.elapsed)
	}
	if done < 380*time.Millisecond {
		t.Errorf("two 200ms requests on one worker were both done after %v, want ≥ 380ms", done)
	}
	st := b.Stats()
	if st.Requests != 2 || st.Served != 2 || st.Concurrency != 1 {
		t.Errorf("stats %+v, want 2 requests served by 1 worker", st)
	}
	if st.Busy < 0.38 {
		t.Errorf("busy integral %.3f worker-s, want ≥ 0.38 (two 200ms services)", st.Busy)
	}
	// The second waited for most of the first's service.
	if st.Queue < 0.1 {
		t.Errorf("queue integral %.3f request-s, want ≥ 0.1", st.Queue)
	}
	// Differencing two snapshots gives the utilization of the span.
	later := b.Stats()
	if u := (later.Busy - st.Busy) / later.At.Sub(st.At).Seconds(); later.At.After(st.At) && u > 1e-9 {
		t.Errorf("idle backend shows utilization %g between snapshots", u)
	}
}

func TestBackendQueueFull(t *testing.T) {
	f := startFleet(t, `servers:
  - {name: web, count: 1, concurrency: 1, queue: 1, service: {dist: constant, mean: 300ms}}
`)
	b := f.Backends()[0]
	c := client(t, 5*time.Second)
	first := async(c, b.URL(), wire.HeaderDemand, ms(300))
	waitFor(t, "the first request", func() bool { return requests(b)() == 1 })
	second := async(c, b.URL(), wire.HeaderDemand, ms(300))
	waitFor(t, "the second request", func() bool { return requests(b)() == 2 })
	r := call(c, b.URL(), wire.HeaderDemand, ms(300))
	if r.err != nil || r.code != http.StatusServiceUnavailable || r.header.Get(wire.HeaderOutcome) != "queue_full" {
		t.Fatalf("third request: %+v, want 503 queue_full", r)
	}
	if got := r.header.Get(wire.HeaderInFlight); got != "2" {
		t.Errorf("in flight %q at the refusal, want 2 (one served, one waiting)", got)
	}
	if got := r.header.Get(wire.HeaderServer); got != "web-0" {
		t.Errorf("server %q, want web-0", got)
	}
	for _, ch := range []<-chan result{first, second} {
		if r := <-ch; r.err != nil || r.code != 200 {
			t.Errorf("admitted request: %+v", r)
		}
	}
	if st := b.Stats(); st.Requests != 3 || st.Served != 2 || st.QueueFull != 1 {
		t.Errorf("stats %+v, want 3 requests, 2 served, 1 refused", st)
	}
}

func TestBackendErrorDice(t *testing.T) {
	const p = 0.3
	f := startFleet(t, `servers:
  - {name: web, count: 1, concurrency: 4, errors: 0.3, service: {dist: constant, mean: 1ms}}
`)
	b := f.Backends()[0]
	c := client(t, 5*time.Second)
	key := engine.Key(3, 0, "errors")
	fails := 0
	for seq := uint64(1); seq <= 60; seq++ {
		for att := uint64(0); att < 2; att++ {
			r := call(c, b.URL(), wire.HeaderSeq, strconv.FormatUint(seq, 10),
				wire.HeaderAttempt, strconv.FormatUint(att, 10), wire.HeaderDemand, "0")
			if r.err != nil {
				t.Fatal(r.err)
			}
			want := engine.Uniform(key, seq, att) < p
			if got := r.code == http.StatusInternalServerError; got != want {
				t.Fatalf("seq %d attempt %d: status %d, want 5xx %v", seq, att, r.code, want)
			}
			if want {
				fails++
				if o := r.header.Get(wire.HeaderOutcome); o != "error_5xx" {
					t.Errorf("outcome %q on a 500", o)
				}
			}
		}
	}
	if fails == 0 || fails == 120 {
		t.Fatalf("%d failures out of 120: the dice do not roll", fails)
	}
	if st := b.Stats(); st.Errors != int64(fails) {
		t.Errorf("Errors = %d, want %d", st.Errors, fails)
	}
	// Without headers the backend numbers the requests itself: 1, 2, ...
	for seq := uint64(1); seq <= 20; seq++ {
		r := call(c, b.URL())
		if want := engine.Uniform(key, seq, 0) < p; (r.code == 500) != want {
			t.Fatalf("request %d without headers: status %d, want 5xx %v", seq, r.code, want)
		}
	}
	if r := call(c, b.URL(), wire.HeaderDemand, "abc"); r.code != http.StatusBadRequest {
		t.Errorf("malformed demand: status %d, want 400", r.code)
	}
}

func TestBackendSignals(t *testing.T) {
	f := startFleet(t, `servers:
  - {name: web, count: 2, concurrency: 2, speed: [1, 2], service: {dist: exponential, mean: 20ms}}
  - {name: api, count: 1, concurrency: 1, service: {dist: constant, mean: 5ms}}
`)
	bs := f.Backends()
	if len(bs) != 3 || bs[1].ID() != "web-1" || bs[2].ID() != "api-0" || bs[2].Group() != 1 {
		t.Fatalf("backends in the wrong order: %v", bs)
	}
	c := client(t, 5*time.Second)
	// web-1 runs at speed 2: its mean service time is 10ms, and a 100ms
	// demand takes 50ms. api-0 reads the second value of the demand list.
	r := call(c, bs[1].URL(), wire.HeaderDemand, ms(100)+","+ms(1))
	if r.err != nil || r.code != 200 {
		t.Fatalf("answer %+v", r)
	}
	if r.elapsed < 49*time.Millisecond {
		t.Errorf("100ms demand at speed 2 took %v, want ≥ 50ms", r.elapsed)
	}
	h := r.header
	if h.Get(wire.HeaderServer) != "web-1" {
		t.Errorf("server %q", h.Get(wire.HeaderServer))
	}
	if n, err := strconv.Atoi(h.Get(wire.HeaderInFlight)); err != nil || n != 0 {
		t.Errorf("in flight %q after the only request left", h.Get(wire.HeaderInFlight))
	}
	if u, err := strconv.ParseFloat(h.Get(wire.HeaderUtilization), 64); err != nil || u < 0 || u > 1 {
		t.Errorf("utilization %q", h.Get(wire.HeaderUtilization))
	}
	if st := h.Get(wire.HeaderServiceTime); st != strconv.Itoa(10e6) {
		t.Errorf("service time %q, want 10000000 (20ms mean at speed 2)", st)
	}
	r = call(c, bs[2].URL(), wire.HeaderDemand, ms(1)+","+ms(150))
	if r.err != nil || r.code != 200 || r.elapsed < 149*time.Millisecond {
		t.Errorf("api-0 with a 150ms demand in second place: %+v", r)
	}
	if r.header.Get(wire.HeaderServer) != "api-0" {
		t.Errorf("server %q", r.header.Get(wire.HeaderServer))
	}
	// Health checks answer with the signal, cost no worker and are not
	// counted.
	before := bs[0].Stats().Requests
	r = call(c, bs[0].URL()+"/healthz")
	if r.err != nil || r.code != 200 || r.header.Get(wire.HeaderServer) != "web-0" || r.header.Get(wire.HeaderInFlight) == "" {
		t.Errorf("healthz: %+v", r)
	}
	if bs[0].Stats().Requests != before {
		t.Errorf("a health check counted as a request")
	}
	// Requests while another is in service report it in flight and the
	// worker busy.
	slow := async(c, bs[0].URL(), wire.HeaderDemand, ms(300))
	waitFor(t, "the slow request", func() bool { return requests(bs[0])() == before+1 })
	r = call(c, bs[0].URL()+"/healthz")
	if r.header.Get(wire.HeaderInFlight) != "1" || r.header.Get(wire.HeaderUtilization) != "0.5" {
		t.Errorf("with one of two workers busy: in flight %q, utilization %q",
			r.header.Get(wire.HeaderInFlight), r.header.Get(wire.HeaderUtilization))
	}
	<-slow
}

func TestBackendPS(t *testing.T) {
	f := startFleet(t, `servers:
  - {name: web, count: 1, concurrency: 1, discipline: ps, service: {dist: constant, mean: 400ms}}
`)
	b := f.Backends()[0]
	c := client(t, 5*time.Second)
	first := async(c, b.URL(), wire.HeaderDemand, ms(400))
	waitFor(t, "the first request", func() bool { return requests(b)() == 1 })
	second := async(c, b.URL(), wire.HeaderDemand, ms(400))
	r1, r2 := <-first, <-second
	if r1.err != nil || r2.err != nil || r1.code != 200 || r2.code != 200 {
		t.Fatalf("answers %+v %+v", r1, r2)
	}
	// Sharing the worker, the first finishes at 800ms minus the head
	// start it had alone (FIFO would finish it at 400ms).
	if r1.elapsed < 500*time.Millisecond {
		t.Errorf("first of two 400ms requests sharing one worker took %v, want ≥ 500ms", r1.elapsed)
	}
	if st := b.Stats(); st.Served != 2 || st.Busy < 0.75 || st.Queue < 0.2 {
		t.Errorf("stats %+v: want 2 served, ≥ 0.75 worker-s busy, ≥ 0.2 request-s beyond the worker", st)
	}
}

func TestBackendCrash(t *testing.T) {
	f := startFleet(t, `servers:
  - name: web
    count: 2
    concurrency: 2
    service: {dist: constant, mean: 10ms}
    failures: [{kind: crash, at: 150ms, for: 400ms, instances: [0]}]
`)
	b := f.Backends()[0]
	c := client(t, 5*time.Second)
	start := time.Now()
	inFlight := async(c, b.URL(), wire.HeaderDemand, ms(2000))
	waitFor(t, "the long request", func() bool { return requests(b)() == 1 })
	f.Play(start, 10*time.Second)
	if r := <-inFlight; r.err == nil {
		t.Errorf("a request in service at the crash got %d, want a reset connection", r.code)
	}
	_, port, _ := net.SplitHostPort(b.Addr())
	refused := false
	waitFor(t, "connections refused", func() bool {
		conn, err := net.DialTimeout("tcp", b.Addr(), time.Second)
		if err != nil {
			refused = errors.Is(err, syscall.ECONNREFUSED)
			return true
		}
		conn.Close()
		return false
	})
	if !refused {
		t.Errorf("dialing the crashed backend did not fail with connection refused")
	}
	if time.Since(start) < 140*time.Millisecond {
		t.Errorf("crashed before its time")
	}
	// Repaired on the same port.
	waitFor(t, "the repair", func() bool { return call(c, b.URL()+"/healthz").code == 200 })
	if time.Since(start) < 540*time.Millisecond {
		t.Errorf("repaired after %v, before the 400ms crash ended", time.Since(start))
	}
	if _, p, _ := net.SplitHostPort(b.Addr()); p != port {
		t.Errorf("port changed from %s to %s", port, p)
	}
	if r := call(c, b.URL(), wire.HeaderDemand, ms(1)); r.err != nil || r.code != 200 {
		t.Errorf("after repair: %+v", r)
	}
	if st := b.Stats(); st.Served != 1 {
		t.Errorf("served %d, want 1 (the reset request was never served)", st.Served)
	}
	w := f.Windows()
	if len(w) != 1 || w[0].Server != "web-0" || w[0].Kind != "crash" || w[0].StartS != 0.15 || w[0].EndS != 0.55 {
		t.Errorf("windows %+v", w)
	}
}

func TestBackendHang(t *testing.T) {
	f := startFleet(t, `servers:
  - name: web
    count: 1
    concurrency: 1
    service: {dist: constant, mean: 10ms}
    failures: [{kind: hang, at: 100ms, for: 500ms}]
`)
	b := f.Backends()[0]
	c := client(t, 5*time.Second)
	start := time.Now()
	// In service when the hang starts: its work pauses and resumes, so it
	// ends no sooner than 300ms of work plus the 500ms pause.
	paused := async(c, b.URL(), wire.HeaderDemand, ms(300))
	waitFor(t, "the first request", func() bool { return requests(b)() == 1 })
	f.Play(start, 10*time.Second)
	probe := client(t, 150*time.Millisecond)
	waitFor(t, "the hang", func() bool { return call(probe, b.URL()+"/healthz").err != nil })
	if time.Since(start) < 100*time.Millisecond {
		t.Errorf("hung before its time")
	}
	// Accepted during the hang, answered after it, behind the first.
	queued := async(c, b.URL(), wire.HeaderDemand, ms(10))
	r := <-paused
	if r.err != nil || r.code != 200 {
		t.Fatalf("paused request: %+v", r)
	}
	if done := time.Since(start); done < 780*time.Millisecond {
		t.Errorf("300ms of work with a 500ms hang in the middle was done after %v, want ≥ 800ms", done)
	}
	if r := <-queued; r.err != nil || r.code != 200 {
		t.Errorf("request accepted during the hang: %+v", r)
	}
	if r := call(probe, b.URL()+"/healthz"); r.err != nil || r.code != 200 {
		t.Errorf("healthz after the hang: %+v", r)
	}
}

func TestBackendSlow(t *testing.T) {
	f := startFleet(t, `servers:
  - name: web
    count: 2
    concurrency: 1
    service: {dist: constant, mean: 10ms}
    failures:
      - {kind: slow, at: 0s, for: 10s, latency: 200ms, instances: [0]}
      - {kind: slow, at: 0s, for: 10s, factor: 4, instances: [1]}
`)
	bs := f.Backends()
	f.Play(time.Now(), 10*time.Second)
	c := client(t, 5*time.Second)
	waitFor(t, "the slow failure", func() bool {
		return call(c, bs[0].URL()+"/healthz").header.Get(wire.HeaderServiceTime) != strconv.Itoa(10e6)
	})
	// Latency: added to the answer without holding the worker, so two
	// requests on one worker take 10ms + 200ms each, not 420ms.
	a, b := async(c, bs[0].URL(), wire.HeaderDemand, ms(10)), async(c, bs[0].URL(), wire.HeaderDemand, ms(10))
	ra, rb := <-a, <-b
	for _, r := range []result{ra, rb} {
		if r.err != nil || r.code != 200 || r.elapsed < 205*time.Millisecond {
			t.Errorf("10ms demand with 200ms latency: %+v", r)
		}
		if st := r.header.Get(wire.HeaderServiceTime); st != strconv.Itoa(210e6) {
			t.Errorf("service time %q, want 210ms (mean + latency)", st)
		}
	}
	if st := bs[0].Stats(); st.Busy > 0.2 {
		t.Errorf("busy %.3f worker-s for two 10ms services: the latency held the worker", st.Busy)
	}
	// Factor 4: a 50ms demand holds the worker for 200ms.
	r := call(c, bs[1].URL(), wire.HeaderDemand, ms(50))
	if r.err != nil || r.code != 200 || r.elapsed < 195*time.Millisecond {
		t.Errorf("50ms demand at a quarter of the speed: %+v", r)
	}
	if st := r.header.Get(wire.HeaderServiceTime); st != strconv.Itoa(40e6) {
		t.Errorf("service time %q, want 40ms", st)
	}
}

func TestBackendErrorsFailure(t *testing.T) {
	f := startFleet(t, `servers:
  - name: web
    count: 2
    concurrency: 1
    service: {dist: constant, mean: 1ms}
    failures: [{kind: errors, at: 0s, for: 300ms, rate: 1, instances: [0]}]
`)
	bs := f.Backends()
	start := time.Now()
	f.Play(start, 10*time.Second)
	c := client(t, 5*time.Second)
	waitFor(t, "the errors failure", func() bool { return call(c, bs[0].URL(), wire.HeaderDemand, "0").code == 500 })
	for i := 0; i < 5; i++ {
		if r := call(c, bs[1].URL(), wire.HeaderDemand, "0"); r.code != 200 {
			t.Errorf("healthy instance answered %d", r.code)
		}
	}
	waitFor(t, "the end of the errors", func() bool { return call(c, bs[0].URL(), wire.HeaderDemand, "0").code == 200 })
	if time.Since(start) < 290*time.Millisecond {
		t.Errorf("errors ended early")
	}
	if w := f.Windows(); len(w) != 1 || w[0].Kind != "errors" || w[0].EndS != 0.3 {
		t.Errorf("windows %+v", w)
	}
}

// The fleet plays the simulator's failure windows, random crashes drawn
// from the same streams.
func TestBackendWindowsMatchSim(t *testing.T) {
	src := scenarioHead + `servers:
  - name: web
    count: 3
    concurrency: 1
    service: {dist: constant, mean: 1ms}
    failures:
      - {kind: random-crash, mtbf: 2s, mttr: 300ms, instances: [0, 2]}
      - {kind: slow, at: 1s, for: 2s, latency: 5ms}
      - {kind: hang, at: 9s}
      - {kind: crash, at: 20s, for: 1s}
  - name: api
    count: 2
    concurrency: 1
    service: {dist: constant, mean: 1ms}
    failures: [{kind: random-crash, mtbf: 1s, mttr: 100ms}]
`
	sc, err := workloads.Parse([]byte(src), "windows.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := sim.Run(context.Background(), sc, sim.Options{Strategies: []string{"round-robin"}})
	if err != nil {
		t.Fatal(err)
	}
	f, err := backend.StartFleet(sc, backend.FleetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Windows() != nil {
		t.Errorf("windows before Play")
	}
	f.Play(time.Now().Add(time.Hour), sc.Warmup.D()+sc.Duration.D())
	got, want := f.Windows(), res.Failures
	random := 0
	for _, w := range want {
		if w.Kind == workloads.FailRandomCrash {
			random++
		}
	}
	if random < 5 {
		t.Fatalf("only %d random-crash windows: the test means to exercise them", random)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("live windows differ from sim's:\nlive %v\nsim  %v", got, want)
	}
}

// Close ends every goroutine, also with requests waiting in a queue, in
// service and in a hang.
func TestBackendClose(t *testing.T) {
	sc, err := workloads.Parse([]byte(scenarioHead+`servers:
  - {name: web, count: 1, concurrency: 1, service: {dist: constant, mean: 10ms}}
  - {name: ps, count: 1, concurrency: 1, discipline: ps, service: {dist: constant, mean: 10ms}}
`), "close.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	f, err := backend.StartFleet(sc, backend.FleetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c := client(t, 5*time.Second)
	var wg sync.WaitGroup
	for _, b := range f.Backends() {
		for i := 0; i < 3; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if r := call(c, b.URL(), wire.HeaderDemand, ms(3000)+","+ms(3000)); r.err == nil {
					t.Errorf("request at a closed backend answered %d", r.code)
				}
			}()
		}
		waitFor(t, "the requests", func() bool { return requests(b)() == 3 })
	}
	f.Play(time.Now(), time.Minute)
	done := make(chan error, 1)
	go func() { done <- f.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Close: %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Close did not return")
	}
	wg.Wait()
	if err := f.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestBackendBasePort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, p, _ := net.SplitHostPort(ln.Addr().String())
	ln.Close()
	port, _ := strconv.Atoi(p)
	sc, err := workloads.Parse([]byte(scenarioHead+`servers:
  - {name: web, count: 1, concurrency: 1, service: {dist: constant, mean: 1ms}}
`), "port.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	f, err := backend.StartFleet(sc, backend.FleetOptions{BasePort: port})
	if err != nil {
		t.Skipf("port %d taken meanwhile: %v", port, err)
	}
	defer f.Close()
	if got, want := f.Backends()[0].URL(), "http://127.0.0.1:"+p; got != want {
		t.Errorf("URL %s, want %s", got, want)
	}
	if _, err := backend.StartFleet(sc, backend.FleetOptions{BasePort: 65535 + 1}); err == nil {
		t.Error("a base port beyond 65535 was accepted")
	}
}

// A slowdown that starts while a request is in service stretches the rest
// of its work from that instant (plan.Condition), as in the simulator
// (sim's TestServerFailureActsOnWorkUnderWay): 100ms of work at full speed,
// then the other 200ms at a quarter of it, ends no sooner than 900ms.
func TestBackendSlowActsOnWorkInService(t *testing.T) {
	f := startFleet(t, `servers:
  - name: web
    count: 1
    concurrency: 1
    service: {dist: constant, mean: 10ms}
    failures: [{kind: slow, at: 100ms, for: 10s, factor: 4}]
`)
	b := f.Backends()[0]
	c := client(t, 5*time.Second)
	start := time.Now()
	inService := async(c, b.URL(), wire.HeaderDemand, ms(300))
	waitFor(t, "the request", func() bool { return requests(b)() == 1 })
	f.Play(start, 10*time.Second)
	r := <-inService
	if r.err != nil || r.code != 200 {
		t.Fatalf("request: %+v", r)
	}
	if done := time.Since(start); done < 880*time.Millisecond {
		t.Errorf("300ms of work slowed 4× after 100ms was done after %v, want ≥ 900ms", done)
	}
}

// A crashed backend listens again RepairLead before its repair (the
// prelisten event), so that it is up by the repair time: until then it
// resets what it accepts, as a refused connection fails; from the repair
// it serves on the same port.
func TestBackendListensBeforeRepair(t *testing.T) {
	f := startFleet(t, `servers:
  - {name: web, count: 1, service: {dist: constant, mean: 1ms}, failures: [{kind: crash, at: 0s, for: 1s}]}
`)
	b := f.Backends()[0]
	c := client(t, 5*time.Second)
	start := time.Now()
	f.Play(start, 10*time.Second)
	waitFor(t, "the crash", func() bool {
		conn, err := net.DialTimeout("tcp", b.Addr(), time.Second)
		if err == nil {
			conn.Close()
		}
		return errors.Is(err, syscall.ECONNREFUSED)
	})
	backend.Prelisten(b)
	// Listening: a connection is accepted, then reset (on loopback the
	// reset may already meet the dial), never refused.
	conn, err := net.DialTimeout("tcp", b.Addr(), time.Second)
	if errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("not listening after prelisten: %v", err)
	}
	if err == nil {
		conn.Close()
	}
	before := b.Stats().Requests
	if r := call(c, b.URL()+"/healthz"); r.err == nil {
		t.Errorf("health check answered %d before the repair", r.code)
	}
	if r := call(c, b.URL()); r.err == nil {
		t.Errorf("answered %d before its repair", r.code)
	}
	if time.Since(start) > time.Second {
		t.Skip("the machine was too slow to check before the repair")
	}
	// The refused request is the backend's, as in the simulator; the
	// health check is not.
	if got := b.Stats().Requests - before; got != 1 {
		t.Errorf("%d requests counted for one refused request and one refused health check", got)
	}
	waitFor(t, "the repair", func() bool { return call(c, b.URL()).code == 200 })
	if time.Since(start) < time.Second {
		t.Errorf("served after %v, before its repair", time.Since(start))
	}
}
