package gateway

import (
	"bufio"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgelab/edgelab/live/wire"
	"github.com/edgelab/edgelab/workloads"
)

// stgUpstream answers 200 "body-<key>" as server web-0, 500 on /err, and
// counts its calls.
type stgUpstream struct{ calls atomic.Int64 }

func (u *stgUpstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	u.calls.Add(1)
	w.Header().Set(wire.HeaderServer, "web-0")
	w.Header().Set("Content-Type", "text/plain")
	if r.URL.Path == "/err" {
		w.Header().Set(wire.HeaderOutcome, "error_5xx")
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, "body-"+r.Header.Get(wire.HeaderKey))
}

func stgNew(t *testing.T, opt StageOptions, stages ...workloads.Stage) *Stages {
	t.Helper()
	s, err := NewStages(&workloads.Gateway{Stages: stages}, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// stgDo sends one request through h; kv are header name, value pairs.
func stgDo(h http.Handler, method, path string, kv ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, nil)
	req.RemoteAddr = "192.0.2.1:1234"
	for i := 0; i+1 < len(kv); i += 2 {
		req.Header.Set(kv[i], kv[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func stgCodes(h http.Handler, n int, kv ...string) []int {
	var out []int
	for i := 0; i < n; i++ {
		out = append(out, stgDo(h, http.MethodGet, "/", kv...).Code)
	}
	return out
}

func stgWant(t *testing.T, what string, got []int, want ...int) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: codes %v, want %v", what, got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("%s: codes %v, want %v", what, got, want)
		}
	}
}

// A refill of one token per 1000 s makes the bucket's decisions
// independent of how long the test takes.
const stgSlowRate = 0.001

func TestRateLimitTokenBucketGlobal(t *testing.T) {
	s := stgNew(t, StageOptions{}, workloads.Stage{Type: workloads.StageRateLimit, Algorithm: "token-bucket", Rate: stgSlowRate, Burst: 3, Per: "global"})
	h := s.Wrap(&stgUpstream{})
	// Clients do not matter to a global limit.
	got := append(stgCodes(h, 2, wire.HeaderClient, "1"), stgCodes(h, 3, wire.HeaderClient, "2")...)
	stgWant(t, "burst 3", got, 200, 200, 200, 429, 429)
	rec := stgDo(h, http.MethodGet, "/")
	if rec.Header().Get(wire.HeaderOutcome) != "rate_limited" || rec.Header().Get("Retry-After") == "" {
		t.Errorf("429 headers %v", rec.Header())
	}
}

func TestRateLimitPerClient(t *testing.T) {
	s := stgNew(t, StageOptions{}, workloads.Stage{Type: workloads.StageRateLimit, Algorithm: "token-bucket", Rate: stgSlowRate, Burst: 2, Per: "client"})
	h := s.Wrap(&stgUpstream{})
	stgWant(t, "client 1", stgCodes(h, 3, wire.HeaderClient, "1"), 200, 200, 429)
	stgWant(t, "client 2", stgCodes(h, 3, wire.HeaderClient, "2"), 200, 200, 429)
	// Without X-Edgelab-Client the peer address is the client.
	stgWant(t, "by address", stgCodes(h, 3), 200, 200, 429)
}

func TestRateLimitWindows(t *testing.T) {
	for _, alg := range []string{"fixed-window", "sliding-window"} {
		t.Run(alg, func(t *testing.T) {
			// Two requests per one-hour window.
			s := stgNew(t, StageOptions{Start: time.Now()}, workloads.Stage{Type: workloads.StageRateLimit, Algorithm: alg,
				Rate: 2.0 / 3600, Window: workloads.Duration(time.Hour), Per: "global"})
			stgWant(t, alg, stgCodes(s.Wrap(&stgUpstream{}), 4), 200, 200, 429, 429)
		})
	}
}

// TestRateLimitSharedAcrossInstances: like the simulator's, the limit is
// the gateway tier's when the instances share one RateLimits, and each
// instance's own without.
func TestRateLimitSharedAcrossInstances(t *testing.T) {
	g := &workloads.Gateway{Stages: []workloads.Stage{{Type: workloads.StageRateLimit, Algorithm: "token-bucket", Rate: stgSlowRate, Burst: 2, Per: "global"}}}
	shared, err := NewRateLimits(g, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	var codes []int
	for i := 0; i < 2; i++ {
		s, err := NewStages(g, StageOptions{Instance: i, Limits: shared})
		if err != nil {
			t.Fatal(err)
		}
		codes = append(codes, stgCodes(s.Wrap(&stgUpstream{}), 2)...)
	}
	stgWant(t, "shared", codes, 200, 200, 429, 429)
	codes = nil
	for i := 0; i < 2; i++ {
		s, err := NewStages(g, StageOptions{Instance: i})
		if err != nil {
			t.Fatal(err)
		}
		codes = append(codes, stgCodes(s.Wrap(&stgUpstream{}), 2)...)
	}
	stgWant(t, "own", codes, 200, 200, 200, 200)
	// scope: instance in the shared limits: each instance counts alone
	// (plan.Limiters, the simulator's).
	gi := &workloads.Gateway{Instances: 2, Stages: []workloads.Stage{{Type: workloads.StageRateLimit, Algorithm: "token-bucket", Rate: stgSlowRate, Burst: 2, Per: "global", Scope: workloads.ScopeInstance}}}
	perInstance, err := NewRateLimits(gi, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	codes = nil
	for i := 0; i < 2; i++ {
		s, err := NewStages(gi, StageOptions{Instance: i, Limits: perInstance})
		if err != nil {
			t.Fatal(err)
		}
		codes = append(codes, stgCodes(s.Wrap(&stgUpstream{}), 3)...)
	}
	stgWant(t, "scope instance", codes, 200, 200, 429, 200, 200, 429)
	// Limits made for another gateway are refused.
	other := &workloads.Gateway{Stages: []workloads.Stage{{Type: workloads.StageCache, Size: 1}, g.Stages[0]}}
	if _, err := NewStages(other, StageOptions{Limits: shared}); err == nil {
		t.Error("mismatched RateLimits accepted")
	}
}

func TestCacheHitMiss(t *testing.T) {
	s := stgNew(t, StageOptions{}, workloads.Stage{Type: workloads.StageCache, Size: 100, TTL: workloads.Duration(time.Hour)})
	up := &stgUpstream{}
	srv := httptest.NewServer(s.Wrap(up))
	defer srv.Close()
	get := func(method, path, key string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, nil)
		req.Header.Set(wire.HeaderKey, key)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, string(b)
	}
	r1, b1 := get(http.MethodGet, "/a", "7")
	r2, b2 := get(http.MethodGet, "/b", "7") // same key: the simulator keys by request key only
	if r1.Header.Get(wire.HeaderCache) != "miss" || r2.Header.Get(wire.HeaderCache) != "hit" {
		t.Fatalf("cache headers %q, %q; want miss, hit", r1.Header.Get(wire.HeaderCache), r2.Header.Get(wire.HeaderCache))
	}
	if up.calls.Load() != 1 || b2 != b1 || r2.StatusCode != 200 || r2.Header.Get("Content-Type") != "text/plain" {
		t.Fatalf("hit: upstream calls %d, body %q (first %q), status %d, headers %v", up.calls.Load(), b2, b1, r2.StatusCode, r2.Header)
	}
	if r2.Header.Get(wire.HeaderServer) != "" {
		t.Errorf("a hit names server %q; no server answered it", r2.Header.Get(wire.HeaderServer))
	}
	// Other methods and non-2xx answers are not cached.
	get(http.MethodPost, "/a", "8")
	if r, _ := get(http.MethodPost, "/a", "8"); r.Header.Get(wire.HeaderCache) != "miss" {
		t.Errorf("POST: %q", r.Header.Get(wire.HeaderCache))
	}
	get(http.MethodGet, "/err", "9")
	if r, _ := get(http.MethodGet, "/err", "9"); r.StatusCode != 500 || r.Header.Get(wire.HeaderCache) != "miss" {
		t.Errorf("500 cached: %d %q", r.StatusCode, r.Header.Get(wire.HeaderCache))
	}
	if up.calls.Load() != 5 {
		t.Errorf("upstream calls %d, want 5", up.calls.Load())
	}
	if h, m := s.CacheStats(); h != 1 || m != 3 {
		t.Errorf("CacheStats %d hits %d misses, want 1, 3 (POSTs bypass)", h, m)
	}
}

func TestCacheTTLAndSize(t *testing.T) {
	c := newRespCache(2, 10*time.Second)
	put := func(now time.Duration, key uint64) {
		c.put(now, &cachedResp{id: cacheID{slot: key, lab: true}, status: 200, body: []byte(strconv.FormatUint(key, 10))})
	}
	put(0, 1)
	if e := c.get(5*time.Second, labID(1)); e == nil || string(e.body) != "1" {
		t.Fatalf("fresh entry missed: %v", e)
	}
	if c.get(10*time.Second, labID(1)) != nil {
		t.Fatal("entry served at its ttl")
	}
	if c.len() != 0 {
		t.Fatalf("expired entry kept: len %d", c.len())
	}
	// Size 2: storing a third key evicts the least recently used.
	put(20*time.Second, 1)
	put(20*time.Second, 2)
	c.get(21*time.Second, labID(1)) // 1 is now the most recent
	put(22*time.Second, 3)
	if c.len() != 2 || c.get(23*time.Second, labID(2)) != nil || c.get(23*time.Second, labID(1)) == nil || c.get(23*time.Second, labID(3)) == nil {
		t.Fatalf("LRU eviction: len %d", c.len())
	}
	// Through the stage, with the wall clock: a 1ms ttl has passed after
	// a 20ms sleep (no upper bound on time is assumed).
	s := stgNew(t, StageOptions{}, workloads.Stage{Type: workloads.StageCache, Size: 1, TTL: workloads.Duration(time.Millisecond)})
	h := s.Wrap(&stgUpstream{})
	stgDo(h, http.MethodGet, "/", wire.HeaderKey, "1")
	time.Sleep(20 * time.Millisecond)
	if rec := stgDo(h, http.MethodGet, "/", wire.HeaderKey, "1"); rec.Header().Get(wire.HeaderCache) != "miss" {
		t.Errorf("expired answer served: %q", rec.Header().Get(wire.HeaderCache))
	}
}

func TestTransformHeaders(t *testing.T) {
	s := stgNew(t, StageOptions{Instance: 3}, workloads.Stage{Type: workloads.StageTransform, Headers: &workloads.HeaderRules{
		Rename: map[string]string{"x-api-key": "X-Upstream-Key"},
		Remove: []string{"Authorization", "Cookie"},
		Set:    map[string]string{"X-Gateway": "edgelab", "x-env": "lab"},
	}})
	var seen http.Header
	h := s.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { seen = r.Header.Clone() }))
	rec := stgDo(h, http.MethodGet, "/", "X-Api-Key", "k1", "Authorization", "Bearer x", "Cookie", "a=b",
		"X-Env", "prod", wire.HeaderSeq, "42")
	want := map[string]string{"X-Upstream-Key": "k1", "X-Api-Key": "", "Authorization": "", "Cookie": "",
		"X-Gateway": "edgelab", "X-Env": "lab", headerRequestID: "edgelab-42", wire.HeaderSeq: "42"}
	for k, v := range want {
		if got := seen.Get(k); got != v {
			t.Errorf("upstream %s = %q, want %q", k, got, v)
		}
	}
	if rec.Header().Get(headerRequestID) != "edgelab-42" {
		t.Errorf("answer request id %q", rec.Header().Get(headerRequestID))
	}
	// An incoming id is kept; without one or a seq, the instance numbers them.
	stgDo(h, http.MethodGet, "/", headerRequestID, "abc-1")
	if seen.Get(headerRequestID) != "abc-1" {
		t.Errorf("incoming id replaced by %q", seen.Get(headerRequestID))
	}
	stgDo(h, http.MethodGet, "/")
	if seen.Get(headerRequestID) != "gw3-1" {
		t.Errorf("generated id %q, want gw3-1", seen.Get(headerRequestID))
	}
}

// TestAccessLogLines checks one JSON line per request, with its fields,
// including requests answered by a stage before the log stage.
func TestAccessLogLines(t *testing.T) {
	a := hsAuth(t, 1, 0)
	path := filepath.Join(t.TempDir(), "access-0.log")
	s, err := NewStages(&workloads.Gateway{Stages: []workloads.Stage{
		{Type: workloads.StageAuth, Alg: workloads.AuthHS256},
		{Type: workloads.StageCache, Size: 10},
		{Type: workloads.StageLog},
	}}, StageOptions{Seed: 1, Auth: a, AccessLog: path})
	if err != nil {
		t.Fatal(err)
	}
	h := s.Wrap(&stgUpstream{})
	tok := "Bearer " + a.Token(1)
	stgDo(h, http.MethodGet, "/orders/1", "Authorization", tok, wire.HeaderKey, "5", wire.HeaderClient, "17", wire.HeaderSeq, "1")
	stgDo(h, http.MethodGet, "/orders/1", "Authorization", tok, wire.HeaderKey, "5", wire.HeaderClient, "17", wire.HeaderSeq, "2")
	stgDo(h, http.MethodGet, "/err", "Authorization", tok, wire.HeaderKey, "6", wire.HeaderClient, "18", wire.HeaderSeq, "3")
	stgDo(h, http.MethodGet, "/x", wire.HeaderClient, "19", wire.HeaderSeq, "4")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	type line struct {
		Time     *time.Time `json:"time"`
		Msg      string     `json:"msg"`
		Gateway  string     `json:"gateway"`
		Method   string     `json:"method"`
		Path     string     `json:"path"`
		Status   int        `json:"status"`
		Outcome  string     `json:"outcome"`
		Server   string     `json:"server"`
		Duration *float64   `json:"duration_ms"`
		Client   string     `json:"client"`
		Seq      string     `json:"seq"`
		Cache    string     `json:"cache"`
	}
	want := []line{
		{Path: "/orders/1", Status: 200, Outcome: "ok", Server: "web-0", Client: "17", Seq: "1", Cache: "miss"},
		{Path: "/orders/1", Status: 200, Outcome: "ok", Server: "", Client: "17", Seq: "2", Cache: "hit"},
		{Path: "/err", Status: 500, Outcome: "error_5xx", Server: "web-0", Client: "18", Seq: "3", Cache: "miss"},
		{Path: "/x", Status: 401, Outcome: "auth_rejected", Server: "", Client: "19", Seq: "4", Cache: ""},
	}
	sc := bufio.NewScanner(f)
	n := 0
	for ; sc.Scan(); n++ {
		var l line
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("line %d is not JSON: %v\n%s", n+1, err, sc.Text())
		}
		if n >= len(want) {
			continue
		}
		w := want[n]
		if l.Time == nil || l.Duration == nil || *l.Duration < 0 || l.Msg != "access" || l.Gateway != "gateway-0" || l.Method != "GET" ||
			l.Path != w.Path || l.Status != w.Status || l.Outcome != w.Outcome || l.Server != w.Server ||
			l.Client != w.Client || l.Seq != w.Seq || l.Cache != w.Cache {
			t.Errorf("line %d: %s\nwant %+v", n+1, sc.Text(), w)
		}
	}
	if n != len(want) {
		t.Errorf("%d lines, want %d", n, len(want))
	}
}

// TestStageStatsCountRequests: each stage counts the requests that reached
// it, the pipeline stopping at the first stage that answers, as in the
// simulator; warm-up requests are not counted.
func TestStageStatsCountRequests(t *testing.T) {
	a := hsAuth(t, 11, 0.3)
	stages := []workloads.Stage{
		{Type: workloads.StageAuth, Alg: workloads.AuthHS256, Reject: 0.3},
		{Type: workloads.StageRateLimit, Algorithm: "token-bucket", Rate: stgSlowRate, Burst: 30, Per: "global"},
		{Type: workloads.StageCache, Size: 100},
		{Type: workloads.StageTransform},
		{Type: workloads.StageLog},
	}
	s := stgNew(t, StageOptions{Seed: 11, Auth: a}, stages...)
	up := &stgUpstream{}
	h := s.Wrap(up)
	var authOK, limited, hits int64
	for seq := uint64(1); seq <= 100; seq++ {
		key := strconv.FormatUint(seq%20, 10)
		rec := stgDo(h, http.MethodGet, "/", "Authorization", "Bearer "+a.Token(seq), wire.HeaderKey, key, wire.HeaderSeq, strconv.FormatUint(seq, 10))
		if !a.rejects(seq) {
			authOK++
		}
		switch {
		case rec.Code == http.StatusTooManyRequests:
			limited++
		case rec.Header().Get(wire.HeaderCache) == "hit":
			hits++
		}
	}
	if limited != authOK-30 || authOK <= 30 {
		t.Fatalf("auth passed %d, limited %d; want burst 30 admitted", authOK, limited)
	}
	st := s.Stats()
	want := []int64{100, authOK, 30, 30 - hits, 30 - hits}
	for i, w := range want {
		if st[i].Type != stages[i].Type || st[i].Requests != w || st[i].CostMS < 0 {
			t.Errorf("stage %d: %+v, want type %s requests %d", i, st[i], stages[i].Type, w)
		}
	}
	if st[0].CostMS <= 0 {
		t.Errorf("auth cost %v, want > 0", st[0].CostMS)
	}
	if h, m := s.CacheStats(); h != hits || h+m != 30 || up.calls.Load() != m {
		t.Errorf("CacheStats %d/%d, hits seen %d, upstream calls %d", h, m, hits, up.calls.Load())
	}
	// Requests before the end of warm-up are not counted.
	w := stgNew(t, StageOptions{Seed: 11, Auth: a, Start: time.Now(), Warmup: time.Hour}, stages...)
	stgDo(w.Wrap(up), http.MethodGet, "/", "Authorization", "Bearer "+a.Token(1))
	if st := w.Stats(); st[0].Requests != 0 {
		t.Errorf("warm-up request counted: %+v", st)
	}
}

func TestStagesNoGateway(t *testing.T) {
	s, err := NewStages(nil, StageOptions{})
	if err != nil {
		t.Fatal(err)
	}
	up := &stgUpstream{}
	if h := s.Wrap(up); h != http.Handler(up) {
		t.Error("Wrap without stages does not return next")
	}
	if len(s.Stats()) != 0 || s.Close() != nil {
		t.Error("empty Stages has stats or fails to close")
	}
}

// TestAccessLogAborted: a request whose handler aborts (as the proxy does
// when a copy fails) is logged too.
func TestAccessLogAborted(t *testing.T) {
	path := filepath.Join(t.TempDir(), "access-1.log")
	s, err := NewStages(&workloads.Gateway{Stages: []workloads.Stage{{Type: workloads.StageLog}}}, StageOptions{Instance: 1, AccessLog: path})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		panic(http.ErrAbortHandler)
	})))
	if resp, err := srv.Client().Get(srv.URL + "/gone"); err == nil {
		resp.Body.Close()
		t.Error("aborted request got an answer")
	}
	srv.Close() // waits for the handler
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var l struct{ Path, Outcome, Gateway string }
	if err := json.Unmarshal(b, &l); err != nil || l.Path != "/gone" || l.Outcome != "aborted" || l.Gateway != "gateway-1" {
		t.Errorf("log %q (%v), want one aborted line for /gone", b, err)
	}
}

// TestStagesConcurrent sends requests through every stage at once over
// loopback (for -race) and checks the counts add up.
func TestStagesConcurrent(t *testing.T) {
	a := hsAuth(t, 5, 0.1)
	s, err := NewStages(&workloads.Gateway{Stages: []workloads.Stage{
		{Type: workloads.StageAuth, Alg: workloads.AuthHS256, Reject: 0.1},
		{Type: workloads.StageRateLimit, Algorithm: "sliding-window", Rate: 1e6, Per: "client"},
		{Type: workloads.StageCache, Size: 8, TTL: workloads.Duration(time.Hour)},
		{Type: workloads.StageTransform},
		{Type: workloads.StageLog},
	}}, StageOptions{Seed: 5, Auth: a, AccessLog: filepath.Join(t.TempDir(), "a.log")})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Wrap(&stgUpstream{}))
	defer srv.Close()
	const workers, each = 8, 40
	var wantOK atomic.Int64
	done := make(chan error, workers)
	for w := 0; w < workers; w++ {
		go func() {
			for i := 0; i < each; i++ {
				seq := uint64(w*each + i + 1)
				req, _ := http.NewRequest(http.MethodGet, srv.URL+"/", nil)
				req.Header.Set("Authorization", "Bearer "+a.Token(seq))
				req.Header.Set(wire.HeaderKey, strconv.Itoa(int(seq%16)))
				req.Header.Set(wire.HeaderClient, strconv.Itoa(w))
				resp, err := srv.Client().Do(req)
				if err != nil {
					done <- err
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if want := a.rejects(seq); want != (resp.StatusCode == http.StatusUnauthorized) {
					done <- fmt.Errorf("seq %d: status %s", seq, resp.Status)
					return
				}
				if !a.rejects(seq) {
					wantOK.Add(1)
				}
			}
			done <- nil
		}()
	}
	for w := 0; w < workers; w++ {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	st := s.Stats()
	h, m := s.CacheStats()
	if st[0].Requests != workers*each || st[1].Requests != wantOK.Load() || h+m != wantOK.Load() || st[3].Requests != m {
		t.Errorf("stats %+v, cache %d/%d, want %d through auth", st, h, m, wantOK.Load())
	}
	srv.Close()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestCacheClientKeyCannotPoison is the cache poisoning reproduction: a
// client that sends an X-Edgelab-Key equal to the key the cache used to
// derive for another path (FNV-1a of the request URI with the top bit
// set) stored its answer under that path's key, and a plain request for
// the path got it.
func TestCacheClientKeyCannotPoison(t *testing.T) {
	oldDerived := func(uri string) uint64 {
		h := fnv.New64a()
		_, _ = h.Write([]byte(uri))
		return h.Sum64() | 1<<63
	}
	s := stgNew(t, StageOptions{}, workloads.Stage{Type: workloads.StageCache, Size: 100, TTL: workloads.Duration(time.Hour)})
	up := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, "answer for "+r.RequestURI)
	})
	srv := httptest.NewServer(s.Wrap(up))
	defer srv.Close()
	get := func(uri string, kv ...string) (string, string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, srv.URL+uri, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i+1 < len(kv); i += 2 {
			req.Header.Set(kv[i], kv[i+1])
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b), resp.Header.Get(wire.HeaderCache)
	}
	evil := strconv.FormatUint(oldDerived("/account/balance"), 10)
	// Client A, twice, so the answer is surely stored under its key.
	get("/evil?payload=<script>", wire.HeaderKey, evil)
	if body, hit := get("/evil?payload=<script>", wire.HeaderKey, evil); hit != wire.CacheHit {
		t.Fatalf("A's second request: %q %q, want a hit on its own key", body, hit)
	}
	// Client B, without a key.
	body, hit := get("/account/balance")
	if body != "answer for /account/balance" || hit != wire.CacheMiss {
		t.Fatalf("plain GET /account/balance got %q (cache %s): another client's answer", body, hit)
	}
	// And the other way round: B's answer, now stored, is not A's.
	if body, _ := get("/account/balance", wire.HeaderKey, evil); body != "answer for /evil?payload=<script>" {
		t.Fatalf("keyed request got %q", body)
	}
}

// Two derived identities in one slot (a hash collision between two
// targets) never answer each other; the later store replaces the former.
func TestCacheDerivedCollision(t *testing.T) {
	c := newRespCache(10, time.Hour)
	a := cacheID{slot: 1<<63 | 5, target: "GET h /a"}
	b := cacheID{slot: 1<<63 | 5, target: "GET h /b"}
	lab := cacheID{slot: 1<<63 | 5, lab: true}
	c.put(0, &cachedResp{id: a, status: 200, body: []byte("a")})
	if c.get(time.Second, b) != nil || c.get(time.Second, lab) != nil {
		t.Fatal("an answer served to another identity in its slot")
	}
	if e := c.get(time.Second, a); e == nil || string(e.body) != "a" {
		t.Fatalf("own answer missed: %v", e)
	}
	c.put(2*time.Second, &cachedResp{id: b, status: 200, body: []byte("b")})
	if c.get(3*time.Second, a) != nil || c.len() != 1 {
		t.Fatalf("slot holds %d answers, a still served", c.len())
	}
	if e := c.get(3*time.Second, b); e == nil || string(e.body) != "b" {
		t.Fatalf("b missed: %v", e)
	}
}

func labID(k uint64) cacheID { return cacheID{slot: k, lab: true} }

// A leaky bucket holds an admitted request over the rate before it goes
// on (NGINX limit_req): at 10 requests/s with burst 5, three requests sent
// one after the other leave at the rate, 100 ms apart (a lower bound: a
// slow machine only adds); with nodelay, six go through at once and the
// seventh is refused.
func TestRateLimitLeakyBucketHolds(t *testing.T) {
	st := workloads.Stage{Type: workloads.StageRateLimit, Algorithm: "leaky-bucket", Rate: 10, Burst: 5, Per: "global"}
	h := stgNew(t, StageOptions{}, st).Wrap(&stgUpstream{})
	start := time.Now()
	stgWant(t, "three", stgCodes(h, 3), 200, 200, 200)
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Errorf("three requests took %v, want at least 200 ms (they leave 100 ms apart)", d)
	}
	st.NoDelay = true
	h = stgNew(t, StageOptions{}, st).Wrap(&stgUpstream{})
	start = time.Now()
	stgWant(t, "nodelay", stgCodes(h, 7), 200, 200, 200, 200, 200, 200, 429)
	if d := time.Since(start); d > 250*time.Millisecond {
		t.Logf("nodelay took %v (a slow machine)", d)
	}
}
