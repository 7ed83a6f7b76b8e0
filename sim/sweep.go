package sim

// Sweeps and capacity searches: run one scenario at several values of one
// or more numeric keys (applied as "--set key=value"), possibly split into
// shards run on different machines, and find the smallest value of a key
// that meets a service-level objective.

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/edgelab/edgelab/plan"
	"github.com/edgelab/edgelab/reports"
	"github.com/edgelab/edgelab/workloads"
)

// MaxPoints bounds the values of one Range.
const MaxPoints = 1000

// MaxGridPoints bounds the points of a Grid, the product of its ranges'
// sizes.
const MaxGridPoints = 10000

// DefaultPoints is the number of values of a sweep range given without a
// step.
const DefaultPoints = 10

// ErrInterrupted is wrapped by the errors of Sweep and Capacity when ctx
// was cancelled: what they return alongside is what finished.
var ErrInterrupted = errors.New("interrupted")

// Range is the values of one scenario key, From to To (inclusive when
// reached) by Step.
type Range struct {
	Key            string
	From, To, Step float64
}

// ParseVary parses the --vary flag "key=from..to[:step]", e.g.
// "clients.arrival.rate=100..1000:100". Without a step the range has
// DefaultPoints evenly spaced values (one when from = to). from ≤ to,
// step > 0 and at most MaxPoints values.
func ParseVary(s string) (Range, error) {
	return parseVary(s, func(from, to float64) float64 { return (to - from) / (DefaultPoints - 1) })
}

// ParseCapacityVary parses --vary for a capacity search. Without a step,
// integer bounds step by 1 (instance counts, concurrency) and other
// bounds by a hundredth of the range.
func ParseCapacityVary(s string) (Range, error) {
	return parseVary(s, func(from, to float64) float64 {
		if isInt(from) && isInt(to) && to-from < MaxPoints {
			return 1
		}
		return (to - from) / 100
	})
}

func parseVary(s string, defStep func(from, to float64) float64) (Range, error) {
	bad := func(format string, args ...any) (Range, error) {
		return Range{}, fmt.Errorf("--vary %q: %s", s, fmt.Sprintf(format, args...))
	}
	key, spec, ok := strings.Cut(s, "=")
	key = strings.TrimSpace(key)
	if !ok || key == "" {
		return bad("want key=from..to[:step], e.g. clients.arrival.rate=100..1000:100")
	}
	spec, stepText, hasStep := strings.Cut(spec, ":")
	fromText, toText, ok := strings.Cut(spec, "..")
	if !ok {
		return bad("range %q: want from..to, e.g. 100..1000", spec)
	}
	num := func(what, text string) (float64, error) {
		v, err := strconv.ParseFloat(strings.TrimSpace(text), 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return 0, fmt.Errorf("%s %q is not a number", what, text)
		}
		return v, nil
	}
	r := Range{Key: key}
	var err error
	if r.From, err = num("from", fromText); err != nil {
		return bad("%v", err)
	}
	if r.To, err = num("to", toText); err != nil {
		return bad("%v", err)
	}
	if r.From > r.To {
		return bad("from %g is greater than to %g", r.From, r.To)
	}
	if hasStep {
		if r.Step, err = num("step", stepText); err != nil {
			return bad("%v", err)
		}
		if r.Step <= 0 {
			return bad("step %q must be greater than 0", stepText)
		}
	} else if r.From == r.To {
		r.Step = 1
	} else {
		r.Step = defStep(r.From, r.To)
	}
	if n := math.Floor((r.To-r.From)/r.Step+1e-9) + 1; n > MaxPoints {
		return bad("%.0f values; at most %d (use a larger step)", n, MaxPoints)
	}
	return r, nil
}

// Points returns the range's values in increasing order: From, From+Step,
// ... up to To, which is included exactly when reached within a
// tolerance of 1e-9 steps. Values are rounded to 12 significant digits
// (so 0.1 steps give 0.3, not 0.30000000000000004).
func (r Range) Points() []float64 {
	if r.Step <= 0 || r.To < r.From {
		return []float64{r.From}
	}
	n := int(math.Min(math.Floor((r.To-r.From)/r.Step+1e-9), MaxPoints-1)) + 1
	out := make([]float64, n)
	for i := range out {
		v := r.From + float64(i)*r.Step
		if math.Abs(v-r.To) <= 1e-9*r.Step {
			v = r.To
		}
		out[i] = round12(v)
	}
	return out
}

// Integer reports whether every value of the range is an integer.
func (r Range) Integer() bool { return isInt(r.From) && isInt(r.To) && isInt(r.Step) }

// Set returns the --set override for value v: integers are written
// without a decimal point, so that integer keys (counts) accept them.
func (r Range) Set(v float64) string { return r.Key + "=" + FormatValue(v) }

// String renders the range as a --vary flag with its step made explicit,
// "key=from..to:step"; ParseVary and ParseCapacityVary both read it back
// to the same range.
func (r Range) String() string {
	return r.Key + "=" + FormatValue(r.From) + ".." + FormatValue(r.To) + ":" + FormatValue(r.Step)
}

// FormatValue writes v as --set and the reports show it: "7", "0.25".
func FormatValue(v float64) string {
	if isInt(v) {
		return strconv.FormatInt(int64(v), 10)
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

func isInt(v float64) bool { return v == math.Trunc(v) && math.Abs(v) < 1<<53 }

func round12(v float64) float64 {
	r, err := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 12, 64), 64)
	if err != nil {
		return v
	}
	return r
}

// Loader loads the scenario with extra "key=value" overrides applied
// after the user's own (see workloads.Load).
type Loader func(sets []string) (*workloads.Scenario, error)

// Grid is the cartesian product of ranges: a sweep runs one point per
// combination of their values. Points are in lexicographic order of their
// values, the first range outermost (it changes slowest) and the last
// innermost, so a one-range grid is that range in increasing order.
type Grid []Range

// NewGrid checks that the ranges vary distinct keys and that the grid has
// at most MaxGridPoints points. Errors name the --vary flag.
func NewGrid(ranges ...Range) (Grid, error) {
	if len(ranges) == 0 {
		return nil, errors.New("--vary: want at least one key=from..to[:step]")
	}
	n := 1
	for i, r := range ranges {
		for _, prev := range ranges[:i] {
			if prev.Key == r.Key {
				return nil, fmt.Errorf("--vary: key %s is varied twice", r.Key)
			}
		}
		n *= len(r.Points())
		if n > MaxGridPoints {
			return nil, fmt.Errorf("--vary: the grid of %s has more than %d points (use larger steps or fewer keys)",
				strings.Join(Grid(ranges[:i+1]).Keys(), " × "), MaxGridPoints)
		}
	}
	return Grid(ranges), nil
}

// Keys returns the varied keys, outermost first.
func (g Grid) Keys() []string {
	keys := make([]string, len(g))
	for i, r := range g {
		keys[i] = r.Key
	}
	return keys
}

// Points returns every point's values, one per range in the grid's order,
// points in the grid's order.
func (g Grid) Points() [][]float64 {
	if len(g) == 0 {
		return nil
	}
	axes := make([][]float64, len(g))
	n := 1
	for i, r := range g {
		axes[i] = r.Points()
		n *= len(axes[i])
	}
	out := make([][]float64, n)
	for p := range out {
		vals := make([]float64, len(g))
		rest := p
		for i := len(g) - 1; i >= 0; i-- {
			vals[i] = axes[i][rest%len(axes[i])]
			rest /= len(axes[i])
		}
		out[p] = vals
	}
	return out
}

// Sets returns the --set overrides of a point's values.
func (g Grid) Sets(values []float64) []string {
	sets := make([]string, len(g))
	for i, r := range g {
		sets[i] = r.Set(values[i])
	}
	return sets
}

// Shard selects a deterministic share of the points of a sweep (or of the
// values of a capacity range) so that Count machines can each run one
// share: shard Index (1-based) of Count owns point i (0-based) when
// i mod Count = Index − 1. Dealing points round-robin rather than in
// blocks spreads cheap and expensive points (few and many instances,
// low and high load) evenly over the shards. The zero Shard owns every
// point.
type Shard struct {
	Index int `json:"index"`
	Count int `json:"count"`
}

// ParseShard parses the --shard flag "k/N", 1 ≤ k ≤ N.
func ParseShard(s string) (Shard, error) {
	k, n, ok := strings.Cut(s, "/")
	ki, err1 := strconv.Atoi(strings.TrimSpace(k))
	ni, err2 := strconv.Atoi(strings.TrimSpace(n))
	if !ok || err1 != nil || err2 != nil {
		return Shard{}, fmt.Errorf("--shard %q: want k/N, e.g. --shard 2/3 for the second of three shards", s)
	}
	if ni < 1 || ki < 1 || ki > ni {
		return Shard{}, fmt.Errorf("--shard %q: want 1 ≤ k ≤ N", s)
	}
	if ni > MaxGridPoints {
		return Shard{}, fmt.Errorf("--shard %q: at most %d shards", s, MaxGridPoints)
	}
	return Shard{Index: ki, Count: ni}, nil
}

// Whole reports whether s is the zero Shard, which owns every point.
func (s Shard) Whole() bool { return s.Count == 0 }

// Owns reports whether point i belongs to the shard.
func (s Shard) Owns(i int) bool { return s.Whole() || i%s.Count == s.Index-1 }

// Size returns how many of n points the shard owns.
func (s Shard) Size(n int) int {
	if s.Whole() {
		return n
	}
	if s.Index > n {
		return 0
	}
	return (n-s.Index)/s.Count + 1
}

// String renders the shard as "k/N" ("" for the zero Shard).
func (s Shard) String() string {
	if s.Whole() {
		return ""
	}
	return strconv.Itoa(s.Index) + "/" + strconv.Itoa(s.Count)
}

// SweepOptions tune how the points of a sweep (or of a sharded capacity
// range) are run. Results do not depend on Parallel or Progress.
type SweepOptions struct {
	// Parallel bounds the points simulated at once (0 = GOMAXPROCS: one
	// per CPU the process may use, which in a container is its CPU
	// limit).
	Parallel int
	// Shard restricts the run to its share of the points (zero = all).
	Shard Shard
	// Progress, when not nil, is called each time a point finishes, from
	// the goroutine that ran it: it must be safe for concurrent use.
	Progress func()
}

// SweepPoint is the results of one point of a sweep.
type SweepPoint struct {
	// Index is the point's position in the grid (0-based), which says
	// which shard owns it. It is not part of sweep.json.
	Index int `json:"-"`
	// Value is the point's value of the first (outermost) key.
	Value float64 `json:"value"`
	// Values are the point's values of every key, in the grid's order;
	// only set (and written) when more than one key is varied.
	Values  []float64        `json:"values,omitempty"`
	Results *reports.Results `json:"results"`
}

// forEach calls run(ctx, i) for every index below n that so.Shard owns, in
// index order, up to so.Parallel at once, and so.Progress after each
// success. The first error cancels the runs still going and is returned
// (an error wrapping ErrInterrupted only when no other occurred);
// cancellation of ctx stops dispatching.
func forEach(ctx context.Context, n int, so SweepOptions, run func(ctx context.Context, i int) error) error {
	parallel := so.Parallel
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
		if !so.Shard.Owns(i) {
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
			if so.Progress != nil {
				so.Progress()
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

// pointOptions shares the CPUs between points run at once rather than
// oversubscribing them, unless opt.Parallel is set.
func pointOptions(opt Options, so SweepOptions, n int) Options {
	parallel := so.Parallel
	if parallel <= 0 {
		parallel = runtime.GOMAXPROCS(0)
	}
	if opt.Parallel == 0 {
		opt.Parallel = max(1, runtime.GOMAXPROCS(0)/max(1, min(parallel, n)))
	}
	return opt
}

// Sweep runs the scenario once per point of g that so.Shard owns, with
// the point's overrides applied, up to so.Parallel at once, and returns
// the points in grid order whatever order they finished in. Every
// scenario is loaded before any simulation starts, so bad input fails
// fast. Results do not depend on so.Parallel. When ctx is cancelled,
// Sweep stops and returns the points that ran to their end, with an error
// wrapping ErrInterrupted.
func Sweep(ctx context.Context, load Loader, g Grid, opt Options, so SweepOptions) ([]SweepPoint, error) {
	if len(g) == 0 {
		return nil, errors.New("sweep: no range to vary")
	}
	points := g.Points()
	scs := make([]*workloads.Scenario, len(points))
	for i, vals := range points {
		if !so.Shard.Owns(i) {
			continue
		}
		sc, err := load(g.Sets(vals))
		if err != nil {
			return nil, err
		}
		scs[i] = sc
	}
	opt = pointOptions(opt, so, so.Shard.Size(len(points)))
	out := make([]*reports.Results, len(points))
	err := forEach(ctx, len(points), so, func(ctx context.Context, i int) error {
		res, err := Run(ctx, scs[i], opt)
		if err != nil {
			return fmt.Errorf("%s: %w", strings.Join(g.Sets(points[i]), " "), err)
		}
		out[i] = res
		return nil
	})
	if err != nil {
		return nil, err
	}
	var done []SweepPoint
	for i, res := range out {
		if res != nil && !res.Partial {
			// A sweep's output is a function of its inputs alone, so that
			// shards run anywhere merge into exactly the unsharded file:
			// the points carry no wall time.
			for r := range res.Runs {
				if res.Runs[r].Sim != nil {
					res.Runs[r].Sim.WallS = 0
				}
			}
			p := SweepPoint{Index: i, Value: points[i][0], Results: res}
			if len(g) > 1 {
				p.Values = points[i]
			}
			done = append(done, p)
		}
	}
	if want := so.Shard.Size(len(points)); ctx.Err() != nil || len(done) < want {
		return done, fmt.Errorf("sweep of %s: %d of %d points finished: %w", strings.Join(g.Keys(), " × "), len(done), want, ErrInterrupted)
	}
	return done, nil
}

// SLO is a service-level objective (reports.SLO, which renders and checks
// it).
type SLO = reports.SLO

// ParseSLO parses the --slo flag "p99=200ms,mean=50ms,availability=99.9":
// comma-separated terms, at least one, each at most once; latencies are
// Go durations with a unit, availability a percentage in (0, 100] (a
// trailing "%" is allowed).
func ParseSLO(s string) (SLO, error) {
	var slo SLO
	if strings.TrimSpace(s) == "" {
		return slo, errors.New("--slo: want at least one term, e.g. p99=200ms,availability=99.9")
	}
	seen := map[string]bool{}
	for _, term := range strings.Split(s, ",") {
		bad := func(format string, args ...any) (SLO, error) {
			return SLO{}, fmt.Errorf("--slo term %q: %s", term, fmt.Sprintf(format, args...))
		}
		k, v, ok := strings.Cut(term, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || k == "" || v == "" {
			return bad("want name=value, e.g. p99=200ms")
		}
		if seen[k] {
			return bad("%s is given twice", k)
		}
		seen[k] = true
		switch k {
		case "p99", "mean":
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return bad("want a positive duration with a unit, e.g. %s=200ms", k)
			}
			ms := float64(d) / float64(time.Millisecond)
			if k == "p99" {
				slo.P99MS = ms
			} else {
				slo.MeanMS = ms
			}
		case "availability":
			a, err := strconv.ParseFloat(strings.TrimSuffix(v, "%"), 64)
			if err != nil || !(a > 0 && a <= 100) {
				return bad("want a percentage in (0, 100], e.g. availability=99.9")
			}
			slo.Availability = a
		default:
			return bad("unknown objective %q (known: p99, mean, availability)", k)
		}
	}
	return slo, nil
}

// Probe is one evaluated value of a capacity search: the worst of the
// strategies run (highest p99 and mean, lowest availability).
type Probe struct {
	// Index is the value's position in the range (0-based), which says
	// which shard owns it. It is not part of capacity.json.
	Index  int     `json:"-"`
	Value  float64 `json:"value"`
	P99MS  float64 `json:"p99_ms"`
	MeanMS float64 `json:"mean_ms"`
	// Availability is in percent, like the SLO's.
	Availability float64 `json:"availability"`
	Meets        bool    `json:"meets"`
}

// CapacityAnswer is the result of a capacity search.
type CapacityAnswer struct {
	Key string `json:"key"`
	// Answer is the smallest value meeting the SLO; nil when none does.
	Answer *float64 `json:"answer"`
	SLO    SLO      `json:"slo"`
	// Probes are the values evaluated, in increasing order.
	Probes []Probe `json:"probes"`
	// Monotonic is false when a probed value failed the SLO although a
	// smaller probed value met it; the answer then comes from a linear
	// scan of every value.
	Monotonic bool `json:"monotonic"`
	// Tolerate records N+k planning: the SLO was required with this many
	// instances of the group crashed for the whole run (0 = none).
	Tolerate int `json:"tolerate_crash,omitempty"`
	// MonthlyCost prices the fleet at the answer with the scenario's
	// cost block (instances × per_instance_hour × 730 h); 0 without one.
	MonthlyCost float64 `json:"monthly_cost,omitempty"`
}

// probe evaluates value v's results against the SLO: the worst of the
// strategies' figures, meeting it only if every strategy does.
func probe(s SLO, v float64, res *reports.Results) Probe {
	p := Probe{Value: v, Availability: 100, Meets: len(res.Runs) > 0}
	for i := range res.Runs {
		run := &res.Runs[i]
		p.P99MS = math.Max(p.P99MS, run.LatencyMS.P99)
		p.MeanMS = math.Max(p.MeanMS, run.LatencyMS.Mean)
		p.Availability = math.Min(p.Availability, 100*run.Availability)
		p.Meets = p.Meets && s.Meets(run)
	}
	return p
}

// Capacity finds the smallest value of r whose run meets the SLO. The
// SLO must hold for every strategy in opt.Strategies; when that is empty,
// only the scenario's own strategy (balancer.strategy, not its compare
// list) is run, as the one being planned for. progress, when not nil, is
// called after each probe.
//
// The search assumes that more of the key never hurts (monotonicity): it
// probes the smallest and largest values, binary-searches the values
// between, then probes the value just above the answer. If any probed
// value failed while a smaller probed value met the SLO, the answer has
// Monotonic false and comes from a linear scan down from the largest
// value: the smallest value such that it and every larger value meet the
// SLO (more capacity must not break it). When ctx is cancelled, Capacity
// returns the probes made so far, no answer, and an error wrapping
// ErrInterrupted.
func Capacity(ctx context.Context, load Loader, r Range, slo SLO, opt Options, progress func()) (CapacityAnswer, error) {
	values := r.Points()
	return CapacitySearch(r, slo, func(i int) (Probe, error) {
		p, err := capacityProbe(ctx, load, r.Set(values[i]), r.Key, slo, opt)
		if err != nil {
			return p, err
		}
		p.Index, p.Value = i, values[i]
		if progress != nil {
			progress()
		}
		return p, nil
	})
}

// capacityProbe runs the scenario with set applied, as Capacity does, and
// evaluates it against the SLO (the probe's Value is left to the caller).
func capacityProbe(ctx context.Context, load Loader, set, key string, slo SLO, opt Options) (Probe, error) {
	sc, err := load([]string{set})
	if err != nil {
		return Probe{}, err
	}
	if len(opt.Strategies) == 0 {
		if err := plan.Check(sc); err != nil {
			return Probe{}, err
		}
		opt.Strategies = sc.Strategies()[:1]
	}
	res, err := Run(ctx, sc, opt)
	if err != nil {
		return Probe{}, fmt.Errorf("%s: %w", set, err)
	}
	if res.Partial || ctx.Err() != nil {
		return Probe{}, fmt.Errorf("capacity search of %s: %w", key, ErrInterrupted)
	}
	return probe(slo, 0, res), nil
}

// CapacitySearch makes the decisions of Capacity's search over the values
// of r, getting the probe of values[i] from eval (called at most once per
// index, in the search's order). Capacity calls it with one simulation
// per probe; merging the shards of a capacity run calls it with probes of
// every value made in advance, and so gives the same answer and the same
// probe list as the unsharded search. An error from eval ends the search:
// the answer then has the probes made so far and no value.
func CapacitySearch(r Range, slo SLO, eval func(i int) (Probe, error)) (CapacityAnswer, error) {
	ans := CapacityAnswer{Key: r.Key, SLO: slo, Monotonic: true}
	values := r.Points()
	probes := map[int]Probe{}
	finish := func(err error) (CapacityAnswer, error) {
		idx := make([]int, 0, len(probes))
		for i := range probes {
			idx = append(idx, i)
		}
		sort.Ints(idx)
		for _, i := range idx {
			ans.Probes = append(ans.Probes, probes[i])
		}
		return ans, err
	}
	meets := func(i int) (bool, error) {
		if p, ok := probes[i]; ok {
			return p.Meets, nil
		}
		p, err := eval(i)
		if err != nil {
			return false, err
		}
		p.Index = i
		probes[i] = p
		return p.Meets, nil
	}
	n := len(values)
	// Invariant: values below lo fail, hi is the smallest known to meet (n
	// when none is known).
	lo, hi := 0, n
	ok, err := meets(n - 1)
	if err != nil {
		return finish(err)
	}
	if ok {
		hi = n - 1
		if ok, err = meets(0); err != nil {
			return finish(err)
		} else if ok {
			hi = 0
		} else {
			lo = 1
		}
	} else {
		lo = n // even the largest value fails
	}
	for lo < hi {
		mid := lo + (hi-lo)/2
		ok, err := meets(mid)
		if err != nil {
			return finish(err)
		}
		if ok {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	if hi+1 < n {
		if _, err := meets(hi + 1); err != nil { // check the neighbour above
			return finish(err)
		}
	}
	if !monotonic(probes) {
		ans.Monotonic = false
		hi = n
		for i := n - 1; i >= 0; i-- {
			ok, err := meets(i)
			if err != nil {
				return finish(err)
			}
			if !ok {
				break
			}
			hi = i
		}
	}
	if hi < n {
		v := values[hi]
		ans.Answer = &v
	}
	return finish(nil)
}

// CapacityProbes evaluates every value of r that so.Shard owns, as
// Capacity would probe it (same loader, strategies and SLO), up to
// so.Parallel values at once, and returns the probes in value order, each
// with its Index in r.Points(). It is the work of one shard of a capacity
// search: with the probes of every value, CapacitySearch reproduces
// Capacity's answer without running anything. When ctx is cancelled it
// returns the probes that finished, with an error wrapping
// ErrInterrupted.
func CapacityProbes(ctx context.Context, load Loader, r Range, slo SLO, opt Options, so SweepOptions) ([]Probe, error) {
	values := r.Points()
	opt = pointOptions(opt, so, so.Shard.Size(len(values)))
	out := make([]*Probe, len(values))
	err := forEach(ctx, len(values), so, func(ctx context.Context, i int) error {
		p, err := capacityProbe(ctx, load, r.Set(values[i]), r.Key, slo, opt)
		if err != nil {
			return err
		}
		p.Index, p.Value = i, values[i]
		out[i] = &p
		return nil
	})
	var probes []Probe
	for _, p := range out {
		if p != nil {
			probes = append(probes, *p)
		}
	}
	if err != nil && !errors.Is(err, ErrInterrupted) {
		return nil, err
	}
	if want := so.Shard.Size(len(values)); err != nil || ctx.Err() != nil || len(probes) < want {
		return probes, fmt.Errorf("capacity probes of %s: %d of %d values finished: %w", r.Key, len(probes), want, ErrInterrupted)
	}
	return probes, nil
}

// monotonic reports whether no probe fails above a probe that meets.
func monotonic(probes map[int]Probe) bool {
	minMeet, maxFail := math.MaxInt, -1
	for i, p := range probes {
		if p.Meets {
			minMeet = min(minMeet, i)
		} else {
			maxFail = max(maxFail, i)
		}
	}
	return maxFail < minMeet
}
