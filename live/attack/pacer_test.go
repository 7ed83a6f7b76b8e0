package attack

import (
	"strings"
	"testing"
	"time"

	"github.com/edgelab/edgelab/engine"
	"github.com/edgelab/edgelab/workloads"
)

// scenario parses a test scenario.
func scenario(t *testing.T, yaml string) *workloads.Scenario {
	t.Helper()
	sc, err := workloads.Parse([]byte(yaml), "test.yaml", nil)
	if err != nil {
		t.Fatalf("scenario: %v", err)
	}
	return sc
}

func TestPacerReplaysSyntheticSchedule(t *testing.T) {
	ms := time.Millisecond
	sched := []time.Duration{10 * ms, 20 * ms, 20 * ms, 35 * ms, 40 * ms, 50 * ms}
	i := 0
	next := func() time.Duration { i++; return sched[i-1] }
	p := newSchedulePacer(next, 40*ms, func(time.Duration) float64 { return 100 })
	steps := []struct {
		elapsed time.Duration
		hits    uint64
		wait    time.Duration
		stop    bool
	}{
		{0, 0, 10 * ms, false},       // arrival 1 at 10ms
		{12 * ms, 1, 8 * ms, false},  // arrival 2 at 20ms
		{20 * ms, 2, 0, false},       // arrival 3 also at 20ms: due now
		{25 * ms, 3, 10 * ms, false}, // arrival 4 at 35ms
		{50 * ms, 3, 0, false},       // asked again, late: overdue
		{36 * ms, 4, 0, true},        // arrival 5 at 40ms = end: stop
	}
	for k, s := range steps {
		wait, stop := p.Pace(s.elapsed, s.hits)
		if wait != s.wait || stop != s.stop {
			t.Fatalf("step %d: Pace(%v, %d) = %v, %v; want %v, %v", k, s.elapsed, s.hits, wait, stop, s.wait, s.stop)
		}
	}
	if i != 5 {
		t.Errorf("drew %d arrivals, want 5 (one at a time, as hits grow)", i)
	}
	if r := p.Rate(time.Second); r != 100 {
		t.Errorf("Rate = %v, want 100", r)
	}

	// An origin shifts the schedule: vegeta's elapsed 0 is 5ms into the run.
	i = 0
	p = newSchedulePacer(next, time.Second, nil)
	p.origin = 5 * ms
	if wait, _ := p.Pace(0, 0); wait != 5*ms {
		t.Errorf("with origin 5ms, first wait = %v, want 5ms", wait)
	}
}

func TestPacerReplaysArrivalClock(t *testing.T) {
	for _, proc := range []string{"poisson", "constant"} {
		t.Run(proc, func(t *testing.T) {
			sc := scenario(t, `
seed: 7
duration: 2s
warmup: 1s
clients: {arrival: {process: `+proc+`, rate: 500}}
servers: [{name: web, count: 1, service: {dist: constant, mean: 1ms}}]
`)
			for _, rep := range []int{0, 3} {
				p, err := newPacer(sc, rep)
				if err != nil {
					t.Fatal(err)
				}
				clock := sc.Clients.Arrival.Clock(engine.Source(sc.Seed, rep, "arrivals"))
				end := 3 * time.Second
				hits := uint64(0)
				for {
					want := clock.Next()
					wait, stop := p.Pace(0, hits)
					if want >= end {
						if !stop {
							t.Fatalf("rep %d: arrival %d at %v ≥ end, but Pace did not stop", rep, hits+1, want)
						}
						break
					}
					if stop || wait != want {
						t.Fatalf("rep %d: Pace(0, %d) = %v, %v; want the clock's %v", rep, hits, wait, stop, want)
					}
					hits++
				}
				// About rate × (warmup + duration) arrivals.
				if hits < 1300 || hits > 1700 {
					t.Errorf("rep %d: %d arrivals before the end, want about 1500", rep, hits)
				}
				if proc == "constant" && hits != 1499 { // 2ms, 4ms, ... 2998ms
					t.Errorf("constant: %d arrivals, want 1499", hits)
				}
			}
		})
	}
}

func TestPacerRejectsClosedLoop(t *testing.T) {
	sc := scenario(t, `
duration: 1s
clients: {arrival: {process: closed, users: 10, think: 100ms}}
servers: [{name: web, count: 1, service: {dist: constant, mean: 1ms}}]
`)
	_, err := newPacer(sc, 0)
	if err == nil {
		t.Fatal("NewPacer accepted a closed loop")
	}
	if !workloads.IsInputError(err) || !strings.Contains(err.Error(), "clients.arrival.process") ||
		!strings.Contains(err.Error(), "test.yaml:3") {
		t.Errorf("error %q: want an input error at test.yaml:3 naming clients.arrival.process", err)
	}
	if _, err := Attack(t.Context(), Config{Scenario: sc, Target: "http://127.0.0.1:1"}); !workloads.IsInputError(err) {
		t.Errorf("Attack on a closed loop: %v, want the input error", err)
	}
}

func TestPacerWaitIsCancellable(t *testing.T) {
	at := []time.Duration{time.Hour}
	p := newSchedulePacer(func() time.Duration { return at[0] }, 2*time.Hour, nil)
	done := make(chan struct{})
	p.done = done
	go func() {
		time.Sleep(20 * time.Millisecond)
		close(done)
	}()
	if wait, stop := p.Pace(0, 0); !stop || wait != 0 {
		t.Errorf("cancelled Pace = %v, %v; want 0, true", wait, stop)
	}

	// A wait a little longer than the slice is spent partly inside Pace,
	// which returns the rest: the total is the schedule's.
	p = newSchedulePacer(func() time.Duration { return pacerSlice + 30*time.Millisecond }, time.Hour, nil)
	p.done = make(chan struct{})
	t0 := time.Now()
	wait, stop := p.Pace(0, 0)
	if stop || wait > pacerSlice {
		t.Fatalf("Pace = %v, %v; want a wait of at most the slice %v", wait, stop, pacerSlice)
	}
	if spent := time.Since(t0) + wait; spent < pacerSlice+30*time.Millisecond {
		t.Errorf("slept %v inside Pace and returned %v: less than the schedule's %v", time.Since(t0), wait, pacerSlice+30*time.Millisecond)
	}
}
