package sim

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgelab/edgelab/reports"
	"github.com/edgelab/edgelab/workloads"
)

// A closed loop with no think time whose requests fail at the instant
// they are sent (a full queue, every instance crashed, no eligible
// endpoint) used to send again at the same instant forever: virtual time
// stopped and the process spun. Now such a user waits MinResend, the run
// ends, and its outcomes add up.
func TestClosedLoopInstantFailuresProgress(t *testing.T) {
	const base = `
name: spin
seed: 2
duration: 2s
warmup: 0s
clients: {arrival: {process: closed, users: 10}}
servers:
  - {name: web, count: 1, concurrency: 1, %s, service: {dist: exponential, mean: 10ms}}
`
	cases := []struct {
		name, extra string
		check       func(r reports.Run) error
	}{
		{"queue full", "queue: 2", func(r reports.Run) error {
			if r.OK == 0 || r.Outcomes.QueueFull == 0 {
				return fmt.Errorf("ok %d, queue_full %d; want both", r.OK, r.Outcomes.QueueFull)
			}
			return nil
		}},
		{"all crashed", "failures: [{kind: crash, at: 0s}]", func(r reports.Run) error {
			// 10 users, each sending every MinResend for 2 s.
			if want := int64(10 * 2 * time.Second / MinResend); r.Outcomes.ConnectFailure != want {
				return fmt.Errorf("connect failures %d, want %d (one per user per MinResend)", r.Outcomes.ConnectFailure, want)
			}
			return nil
		}},
	}
	for _, c := range cases {
		r := simulateYAML(t, []byte(fmt.Sprintf(base, c.extra)), "spin.yaml", "round-robin", nil)
		if err := c.check(r); err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
	}
}

// countingCtx is a context whose Err reports cancellation from its n-th
// call on: a deterministic stand-in for a Ctrl-C that arrives while the
// simulator is busy.
type countingCtx struct {
	context.Context
	calls, n atomic.Int64
}

func (c *countingCtx) Err() error {
	if c.calls.Add(1) >= c.n.Load() {
		return context.Canceled
	}
	return nil
}

// Cancellation is looked at every sliceEvents events, not only once per
// slice of virtual time: a run whose first hundredth of virtual time
// holds millions of events stops after about sliceEvents of them.
func TestCancelIsNoticedWithinBoundedWork(t *testing.T) {
	sc, err := workloads.Parse([]byte(`
name: dense
seed: 1
duration: 100ms
warmup: 0s
clients: {arrival: {process: constant, rate: 1e9}}
servers: [{name: web, count: 1, concurrency: 1000000, service: {dist: constant, mean: 1us}}]
`), "dense.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := &countingCtx{Context: context.Background()}
	ctx.n.Store(2) // the first look passes, the second cancels
	r, partial, err := Replicate(ctx, sc, "round-robin", 0)
	if err != nil {
		t.Fatal(err)
	}
	if !partial || r.Events > sliceEvents+sliceEvents/4 {
		t.Errorf("partial %v after %d events; want partial within about %d events", partial, r.Events, sliceEvents)
	}
}

// An overloaded system with nothing bounding its backlog fails with an
// error that names the keys to change, instead of growing until memory
// runs out; with a queue bound the same load runs (and sheds as
// queue_full, as the scenario asks).
func TestUnboundedBacklogFails(t *testing.T) {
	const overload = `
name: flood
seed: 1
duration: 5s
warmup: 0s
clients: {arrival: {process: poisson, rate: 20000}}
servers: [{name: web, count: 1, %s service: {dist: exponential, mean: 1ms}}]
`
	// Direct mode (no request records) and the general path fail at the
	// same bound, hence at the same moment of the same request stream.
	var when []string
	for _, general := range []bool{false, true} {
		sc, err := workloads.Parse([]byte(fmt.Sprintf(overload, "")), "flood.yaml", nil)
		if err != nil {
			t.Fatal(err)
		}
		_, _, _, err = replicate(context.Background(), sc, "round-robin", 0, modelOptions{general: general, maxBacklog: 1000})
		if err == nil || !strings.Contains(err.Error(), "more than 1000 requests in flight") || !strings.Contains(err.Error(), "servers[].queue") {
			t.Fatalf("general %v: error %v", general, err)
		}
		_, at, _ := strings.Cut(err.Error(), " in flight at ")
		when = append(when, strings.SplitN(at, ":", 2)[0])
	}
	if when[0] != when[1] {
		t.Errorf("direct mode failed at %s, the general path at %s", when[0], when[1])
	}
	sc, err := workloads.Parse([]byte(fmt.Sprintf(overload, "queue: 100,")), "flood.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	r, _, _, err := replicate(context.Background(), sc, "round-robin", 0, modelOptions{maxBacklog: 1000})
	if err != nil || r.Outcomes.QueueFull == 0 {
		t.Errorf("with a queue bound: queue_full %d, error %v", r.Outcomes.QueueFull, err)
	}
}

// Progress is called ProgressSteps times per replication of each
// strategy, however the replications run, so a bar over run reaches
// exactly its total.
func TestProgressCountsEveryStep(t *testing.T) {
	sc, err := workloads.Parse([]byte(`
name: bar
duration: 3s
warmup: 1s
replications: 3
clients: {arrival: {process: poisson, rate: 200}}
servers: [{name: web, count: 2, service: {dist: exponential, mean: 5ms}}]
`), "bar.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	var n atomic.Int64
	res, err := Run(context.Background(), sc, Options{Strategies: []string{"p2c", "random"}, Progress: func() { n.Add(1) }})
	if err != nil || res.Partial {
		t.Fatal(err)
	}
	if want := int64(2 * 3 * ProgressSteps); n.Load() != want {
		t.Errorf("%d progress calls, want %d", n.Load(), want)
	}
}

// Run refuses a scenario that could not finish (plan.EstimateRun) with an
// input error naming the key; Force lifts the refusal (here the run is
// cancelled at once, so it ends partial rather than in an hour).
func TestRunRefusesWhatCannotFinish(t *testing.T) {
	sc, err := workloads.Parse([]byte(`
name: huge
duration: 1h
clients: {arrival: {process: poisson, rate: 1e9}}
servers: [{name: web, count: 10, service: {dist: exponential, mean: 1ms}}]
`), "huge.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Run(context.Background(), sc, Options{})
	if !workloads.IsInputError(err) || !strings.Contains(err.Error(), "huge.yaml:4: clients.arrival.rate") {
		t.Fatalf("error %v, want a refusal at clients.arrival.rate", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res, err := Run(ctx, sc, Options{Force: true})
	if err != nil || !res.Partial {
		t.Errorf("forced: partial %v, error %v", res != nil && res.Partial, err)
	}
}
