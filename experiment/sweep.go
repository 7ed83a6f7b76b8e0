package experiment

// Sweeps: one scenario run at every point of a grid, points in parallel.

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"

	"github.com/edgelab/edgelab/reports"
	"github.com/edgelab/edgelab/sim"
	"github.com/edgelab/edgelab/workloads"
)

// ErrInterrupted is wrapped by the errors of a Runner's sweeps and
// searches when ctx was cancelled: what they return alongside is what
// finished, marked partial.
var ErrInterrupted = errors.New("interrupted")

// Loader loads the scenario with extra "key=value" overrides applied
// after the user's own (see workloads.Load).
type Loader func(sets []string) (*workloads.Scenario, error)

// Runner runs the points of a sweep or a capacity search: the scenario
// Load returns with each point's overrides applied, simulated with Sim.
// Results do not depend on Parallel or Progress.
type Runner struct {
	// Load loads the scenario with a point's overrides.
	Load Loader
	// Sim are the options of each point's sim.Run: Strategies lists the
	// strategies run (empty: the scenario's). When Sim.Parallel is 0, the
	// CPUs are shared between the points run at once rather than
	// oversubscribed.
	Sim sim.Options
	// Parallel bounds the points simulated at once (0 = GOMAXPROCS: one
	// per CPU the process may use, which in a container is its CPU
	// limit). Capacity, a sequential search, ignores it.
	Parallel int
	// Shard restricts a sweep (or CapacityProbes) to its share of the
	// points (zero = all). Capacity ignores it.
	Shard Shard
	// Progress, when not nil, is called each time a point (or a probe)
	// finishes, from the goroutine that ran it: it must be safe for
	// concurrent use.
	Progress func()
}

// pointOptions shares the CPUs between the n points run at once rather
// than oversubscribing them, unless r.Sim.Parallel is set.
func (r Runner) pointOptions(n int) sim.Options {
	opt := r.Sim
	parallel := r.Parallel
	if parallel <= 0 {
		parallel = runtime.GOMAXPROCS(0)
	}
	if opt.Parallel == 0 {
		opt.Parallel = max(1, runtime.GOMAXPROCS(0)/max(1, min(parallel, n)))
	}
	return opt
}

// Sweep runs the scenario once per point of g that r.Shard owns, with the
// point's overrides applied, up to r.Parallel at once, and returns the
// content of sweep.json: the points in grid order whatever order they
// finished in, each with its Index in g.Points(). Every scenario is
// loaded before any simulation starts, so bad input fails fast. Results
// do not depend on r.Parallel, and carry no wall time (a sweep's output
// is a function of its inputs alone, so that shards run anywhere merge
// into exactly the unsharded file). When ctx is cancelled, Sweep stops
// and returns the points that ran to their end, marked Partial, with an
// error wrapping ErrInterrupted.
func (r Runner) Sweep(ctx context.Context, g Grid) (*reports.SweepReport, error) {
	if len(g) == 0 {
		return nil, errors.New("sweep: no range to vary")
	}
	points := g.Points()
	scs := make([]*workloads.Scenario, len(points))
	for i, vals := range points {
		if !r.Shard.Owns(i) {
			continue
		}
		sc, err := r.Load(g.Sets(vals))
		if err != nil {
			return nil, err
		}
		scs[i] = sc
	}
	opt := r.pointOptions(r.Shard.Size(len(points)))
	out := make([]*reports.Results, len(points))
	err := r.forEach(ctx, len(points), func(ctx context.Context, i int) error {
		res, err := sim.Run(ctx, scs[i], opt)
		if err != nil {
			return fmt.Errorf("%s: %w", strings.Join(g.Sets(points[i]), " "), err)
		}
		out[i] = res
		return nil
	})
	if err != nil {
		return nil, err
	}
	keys := g.Keys()
	rep := &reports.SweepReport{Key: keys[0]}
	if len(keys) > 1 {
		rep.Keys = keys
	}
	for i, res := range out {
		if res != nil && !res.Partial {
			for k := range res.Runs {
				if res.Runs[k].Sim != nil {
					res.Runs[k].Sim.WallS = 0
				}
			}
			p := reports.SweepPoint{Index: i, Value: points[i][0], Results: res}
			if len(g) > 1 {
				p.Values = points[i]
			}
			rep.Points = append(rep.Points, p)
		}
	}
	if want := r.Shard.Size(len(points)); ctx.Err() != nil || len(rep.Points) < want {
		rep.Partial = true
		return rep, fmt.Errorf("sweep of %s: %d of %d points finished: %w", strings.Join(keys, " × "), len(rep.Points), want, ErrInterrupted)
	}
	return rep, nil
}

// forEach calls run(ctx, i) for every index below n that r.Shard owns, in
// index order, up to r.Parallel at once, and r.Progress after each
// success. The first error cancels the runs still going and is returned
// (an error wrapping ErrInterrupted only when no other occurred);
// cancellation of ctx stops dispatching.
func (r Runner) forEach(ctx context.Context, n int, run func(ctx context.Context, i int) error) error {
	parallel := r.Parallel
	if parallel <= 0 {
		parallel = runtime.GOMAXPROCS(0)
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make([]error, n)
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
dispatch:
	for i := range n {
		if !r.Shard.Owns(i) {
			continue
		}
		if runCtx.Err() != nil {
			break
		}
		select {
		case sem <- struct{}{}:
		case <-runCtx.Done():
			break dispatch
		}
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			if err := run(runCtx, i); err != nil {
				errs[i] = err
				cancel() // a failing run stops the others
				return
			}
			if r.Progress != nil {
				r.Progress()
			}
		}(i)
	}
	wg.Wait()
	// A run stopped by another's failure reports an interruption: return
	// the failure that caused it.
	var first error
	for _, err := range errs {
		if err != nil && !errors.Is(err, ErrInterrupted) {
			return err
		}
		if first == nil {
			first = err
		}
	}
	return first
}
