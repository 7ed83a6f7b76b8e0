// Package sim is edgelab's simulated world: open- and closed-loop clients,
// a balancer from package strategies over a pool of server instances, and
// servers with c workers, FIFO or processor-sharing queues, bounded or
// unbounded waiting rooms and error probabilities, all on the virtual clock
// of package engine.
package sim

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"sync"
	"time"

	"github.com/edgelab/edgelab/plan"
	"github.com/edgelab/edgelab/reports"
	"github.com/edgelab/edgelab/traces"
	"github.com/edgelab/edgelab/workloads"
)

// Options tune a simulation run.
type Options struct {
	// Strategies to compare; empty means the scenario's own.
	Strategies []string
	// Parallel bounds the replications simulated at once (0 = one per
	// CPU). Results do not depend on it.
	Parallel int
	// Force runs a scenario whose estimate (plan.EstimateRun) is over
	// plan.MaxRequests or plan.MaxBytes, which Run otherwise refuses.
	Force bool
	// AccessLog, when not nil, is where replication 0 of each strategy
	// logs every request that ends, in AccessLogFormat (traces.NGINX,
	// traces.HAProxy or traces.CSV): times from traces.SimOrigin. It is
	// called once per strategy, before the strategy runs.
	AccessLog       func(strategy string) (io.Writer, error)
	AccessLogFormat string
	// Progress, when not nil, is called ProgressSteps times per
	// replication of each strategy, as its virtual time advances (the
	// last calls when it ends), from the goroutines that run
	// replications: it must be safe for concurrent use.
	Progress func()
}

// ProgressSteps is the number of Options.Progress calls per replication:
// a run makes ProgressSteps × strategies × replications in all.
const ProgressSteps = 100

// replications runs every replication of one strategy, up to parallel at
// once (each is independent: its own streams, its own model), and returns
// them in replication order, so the results are the same however many run
// at once. After a cancellation it returns the replications that ran to
// the point of interruption, in order, up to the first partial one.
func replications(ctx context.Context, sc *workloads.Scenario, name string, parallel int, progress func(), log *traces.Writer) ([]reports.Replication, []reports.FailureWindow, bool, error) {
	n := sc.Replications
	if parallel <= 0 {
		parallel = runtime.NumCPU()
	}
	type outcome struct {
		r       reports.Replication
		windows []reports.FailureWindow
		partial bool
		err     error
	}
	out := make([]outcome, n)
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for rep := 0; rep < n; rep++ {
		wg.Add(1)
		sem <- struct{}{}
		go func(rep int) {
			defer wg.Done()
			defer func() { <-sem }()
			o := &out[rep]
			mo := modelOptions{progress: progress}
			if rep == 0 {
				mo.log = log
			}
			o.r, o.windows, o.partial, o.err = replicate(ctx, sc, name, rep, mo)
		}(rep)
	}
	wg.Wait()
	var reps []reports.Replication
	for rep := range out {
		if out[rep].err != nil {
			return nil, nil, false, out[rep].err
		}
		reps = append(reps, out[rep].r)
		if out[rep].partial {
			return reps, out[0].windows, true, nil
		}
	}
	return reps, out[0].windows, false, nil
}

// Run simulates the scenario once per strategy and replication and returns
// the results. Every strategy sees the same requests (the same random
// streams), so differences come from the strategy alone. If ctx is
// cancelled, Run stops early and returns what it measured, marked partial.
func Run(ctx context.Context, sc *workloads.Scenario, opt Options) (*reports.Results, error) {
	names := plan.Strategies(sc, opt.Strategies)
	check := plan.CheckParams
	if len(opt.Strategies) == 0 {
		check = plan.Check
	}
	if err := check(sc); err != nil {
		return nil, err
	}
	if !opt.Force {
		if err := plan.EstimateRun(sc, names, opt.Parallel).Check(sc); err != nil {
			return nil, err
		}
	}
	res := &reports.Results{
		Scenario:  sc.Name,
		Mode:      "sim",
		Seed:      sc.Seed,
		DurationS: sc.Duration.Seconds(),
		WarmupS:   sc.Warmup.Seconds(),
		Presets:   plan.Presets(sc),
	}
	for _, name := range names {
		start := time.Now()
		var log *traces.Writer
		if opt.AccessLog != nil {
			w, err := opt.AccessLog(name)
			if err != nil {
				return nil, err
			}
			if log, err = traces.NewWriter(w, opt.AccessLogFormat); err != nil {
				return nil, err
			}
		}
		reps, windows, partial, err := replications(ctx, sc, name, opt.Parallel, opt.Progress, log)
		if err == nil && log != nil {
			err = log.Flush()
		}
		if err != nil {
			return nil, err
		}
		if res.Failures == nil {
			res.Failures = windows
		}
		if res.Trace == nil && len(reps) > 0 {
			res.Trace = reps[0].Trace
		}
		run := reports.Summarize(name, reps, sc.Duration.Seconds())
		// Replications may overlap: the run's wall time is elapsed time.
		run.Sim.WallS = reports.Round(time.Since(start).Seconds(), 6)
		res.Runs = append(res.Runs, run)
		if partial {
			res.Partial = true
			break
		}
	}
	return res, nil
}

// Work bounds of a replication's event loop: the events dispatched between
// two looks at cancellation (a fraction of a second), and the events at
// one virtual instant after which a run counts as stuck (no valid
// scenario comes near: it would need millions of requests ending at once).
const (
	sliceEvents = 1 << 20
	maxStill    = 1 << 24
)

// maxBacklog bounds the requests in flight at once (beyond the closed
// loop's users), so that memory stays O(in flight) for any valid scenario:
// an overloaded system with nothing bounding its backlog (no queue
// limit, no timeout) would otherwise grow until the machine runs out of
// memory. A run that reaches it stops with an error (a few hundred MB of
// request records), rather than shedding load the scenario did not ask
// to shed.
const maxBacklog = 1 << 22

// checkBacklog fails a run whose requests in flight exceed its bound.
func (m *model) checkBacklog(now time.Duration) error {
	limit := m.maxBacklog
	if m.think != nil {
		limit += m.sc.Clients.Arrival.Users
	}
	// In direct mode an attempt stands for its request (m.reqs stays
	// empty); otherwise a request has up to maxLive attempts.
	atts := maxLive * limit
	if m.direct {
		atts = limit
	}
	if len(m.reqs) <= limit && len(m.atts) <= atts {
		return nil
	}
	return fmt.Errorf("more than %d requests in flight at %v: the load exceeds what the servers serve and nothing bounds the backlog; "+
		"bound it (servers[].queue, clients.timeout), lower clients.arrival.rate or add capacity (servers[].count)", limit, now)
}

// Replicate runs one replication of one strategy. partial is true when ctx
// was cancelled before the run ended.
func Replicate(ctx context.Context, sc *workloads.Scenario, strategy string, rep int) (r reports.Replication, partial bool, err error) {
	r, _, partial, err = replicate(ctx, sc, strategy, rep, modelOptions{})
	return r, partial, err
}

func replicate(ctx context.Context, sc *workloads.Scenario, strategy string, rep int, opt modelOptions) (r reports.Replication, windows []reports.FailureWindow, partial bool, err error) {
	wall := time.Now()
	m, err := newModel(sc, strategy, rep, opt)
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
		defer m.arrivals.Close()
		if first := m.arrivals.Next(); first != workloads.Never {
			m.eng.Schedule(first, m.h, evArrival, 0)
		}
	}
	// Run in slices of virtual time and of work, so that a cancellation
	// is noticed within sliceEvents events however densely they fall, and
	// a run whose clock has stopped is caught rather than spun forever.
	step := max(time.Millisecond, (m.end+99)/100)
	last, still := time.Duration(-1), uint64(0)
	ticks := 0 // progress calls made
	defer func() {
		for ; opt.progress != nil && ticks < ProgressSteps && err == nil && !partial; ticks++ {
			opt.progress()
		}
	}()
	for t := step; m.eng.Pending() > 0; {
		if ctx.Err() != nil {
			partial = true
			break
		}
		now, more := m.eng.RunLimit(t, sliceEvents)
		if err := m.checkBacklog(now); err != nil {
			return r, nil, false, fmt.Errorf("replication %d of %s: %w", rep, strategy, err)
		}
		if !more {
			if opt.progress != nil && ticks < ProgressSteps-1 && t <= m.end {
				for want := int(t * (ProgressSteps - 1) / max(m.end, 1)); ticks < want; ticks++ {
					opt.progress()
				}
			}
			t += step
			continue
		}
		if now != last {
			last, still = now, 0
		} else if still += sliceEvents; still >= maxStill {
			return r, nil, false, fmt.Errorf("replication %d of %s: virtual time stopped at %v: %d events without the clock advancing", rep, strategy, now, still)
		}
	}
	if opt.verify && m.conn != nil {
		if err := m.conn.verify(m); err != nil {
			return r, nil, false, fmt.Errorf("replication %d of %s: %w", rep, strategy, err)
		}
	}
	if m.logErr != nil {
		return r, nil, false, fmt.Errorf("replication %d of %s: access log: %w", rep, strategy, m.logErr)
	}
	if m.arrivals != nil {
		if err := m.arrivals.Err(); err != nil {
			return r, nil, false, fmt.Errorf("replication %d of %s: %w", rep, strategy, err)
		}
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
	if m.arrivals != nil && m.arrivals.Replay() != nil {
		r.Trace = plan.Trace(sc, m.arrivals.Replay())
	}
	if m.up != nil {
		r.UpstreamConnections = m.up.connects
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
	if m.direct {
		// Each attempt in flight is a request in flight.
		free := make([]bool, len(m.atts))
		for _, ai := range m.freeAtt {
			free[ai] = true
		}
		for ai := range m.atts {
			if !free[ai] && m.atts[ai].sent >= m.start {
				m.outcomes.Timeout++
			}
		}
		return
	}
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
