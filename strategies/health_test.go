package strategies

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// recorder is a balancer that remembers the candidates it was offered and
// picks the first one.
type recorder struct{ cand []int }

func (r *recorder) Pick(_ time.Duration, _ Request, _ []Endpoint, cand []int) int {
	r.cand = append(r.cand[:0], cand...)
	return cand[0]
}

func (r *recorder) Done(time.Duration, int, time.Duration, Outcome) {}

func recordingPool(n int, cfg HealthConfig) (*Pool, *recorder) {
	r := &recorder{}
	p := NewPool(r, names(n), nil)
	p.SetHealth(cfg)
	return p, r
}

// offered returns the candidates the balancer is offered at time now (nil
// when there is no upstream), undoing the pick's in-flight count.
func offered(p *Pool, r *recorder, now time.Duration) []int {
	i, ok := p.Pick(now, Request{})
	if !ok {
		return nil
	}
	p.eps[i].InFlight--
	return slices.Clone(r.cand)
}

// fail reports k failed attempts of endpoint i at time now.
func fail(p *Pool, now time.Duration, i, k int) {
	for range k {
		p.Done(now, i, 0, Error5xx)
	}
}

// Envoy "Health checking" / HealthCheck proto: unhealthy_threshold
// consecutive failures mark a host unhealthy, healthy_threshold consecutive
// successes mark it healthy again; a success or failure in between restarts
// the other count.
func TestActiveHealthThresholds(t *testing.T) {
	cases := []struct {
		name               string
		unhealthy, healthy int
		probes             string // f = failed probe, o = passed probe
		want               string // eligibility after each probe, 1/0
	}{
		{"flip down at 3", 3, 2, "fff", "110"},
		{"interrupted run", 3, 2, "ffoff" + "f", "11111" + "0"},
		{"flip up at 2", 3, 2, "fff" + "oo", "110" + "01"},
		{"up run interrupted", 3, 2, "fff" + "ofoo", "110" + "0001"},
		{"thresholds of 1", 1, 1, "fofo", "0101"},
		{"zero counts as 1", 0, 0, "fo", "01"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, _ := recordingPool(2, HealthConfig{Active: &ActiveHealth{Interval: time.Second, Timeout: time.Second, Unhealthy: c.unhealthy, Healthy: c.healthy}})
			got := ""
			for k, pr := range c.probes {
				p.ProbeResult(time.Duration(k)*time.Second, 0, pr == 'o')
				if p.Eligible(0) {
					got += "1"
				} else {
					got += "0"
				}
			}
			if got != c.want {
				t.Fatalf("probes %s: eligibility %s, want %s", c.probes, got, c.want)
			}
			if p.Endpoint(0).Healthy != p.Eligible(0) || !p.Eligible(1) {
				t.Fatal("Endpoint.Healthy must mirror Eligible; e1 was never probed")
			}
		})
	}
}

// Envoy "Outlier detection": the ejection time is base_ejection_time
// multiplied by the number of times the host has been ejected in a row, and
// stops growing at max_ejection_time.
func TestEjectionDurationsGrow(t *testing.T) {
	cases := []struct {
		name string
		max  time.Duration
		want []time.Duration
	}{
		{"no cap", 0, []time.Duration{10, 20, 30, 40}},
		{"capped at 25s", 25 * time.Second, []time.Duration{10, 20, 25, 25}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, r := recordingPool(4, HealthConfig{Outlier: &OutlierConfig{
				Consecutive5xx: 3, BaseEjection: 10 * time.Second, MaxEjectionPercent: 50, MaxEjection: c.max}})
			now := time.Duration(0)
			for k, want := range c.want {
				want *= time.Second
				fail(p, now, 0, 2)
				if !p.Eligible(0) {
					t.Fatalf("ejection %d: ejected before the 3rd consecutive failure", k+1)
				}
				fail(p, now, 0, 1)
				h := p.Health(0)
				if !h.Ejected || h.EjectedUntil-now != want {
					t.Fatalf("ejection %d: %+v, want ejected for %v", k+1, h, want)
				}
				if got := offered(p, r, now+want-1); slices.Contains(got, 0) {
					t.Fatalf("ejection %d: e0 offered 1ns before its ejection ends", k+1)
				}
				now += want
				// Re-eject right away: no interval passes, the multiplier
				// keeps growing.
				if got := offered(p, r, now); !slices.Contains(got, 0) {
					t.Fatalf("ejection %d: e0 not back at %v (offered %v)", k+1, now, got)
				}
			}
			if p.Ejections() != len(c.want) {
				t.Fatalf("Ejections() = %d", p.Ejections())
			}
		})
	}
}

// Envoy "Outlier detection": when the host stays healthy, the multiplier is
// decremented at every interval, so the ejection time comes back down.
func TestEjectionMultiplierDecays(t *testing.T) {
	p, _ := recordingPool(4, HealthConfig{Outlier: &OutlierConfig{
		Consecutive5xx: 1, BaseEjection: time.Second, MaxEjectionPercent: 50, Interval: 10 * time.Second}})
	now := time.Duration(0)
	for range 3 { // ejected for 1s, 2s, 3s
		fail(p, now, 0, 1)
		now = p.Health(0).EjectedUntil
		p.Refresh(now)
	}
	if m := p.Health(0).Ejections; m != 3 {
		t.Fatalf("multiplier %d, want 3", m)
	}
	// 25s healthy = two whole intervals: 3 → 1, and the next ejection is
	// the 2nd in a row.
	now += 25 * time.Second
	fail(p, now, 0, 1)
	if h := p.Health(0); h.Ejections != 2 || h.EjectedUntil-now != 2*time.Second {
		t.Fatalf("after 25s healthy: %+v, want multiplier 2 (2s)", h)
	}
	// A long healthy spell brings it back to a first ejection.
	now = p.Health(0).EjectedUntil + time.Hour
	fail(p, now, 0, 1)
	if h := p.Health(0); h.Ejections != 1 || h.EjectedUntil-now != time.Second {
		t.Fatalf("after 1h healthy: %+v, want multiplier 1", h)
	}
}

// Envoy OutlierDetection.max_ejection_percent: "defaults to 10% but will
// eject at least one host regardless of the value"; the architecture
// overview: a host is not ejected if that would put the ejected hosts above
// the threshold.
func TestMaxEjectionPercent(t *testing.T) {
	cases := []struct {
		n    int
		pct  float64
		want int
	}{
		{10, 0, 1}, {10, 10, 1}, {10, 30, 3}, {10, 35, 3}, {10, 100, 10},
		{3, 50, 1}, {4, 50, 2}, {2, 10, 1}, {1, 0, 1},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%d endpoints %v%%", c.n, c.pct), func(t *testing.T) {
			p, _ := recordingPool(c.n, HealthConfig{Outlier: &OutlierConfig{Consecutive5xx: 2, BaseEjection: time.Minute, MaxEjectionPercent: c.pct}})
			for i := range c.n {
				fail(p, 0, i, 5)
			}
			if p.EjectedCount() != c.want || p.HealthyCount() != c.n-c.want {
				t.Fatalf("ejected %d, healthy %d, want %d ejected", p.EjectedCount(), p.HealthyCount(), c.want)
			}
		})
	}
	// A refused ejection is retried on the next failure once room is made.
	p, _ := recordingPool(4, HealthConfig{Outlier: &OutlierConfig{Consecutive5xx: 2, BaseEjection: time.Second, MaxEjectionPercent: 25}})
	fail(p, 0, 0, 2)
	fail(p, 0, 1, 2)
	if !p.Health(0).Ejected || p.Health(1).Ejected {
		t.Fatal("only one of four may be ejected at 25%")
	}
	p.Refresh(time.Second)
	fail(p, time.Second, 1, 1)
	if !p.Health(1).Ejected {
		t.Fatal("e1 should be ejected by its next failure once e0 is back")
	}
}

// Envoy counts locally originated errors (timeouts, resets, connect
// failures) as 5xx unless split_external_local_origin_errors is set; a 503
// for a full queue is a 5xx. Success resets the consecutive count.
func TestOutlierOutcomes(t *testing.T) {
	cases := []struct {
		seq   []Outcome
		eject bool
	}{
		{[]Outcome{Error5xx, Timeout, ConnectFail}, true},
		{[]Outcome{QueueFull, QueueFull, QueueFull}, true},
		{[]Outcome{Error5xx, Error5xx, OK, Error5xx, Error5xx}, false},
		{[]Outcome{Error5xx, Error5xx, Outcome(200), Error5xx}, true}, // unknown outcomes are ignored
	}
	for _, c := range cases {
		p, _ := recordingPool(2, HealthConfig{Outlier: &OutlierConfig{Consecutive5xx: 3, MaxEjectionPercent: 50}})
		for _, o := range c.seq {
			p.Done(0, 0, 0, o)
		}
		if h := p.Health(0); h.Ejected != c.eject {
			t.Errorf("%v: ejected %v, want %v", c.seq, h.Ejected, c.eject)
		}
		if h := p.Health(0); h.Ejected && h.EjectedUntil != 30*time.Second {
			t.Errorf("default base ejection should be Envoy's 30s, got %v", h.EjectedUntil)
		}
	}
}

// Envoy "Outlier detection" note: with active health checking, a successful
// check un-ejects the host and clears its counters (one success if the host
// had not failed active checking, healthy_threshold if it had), unless
// successful_active_health_check_uneject_host is false.
func TestProbeUnejects(t *testing.T) {
	for _, keep := range []bool{false, true} {
		p, _ := recordingPool(4, HealthConfig{
			Active:  &ActiveHealth{Unhealthy: 2, Healthy: 3},
			Outlier: &OutlierConfig{Consecutive5xx: 1, BaseEjection: time.Minute, MaxEjectionPercent: 50, KeepEjectedOnProbe: keep}})
		fail(p, 0, 0, 1)
		p.ProbeResult(time.Second, 0, true)
		if got := p.Health(0).Ejected; got != keep {
			t.Fatalf("keep=%v: ejected after a passed probe = %v", keep, got)
		}
		// e1 fails active checking, then is ejected: it takes
		// healthy_threshold passes to come back.
		p.ProbeResult(0, 1, false)
		p.ProbeResult(0, 1, false)
		fail(p, 0, 1, 1)
		for k := 1; k <= 3; k++ {
			p.ProbeResult(time.Duration(k)*time.Second, 1, true)
			if want := k == 3; p.Eligible(1) != (want && !keep) {
				t.Fatalf("keep=%v after %d passes: eligible %v", keep, k, p.Eligible(1))
			}
		}
	}
}

// Lazy un-ejection: the endpoint is a candidate again at the first pick at
// or after its ejection ends, and the pool remembers only the earliest
// pending un-ejection.
func TestUnejectionViaPick(t *testing.T) {
	p, r := recordingPool(5, HealthConfig{Outlier: &OutlierConfig{Consecutive5xx: 1, BaseEjection: 10 * time.Second, MaxEjectionPercent: 100}})
	fail(p, 0, 1, 1)             // out until 10s
	fail(p, 3*time.Second, 3, 1) // out until 13s
	fail(p, 3*time.Second, 4, 1) // out until 13s
	if p.nextUneject != 10*time.Second {
		t.Fatalf("next un-ejection %v, want 10s", p.nextUneject)
	}
	steps := []struct {
		at   time.Duration
		want []int
	}{
		{5 * time.Second, []int{0, 2}},
		{10*time.Second - 1, []int{0, 2}},
		{10 * time.Second, []int{0, 1, 2}},
		{13*time.Second - 1, []int{0, 1, 2}},
		{20 * time.Second, []int{0, 1, 2, 3, 4}},
	}
	for _, s := range steps {
		if got := offered(p, r, s.at); !slices.Equal(got, s.want) {
			t.Fatalf("at %v offered %v, want %v", s.at, got, s.want)
		}
	}
	if p.nextUneject != never || p.wake != never {
		t.Fatal("nothing pending: the fast path should be back")
	}
}

// Envoy "Panic threshold": below the threshold percentage of available
// hosts Envoy balances over all hosts; a threshold of 0 disables panic and
// with no healthy host there is no upstream.
func TestPanicMode(t *testing.T) {
	p, r := recordingPool(10, HealthConfig{PanicThreshold: 50})
	all := []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}
	for i := range 5 {
		p.SetHealthyAt(0, i, false)
	}
	// 5 of 10 healthy is 50%: not below the threshold.
	if p.Panicking() || !slices.Equal(offered(p, r, 0), []int{5, 6, 7, 8, 9}) {
		t.Fatal("at exactly 50% healthy the pool must not panic")
	}
	p.SetHealthyAt(0, 5, false)
	if !p.Panicking() || p.HealthyCount() != 4 || !slices.Equal(offered(p, r, 0), all) {
		t.Fatal("at 40% healthy the pool must offer every endpoint")
	}
	// Changes inside panic keep everything a candidate.
	p.SetHealthyAt(0, 9, false)
	p.SetHealthyAt(0, 9, true)
	if !slices.Equal(offered(p, r, 0), all) {
		t.Fatal("still in panic")
	}
	p.SetHealthyAt(0, 0, true)
	if p.Panicking() || !slices.Equal(offered(p, r, 0), []int{0, 6, 7, 8, 9}) {
		t.Fatal("back to 50% healthy the pool leaves panic")
	}
	// All unhealthy: panic routes to all; with threshold 0, no upstream.
	for i := range 10 {
		p.SetHealthy(i, false)
	}
	if !slices.Equal(offered(p, r, 0), all) {
		t.Fatal("with every endpoint unhealthy, panic offers all of them")
	}
	p.SetHealth(HealthConfig{})
	if _, ok := p.Pick(0, Request{}); ok || p.Panicking() {
		t.Fatal("threshold 0: never panic, no upstream")
	}
}

// Envoy "Slow start mode" with aggression 1 and min_weight_percent 10:
// weight × max(10%, max(t, 1s)/window).
func TestSlowStartWeights(t *testing.T) {
	const window = 60 * time.Second
	cases := []struct {
		at   time.Duration
		want float64 // share of the configured weight
	}{
		{0, 0.1},
		{3 * time.Second, 0.1}, // 5%: the floor
		{15 * time.Second, 0.25},
		{30 * time.Second, 0.5}, // 50% of the window
		{window - time.Second, 59.0 / 60},
		{window, 1}, // 100%: out of slow start
		{2 * window, 1},
	}
	for _, c := range cases {
		t.Run(c.at.String(), func(t *testing.T) {
			b := &SmoothWRR{}
			p := NewPool(b, names(3), []float64{2, 2, 2})
			p.SetHealth(HealthConfig{SlowStart: window})
			if p.Health(0).SlowStart || p.Endpoint(0).Weight != 2 {
				t.Fatal("endpoints eligible from the start do not slow-start")
			}
			const back = 100 * time.Second
			p.SetHealthyAt(back-time.Second, 0, false)
			p.SetHealthyAt(back, 0, true)
			p.Pick(back+c.at, Request{})
			h := p.Health(0)
			if math.Abs(h.Weight-2*c.want) > 1e-9 || h.BaseWeight != 2 || p.Endpoint(0).Weight != h.Weight {
				t.Fatalf("weight %v (base %v), want %v", h.Weight, h.BaseWeight, 2*c.want)
			}
			if h.SlowStart != (c.at < window) {
				t.Fatalf("in slow start = %v", h.SlowStart)
			}
		})
	}
}

// A slow start triggered by SetHealthy (no time) begins at the next call
// that carries the time.
func TestSlowStartFromUntimedSetHealthy(t *testing.T) {
	p := NewPool(&SmoothWRR{}, names(2), nil)
	p.SetHealth(HealthConfig{SlowStart: 10 * time.Second})
	p.SetHealthy(0, false)
	p.SetHealthy(0, true)
	if w := p.Endpoint(0).Weight; w != 0.1 {
		t.Fatalf("weight right after recovery %v, want the 10%% floor", w)
	}
	p.Refresh(20 * time.Second) // the slow start begins here
	p.Refresh(25 * time.Second)
	if w := p.Endpoint(0).Weight; math.Abs(w-0.5) > 1e-9 {
		t.Fatalf("weight 5s into a 10s window %v, want 0.5", w)
	}
}

// Smooth WRR reads Endpoint.Weight, so an endpoint in slow start gets fewer
// picks, about its share of the ramp, and its full share afterwards.
func TestSmoothWRRUnderSlowStart(t *testing.T) {
	const window = 30 * time.Second
	p := NewPool(&SmoothWRR{}, names(3), nil)
	p.SetHealth(HealthConfig{SlowStart: window})
	p.SetHealthyAt(5*time.Second, 2, false)
	p.SetHealthyAt(10*time.Second, 2, true)
	during, after := make([]int, 3), make([]int, 3)
	for now := 10 * time.Second; now < 10*time.Second+2*window; now += time.Millisecond {
		i, _ := p.Pick(now, Request{})
		p.Done(now, i, 0, OK)
		if now < 10*time.Second+window {
			during[i]++
		} else {
			after[i]++
		}
	}
	// Expected share of e2 during the window: the mean of w/(2+w) with
	// w = max(0.1, t/window), 0.1×0.1/2.1 + [x − 2 ln(2+x)] from 0.1 to 1
	// ≈ 0.191 (against 1/3 at full weight).
	share := float64(during[2]) / float64(during[0]+during[1]+during[2])
	if math.Abs(share-0.191) > 0.01 || during[2] >= during[0] {
		t.Fatalf("during slow start %v (e2 share %.3f), want about 0.191", during, share)
	}
	if after[0] != after[2] && after[0]-after[2] != 1 && after[2]-after[0] != 1 {
		t.Fatalf("after slow start %v, want equal shares", after)
	}
}

// The cached candidate list must always equal a naive recomputation, after
// any sequence of probes, manual switches, outcomes, time passing and
// reconfiguration.
func TestCandidateCacheProperty(t *testing.T) {
	for seed := range uint64(100) {
		rng := rand.New(rand.NewPCG(seed, 99))
		n := 1 + rng.IntN(12)
		r := &recorder{}
		p := NewPool(r, names(n), nil)
		cfg := func() HealthConfig {
			return HealthConfig{
				Active:         &ActiveHealth{Unhealthy: 1 + rng.IntN(3), Healthy: 1 + rng.IntN(3)},
				Outlier:        &OutlierConfig{Consecutive5xx: 1 + rng.IntN(3), BaseEjection: time.Duration(1+rng.IntN(5)) * time.Second, MaxEjectionPercent: float64(rng.IntN(101)), MaxEjection: time.Duration(rng.IntN(8)) * time.Second, Interval: time.Duration(rng.IntN(3)) * time.Second, KeepEjectedOnProbe: rng.IntN(2) == 0},
				PanicThreshold: float64(rng.IntN(3) * 40),
				SlowStart:      time.Duration(rng.IntN(3)) * 5 * time.Second,
			}
		}
		p.SetHealth(cfg())
		now := time.Duration(0)
		for step := range 400 {
			i := rng.IntN(n)
			var op string
			switch k := rng.IntN(100); {
			case k < 25:
				op = "probe"
				p.ProbeResult(now, i, rng.IntN(3) > 0)
			case k < 30:
				op = "sethealthy"
				p.SetHealthy(i, rng.IntN(2) == 0)
			case k < 60:
				op = "done"
				p.Done(now, i, 0, Outcome(rng.IntN(6)))
			case k < 62:
				op = "sethealth"
				c := cfg()
				if rng.IntN(3) == 0 {
					c.Outlier = nil
				}
				p.SetHealth(c)
			default:
				op = "time"
				now += time.Duration(rng.IntN(2000)) * time.Millisecond
			}
			var got []int
			if rng.IntN(2) == 0 {
				got = offered(p, r, now)
			} else {
				p.Refresh(now)
				got = slices.Clone(p.candidates())
			}
			// Naive recomputation from the per-endpoint state.
			var el []int
			for j := range n {
				h := p.Health(j)
				if h.Ejected && h.EjectedUntil <= now {
					t.Fatalf("seed %d step %d (%s): e%d still ejected at %v, until %v", seed, step, op, j, now, h.EjectedUntil)
				}
				if h.Eligible != (h.ActiveHealthy && !h.Ejected) || h.Eligible != p.Eligible(j) || p.Endpoint(j).Healthy != h.Eligible {
					t.Fatalf("seed %d step %d (%s): e%d eligibility inconsistent %+v", seed, step, op, j, h)
				}
				if h.Weight < 0.1*h.BaseWeight-1e-12 || h.Weight > h.BaseWeight || (!h.SlowStart && h.Weight != h.BaseWeight) {
					t.Fatalf("seed %d step %d (%s): e%d weight %+v", seed, step, op, j, h)
				}
				if h.Eligible {
					el = append(el, j)
				}
			}
			want := el
			panicking := p.panicPct > 0 && float64(len(el))*100 < p.panicPct*float64(n)
			if panicking {
				want = make([]int, n)
				for j := range want {
					want[j] = j
				}
			}
			if len(want) == 0 {
				want = nil
			}
			if !slices.Equal(got, want) || p.Panicking() != panicking || p.HealthyCount() != len(el) {
				t.Fatalf("seed %d step %d (%s): candidates %v, want %v (panic %v/%v, healthy %d/%d)",
					seed, step, op, got, want, p.Panicking(), panicking, p.HealthyCount(), len(el))
			}
			ejected := 0
			for j := range n {
				if p.Health(j).Ejected {
					ejected++
				}
			}
			if ejected != p.EjectedCount() {
				t.Fatalf("seed %d step %d: EjectedCount %d, counted %d", seed, step, p.EjectedCount(), ejected)
			}
		}
	}
}

// Pick and Done allocate nothing with every health feature on, while
// ejections, un-ejections, panics and slow starts happen.
func TestPickDoneAllocFree(t *testing.T) {
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			w := make([]float64, 100)
			for i := range w {
				w[i] = float64(1 + i%3)
			}
			p := newPool(t, name, w...)
			p.SetHealth(HealthConfig{
				Active:         &ActiveHealth{Unhealthy: 2, Healthy: 2},
				Outlier:        &OutlierConfig{Consecutive5xx: 3, BaseEjection: 50 * time.Millisecond, MaxEjectionPercent: 60},
				PanicThreshold: 50,
				SlowStart:      time.Second,
			})
			rng := rand.New(rand.NewPCG(3, 4))
			now := time.Duration(0)
			step := func() {
				now += 100 * time.Microsecond
				i, ok := p.Pick(now, Request{Key: uint64(now), Client: uint64(now) / 1000})
				if !ok {
					return
				}
				o := OK
				if i%4 == 0 && rng.IntN(2) == 0 {
					o = Error5xx
				}
				p.Done(now, i, time.Millisecond, o)
				if rng.IntN(500) == 0 {
					p.ProbeResult(now, rng.IntN(100), rng.IntN(2) == 0)
				}
			}
			for range 20000 {
				step()
			}
			// Strategies that avoid failing endpoints (least-time) or pack
			// onto a few (first) see fewer ejections; one is enough to have
			// exercised ejection, un-ejection and slow start.
			if p.Ejections() < 1 {
				t.Fatalf("the workload should exercise ejections and slow start (%d ejections)", p.Ejections())
			}
			if a := testing.AllocsPerRun(5000, step); a != 0 {
				t.Fatalf("%v allocations per Pick+Done", a)
			}
		})
	}
}

// BenchmarkPickHealth is BenchmarkPick with every health feature on and
// nothing pending: the cost of the fast path.
func BenchmarkPickHealth(b *testing.B) {
	w := make([]float64, 100)
	for i := range w {
		w[i] = float64(1 + i%3)
	}
	p := newPool(b, "p2c", w...)
	p.SetHealth(HealthConfig{
		Active:         &ActiveHealth{Unhealthy: 2, Healthy: 2},
		Outlier:        &OutlierConfig{Consecutive5xx: 5, BaseEjection: time.Second, MaxEjectionPercent: 10},
		PanicThreshold: 50,
		SlowStart:      time.Second,
	})
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		now := time.Duration(i)
		e, _ := p.Pick(now, Request{})
		p.Done(now, e, time.Millisecond, OK)
	}
}

// SetHealth switches on active checks, outlier ejection, the panic
// threshold and slow start; the caller reports probe results and attempt
// outcomes, and the pool decides who the balancer may pick.
func ExamplePool_SetHealth() {
	b, _ := New("round-robin", rand.New(rand.NewPCG(1, 1)), nil)
	pool := NewPool(b, []string{"web-0", "web-1", "web-2", "web-3"}, nil)
	pool.SetHealth(HealthConfig{
		Active:         &ActiveHealth{Interval: 5 * time.Second, Timeout: time.Second, Unhealthy: 3, Healthy: 2},
		Outlier:        &OutlierConfig{Consecutive5xx: 5, BaseEjection: 30 * time.Second, MaxEjectionPercent: 50},
		PanicThreshold: 50,
		SlowStart:      30 * time.Second,
	})

	// web-1 answers 5xx five times in a row: ejected for 30s.
	for range 5 {
		pool.Done(time.Second, 1, 10*time.Millisecond, Error5xx)
	}
	// web-3 fails three probes in a row: unhealthy.
	for k := range 3 {
		pool.ProbeResult(time.Duration(k)*5*time.Second, 3, false)
	}
	pool.Refresh(10 * time.Second)
	fmt.Println(pool.HealthyCount(), pool.Panicking(), pool.Health(1).EjectedUntil)

	// web-2 is taken out by hand: 1 of 4 eligible is below 50%, panic.
	pool.SetHealthyAt(10*time.Second, 2, false)
	fmt.Println(pool.HealthyCount(), pool.Panicking())

	// At 31s web-1's ejection is over; back with 10% of its weight.
	pool.SetHealthyAt(31*time.Second, 2, true)
	i, _ := pool.Pick(31*time.Second, Request{})
	fmt.Println(pool.HealthyCount(), pool.Panicking(), pool.Endpoint(i).Name, pool.Endpoint(1).Weight)
	// Output:
	// 2 false 31s
	// 1 true
	// 3 false web-0 0.1
}

// ActiveHealth.FirstUnhealthy is HAProxy's start at health = rise: before
// an endpoint has passed a probe, one failed probe takes it out; once one
// has passed, Unhealthy consecutive failures do (src/check.c).
func TestActiveFirstUnhealthy(t *testing.T) {
	p := NewPool(&RoundRobin{}, []string{"a", "b"}, nil)
	p.SetHealth(HealthConfig{Active: &ActiveHealth{Unhealthy: 3, Healthy: 2, FirstUnhealthy: 1}})
	p.ProbeResult(0, 0, false)
	if p.Eligible(0) {
		t.Error("one failed probe before any passed left the endpoint in")
	}
	p.ProbeResult(0, 1, true)
	p.ProbeResult(0, 1, false)
	p.ProbeResult(0, 1, false)
	if !p.Eligible(1) {
		t.Error("after a passed probe, two failures took the endpoint out (fall is 3)")
	}
	p.ProbeResult(0, 1, false)
	if p.Eligible(1) {
		t.Error("three failures after a passed probe left the endpoint in")
	}
}
