package experiment

// Capacity searches: the smallest value of a key whose run meets a
// service-level objective, with N+k tolerance and the fleet's cost.

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/edgelab/edgelab/plan"
	"github.com/edgelab/edgelab/reports"
	"github.com/edgelab/edgelab/sim"
	"github.com/edgelab/edgelab/workloads"
)

// Objective is what a capacity search requires of a value: that its run
// meets SLO, for every strategy run, with Tolerate instances of the varied
// group crashed for the whole run (N+k planning; 0 = none).
type Objective struct {
	SLO      reports.SLO
	Tolerate int
}

// ParseSLO parses the --slo flag "p99=200ms,mean=50ms,availability=99.9":
// comma-separated terms, at least one, each at most once; latencies are
// Go durations with a unit, availability a percentage in (0, 100] (a
// trailing "%" is allowed).
func ParseSLO(s string) (reports.SLO, error) {
	var slo reports.SLO
	if strings.TrimSpace(s) == "" {
		return slo, errors.New("--slo: want at least one term, e.g. p99=200ms,availability=99.9")
	}
	seen := map[string]bool{}
	for _, term := range strings.Split(s, ",") {
		bad := func(format string, args ...any) (reports.SLO, error) {
			return reports.SLO{}, fmt.Errorf("--slo term %q: %s", term, fmt.Sprintf(format, args...))
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
			// availability=0.999 means three nines to whoever writes it,
			// not 0.999 %: a fraction is refused rather than misread.
			if a <= 1 && !strings.HasSuffix(v, "%") {
				return bad("availability is a percentage: write availability=%g for %g%% (or %g%% if you mean it)", a*100, a*100, a)
			}
			slo.Availability = a
		default:
			return bad("unknown objective %q (known: p99, mean, availability)", k)
		}
	}
	return slo, nil
}

// probe evaluates value v's results against the SLO: the worst of the
// strategies' figures, meeting it only if every strategy does.
func probe(s reports.SLO, v float64, res *reports.Results) reports.CapacityProbe {
	p := reports.CapacityProbe{Value: v, Availability: 100, Meets: len(res.Runs) > 0}
	for i := range res.Runs {
		run := &res.Runs[i]
		p.P99MS = math.Max(p.P99MS, run.LatencyMS.P99)
		p.MeanMS = math.Max(p.MeanMS, run.LatencyMS.Mean)
		p.Availability = math.Min(p.Availability, 100*run.Availability)
		p.Meets = p.Meets && s.Meets(run)
	}
	return p
}

// Capacity finds the smallest value of rng whose run meets the objective
// and returns the content of capacity.json. The SLO must hold for every
// strategy in r.Sim.Strategies; when that is empty, only the scenario's
// own strategy (balancer.strategy, not its compare list) is run, as the
// one being planned for. r.Progress, when not nil, is called after each
// probe; the search is sequential, so r.Parallel and r.Shard do not
// apply. With obj.Tolerate = k, the first k instances of the group the
// key names (servers[i]...; the first group otherwise) crash at time zero
// and stay down in every probe. The answer's MonthlyCost prices the fleet
// at the answer with the scenario's cost block.
//
// The search assumes that more of the key never hurts (monotonicity): it
// probes the smallest and largest values, binary-searches the values
// between, then probes the value just above the answer. If any probed
// value failed while a smaller probed value met the SLO, the answer has
// Monotonic false and comes from a linear scan down from the largest
// value: the smallest value such that it and every larger value meet the
// SLO (more capacity must not break it). When ctx is cancelled, Capacity
// returns the probes made so far, no answer, marked Partial, and an error
// wrapping ErrInterrupted.
func (r Runner) Capacity(ctx context.Context, rng Range, obj Objective) (*reports.CapacityReport, error) {
	values := rng.Points()
	load := tolerating(r.Load, rng.Key, obj.Tolerate)
	ans, err := CapacitySearch(rng, obj, func(i int) (reports.CapacityProbe, error) {
		p, err := capacityProbe(ctx, load, rng.Set(values[i]), rng.Key, obj.SLO, r.Sim)
		if err != nil {
			return p, err
		}
		p.Index, p.Value = i, values[i]
		if r.Progress != nil {
			r.Progress()
		}
		return p, nil
	})
	if ans.Answer != nil {
		ans.MonthlyCost = monthlyCost(r.Load, rng, *ans.Answer)
	}
	return ans, err
}

// capacityProbe runs the scenario with set applied, as Capacity does, and
// evaluates it against the SLO (the probe's Value is left to the caller).
func capacityProbe(ctx context.Context, load Loader, set, key string, slo reports.SLO, opt sim.Options) (reports.CapacityProbe, error) {
	sc, err := load([]string{set})
	if err != nil {
		return reports.CapacityProbe{}, err
	}
	if len(opt.Strategies) == 0 {
		if err := plan.Check(sc); err != nil {
			return reports.CapacityProbe{}, err
		}
		opt.Strategies = sc.Strategies()[:1]
	}
	res, err := sim.Run(ctx, sc, opt)
	if err != nil {
		return reports.CapacityProbe{}, fmt.Errorf("%s: %w", set, err)
	}
	if res.Partial || ctx.Err() != nil {
		return reports.CapacityProbe{}, fmt.Errorf("capacity search of %s: %w", key, ErrInterrupted)
	}
	return probe(slo, 0, res), nil
}

// CapacitySearch makes the decisions of Capacity's search over the values
// of rng, getting the probe of values[i] from eval (called at most once
// per index, in the search's order), and returns the content of
// capacity.json without a monthly cost. Capacity calls it with one
// simulation per probe; merging the shards of a capacity run calls it
// with probes of every value made in advance, and so gives the same
// answer and the same probe list as the unsharded search. An error from
// eval ends the search: the answer then has the probes made so far and no
// value, and is marked Partial when the error wraps ErrInterrupted.
func CapacitySearch(rng Range, obj Objective, eval func(i int) (reports.CapacityProbe, error)) (*reports.CapacityReport, error) {
	ans := &reports.CapacityReport{Key: rng.Key, SLO: obj.SLO, Monotonic: true, Tolerate: obj.Tolerate}
	values := rng.Points()
	probes := map[int]reports.CapacityProbe{}
	finish := func(err error) (*reports.CapacityReport, error) {
		idx := make([]int, 0, len(probes))
		for i := range probes {
			idx = append(idx, i)
		}
		sort.Ints(idx)
		for _, i := range idx {
			ans.Probes = append(ans.Probes, probes[i])
		}
		ans.Partial = errors.Is(err, ErrInterrupted)
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

// CapacityProbes evaluates every value of rng that r.Shard owns, as
// Capacity would probe it (same loader, strategies and objective), up to
// r.Parallel values at once, and returns the probes in value order, each
// with its Index in rng.Points(). It is the work of one shard of a
// capacity search: with the probes of every value, CapacitySearch
// reproduces Capacity's answer without running anything. When ctx is
// cancelled it returns the probes that finished, with an error wrapping
// ErrInterrupted.
func (r Runner) CapacityProbes(ctx context.Context, rng Range, obj Objective) ([]reports.CapacityProbe, error) {
	values := rng.Points()
	load := tolerating(r.Load, rng.Key, obj.Tolerate)
	opt := r.pointOptions(r.Shard.Size(len(values)))
	out := make([]*reports.CapacityProbe, len(values))
	err := r.forEach(ctx, len(values), func(ctx context.Context, i int) error {
		p, err := capacityProbe(ctx, load, rng.Set(values[i]), rng.Key, obj.SLO, opt)
		if err != nil {
			return err
		}
		p.Index, p.Value = i, values[i]
		out[i] = &p
		return nil
	})
	var probes []reports.CapacityProbe
	for _, p := range out {
		if p != nil {
			probes = append(probes, *p)
		}
	}
	if err != nil && !errors.Is(err, ErrInterrupted) {
		return nil, err
	}
	if want := r.Shard.Size(len(values)); err != nil || ctx.Err() != nil || len(probes) < want {
		return probes, fmt.Errorf("capacity probes of %s: %d of %d values finished: %w", rng.Key, len(probes), want, ErrInterrupted)
	}
	return probes, nil
}

// SearchProbes is the number of probes a monotonic capacity search over n
// values makes at most (the ends, the bisection, the neighbour above): a
// progress bar's estimated total, which a non-monotonic search exceeds.
func SearchProbes(n int) int {
	if n <= 2 {
		return n
	}
	return min(n, 3+bits.Len(uint(n-2)))
}

var groupIndexRE = regexp.MustCompile(`^servers\[(\d+)\]`)

// tolerating wraps a loader so that the first k instances of the group
// named by key (servers[i]...; the first group otherwise) crash at time
// zero and stay down: the SLO must then hold on the remaining instances,
// as N+k capacity planning requires.
func tolerating(load Loader, key string, k int) Loader {
	if k == 0 {
		return load
	}
	g := 0
	if m := groupIndexRE.FindStringSubmatch(key); m != nil {
		g, _ = strconv.Atoi(m[1])
	}
	return func(sets []string) (*workloads.Scenario, error) {
		sc, err := load(sets)
		if err != nil || g >= len(sc.Servers) {
			return sc, err
		}
		down := make([]int, k)
		for i := range down {
			down[i] = i
		}
		sc.Servers[g].Failures = append(sc.Servers[g].Failures, workloads.Failure{Kind: workloads.FailCrash, Instances: down})
		return sc, nil
	}
}

// monthlyCost prices the fleet at value v of rng with the scenario's cost
// block, rounded to cents (0 without one).
func monthlyCost(load Loader, rng Range, v float64) float64 {
	at, err := load([]string{rng.Set(v)})
	if err != nil {
		return 0
	}
	return math.Round(at.MonthlyCost()*100) / 100
}

// monotonic reports whether no probe fails above a probe that meets.
func monotonic(probes map[int]reports.CapacityProbe) bool {
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
