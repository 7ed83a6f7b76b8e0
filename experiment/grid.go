package experiment

// Ranges of values of a scenario key (the --vary flag) and grids of them.

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

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

// Range is the values of one scenario key, From to To (inclusive when
// reached) by Step.
type Range struct {
	Key            string
	From, To, Step float64
}

// ParseVary parses the --vary flag of sweep and capacity,
// "key=from..to[:step]", e.g. "clients.arrival.rate=100..1000:100". The
// key must be a numeric scenario key. Without a step, one rule serves both
// commands: a whole-number key (counts, concurrency, queues) takes every
// whole number from..to, any other key DefaultPoints evenly spaced values
// (one when from = to). from ≤ to; the range has at most MaxPoints values.
func ParseVary(s string) (Range, error) {
	return parseVary(s)
}

func parseVary(s string) (Range, error) {
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
	kind, err := workloads.KeyKindOf(key)
	if err != nil {
		var e *workloads.Error
		if errors.As(err, &e) {
			return bad("%s: %s", key, e.Msg)
		}
		return bad("%v", err)
	}
	if kind == workloads.KeyOther {
		return bad("%s is not a numeric key; --vary varies numbers (counts, rates, concurrency, speeds, ...)", key)
	}
	r := Range{Key: key}
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
	} else if r.From == r.To || kind == workloads.KeyInteger {
		r.Step = 1
	} else {
		r.Step = (r.To - r.From) / (DefaultPoints - 1)
	}
	if kind == workloads.KeyInteger && !(isInt(r.From) && isInt(r.To) && isInt(r.Step)) {
		return bad("%s takes whole numbers: give whole-number bounds and step", key)
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
