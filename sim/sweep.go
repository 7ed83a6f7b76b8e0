package sim

// Sweeps and capacity searches: run one scenario at several values of one
// numeric key (applied as "--set key=value"), and find the smallest value
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

	"github.com/edgelab/edgelab/reports"
	"github.com/edgelab/edgelab/workloads"
)

// MaxPoints bounds the values of one Range.
const MaxPoints = 1000

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

// SweepPoint is the results of one value of a sweep.
type SweepPoint struct {
	Value   float64          `json:"value"`
	Results *reports.Results `json:"results"`
}

// Sweep runs the scenario once per value of r, with r.Set(value) applied,
// up to parallel at once (0 = one per CPU), and returns the points in
// value order whatever order they finished in. Every scenario is loaded
// before any simulation starts, so bad input fails fast. Results do not
// depend on parallel. When ctx is cancelled, Sweep stops and returns the
// points that ran to their end, with an error wrapping ErrInterrupted.
func Sweep(ctx context.Context, load Loader, r Range, opt Options, parallel int) ([]SweepPoint, error) {
	values := r.Points()
	scs := make([]*workloads.Scenario, len(values))
	for i, v := range values {
		sc, err := load([]string{r.Set(v)})
		if err != nil {
			return nil, err
		}
		scs[i] = sc
	}
	if parallel <= 0 {
		parallel = runtime.NumCPU()
	}
	if opt.Parallel == 0 {
		// Share the CPUs between points rather than oversubscribe them.
		opt.Parallel = max(1, runtime.NumCPU()/parallel)
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	out := make([]*reports.Results, len(values))
	errs := make([]error, len(values))
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
dispatch:
	for i := range values {
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
			res, err := Run(runCtx, scs[i], opt)
			if err != nil {
				errs[i] = fmt.Errorf("%s: %w", r.Set(values[i]), err)
				cancel() // a failing run stops the sweep
				return
			}
			out[i] = res
		}(i)
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	var points []SweepPoint
	for i, res := range out {
		if res != nil && !res.Partial {
			points = append(points, SweepPoint{Value: values[i], Results: res})
		}
	}
	if ctx.Err() != nil || len(points) < len(values) {
		return points, fmt.Errorf("sweep of %s: %d of %d points finished: %w", r.Key, len(points), len(values), ErrInterrupted)
	}
	return points, nil
}

// SLO is a service-level objective; zero fields are not checked.
type SLO struct {
	// P99MS and MeanMS bound the response time of ok requests.
	P99MS  float64 `json:"p99_ms,omitempty"`
	MeanMS float64 `json:"mean_ms,omitempty"`
	// Availability is the least ok / (ok + failed), in percent (99.9).
	Availability float64 `json:"availability,omitempty"`
}

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

// String renders the SLO as "p99 ≤ 200ms, availability ≥ 99.9%".
func (s SLO) String() string {
	var parts []string
	ms := func(v float64) string { return time.Duration(v * float64(time.Millisecond)).String() }
	if s.P99MS > 0 {
		parts = append(parts, "p99 ≤ "+ms(s.P99MS))
	}
	if s.MeanMS > 0 {
		parts = append(parts, "mean ≤ "+ms(s.MeanMS))
	}
	if s.Availability > 0 {
		parts = append(parts, fmt.Sprintf("availability ≥ %g%%", s.Availability))
	}
	return strings.Join(parts, ", ")
}

// Probe is one evaluated value of a capacity search: the worst of the
// strategies run (highest p99 and mean, lowest availability).
type Probe struct {
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

// probe evaluates value v's results against the SLO. A run with no ok
// request meets no objective.
func (s SLO) probe(v float64, res *reports.Results) Probe {
	p := Probe{Value: v, Availability: 100, Meets: len(res.Runs) > 0}
	for _, run := range res.Runs {
		p.P99MS = math.Max(p.P99MS, run.LatencyMS.P99)
		p.MeanMS = math.Max(p.MeanMS, run.LatencyMS.Mean)
		p.Availability = math.Min(p.Availability, 100*run.Availability)
		if run.OK == 0 ||
			(s.P99MS > 0 && run.LatencyMS.P99 > s.P99MS) ||
			(s.MeanMS > 0 && run.LatencyMS.Mean > s.MeanMS) ||
			(s.Availability > 0 && 100*run.Availability < s.Availability) {
			p.Meets = false
		}
	}
	return p
}

// Capacity finds the smallest value of r whose run meets the SLO. The
// SLO must hold for every strategy in opt.Strategies; when that is empty,
// only the scenario's own strategy (balancer.strategy, not its compare
// list) is run, as the one being planned for.
//
// The search assumes that more of the key never hurts (monotonicity): it
// probes the smallest and largest values, binary-searches the values
// between, then probes the value just above the answer. If any probed
// value failed while a smaller probed value met the SLO, the answer has
// Monotonic false and comes from a linear scan down from the largest
// value: the smallest value such that it and every larger value meet the
// SLO (more capacity must not break it). When
// ctx is cancelled, Capacity returns the probes made so far, no answer,
// and an error wrapping ErrInterrupted.
func Capacity(ctx context.Context, load Loader, r Range, slo SLO, opt Options) (CapacityAnswer, error) {
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
	eval := func(i int) (bool, error) {
		if p, ok := probes[i]; ok {
			return p.Meets, nil
		}
		sc, err := load([]string{r.Set(values[i])})
		if err != nil {
			return false, err
		}
		o := opt
		if len(o.Strategies) == 0 {
			if err := Check(sc); err != nil {
				return false, err
			}
			o.Strategies = sc.Strategies()[:1]
		}
		res, err := Run(ctx, sc, o)
		if err != nil {
			return false, fmt.Errorf("%s: %w", r.Set(values[i]), err)
		}
		if res.Partial || ctx.Err() != nil {
			return false, fmt.Errorf("capacity search of %s: %w", r.Key, ErrInterrupted)
		}
		probes[i] = slo.probe(values[i], res)
		return probes[i].Meets, nil
	}
	n := len(values)
	// Invariant: values below lo fail, hi is the smallest known to meet (n
	// when none is known).
	lo, hi := 0, n
	ok, err := eval(n - 1)
	if err != nil {
		return finish(err)
	}
	if ok {
		hi = n - 1
		if ok, err = eval(0); err != nil {
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
		ok, err := eval(mid)
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
		if _, err := eval(hi + 1); err != nil { // check the neighbour above
			return finish(err)
		}
	}
	if !monotonic(probes) {
		ans.Monotonic = false
		hi = n
		for i := n - 1; i >= 0; i-- {
			ok, err := eval(i)
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
