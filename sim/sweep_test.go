package sim_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/edgelab/edgelab/sim"
	"github.com/edgelab/edgelab/workloads"
)

// loader parses yaml with the given overrides, as the CLI does.
func loader(t *testing.T, yaml string) sim.Loader {
	return func(sets []string) (*workloads.Scenario, error) {
		return workloads.Parse([]byte(yaml), t.Name()+".yaml", sets)
	}
}

const mm1 = `
name: mm1-sweep
seed: 11
duration: 4000s
warmup: 20s
clients:
  arrival: {process: poisson, rate: 10}
servers:
  - {name: s, count: 1, service: {dist: exponential, mean: 10ms}}
`

// An M/M/1 load sweep follows the mean response time T = S/(1 − ρ),
// ρ = λS, at every point (Kleinrock, Queueing Systems Vol. I, 1975, ch. 3,
// M/M/1). 4000 s of virtual time gives 40k–320k requests per point; at
// ρ = 0.8 that is a standard error of about 1%, so 5% is a safe bound.
func TestSweepMM1FollowsTheory(t *testing.T) {
	r, err := sim.ParseVary("clients.arrival.rate=10..80:10")
	if err != nil {
		t.Fatal(err)
	}
	points, err := sim.Sweep(context.Background(), loader(t, mm1), r, sim.Options{}, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(points) != 8 {
		t.Fatalf("%d points, want 8", len(points))
	}
	const s = 10.0 // ms
	for i, p := range points {
		if want := float64(10 * (i + 1)); p.Value != want {
			t.Fatalf("point %d has value %g, want %g", i, p.Value, want)
		}
		rho := p.Value * s / 1000
		want := s / (1 - rho)
		got := p.Results.Runs[0].LatencyMS.Mean
		rel := math.Abs(got-want) / want
		if rel > 0.05 {
			t.Errorf("λ=%g: mean %.3f ms, theory %.3f ms (off by %.2f%%)", p.Value, got, want, 100*rel)
		} else {
			t.Logf("λ=%g ρ=%.1f: mean %.3f ms, theory %.3f ms (off by %.2f%%)", p.Value, rho, got, want, 100*rel)
		}
	}
}

// erlangC is the probability that an arrival waits in M/M/c with offered
// load a = λ/μ < c (Erlang 1917; Kleinrock Vol. I ch. 3, M/M/m).
func erlangC(c int, a float64) float64 {
	sum, term := 0.0, 1.0
	for k := 0; k < c; k++ {
		if k > 0 {
			term *= a / float64(k)
		}
		sum += term
	}
	top := term * a / float64(c) / (1 - a/float64(c)) // a^c/c! · 1/(1−ρ)
	return top / (sum + top)
}

// mmcMeanMS is the M/M/c mean response time C(c, a)/(cμ − λ) + 1/μ in ms,
// +Inf when unstable.
func mmcMeanMS(c int, lambda, mu float64) float64 {
	if lambda >= float64(c)*mu {
		return math.Inf(1)
	}
	return (erlangC(c, lambda/mu)/(float64(c)*mu-lambda) + 1/mu) * 1000
}

const mmc = `
name: mmc-capacity
seed: 5
duration: 300s
warmup: 10s
clients:
  arrival: {process: poisson, rate: 400}
servers:
  - {name: s, count: 1, concurrency: 1, service: {dist: exponential, mean: 10ms}}
`

// A capacity search over servers[0].concurrency of one M/M/c instance
// (λ = 400/s, mean service 10 ms) finds the smallest c whose Erlang C mean
// response meets the SLO. The target is 13 ms rather than 15 ms: theory
// gives 15.54 ms at c = 5 and 11.43 ms at c = 6, and 15 ms sits within 4%
// of c = 5's value, too close for a simulation to be unambiguous; 13 ms is
// more than 10% away from both.
func TestCapacityMMcErlangC(t *testing.T) {
	const lambda, mu, target = 400.0, 100.0, 13.0
	want := 0
	for c := 1; c <= 20; c++ {
		if mmcMeanMS(c, lambda, mu) <= target {
			want = c
			break
		}
	}
	if want < 2 {
		t.Fatalf("theory gives c = %d", want)
	}
	at, below := mmcMeanMS(want, lambda, mu), mmcMeanMS(want-1, lambda, mu)
	if at > target/1.1 || below < target*1.1 {
		t.Fatalf("ambiguous SLO: theory %.2f ms at c=%d and %.2f ms at c=%d vs target %g ms", at, want, below, want-1, target)
	}
	r, err := sim.ParseCapacityVary("servers[0].concurrency=1..20")
	if err != nil {
		t.Fatal(err)
	}
	slo, err := sim.ParseSLO("mean=13ms")
	if err != nil {
		t.Fatal(err)
	}
	ans, err := sim.Capacity(context.Background(), loader(t, mmc), r, slo, sim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if ans.Answer == nil || *ans.Answer != float64(want) {
		t.Fatalf("answer %v, want c = %d (theory %.2f ms; c−1: %.2f ms); probes %+v", ans.Answer, want, at, below, ans.Probes)
	}
	if !ans.Monotonic {
		t.Errorf("monotonic = false; probes %+v", ans.Probes)
	}
	if len(ans.Probes) > 8 {
		t.Errorf("%d probes for 20 values: not a binary search", len(ans.Probes))
	}
	for _, p := range ans.Probes {
		if c := int(p.Value); c >= want-1 {
			th := mmcMeanMS(c, lambda, mu)
			if rel := math.Abs(p.MeanMS-th) / th; rel > 0.05 {
				t.Errorf("c=%d: mean %.3f ms, theory %.3f ms", c, p.MeanMS, th)
			}
		}
	}
	t.Logf("answer c=%g (theory %.2f ms at c=%d, %.2f ms at c=%d); %d probes", *ans.Answer, at, want, below, want-1, len(ans.Probes))
}

// When a larger value fails where a smaller one met the SLO, the answer
// says so and comes from a linear scan down from the top. The binary
// search over 1..10 finds c = 6 and checks its neighbour 7, which the
// loader makes overloaded (λ = 1000/s) to break monotonicity; the scan
// then answers 8, above the failing 7.
func TestCapacityNotMonotonic(t *testing.T) {
	base := loader(t, strings.Replace(mmc, "300s", "60s", 1))
	load := func(sets []string) (*workloads.Scenario, error) {
		if slices.Contains(sets, "servers[0].concurrency=7") {
			sets = append(sets, "clients.arrival.rate=1000")
		}
		return base(sets)
	}
	r, _ := sim.ParseCapacityVary("servers[0].concurrency=1..10")
	slo, _ := sim.ParseSLO("mean=13ms")
	ans, err := sim.Capacity(context.Background(), load, r, slo, sim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if ans.Monotonic {
		t.Errorf("monotonic = true; probes %+v", ans.Probes)
	}
	if ans.Answer == nil || *ans.Answer != 8 {
		t.Errorf("answer %v, want 8; probes %+v", ans.Answer, ans.Probes)
	}
}

func TestCapacityNoAnswer(t *testing.T) {
	r, _ := sim.ParseCapacityVary("servers[0].concurrency=1..3")
	slo, _ := sim.ParseSLO("p99=50ms")
	ans, err := sim.Capacity(context.Background(), loader(t, strings.Replace(mmc, "300s", "20s", 1)), r, slo, sim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if ans.Answer != nil || !ans.Monotonic || len(ans.Probes) != 1 {
		t.Errorf("answer %v monotonic %v probes %+v; want no answer after one probe", ans.Answer, ans.Monotonic, ans.Probes)
	}
	data, _ := json.Marshal(ans)
	if !strings.Contains(string(data), `"answer":null`) {
		t.Errorf("JSON %s lacks answer null", data)
	}
}

func TestParseVary(t *testing.T) {
	good := []struct {
		in     string
		points []float64
	}{
		{"clients.arrival.rate=10..80:10", []float64{10, 20, 30, 40, 50, 60, 70, 80}},
		{"servers[0].count=1..10", []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}},
		{"x=0..0.3:0.1", []float64{0, 0.1, 0.2, 0.3}},
		{"x=0..1:0.3", []float64{0, 0.3, 0.6, 0.9}},
		{"x=5..5", []float64{5}},
		{"x=-1..1:1", []float64{-1, 0, 1}},
		{" x = 1.5 .. 2.5 : 0.5", []float64{1.5, 2, 2.5}},
		{"x=1..1000:1", nil}, // exactly 1000 points
	}
	for _, c := range good {
		r, err := sim.ParseVary(c.in)
		if err != nil {
			t.Errorf("ParseVary(%q): %v", c.in, err)
			continue
		}
		pts := r.Points()
		if c.points == nil {
			if len(pts) != sim.MaxPoints || pts[len(pts)-1] != 1000 {
				t.Errorf("ParseVary(%q): %d points ending %g", c.in, len(pts), pts[len(pts)-1])
			}
			continue
		}
		if !slices.Equal(pts, c.points) {
			t.Errorf("ParseVary(%q).Points() = %v, want %v", c.in, pts, c.points)
		}
	}
	// Default: 10 points from..to; integer bounds give integer steps only
	// when they divide.
	if r, _ := sim.ParseVary("x=0..90"); r.Step != 10 || len(r.Points()) != 10 {
		t.Errorf("default step %g, %d points", r.Step, len(r.Points()))
	}
	if r, _ := sim.ParseCapacityVary("x=1..20"); r.Step != 1 || len(r.Points()) != 20 || !r.Integer() {
		t.Errorf("capacity default step %g, %d points", r.Step, len(r.Points()))
	}
	bad := []struct{ in, want string }{
		{"", "want key=from..to"},
		{"=1..2", "want key=from..to"},
		{"x", "want key=from..to"},
		{"x=5", `range "5"`},
		{"x=a..2", `from "a"`},
		{"x=1..b", `to "b"`},
		{"x=1..2:z", `step "z"`},
		{"x=1..2:0", "greater than 0"},
		{"x=1..2:-1", "greater than 0"},
		{"x=3..2", "from 3 is greater than to 2"},
		{"x=1..NaN", `to "NaN"`},
		{"x=0..1000:1", "1001 values; at most 1000"},
	}
	for _, c := range bad {
		_, err := sim.ParseVary(c.in)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "--vary") {
			t.Errorf("ParseVary(%q) error %v, want one starting --vary containing %q", c.in, err, c.want)
		}
	}
	if s := (sim.Range{Key: "servers[0].count"}).Set(7); s != "servers[0].count=7" {
		t.Errorf("Set(7) = %q", s)
	}
	if s := (sim.Range{Key: "x"}).Set(0.25); s != "x=0.25" {
		t.Errorf("Set(0.25) = %q", s)
	}
}

func TestParseSLO(t *testing.T) {
	good := []struct {
		in   string
		want sim.SLO
	}{
		{"p99=200ms", sim.SLO{P99MS: 200}},
		{"p99=200ms,availability=99.9", sim.SLO{P99MS: 200, Availability: 99.9}},
		{"mean=50ms, p99=1.5s ,availability=99.95%", sim.SLO{P99MS: 1500, MeanMS: 50, Availability: 99.95}},
		{"mean=250us", sim.SLO{MeanMS: 0.25}},
		{"availability=100", sim.SLO{Availability: 100}},
	}
	for _, c := range good {
		got, err := sim.ParseSLO(c.in)
		if err != nil || got != c.want {
			t.Errorf("ParseSLO(%q) = %+v, %v; want %+v", c.in, got, err, c.want)
		}
	}
	if s := (sim.SLO{P99MS: 200, Availability: 99.9}).String(); s != "p99 ≤ 200ms, availability ≥ 99.9%" {
		t.Errorf("String() = %q", s)
	}
	bad := []struct{ in, want string }{
		{"", "at least one term"},
		{"p99", `term "p99": want name=value`},
		{"p99=", `term "p99=": want name=value`},
		{"p99=200", `term "p99=200": want a positive duration with a unit`},
		{"p99=-5ms", `term "p99=-5ms"`},
		{"mean=fast", `term "mean=fast"`},
		{"availability=101", `term "availability=101": want a percentage`},
		{"availability=0", `term "availability=0"`},
		{"p95=100ms", `unknown objective "p95"`},
		{"p99=1s,p99=2s", "p99 is given twice"},
		{"p99=1s,", `term ""`},
	}
	for _, c := range bad {
		_, err := sim.ParseSLO(c.in)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "--slo") {
			t.Errorf("ParseSLO(%q) error %v, want one starting --slo containing %q", c.in, err, c.want)
		}
	}
}

const quick = `
name: quick
seed: 2
duration: 5s
warmup: 1s
clients:
  arrival: {process: poisson, rate: 100}
balancer: {strategy: round-robin, compare: [p2c]}
servers:
  - {name: s, count: 3, service: {dist: exponential, mean: 10ms}}
`

func sweepJSON(t *testing.T, parallel int) []byte {
	t.Helper()
	r, _ := sim.ParseVary("servers[0].count=1..6:1")
	points, err := sim.Sweep(context.Background(), loader(t, quick), r, sim.Options{}, parallel)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range points {
		if p.Value != float64(i+1) {
			t.Fatalf("point %d has value %g", i, p.Value)
		}
		if got := len(p.Results.Runs[0].Servers); got != i+1 {
			t.Fatalf("point %g ran %d servers", p.Value, got)
		}
		for _, run := range p.Results.Runs {
			run.Sim.WallS = 0
		}
	}
	data, err := json.Marshal(points)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// Points come back in value order and the same bytes whatever the
// parallelism (wall-clock time zeroed).
func TestSweepOrderAndDeterminism(t *testing.T) {
	a, b := sweepJSON(t, 3), sweepJSON(t, 1)
	if !bytes.Equal(a, b) {
		t.Fatalf("sweep JSON differs between runs:\n%s\n%s", a, b)
	}
}

func TestSweepBadValueAndCancel(t *testing.T) {
	// A non-integer count is bad input, reported before anything runs.
	r, _ := sim.ParseVary("servers[0].count=1..2:0.5")
	_, err := sim.Sweep(context.Background(), loader(t, quick), r, sim.Options{}, 2)
	if !workloads.IsInputError(err) {
		t.Errorf("error %v, want a workloads input error", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r, _ = sim.ParseVary("servers[0].count=1..3:1")
	points, err := sim.Sweep(ctx, loader(t, quick), r, sim.Options{}, 1)
	if !errors.Is(err, sim.ErrInterrupted) || len(points) != 0 {
		t.Errorf("cancelled sweep: %d points, error %v", len(points), err)
	}
}
