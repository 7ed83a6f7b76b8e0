package attack

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/edgelab/edgelab/engine"
	"github.com/edgelab/edgelab/live/wire"
	"github.com/edgelab/edgelab/plan"
	"github.com/edgelab/edgelab/reports"
)

func TestClassifyResults(t *testing.T) {
	hdr := func(kv ...string) http.Header {
		h := http.Header{}
		for i := 0; i < len(kv); i += 2 {
			h.Set(kv[i], kv[i+1])
		}
		return h
	}
	cases := []struct {
		name     string
		res      vegeta.Result
		aborted  bool
		want     plan.Outcome
		attempts int64
	}{
		{"200", vegeta.Result{Code: 200}, false, plan.OK, 1},
		{"204 with attempts", vegeta.Result{Code: 204, Headers: hdr(wire.HeaderAttempts, "3")}, false, plan.OK, 3},
		{"429", vegeta.Result{Code: 429}, false, plan.RateLimited, 1},
		{"401", vegeta.Result{Code: 401}, false, plan.AuthRejected, 1},
		{"403", vegeta.Result{Code: 403}, false, plan.AuthRejected, 1},
		{"504", vegeta.Result{Code: 504, Headers: hdr(wire.HeaderAttempts, "2")}, false, plan.Timeout, 2},
		{"503", vegeta.Result{Code: 503}, false, plan.NoUpstream, 1},
		{"503 queue_full", vegeta.Result{Code: 503, Headers: hdr(wire.HeaderOutcome, "queue_full")}, false, plan.QueueFull, 1},
		{"500", vegeta.Result{Code: 500}, false, plan.Error5xx, 1},
		{"502", vegeta.Result{Code: 502}, false, plan.Error5xx, 1},
		{"404", vegeta.Result{Code: 404}, false, plan.Error5xx, 1},
		{"302 (redirects off)", vegeta.Result{Code: 302}, false, plan.Error5xx, 1},
		{"502 connect_failure", vegeta.Result{Code: 502, Headers: hdr(wire.HeaderOutcome, "connect_failure", wire.HeaderAttempts, "3")}, false, plan.ConnectFailure, 3},
		{"503 rate_limited", vegeta.Result{Code: 503, Headers: hdr(wire.HeaderOutcome, "rate_limited", wire.HeaderAttempts, "0")}, false, plan.RateLimited, 0},
		{"500 timeout header", vegeta.Result{Code: 500, Headers: hdr(wire.HeaderOutcome, "timeout")}, false, plan.Timeout, 1},
		{"unknown outcome header", vegeta.Result{Code: 200, Headers: hdr(wire.HeaderOutcome, "bogus", wire.HeaderAttempts, "x")}, false, plan.OK, 1},
		{"refused", vegeta.Result{Error: `Get "http://127.0.0.1:1/": dial tcp 127.0.0.1:1: connect: connection refused`}, false, plan.ConnectFailure, 0},
		{"reset", vegeta.Result{Error: `Get "http://127.0.0.1:5/": read tcp 127.0.0.1:6->127.0.0.1:5: read: connection reset by peer`}, false, plan.ConnectFailure, 0},
		{"EOF", vegeta.Result{Error: `Get "http://127.0.0.1:5/": EOF`}, false, plan.ConnectFailure, 0},
		{"client timeout", vegeta.Result{Error: `Get "http://127.0.0.1:5/": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`}, false, plan.Timeout, 1},
		{"body timeout", vegeta.Result{Error: `context deadline exceeded (Client.Timeout or context cancellation while reading body)`}, false, plan.Timeout, 1},
		{"i/o timeout", vegeta.Result{Error: `read tcp 127.0.0.1:6->127.0.0.1:5: i/o timeout`}, false, plan.Timeout, 1},
		{"aborted", vegeta.Result{Error: `Get "http://127.0.0.1:5/": read: use of closed network connection`}, true, plan.Timeout, 1},
		{"aborted but answered", vegeta.Result{Code: 200}, true, plan.OK, 1},
	}
	for _, c := range cases {
		o, n := classify(&c.res, c.aborted)
		if o != c.want || n != c.attempts {
			t.Errorf("%s: outcome %d, attempts %d; want %d, %d", c.name, o, n, c.want, c.attempts)
		}
	}
	// Every outcome has its own counter and series.
	var out reports.Outcomes
	s := reports.NewSeries(time.Second, 1, 0)
	for o := plan.OK; o < plan.NumOutcomes; o++ {
		*o.Counter(&out)++
		o.Series(s)[0]++
	}
	if out.Total() != 8 || out.OK != 1 || out.Rejected() != 2 || out.Failed() != 5 {
		t.Errorf("outcome counters: %+v", out)
	}
	sum := s.OK[0] + s.Error5xx[0] + s.Timeout[0] + s.QueueFull[0] + s.NoUpstream[0] + s.ConnectFailure[0] + s.RateLimited[0] + s.AuthRejected[0]
	if sum != 8 || s.ConnectFailure[0] != 1 {
		t.Errorf("outcome series: %d in all", sum)
	}
}

// rule is the end-to-end test server's answer to request seq.
func rule(seq uint64) (code int, outcome string, slow bool, want plan.Outcome) {
	switch {
	case seq%10 == 3:
		return 503, "queue_full", false, plan.QueueFull
	case seq%10 == 5:
		return 500, "", false, plan.Error5xx
	case seq%10 == 7:
		return 429, "", false, plan.RateLimited
	case seq%10 == 9:
		return 503, "", false, plan.NoUpstream
	case seq%7 == 0:
		return 200, "", true, plan.OK
	}
	return 200, "", false, plan.OK
}

// decode reads a vegeta results stream.
func decode(t *testing.T, b []byte) []vegeta.Result {
	t.Helper()
	dec := vegeta.NewDecoder(bytes.NewReader(b))
	var out []vegeta.Result
	for {
		var r vegeta.Result
		if err := dec.Decode(&r); errors.Is(err, io.EOF) {
			return out
		} else if err != nil {
			t.Fatalf("decode vegeta.bin after %d results: %v", len(out), err)
		}
		out = append(out, r)
	}
}

// waitGoroutines waits for the goroutine count to fall back to n.
func waitGoroutines(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for runtime.NumGoroutine() > n {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Errorf("%d goroutines left, %d before:\n%s", runtime.NumGoroutine(), n, buf[:runtime.Stack(buf, true)])
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestAttackEndToEnd(t *testing.T) {
	sc := scenario(t, `
seed: 5
duration: 700ms
warmup: 300ms
clients: {arrival: {process: constant, rate: 200}, timeout: 1s, count: 10}
servers:
  - {name: web, count: 2, service: {dist: exponential, mean: 5ms}}
  - {name: api, count: 1, service: {dist: constant, mean: 1ms}}
`)
	before := runtime.NumGoroutine()
	var mu sync.Mutex
	seen := map[uint64]bool{}
	var bad []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seq, err := strconv.ParseUint(r.Header.Get(wire.HeaderSeq), 10, 64)
		mu.Lock()
		switch {
		case err != nil || seen[seq]:
			bad = append(bad, "seq "+r.Header.Get(wire.HeaderSeq))
		case len(strings.Split(r.Header.Get(wire.HeaderDemand), ",")) != 2 || r.Header.Get(wire.HeaderKey) == "" || r.Header.Get(wire.HeaderClient) == "":
			bad = append(bad, "headers of "+r.Header.Get(wire.HeaderSeq))
		case r.Header.Get("Authorization") != "Bearer t"+r.Header.Get(wire.HeaderSeq):
			bad = append(bad, "token of "+r.Header.Get(wire.HeaderSeq))
		}
		seen[seq] = true
		mu.Unlock()
		code, outcome, slow, _ := rule(seq)
		if slow {
			time.Sleep(20 * time.Millisecond)
		}
		if outcome != "" {
			w.Header().Set(wire.HeaderOutcome, outcome)
		}
		if seq%4 == 0 {
			w.Header().Set(wire.HeaderAttempts, "2")
		}
		w.WriteHeader(code)
		io.WriteString(w, "a body the attacker does not keep")
	}))
	var vbin bytes.Buffer
	buckets := 0
	start := time.Now().Add(100 * time.Millisecond)
	res, err := Attack(t.Context(), Config{
		Scenario: sc, Target: srv.URL, Start: start, VegetaOut: &vbin, MaxWorkers: 50,
		Tokens:   func(seq uint64) string { return "t" + strconv.FormatUint(seq, 10) },
		OnBucket: func(k int, s *reports.Series) { buckets++; s.Healthy[k] = 3 },
	})
	srv.Close()
	if err != nil {
		t.Fatal(err)
	}
	if time.Since(start) < time.Second {
		t.Errorf("Attack returned %v after the start, before the run's end (1s)", time.Since(start))
	}
	waitGoroutines(t, before)
	for _, b := range bad {
		t.Error("server saw a bad request: ", b)
	}

	// The arrival schedule: 5ms, 10ms, ... 995ms.
	clock := sc.Clients.Arrival.Clock(engine.Source(sc.Seed, 0, "arrivals"))
	var want reports.Outcomes
	var sent, attempts int64
	for seq := uint64(1); ; seq++ {
		at := clock.Next()
		if at >= time.Second {
			break
		}
		sent++
		if at < 300*time.Millisecond {
			continue // warm-up
		}
		_, _, _, o := rule(seq)
		*o.Counter(&want)++
		attempts++
		if seq%4 == 0 {
			attempts++
		}
	}
	if res.Partial || res.Sent != sent || len(seen) != int(sent) {
		t.Fatalf("partial %v, sent %d, server saw %d; want a full run of %d", res.Partial, res.Sent, len(seen), sent)
	}
	got := res.Rep.Outcomes
	if got != want {
		t.Errorf("outcomes %+v\nwant     %+v", got, want)
	}
	if got.OK+got.Failed()+got.Rejected() != 140 || got.Total() == sent {
		t.Errorf("%d requests after warm-up, want 140 of the %d sent", got.Total(), sent)
	}
	if res.Rep.Attempts != attempts {
		t.Errorf("attempts %d, want %d", res.Rep.Attempts, attempts)
	}
	if n := res.Rep.Latency.Count(); n != want.OK {
		t.Errorf("%d latencies recorded, want one per ok request (%d)", n, want.OK)
	}
	if l := res.Rep.Latency.Summary(); l.Max < 20 || l.P50 <= 0 {
		t.Errorf("latency %+v: want a max of at least the slow answers' 20ms", l)
	}

	// vegeta's own stream has every result, and the series add up.
	results := decode(t, vbin.Bytes())
	if len(results) != int(sent) {
		t.Errorf("vegeta.bin has %d results, want %d", len(results), sent)
	}
	var done reports.Outcomes
	for i := range results {
		r := &results[i]
		if _, _, ok := parseFragment(r.URL); !ok {
			t.Fatalf("result URL %q has no schedule", r.URL)
		}
		if r.Timestamp.Sub(start)+r.Latency < time.Second {
			o, _ := classify(r, false)
			*o.Counter(&done)++
		}
	}
	s := res.Rep.Series
	if len(s.T) != 1 || buckets != 1 || s.Healthy[0] != 3 {
		t.Errorf("%d buckets, OnBucket called %d times; want 1 and 1", len(s.T), buckets)
	}
	sum := func(xs []int64) (n int64) {
		for _, x := range xs {
			n += x
		}
		return n
	}
	if sum(s.Offered) != sent {
		t.Errorf("offered %d, want %d", sum(s.Offered), sent)
	}
	gotSeries := reports.Outcomes{OK: sum(s.OK), Error5xx: sum(s.Error5xx), Timeout: sum(s.Timeout), QueueFull: sum(s.QueueFull),
		NoUpstream: sum(s.NoUpstream), ConnectFailure: sum(s.ConnectFailure), RateLimited: sum(s.RateLimited), AuthRejected: sum(s.AuthRejected)}
	if gotSeries != done {
		t.Errorf("series outcomes %+v\nwant (finished before the end) %+v", gotSeries, done)
	}
	if s.P50MS[0] <= 0 || s.P99MS[0] < s.P50MS[0] {
		t.Errorf("bucket latency p50 %v, p99 %v", s.P50MS[0], s.P99MS[0])
	}

	live := res.Live
	if live.TargetRPS != 200 || live.AchievedRPS <= 0 || live.Target != srv.URL || live.WallS < 1 || live.SendLagMS.Max < 0 {
		t.Errorf("live stats %+v", live)
	}
}

func TestAttackCancelMidRun(t *testing.T) {
	sc := scenario(t, `
duration: 3s
clients: {arrival: {process: constant, rate: 200}, timeout: 10s}
servers: [{name: web, count: 1, service: {dist: constant, mean: 1ms}}]
`)
	before := runtime.NumGoroutine()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get(wire.HeaderSeq) == "20" { // hangs until the client gives up
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
			return
		}
		w.WriteHeader(200)
	}))
	defer srv.Close()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	time.AfterFunc(300*time.Millisecond, cancel)
	var vbin bytes.Buffer
	t0 := time.Now()
	res, err := Attack(ctx, Config{Scenario: sc, Target: srv.URL, VegetaOut: &vbin})
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(t0); d > 2500*time.Millisecond {
		t.Errorf("a cancelled attack took %v (the run is 3s)", d)
	}
	o := res.Rep.Outcomes
	if !res.Partial || res.Sent == 0 || res.Sent >= 599 {
		t.Fatalf("partial %v, sent %d: want a partial run", res.Partial, res.Sent)
	}
	// No warm-up: every request sent counts, each with one outcome; the
	// hung one was interrupted: a timeout.
	if o.Total() != res.Sent || o.OK+o.Failed()+o.Rejected() != o.Total() || o.Timeout != 1 || o.OK != res.Sent-1 {
		t.Errorf("outcomes %+v for %d requests sent", o, res.Sent)
	}
	if n := len(decode(t, vbin.Bytes())); int64(n) != res.Sent {
		t.Errorf("vegeta.bin has %d results, want %d", n, res.Sent)
	}
	var offered int64
	for _, x := range res.Rep.Series.Offered {
		offered += x
	}
	if offered != res.Sent {
		t.Errorf("offered %d, want %d", offered, res.Sent)
	}
	srv.Close()
	waitGoroutines(t, before)

	// Cancelled before the start: nothing sent, a partial empty result.
	ctx, cancel = context.WithCancel(t.Context())
	cancel()
	res, err = Attack(ctx, Config{Scenario: sc, Target: "http://127.0.0.1:1", Start: time.Now().Add(time.Hour)})
	if err != nil || !res.Partial || res.Sent != 0 || res.Rep.Series == nil || res.Rep.Latency == nil {
		t.Errorf("cancelled before the start: %+v, %v", res, err)
	}
}

func TestAttackCorrectsCoordinatedOmission(t *testing.T) {
	sc := scenario(t, `
duration: 500ms
clients: {arrival: {process: constant, rate: 100}, timeout: 5s}
servers: [{name: web, count: 1, service: {dist: constant, mean: 1ms}}]
`)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get(wire.HeaderSeq) == "5" {
			time.Sleep(300 * time.Millisecond)
		}
	}))
	defer srv.Close()
	var vbin bytes.Buffer
	start := time.Now().Add(50 * time.Millisecond)
	res, err := Attack(t.Context(), Config{Scenario: sc, Target: srv.URL, Start: start, VegetaOut: &vbin, MaxWorkers: 1})
	if err != nil {
		t.Fatal(err)
	}
	// Request 5 is due at 50ms and takes 300ms; with one worker, requests
	// 6, 7, ... (due at 60ms, 70ms, ...) cannot leave before 350ms: their
	// latency counts from when they were due.
	for _, r := range decode(t, vbin.Bytes()) {
		seq, at, _ := parseFragment(r.URL)
		if seq <= 5 || seq > 30 {
			continue
		}
		corrected := r.Timestamp.Sub(start) + r.Latency - at
		if min := 350*time.Millisecond - at; corrected < min {
			t.Errorf("request %d: corrected latency %v, raw %v; want at least %v", seq, corrected, r.Latency, min)
		}
	}
	l := res.Rep.Latency.Summary()
	if l.Max < 290 || res.Rep.Outcomes.OK != res.Sent || res.Sent != 49 {
		t.Errorf("latency %+v, %d ok of %d sent (want 49)", l, res.Rep.Outcomes.OK, res.Sent)
	}
	if lag := res.Live.SendLagMS; lag.Max < 250 {
		t.Errorf("send lag %+v: want request 6's wait of about 290ms", lag)
	}
}

func TestAttackRealTransportFailures(t *testing.T) {
	sc := scenario(t, `
duration: 300ms
clients: {arrival: {process: constant, rate: 100}, timeout: 200ms}
servers: [{name: web, count: 1, service: {dist: constant, mean: 1ms}}]
`)
	// Nothing listens: every request is refused.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String()
	ln.Close()
	res, err := Attack(t.Context(), Config{Scenario: sc, Target: dead})
	if err != nil {
		t.Fatal(err)
	}
	if o := res.Rep.Outcomes; o.ConnectFailure != res.Sent || res.Sent != 29 || res.Rep.Attempts != 0 {
		t.Errorf("refused: outcomes %+v, attempts %d for %d sent", o, res.Rep.Attempts, res.Sent)
	}

	// Even requests hang past the client's timeout.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if seq, _ := strconv.Atoi(r.Header.Get(wire.HeaderSeq)); seq%2 == 0 {
			select {
			case <-r.Context().Done():
			case <-time.After(2 * time.Second):
			}
		}
	}))
	defer srv.Close()
	res, err = Attack(t.Context(), Config{Scenario: sc, Target: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	// (A fast answer also becomes a timeout if it left more than 200ms
	// late, which only a starved machine would do.)
	if o := res.Rep.Outcomes; o.Timeout < 14 || o.OK+o.Timeout != res.Sent || res.Sent != 29 {
		t.Errorf("hangs: outcomes %+v for %d sent; want 14 timeouts and 15 ok", o, res.Sent)
	}
}

func TestMaxConnsFromFileLimit(t *testing.T) {
	for _, c := range []struct{ nofile, want uint64 }{
		{20000, (20000 - fdReserve) / fdsPerConn},
		{1 << 20, (1<<20 - fdReserve) / fdsPerConn},
		{0, (unknownFDLimit - fdReserve) / fdsPerConn},
		{300, minConns},
	} {
		if got := maxConns(c.nofile); got != c.want {
			t.Errorf("maxConns(%d) = %d, want %d", c.nofile, got, c.want)
		}
	}
}

// A rate the attacker cannot send within its connection bound is sent
// late, never on more connections than the open file limit allows, and
// the results say the rate fell short.
func TestAttackConnectionsBoundedByFileLimit(t *testing.T) {
	const bound = 20
	old := fileLimit
	fileLimit = func() uint64 { return fdReserve + fdsPerConn*bound }
	defer func() { fileLimit = old }()
	sc := scenario(t, `
duration: 1s
clients: {arrival: {process: constant, rate: 200}, timeout: 5s}
servers: [{name: web, count: 1, service: {dist: constant, mean: 1ms}}]
`)
	var mu sync.Mutex
	open, peak := 0, 0
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(200 * time.Millisecond) // 200 req/s need 40 connections
	}))
	srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		mu.Lock()
		defer mu.Unlock()
		switch st {
		case http.StateNew:
			open++
			peak = max(peak, open)
		case http.StateClosed, http.StateHijacked:
			open--
		}
	}
	srv.Start()
	defer srv.Close()
	res, err := Attack(t.Context(), Config{Scenario: sc, Target: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if peak > bound {
		t.Errorf("the attacker held %d connections at once, bound %d", peak, bound)
	}
	l := res.Live
	if l.MaxConnections != bound || l.TargetRPS != 200 || l.AchievedRPS > 150 || l.ShortfallPct < 25 || l.Warning == "" {
		t.Errorf("live stats %+v: want the bound, a shortfall and a warning", l)
	}
	if !strings.Contains(l.Warning, "200.0 targeted") {
		t.Errorf("warning %q", l.Warning)
	}
}
