package attack

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/edgelab/edgelab/engine"
	"github.com/edgelab/edgelab/live/internal/livetest"
	"github.com/edgelab/edgelab/live/wire"
	"github.com/edgelab/edgelab/workloads"
)

const routedYAML = `
seed: 42
duration: 10s
clients:
  arrival: {process: poisson, rate: 1000}
  keys: {dist: zipf, n: 500, s: 1.2}
  count: 37
  paths: [{path: /orders/1, weight: 3}, {path: /search, weight: 1}, {path: /x, weight: 0.5}]
gateway:
  routes: [{prefix: /orders, to: orders}, {prefix: /, to: web}]
servers:
  - {name: web, count: 2, service: {dist: lognormal, mean: 10ms, sigma: 0.5}}
  - {name: orders, count: 1, service: {dist: exponential, mean: 3ms}}
`

// reference draws the first n requests straight from the simulator's
// streams, the way sim/model.go and sim/gateway.go do.
type reference struct {
	seq          uint64
	at           time.Duration
	client, key  string
	path, demand string
}

func referenceDraws(sc *workloads.Scenario, rep, n int) []reference {
	seed := sc.Seed
	clock := sc.Clients.Arrival.Clock(engine.Source(seed, rep, "arrivals"))
	clients := engine.Stream(seed, rep, "clients")
	keys := sc.Clients.Keys.KeySampler(engine.Stream(seed, rep, "keys"))
	pathR := engine.Stream(seed, rep, "paths")
	var demand []workloads.Sampler
	for _, g := range sc.Servers {
		demand = append(demand, g.Service.Sampler(engine.Source(seed, rep, "demand/"+g.Name)))
	}
	var cum []float64
	sum := 0.0
	for _, pw := range sc.Clients.Paths {
		sum += pw.Weight
		cum = append(cum, sum)
	}
	out := make([]reference, n)
	for i := range out {
		r := &out[i]
		r.seq = uint64(i + 1)
		r.at = clock.Next()
		r.client = strconv.Itoa(clients.IntN(sc.Clients.Count))
		r.key = strconv.Itoa(int(keys.Key()))
		u := pathR.Float64() * sum
		for j, c := range cum {
			if u < c || j == len(cum)-1 {
				r.path = sc.Clients.Paths[j].Path
				break
			}
		}
		var ds []string
		for _, d := range demand {
			ds = append(ds, strconv.FormatInt(int64(workloads.Nanos(d.Sample())), 10))
		}
		r.demand = strings.Join(ds, ",")
	}
	return out
}

func TestTargeterReproducesSimulatorDraws(t *testing.T) {
	sc := scenario(t, routedYAML)
	for _, rep := range []int{0, 2} {
		ref := referenceDraws(sc, rep, 2000)
		tok := func(seq uint64) string { return fmt.Sprintf("tok-%d", seq) }
		tg, err := newTargeter(sc, rep, "http://127.0.0.1:8080/", tok)
		if err != nil {
			t.Fatal(err)
		}
		paths := map[string]int{}
		for i, want := range ref {
			var tgt vegeta.Target
			if err := tg.target(&tgt); err != nil {
				t.Fatal(err)
			}
			h := tgt.Header
			req, err := tgt.Request()
			if err != nil {
				t.Fatalf("request %d: %v", i+1, err)
			}
			seq, at, ok := parseFragment(tgt.URL)
			got := []string{h.Get(wire.HeaderSeq), h.Get(wire.HeaderKey), h.Get(wire.HeaderClient), h.Get(wire.HeaderDemand), req.URL.Path, h.Get("Authorization")}
			exp := []string{strconv.FormatUint(want.seq, 10), want.key, want.client, want.demand, want.path, fmt.Sprintf("Bearer tok-%d", want.seq)}
			for k := range got {
				if got[k] != exp[k] {
					t.Fatalf("rep %d request %d: got %q, want %q (seq, key, client, demand, path, auth)", rep, i+1, got, exp)
				}
			}
			if !ok || seq != want.seq || at != want.at {
				t.Fatalf("rep %d request %d: fragment of %q = %d, %v; want %d, %v", rep, i+1, tgt.URL, seq, at, want.seq, want.at)
			}
			if req.Method != http.MethodGet || req.URL.Host != "127.0.0.1:8080" || strings.Contains(req.URL.RequestURI(), "#") {
				t.Fatalf("request %d: %s %s (request URI %q)", i+1, req.Method, req.URL, req.URL.RequestURI())
			}
			paths[want.path]++
		}
		// The weights 3 : 1 : 0.5 show through.
		if f := float64(paths["/orders/1"]) / 2000; f < 0.6 || f > 0.73 {
			t.Errorf("rep %d: /orders/1 drawn %.3f of the time, want about 0.667", rep, f)
		}
	}
}

func TestTargeterWithoutPathsOrTokens(t *testing.T) {
	sc := scenario(t, `
seed: 3
duration: 1s
clients: {arrival: {process: constant, rate: 100}, count: 1}
servers: [{name: only, count: 1, service: {dist: constant, mean: 2ms}}]
`)
	tg, err := newTargeter(sc, 0, "http://127.0.0.1:9/base", nil)
	if err != nil {
		t.Fatal(err)
	}
	var tgt vegeta.Target
	for n := 1; n <= 3; n++ {
		if err := tg.target(&tgt); err != nil {
			t.Fatal(err)
		}
	}
	want := "http://127.0.0.1:9/base/#seq=3;at=30000000;k=" + tgt.Header.Get(wire.HeaderKey) + ";c=0"
	if tgt.URL != want {
		t.Errorf("URL %q, want %q", tgt.URL, want)
	}
	if got := tgt.Header.Get(wire.HeaderDemand); got != "2000000" {
		t.Errorf("demand %q, want 2000000", got)
	}
	if got := tgt.Header.Get(wire.HeaderClient); got != "0" {
		t.Errorf("client %q, want 0", got)
	}
	if _, ok := tgt.Header["Authorization"]; ok {
		t.Error("an Authorization header without a token source")
	}
	for _, bad := range []string{"127.0.0.1:80", "ftp://h/", "http:///x", "http://h/?q=1", "http://h/#f", "%"} {
		if _, err := newTargeter(sc, 0, bad, nil); err == nil {
			t.Errorf("target %q accepted", bad)
		}
	}
}

func TestTargeterConcurrentCallsKeepRequestIdentity(t *testing.T) {
	sc := scenario(t, routedYAML)
	const n = 4000
	ref := referenceDraws(sc, 0, n)
	tg, err := newTargeter(sc, 0, "http://127.0.0.1:8080", nil)
	if err != nil {
		t.Fatal(err)
	}
	seen := make([]bool, n+1)
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < n/8; i++ {
				var tgt vegeta.Target
				_ = tg.target(&tgt)
				seq, at, _ := parseFragment(tgt.URL)
				if seq < 1 || seq > n {
					errs <- fmt.Sprintf("seq %d out of range", seq)
					return
				}
				r := ref[seq-1]
				if at != r.at || tgt.Header.Get(wire.HeaderKey) != r.key || tgt.Header.Get(wire.HeaderDemand) != r.demand ||
					tgt.Header.Get(wire.HeaderSeq) != strconv.FormatUint(seq, 10) {
					errs <- fmt.Sprintf("request %d does not carry its own draws", seq)
					return
				}
				mu.Lock()
				dup := seen[seq]
				seen[seq] = true
				mu.Unlock()
				if dup {
					errs <- fmt.Sprintf("seq %d twice", seq)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

func TestTargeterIsCheap(t *testing.T) {
	if testing.CoverMode() != "" || livetest.Race {
		t.Skip("allocation counts differ under coverage and the race detector")
	}
	sc := scenario(t, routedYAML)
	tg, err := newTargeter(sc, 0, "http://127.0.0.1:8080", func(uint64) string { return "t" })
	if err != nil {
		t.Fatal(err)
	}
	var tgt vegeta.Target
	// The header map (two allocations), its values slice, and one string
	// for the URL and every header value.
	if a := testing.AllocsPerRun(1000, func() { _ = tg.target(&tgt) }); a > 4 {
		t.Errorf("%v allocations per target, want at most 4", a)
	}
}
