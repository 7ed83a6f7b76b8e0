package strategies

import (
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
	"time"
)

// sigFake is a SignalSource over a fixed set of endpoints: each endpoint
// reports base[i] requests in flight plus those the pool has outstanding on
// it (when pool is set), its service time and its utilization.
type sigFake struct {
	base []int
	svc  []time.Duration
	util []float64
	pool *Pool
}

func (f *sigFake) signal(i int) Signal {
	s := Signal{InFlight: f.base[i], ServiceTime: f.svc[i], Utilization: f.util[i]}
	if f.pool != nil {
		s.InFlight += f.pool.Endpoint(i).InFlight
	}
	return s
}

// sigSlowFake is the common scenario: 8 endpoints with 10 ms service, of
// which e6 and e7 are slow (30 ms) and carry 20 requests in flight.
func sigSlowFake() *sigFake {
	f := &sigFake{base: make([]int, 8), svc: make([]time.Duration, 8), util: make([]float64, 8)}
	for i := range f.base {
		f.svc[i] = 10 * time.Millisecond
		f.util[i] = 0.5
	}
	for _, i := range []int{6, 7} {
		f.base[i] = 20
		f.svc[i] = 30 * time.Millisecond
		f.util[i] = 1
	}
	return f
}

func sigNew(t testing.TB, name string, p Params) Balancer {
	t.Helper()
	b, err := New(name, rand.New(rand.NewPCG(3, 4)), p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var sigNames = []string{"prequal", "c3", "orca-wrr"}

func TestSignalCatalogue(t *testing.T) {
	for _, name := range sigNames {
		info, ok := Lookup(name)
		if !ok {
			t.Fatalf("%s not registered", name)
		}
		if info.Summary == "" || info.Source == "" {
			t.Errorf("%s: summary or source missing", name)
		}
		for _, p := range info.Params {
			if p.Doc == "" || p.Default < p.Min || p.Default > p.Max {
				t.Errorf("%s.%s: doc %q, default %g not in [%g, %g]", name, p.Name, p.Doc, p.Default, p.Min, p.Max)
			}
		}
		b := sigNew(t, name, nil)
		if _, ok := b.(SignalUser); !ok {
			t.Errorf("%s does not implement SignalUser", name)
		}
	}
	if err := CheckParams("prequal", Params{"q_rif": 1.5}); err == nil {
		t.Error("q_rif 1.5 accepted")
	}
}

// prequalCheck verifies the hot-cold lexicographic rule of Prequal
// (Wydrowski et al., NSDI 2024): given the pool as it was when the pick
// was made, the chosen probe is cold whenever some probe is cold (always,
// as the quantile is a pool value), and has the lowest latency estimate of
// the cold ones.
func prequalCheck(t *testing.T, b *Prequal, chosen int) (sawHot bool) {
	t.Helper()
	pool := slices.Clone(b.pool)
	found := false
	for k := range pool {
		if int(pool[k].ep) == chosen {
			pool[k].rif-- // undo the pick's own increment
			found = true
		}
	}
	if !found {
		t.Fatalf("chosen e%d not in the pool (reuse budget should keep it)", chosen)
	}
	rifs := make([]int, len(pool))
	for k, e := range pool {
		rifs[k] = e.rif
	}
	sort.Ints(rifs)
	k := int(math.Ceil(b.qRIF*float64(len(rifs)))) - 1
	thr := rifs[max(0, min(k, len(rifs)-1))]
	var c prequalProbe
	bestCold := math.Inf(1)
	for _, e := range pool {
		if int(e.ep) == chosen {
			c = e
		}
		if e.rif <= thr {
			bestCold = min(bestCold, e.svc*float64(e.rif+1))
		} else {
			sawHot = true
		}
	}
	if c.rif > thr {
		t.Fatalf("picked hot e%d (RIF %d > quantile %d) with cold probes in the pool", chosen, c.rif, thr)
	}
	if lat := c.svc * float64(c.rif+1); lat != bestCold {
		t.Fatalf("picked cold e%d with latency %g, best cold %g", chosen, lat, bestCold)
	}
	return sawHot
}

// Prequal never sends to a hot probe while a cold one is in the pool, even
// when the hot ones would win on latency alone.
func TestPrequalHotColdLexicographic(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	for _, q := range []float64{0.3, 0.5, 0.84} {
		b := sigNew(t, "prequal", Params{"q_rif": q, "reuse": 64}).(*Prequal)
		f := &sigFake{base: make([]int, 8), svc: make([]time.Duration, 8), util: make([]float64, 8)}
		b.UseSignals(f.signal)
		eps := make([]Endpoint, 8)
		cand := []int{0, 1, 2, 3, 4, 5, 6, 7}
		withHot := 0
		for step := range 5000 {
			for i := range f.base {
				// Busy endpoints are fast, so latency alone would
				// prefer them: HCL must still avoid the hot ones.
				f.base[i] = rng.IntN(30)
				f.svc[i] = time.Duration(1+300/(1+f.base[i])) * time.Microsecond
			}
			now := time.Duration(step) * time.Millisecond
			if prequalCheck(t, b, b.Pick(now, Request{}, eps, cand)) {
				withHot++
			}
		}
		if withHot < 1000 {
			t.Fatalf("q_rif %g: only %d of 5000 picks had a hot probe in the pool", q, withHot)
		}
		t.Logf("q_rif %g: %d of 5000 picks had hot probes in the pool; none picked", q, withHot)
	}
}

// With 2 of 8 endpoints slow and loaded, Prequal sends them far less than
// their random share of 25%.
func TestPrequalAvoidsSlowEndpoints(t *testing.T) {
	f := sigSlowFake()
	p := NewPool(sigNew(t, "prequal", nil), names(8), nil)
	f.pool = p
	p.SetSignals(f.signal)
	slow := sigDrive(p, 20000, 16)
	t.Logf("slow endpoints got %d of 20000 picks", slow)
	if share := float64(slow) / 20000; share > 0.02 {
		t.Fatalf("slow endpoints got %.1f%% of picks, random would give 25%%", 100*share)
	}
}

// sigDrive makes n picks one millisecond apart with up to window attempts
// outstanding (the oldest completes first) and returns the picks of e6/e7.
func sigDrive(p *Pool, n, window int) (slow int) {
	var out []int
	for k := range n {
		now := time.Duration(k) * time.Millisecond
		i, _ := p.Pick(now, Request{})
		if i >= 6 {
			slow++
		}
		out = append(out, i)
		if len(out) > window {
			p.Done(now, out[0], 10*time.Millisecond, OK)
			out = out[1:]
		}
	}
	return slow
}

// C3's score is Ψ = R − 1/μ + q̂³/μ with q̂ = 1 + os·n + q (Suresh et al.,
// NSDI 2015, replica ranking).
func TestC3ScoreFormula(t *testing.T) {
	b := sigNew(t, "c3", Params{"clients": 3, "alpha": 1}).(*C3)
	f := &sigFake{base: []int{4, 0}, svc: []time.Duration{2 * time.Millisecond, time.Millisecond}, util: []float64{0, 0}}
	b.UseSignals(f.signal)
	eps := make([]Endpoint, 2)
	b.Pick(0, Request{}, eps, []int{0, 1})
	b.Done(0, 0, 5*time.Millisecond, OK)
	got := b.score(0, 0, 2)
	qh := 1 + 2*3 + 4.0
	want := 0.005 - 0.002 + qh*qh*qh*0.002
	if math.Abs(got-want) > 1e-12 {
		t.Fatalf("Ψ = %g, want %g", got, want)
	}
}

// C3 keeps away from the endpoint with the longest queue and, once that
// queue drains, routes to it again (after its stale feedback expires). 16
// attempts are outstanding at a time, so that os and the reported queues
// spread the load (with nothing outstanding C3 has no reason to spread).
func TestC3AvoidsLongQueueAndRecovers(t *testing.T) {
	f := sigSlowFake()
	f.base[6], f.base[7] = 0, 0
	f.svc[6], f.svc[7] = 10*time.Millisecond, 10*time.Millisecond
	f.base[0] = 50
	p := NewPool(sigNew(t, "c3", nil), names(8), nil)
	f.pool = p
	p.SetSignals(f.signal)
	counts := make([]int, 8)
	now := time.Duration(0)
	var out []int
	run := func(n int) {
		clear(counts)
		for range n {
			i, _ := p.Pick(now, Request{})
			counts[i]++
			out = append(out, i)
			if len(out) > 16 {
				j := out[0]
				out = out[1:]
				// The server's answer: its queue times its service time.
				lat := f.svc[j] * time.Duration(f.signal(j).InFlight)
				p.Done(now, j, lat, OK)
			}
			now += time.Millisecond
		}
	}
	run(5000)
	t.Logf("queue 50 on e0: %v", counts)
	// Expired feedback lets e0 be tried again about once a second.
	if share := float64(counts[0]) / 5000; share > 0.015 {
		t.Fatalf("e0 with queue 50 got %.1f%% of picks, random would give 12.5%%: %v", 100*share, counts)
	}
	f.base[0] = 0
	run(2000) // e0's feedback expires within a second and is refreshed
	run(8000)
	t.Logf("after draining: %v", counts)
	if share := float64(counts[0]) / 8000; math.Abs(share-0.125) > 0.03 {
		t.Fatalf("after draining e0 got %.1f%% of picks, want about 12.5%%: %v", 100*share, counts)
	}
}

// gRPC's weighted_round_robin (proposal A58) sets weight = qps/utilization:
// with equal qps, utilization 0.5 against 1.0 gives twice the picks once
// the blackout is over, and round robin before.
func TestOrcaWRRWeightsFromUtilization(t *testing.T) {
	b := sigNew(t, "orca-wrr", nil).(*OrcaWRR)
	f := &sigFake{base: []int{0, 0}, svc: []time.Duration{0, 0}, util: []float64{0.5, 1}}
	b.UseSignals(f.signal)
	eps := make([]Endpoint, 2)
	cand := []int{0, 1}
	early, late := [2]int{}, [2]int{}
	for k := range 10000 {
		now := time.Duration(k) * time.Millisecond
		i := b.Pick(now, Request{}, eps, cand)
		switch {
		case now < time.Second:
			early[i]++
		case now >= 3*time.Second:
			late[i]++
		}
		// Equal completion rates whatever the picks.
		b.Done(now, 0, time.Millisecond, OK)
		b.Done(now, 1, time.Millisecond, OK)
	}
	if early[0] != early[1] {
		t.Fatalf("before the blackout ends picks should alternate: %v", early)
	}
	t.Logf("first second %v, after 3 s %v", early, late)
	if r := float64(late[0]) / float64(late[1]); math.Abs(r-2) > 0.02 {
		t.Fatalf("pick ratio %.3f (%v), want 2", r, late)
	}
}

// When utilization follows load (utilization = rate/capacity), the weight
// qps/utilization is the capacity, so picks settle in the capacity ratio
// 2:1 from an even start (A58's rationale).
func TestOrcaWRRConvergesToCapacity(t *testing.T) {
	b := sigNew(t, "orca-wrr", nil).(*OrcaWRR)
	capacity := []float64{1500, 750} // per second
	var recent [2][]time.Duration    // picks in the last second
	f := &sigFake{base: []int{0, 0}, svc: []time.Duration{0, 0}, util: []float64{0, 0}}
	b.UseSignals(f.signal)
	eps := make([]Endpoint, 2)
	late := [2]int{}
	for k := range 10000 {
		now := time.Duration(k) * time.Millisecond
		i := b.Pick(now, Request{}, eps, []int{0, 1})
		recent[i] = append(recent[i], now)
		for j := range 2 {
			for len(recent[j]) > 0 && recent[j][0] <= now-time.Second {
				recent[j] = recent[j][1:]
			}
			f.util[j] = math.Min(1, float64(len(recent[j]))/capacity[j])
		}
		if now >= 5*time.Second {
			late[i]++
		}
		b.Done(now, i, time.Millisecond, OK)
	}
	t.Logf("after 5 s %v", late)
	if r := float64(late[0]) / float64(late[1]); math.Abs(r-2) > 0.1 {
		t.Fatalf("pick ratio %.3f (%v), want capacity ratio 2", r, late)
	}
}

// An endpoint without a usable weight (here: it only ever reports zero
// utilization) gets the mean of the others', as in gRPC.
func TestOrcaWRRMeanWeightForUnknown(t *testing.T) {
	b := sigNew(t, "orca-wrr", nil).(*OrcaWRR)
	f := &sigFake{base: make([]int, 3), svc: make([]time.Duration, 3), util: []float64{0.5, 1, 0}}
	b.UseSignals(f.signal)
	eps := make([]Endpoint, 3)
	counts := [3]int{}
	for k := range 10000 {
		now := time.Duration(k) * time.Millisecond
		i := b.Pick(now, Request{}, eps, []int{0, 1, 2})
		if now >= 3*time.Second {
			counts[i]++
		}
		for j := range 3 {
			b.Done(now, j, time.Millisecond, OK)
		}
	}
	// Weights 2q, q and the mean 1.5q: shares 4/9, 2/9, 3/9.
	t.Logf("after 3 s %v", counts)
	total := float64(counts[0] + counts[1] + counts[2])
	for j, want := range []float64{4.0 / 9, 2.0 / 9, 3.0 / 9} {
		if got := float64(counts[j]) / total; math.Abs(got-want) > 0.01 {
			t.Fatalf("e%d share %.3f, want %.3f (%v)", j, got, want, counts)
		}
	}
}

// Without UseSignals every signal strategy still works: it returns one of
// the candidates, with feedback of every kind, and spreads load.
func TestSignalStrategiesWithoutSignals(t *testing.T) {
	outcomes := []Outcome{OK, Error5xx, Timeout, QueueFull, ConnectFail, Cancelled}
	for _, name := range sigNames {
		b := sigNew(t, name, nil)
		eps := make([]Endpoint, 10)
		for i := range eps {
			eps[i] = Endpoint{Name: "e", Weight: 1, Healthy: true}
		}
		cand := []int{1, 3, 4, 8}
		rng := rand.New(rand.NewPCG(1, 1))
		counts := map[int]int{}
		for k := range 4000 {
			now := time.Duration(k) * time.Millisecond
			i := b.Pick(now, Request{}, eps, cand)
			if !slices.Contains(cand, i) {
				t.Fatalf("%s picked e%d, not a candidate of %v", name, i, cand)
			}
			counts[i]++
			eps[i].InFlight++
			// Finish a random outstanding attempt now and then.
			if j := cand[rng.IntN(len(cand))]; eps[j].InFlight > 0 {
				eps[j].InFlight--
				b.Done(now, j, time.Duration(1+rng.IntN(20))*time.Millisecond, outcomes[rng.IntN(len(outcomes))])
			}
		}
		for _, i := range cand {
			if counts[i] < 400 {
				t.Errorf("%s: e%d got only %d of 4000 picks: %v", name, i, counts[i], counts)
			}
		}
		// One candidate: that one.
		if i := b.Pick(time.Hour, Request{}, eps, []int{5}); i != 5 {
			t.Errorf("%s picked e%d from [5]", name, i)
		}
	}
}

// Pick and Done allocate nothing once the per-endpoint state exists, with
// or without signals, while weights refresh and probes age.
func TestSignalStrategiesDoNotAllocate(t *testing.T) {
	for _, name := range sigNames {
		for _, signals := range []bool{false, true} {
			p := NewPool(sigNew(t, name, nil), names(100), nil)
			f := &sigFake{base: make([]int, 100), svc: make([]time.Duration, 100), util: make([]float64, 100), pool: p}
			for i := range f.base {
				f.base[i] = i % 7
				f.svc[i] = time.Duration(1+i%5) * time.Millisecond
				f.util[i] = 0.1 + float64(i%9)/10
			}
			if signals {
				p.SetSignals(f.signal)
			}
			now := time.Duration(0)
			step := func() {
				i, _ := p.Pick(now, Request{})
				p.Done(now, i, time.Millisecond, OK)
				now += 700 * time.Microsecond
			}
			for range 5000 {
				step()
			}
			if a := testing.AllocsPerRun(5000, step); a != 0 {
				t.Errorf("%s (signals %v): %.2f allocations per pick", name, signals, a)
			}
		}
	}
}

// BenchmarkSignalPick measures one decision plus its Done over 100
// endpoints with signals from a fake source, time advancing 10 µs a pick.
func BenchmarkSignalPick(b *testing.B) {
	for _, name := range sigNames {
		b.Run(name, func(b *testing.B) {
			w := make([]float64, 100)
			for i := range w {
				w[i] = float64(1 + i%3)
			}
			p := NewPool(sigNew(b, name, nil), names(100), w)
			rng := rand.New(rand.NewPCG(1, 2))
			f := &sigFake{base: make([]int, 100), svc: make([]time.Duration, 100), util: make([]float64, 100), pool: p}
			for i := range f.base {
				f.base[i] = rng.IntN(5)
				f.svc[i] = time.Duration(1+rng.IntN(10)) * time.Millisecond
				f.util[i] = rng.Float64()
			}
			p.SetSignals(f.signal)
			now := time.Duration(0)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				e, _ := p.Pick(now, Request{})
				p.Done(now, e, time.Millisecond, OK)
				now += 10 * time.Microsecond
			}
		})
	}
}
