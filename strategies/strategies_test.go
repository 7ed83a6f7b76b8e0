package strategies

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

func names(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("e%d", i)
	}
	return out
}

func newPool(t testing.TB, strategy string, weights ...float64) *Pool {
	t.Helper()
	b, err := New(strategy, rand.New(rand.NewPCG(7, 7)), nil)
	if err != nil {
		t.Fatal(err)
	}
	return NewPool(b, names(len(weights)), weights)
}

func TestCatalogue(t *testing.T) {
	want := []string{"round-robin", "weighted-round-robin", "random", "least-request", "p2c",
		"ip-hash", "ring-hash", "maglev", "rendezvous", "bounded-hash",
		"weighted-random", "first", "peak-ewma", "least-time", "jiq",
		"prequal", "c3", "orca-wrr"}
	if got := strings.Join(Names(), ","); got != strings.Join(want, ",") {
		t.Fatalf("names %s", got)
	}
	for _, c := range Catalogue() {
		if !Known(c.Name) || c.Summary == "" || c.Source == "" || c.New == nil {
			t.Errorf("%s: incomplete entry %+v", c.Name, c)
		}
		for _, p := range c.Params {
			if p.Doc == "" || p.Default < p.Min || p.Default > p.Max {
				t.Errorf("%s: parameter %+v", c.Name, p)
			}
		}
		// Defaults build, and every strategy picks a candidate.
		b, err := New(c.Name, rand.New(rand.NewPCG(1, 1)), nil)
		if err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		pool := NewPool(b, names(4), nil)
		if i, ok := pool.Pick(0, Request{Key: 7, Client: 3}); !ok || i < 0 || i >= 4 {
			t.Errorf("%s picked %d %v", c.Name, i, ok)
		}
	}
	if err := CheckParams("p2c", Params{"nope": 1}); err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("unknown parameter: %v", err)
	}
	if err := CheckParams("ring-hash", Params{"vnodes": 0}); err == nil || !strings.Contains(err.Error(), "vnodes") {
		t.Errorf("out-of-range parameter: %v", err)
	}
	if _, err := New("nope", nil, nil); err == nil || !strings.Contains(err.Error(), "round-robin") {
		t.Fatalf("unknown strategy error %v should list the known ones", err)
	}
}

func TestRoundRobinCyclesOverHealthy(t *testing.T) {
	p := newPool(t, "round-robin", 1, 1, 1, 1)
	var got []int
	for range 8 {
		i, _ := p.Pick(0, Request{})
		got = append(got, i)
	}
	if fmt.Sprint(got) != "[0 1 2 3 0 1 2 3]" {
		t.Fatalf("sequence %v", got)
	}
	p.SetHealthy(1, false)
	counts := map[int]int{}
	for range 300 {
		i, _ := p.Pick(0, Request{})
		counts[i]++
	}
	if counts[1] != 0 || counts[0] != 100 || counts[2] != 100 || counts[3] != 100 {
		t.Fatalf("with e1 unhealthy: %v", counts)
	}
}

// NGINX's smooth weighted round robin (ngx_http_upstream_round_robin.c,
// changeset 1ef7a66 "Upstream: smooth weighted round-robin balancing",
// 2012) yields a a b a c a a for weights 5, 1, 1.
func TestSmoothWRRMatchesNGINX(t *testing.T) {
	p := newPool(t, "weighted-round-robin", 5, 1, 1)
	var b strings.Builder
	for range 14 {
		i, _ := p.Pick(0, Request{})
		b.WriteByte("abc"[i])
	}
	if got := b.String(); got != "aabacaaaabacaa" {
		t.Fatalf("sequence %s, want aabacaa twice", got)
	}
}

func TestSmoothWRRProportions(t *testing.T) {
	p := newPool(t, "weighted-round-robin", 3, 2, 0.5)
	counts := make([]int, 3)
	for range 11000 {
		i, _ := p.Pick(0, Request{})
		counts[i]++
	}
	if counts[0] != 6000 || counts[1] != 4000 || counts[2] != 1000 {
		t.Fatalf("counts %v, want 6000 4000 1000", counts)
	}
}

func TestRandomIsUniform(t *testing.T) {
	p := newPool(t, "random", 1, 1, 1, 1, 1)
	counts := make([]float64, 5)
	const n = 100000
	for range n {
		i, _ := p.Pick(0, Request{})
		counts[i]++
		p.Done(0, i, 0, OK)
	}
	chi := 0.0
	for _, c := range counts {
		chi += (c - n/5) * (c - n/5) / (n / 5)
	}
	// χ²(4) exceeds 18.47 with probability 0.001.
	if chi > 18.47 {
		t.Fatalf("counts %v, χ² = %.1f", counts, chi)
	}
}

func TestLeastRequestPicksFewestInFlightWithRandomTies(t *testing.T) {
	p := newPool(t, "least-request", 1, 1, 1, 1)
	// Load e0 twice, e1 once: the next picks are the empty e2 and e3.
	p.eps[0].InFlight, p.eps[1].InFlight = 2, 1
	first, _ := p.Pick(0, Request{})
	second, _ := p.Pick(0, Request{})
	if !(first == 2 && second == 3 || first == 3 && second == 2) {
		t.Fatalf("picked %d then %d, want e2 and e3", first, second)
	}
	// Ties are broken uniformly: with all equal, each wins about 1/4.
	q := newPool(t, "least-request", 1, 1, 1, 1)
	counts := make([]int, 4)
	for range 40000 {
		i, _ := q.Pick(0, Request{})
		counts[i]++
		q.Done(0, i, time.Millisecond, OK)
	}
	for i, c := range counts {
		if math.Abs(float64(c)-10000) > 400 {
			t.Fatalf("tie-break counts %v (e%d off)", counts, i)
		}
	}
}

// P2C's parameters: with d samples out of four endpoints loaded 0, 1, 2
// and 3, the least loaded wins whenever it is drawn and the busiest only
// when it is all that was drawn. Distinct samples: P(e0) = d/4 and the
// busiest never wins (d < 4); independent draws (Envoy LEAST_REQUEST,
// HAProxy balance random): P(e0) = 1 − (3/4)^d and P(e3) = (1/4)^d. The
// tolerance is four binomial standard errors.
func TestP2CChoicesAndDraws(t *testing.T) {
	const picks = 64000
	for _, tc := range []struct {
		choices, distinct float64
		p0, p3            float64
	}{
		{2, 1, 2.0 / 4, 0},
		{3, 1, 3.0 / 4, 0},
		{4, 1, 1, 0}, // a full scan
		{9, 1, 1, 0}, // more samples than endpoints: still a full scan
		{1, 1, 1.0 / 4, 1.0 / 4},
		{2, 0, 1 - 9.0/16, 1.0 / 16},
		{3, 0, 1 - 27.0/64, 1.0 / 64},
		{1, 0, 1.0 / 4, 1.0 / 4},
	} {
		t.Run(fmt.Sprintf("choices=%g,distinct=%g", tc.choices, tc.distinct), func(t *testing.T) {
			b, err := New("p2c", rand.New(rand.NewPCG(3, 9)), Params{"choices": tc.choices, "distinct": tc.distinct})
			if err != nil {
				t.Fatal(err)
			}
			p := NewPool(b, names(4), []float64{1, 1, 1, 1})
			counts := make([]int, 4)
			for range picks {
				for i := range p.eps {
					p.eps[i].InFlight = i
				}
				i, _ := p.Pick(0, Request{})
				counts[i]++
			}
			// The scratch for distinct samples is kept: no allocation per pick.
			if a := testing.AllocsPerRun(1000, func() { p.Pick(0, Request{}) }); a != 0 {
				t.Errorf("%.1f allocations per pick", a)
			}
			for _, c := range []struct {
				i    int
				want float64
			}{{0, tc.p0}, {3, tc.p3}} {
				got := float64(counts[c.i]) / picks
				se := math.Sqrt(c.want * (1 - c.want) / picks)
				if math.Abs(got-c.want) > 4*se+1e-12 {
					t.Errorf("e%d picked %.4f of the time, want %.4f ± %.4f", c.i, got, c.want, 4*se)
				}
			}
		})
	}
	for _, bad := range []Params{{"choices": 2.5}, {"distinct": 0.5}, {"choices": 0}, {"choices": 65}} {
		if err := CheckParams("p2c", bad); err == nil {
			t.Errorf("p2c accepted %v", bad)
		}
	}
	if err := CheckParams("p2c", Params{"choices": 2.5}); err == nil || !strings.Contains(err.Error(), "whole number") {
		t.Errorf("a fractional choice count: %v", err)
	}
}

// P2C samples two distinct endpoints and never sends to the busier of them
// (Mitzenmacher 2001).
func TestP2CNeverPicksTheBusier(t *testing.T) {
	p := newPool(t, "p2c", 1, 1)
	p.eps[0].InFlight = 5
	for range 1000 {
		// With two endpoints both are always sampled: the idle one wins.
		if i, _ := p.Pick(0, Request{}); i != 1 {
			t.Fatal("p2c picked the busier of its two choices")
		}
		p.eps[1].InFlight = 0
	}
	// With many endpoints the busiest is never chosen, and the least busy
	// is chosen exactly when it is sampled, with probability 2/n.
	q := newPool(t, "p2c", 1, 1, 1, 1, 1, 1, 1, 1, 1, 1)
	for i := range q.eps {
		q.eps[i].InFlight = i
	}
	counts := make([]int, 10)
	for range 20000 {
		i, _ := q.Pick(0, Request{})
		counts[i]++
		q.eps[i].InFlight--
	}
	if counts[9] != 0 {
		t.Fatalf("the busiest endpoint was picked %d times", counts[9])
	}
	// e0 wins whenever it is one of the two: probability 2/10.
	if math.Abs(float64(counts[0])/20000-0.2) > 0.015 {
		t.Fatalf("least busy picked %d/20000, want about 20%%", counts[0])
	}
}

func TestPoolNoUpstreamAndInFlight(t *testing.T) {
	p := newPool(t, "round-robin", 1, 1)
	i, ok := p.Pick(0, Request{})
	if !ok || p.Endpoint(i).InFlight != 1 {
		t.Fatal("pick should count the attempt in flight")
	}
	p.Done(time.Second, i, time.Millisecond, Error5xx)
	if p.Endpoint(i).InFlight != 0 {
		t.Fatal("done should leave the in-flight count")
	}
	p.SetHealthy(0, false)
	p.SetHealthy(1, false)
	if _, ok := p.Pick(0, Request{}); ok {
		t.Fatal("no healthy endpoint should mean no upstream")
	}
	p.SetHealthy(1, true)
	if i, ok := p.Pick(0, Request{}); !ok || i != 1 {
		t.Fatalf("picked %d %v", i, ok)
	}
}

func TestOutcomeNames(t *testing.T) {
	for o, want := range map[Outcome]string{OK: "ok", Error5xx: "error_5xx", Timeout: "timeout", QueueFull: "queue_full", ConnectFail: "connect_failure"} {
		if o.String() != want {
			t.Errorf("%d: %s", o, o)
		}
	}
}

// BenchmarkPick measures one decision over 100 endpoints for each
// strategy (docs/performance.md).
func BenchmarkPick(b *testing.B) {
	for _, name := range Names() {
		b.Run(name, func(b *testing.B) {
			w := make([]float64, 100)
			for i := range w {
				w[i] = float64(1 + i%3)
			}
			p := newPool(b, name, w...)
			rng := rand.New(rand.NewPCG(1, 2))
			for i := range p.eps {
				p.eps[i].InFlight = rng.IntN(5)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				e, _ := p.Pick(0, Request{})
				p.Done(0, e, time.Millisecond, OK)
			}
		})
	}
}

// Round robin's starting offset (param offset): the rotation starts offset
// picks in, as if that many requests had been balanced before, for plain
// and smooth weighted round robin alike (Caddy's round_robin starts at
// its second upstream).
func TestRoundRobinOffset(t *testing.T) {
	eps := []Endpoint{{Weight: 1}, {Weight: 1}, {Weight: 1}, {Weight: 1}}
	cand := []int{0, 1, 2, 3}
	for _, name := range []string{"round-robin", "weighted-round-robin"} {
		for _, c := range []struct {
			offset int
			want   string
		}{{0, "[0 1 2 3 0]"}, {1, "[1 2 3 0 1]"}, {6, "[2 3 0 1 2]"}} {
			b, err := New(name, nil, Params{"offset": float64(c.offset)})
			if err != nil {
				t.Fatal(err)
			}
			var got []int
			for range 5 {
				got = append(got, b.Pick(0, Request{}, eps, cand))
			}
			if fmt.Sprint(got) != c.want {
				t.Errorf("%s offset %d: picks %v, want %s", name, c.offset, got, c.want)
			}
		}
	}
}
