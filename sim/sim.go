// Package sim is edgelab's simulated world: open- and closed-loop clients,
// a balancer from package strategies over a pool of server instances, and
// servers with c workers, FIFO or processor-sharing queues, bounded or
// unbounded waiting rooms and error probabilities, all on the virtual clock
// of package engine.
package sim

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/edgelab/edgelab/reports"
	"github.com/edgelab/edgelab/strategies"
	"github.com/edgelab/edgelab/workloads"
)

// Options tune a simulation run.
type Options struct {
	// Strategies to compare; empty means the scenario's own.
	Strategies []string
}

// Run simulates the scenario once per strategy and replication and returns
// the results. Every strategy sees the same requests (the same random
// streams), so differences come from the strategy alone. If ctx is
// cancelled, Run stops early and returns what it measured, marked partial.
func Run(ctx context.Context, sc *workloads.Scenario, opt Options) (*reports.Results, error) {
	names := opt.Strategies
	if len(names) == 0 {
		names = sc.Strategies()
		if err := Check(sc); err != nil {
			return nil, err
		}
	} else if err := checkParams(sc); err != nil {
		return nil, err
	}
	res := &reports.Results{
		Scenario:  sc.Name,
		Mode:      "sim",
		Seed:      sc.Seed,
		DurationS: sc.Duration.Seconds(),
		WarmupS:   sc.Warmup.Seconds(),
	}
	for _, name := range names {
		reps := make([]reports.Replication, 0, sc.Replications)
		for rep := 0; rep < sc.Replications; rep++ {
			r, windows, partial, err := replicate(ctx, sc, name, rep)
			if err != nil {
				return nil, err
			}
			if rep == 0 && res.Failures == nil {
				res.Failures = windows
			}
			reps = append(reps, r)
			if partial {
				res.Partial = true
				break
			}
		}
		res.Runs = append(res.Runs, reports.Summarize(name, reps, sc.Duration.Seconds()))
		if res.Partial {
			break
		}
	}
	return res, nil
}

// Check validates the parts of a scenario that belong to the strategies
// package (strategy names), reporting errors at the field's line.
func Check(sc *workloads.Scenario) error {
	for i, name := range sc.Strategies() {
		if !strategies.Known(name) {
			field := "balancer.strategy"
			if i > 0 {
				field = "balancer.compare"
			}
			return sc.FieldError(field, "unknown strategy %q (known: %s)", name, strings.Join(strategies.Names(), ", "))
		}
	}
	return checkParams(sc)
}

// checkParams validates balancer.params: every key names a strategy and
// every parameter is one it takes, within range.
func checkParams(sc *workloads.Scenario) error {
	names := make([]string, 0, len(sc.Balancer.Params))
	for name := range sc.Balancer.Params {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		field := "balancer.params." + name
		if !strategies.Known(name) {
			return sc.FieldError(field, "unknown strategy %q (known: %s)", name, strings.Join(strategies.Names(), ", "))
		}
		if err := strategies.CheckParams(name, sc.Balancer.Params[name]); err != nil {
			return sc.FieldError(field, "%v", err)
		}
	}
	return nil
}

// Replicate runs one replication of one strategy. partial is true when ctx
// was cancelled before the run ended.
func Replicate(ctx context.Context, sc *workloads.Scenario, strategy string, rep int) (r reports.Replication, partial bool, err error) {
	r, _, partial, err = replicate(ctx, sc, strategy, rep)
	return r, partial, err
}

func replicate(ctx context.Context, sc *workloads.Scenario, strategy string, rep int) (r reports.Replication, windows []reports.FailureWindow, partial bool, err error) {
	wall := time.Now()
	m, err := newModel(sc, strategy, rep)
	if err != nil {
		return r, nil, false, fmt.Errorf("replication %d of %s: %w", rep, strategy, err)
	}
	m.eng.Schedule(m.start, m.h, evWarmupEnd, 0)
	m.eng.Schedule(m.end, m.h, evEnd, 0)
	if a := sc.Clients.Arrival; a.Process == workloads.ProcessClosed {
		for u := 0; u < a.Users; u++ {
			m.eng.Schedule(dur(m.think.Sample()), m.h, evThinkDone, int64(u))
		}
	} else {
		m.eng.Schedule(dur(m.interarrival.Sample()), m.h, evArrival, 0)
	}
	// Run in slices of virtual time so that cancellation is noticed.
	step := max(time.Millisecond, (m.end+99)/100)
	for t := step; m.eng.Pending() > 0; t += step {
		if ctx.Err() != nil {
			partial = true
			break
		}
		m.eng.Run(t)
	}
	now := m.eng.Now()
	if partial && m.open {
		m.snapshotServers(max(now, m.start))
	}
	// Requests still in flight were interrupted, or wait without a timeout
	// on a server that hangs until the end: count them as timed out.
	m.abandonInFlight()
	r = reports.Replication{
		Latency:  m.lat,
		Outcomes: m.outcomes,
		Attempts: m.attempts,
		Events:   m.eng.Events(),
		WallS:    time.Since(wall).Seconds(),
		Series:   m.series,
		Gateway:  m.gatewayStats(),
	}
	for i := range m.srv {
		s := &m.srv[i]
		r.Servers = append(r.Servers, reports.Server{ID: s.id, Requests: s.sent, Utilization: s.finalUtil, MeanQueue: s.finalQ})
	}
	return r, m.windows, partial, nil
}

// abandonInFlight counts requests still in flight when the run stops as
// timeouts, so that ok + failed + rejected = requests always holds.
func (m *model) abandonInFlight() {
	free := make([]bool, len(m.reqs))
	for _, ri := range m.freeReq {
		free[ri] = true
	}
	for ri := range m.reqs {
		if !free[ri] && m.reqs[ri].measured {
			m.outcomes.Timeout++
		}
	}
}
