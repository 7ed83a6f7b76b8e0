package reports

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/go-echarts/go-echarts/v2/charts"
	"github.com/go-echarts/go-echarts/v2/opts"
)

// SweepReport is the content of sweep.json, the output of a sweep
// (experiment.Runner.Sweep) and what WriteSweepHTML draws: one
// scenario's results at each point of a sweep. Key is the first
// (outermost) varied key; Keys lists every varied key and is only written
// when there are several (a grid), in which case each point's Values
// holds its value of each key in the same order (Value stays the first
// key's).
type SweepReport struct {
	// Scenario names the swept scenario for the page title; empty (as
	// sweep.json leaves it), the first point's.
	Scenario string `json:"scenario,omitempty"`
	// Key is the varied key the charts plot against (the outermost one).
	Key string `json:"key"`
	// Keys are every varied key, outermost first, when there are several.
	Keys []string `json:"keys,omitempty"`
	// Partial is true when the sweep was interrupted: Points holds only
	// the points that ran to their end.
	Partial bool         `json:"partial,omitempty"`
	Points  []SweepPoint `json:"points"`
}

// SweepPoint is the results of one point of a sweep.
type SweepPoint struct {
	// Index is the point's position in the grid (0-based), which says
	// which shard owns it. It is not part of sweep.json.
	Index int `json:"-"`
	// Value is the point's value of the first (outermost) key, the one
	// the charts plot against.
	Value float64 `json:"value"`
	// Values are the point's values of every key, in the grid's order;
	// only set (and written) when more than one key is varied. The others
	// tell the curves apart.
	Values  []float64 `json:"values,omitempty"`
	Results *Results  `json:"results"`
}

// CapacityReport is the content of capacity.json, the answer of a
// capacity search (experiment.Runner.Capacity) and what
// WriteCapacityHTML draws: the answer and the values probed.
type CapacityReport struct {
	// Scenario names the scenario searched for the page title; capacity.json
	// leaves it empty.
	Scenario string `json:"scenario,omitempty"`
	// Key is the key searched.
	Key string `json:"key"`
	// Answer is the smallest value meeting the SLO; nil when none does.
	Answer *float64 `json:"answer"`
	SLO    SLO      `json:"slo"`
	// Probes are the values evaluated, in increasing order.
	Probes []CapacityProbe `json:"probes"`
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
	// Partial is true when the search was interrupted before it
	// finished: Probes holds the probes made so far and Answer is nil.
	Partial bool `json:"partial,omitempty"`
}

// CapacityProbe is one value a capacity search evaluated: the worst
// figures over the strategies run (highest p99 and mean, lowest
// availability).
type CapacityProbe struct {
	// Index is the value's position in the searched range (0-based),
	// which says which shard owns it. It is not part of capacity.json.
	Index  int     `json:"-"`
	Value  float64 `json:"value"`
	P99MS  float64 `json:"p99_ms"`
	MeanMS float64 `json:"mean_ms"`
	// Availability is in percent, like the SLO's.
	Availability float64 `json:"availability"`
	Meets        bool    `json:"meets"`
}

// JSON renders the sweep as the bytes of sweep.json.
func (s *SweepReport) JSON() ([]byte, error) { return IndentJSON("sweep", s) }

// JSON renders the answer as the bytes of capacity.json.
func (c *CapacityReport) JSON() ([]byte, error) { return IndentJSON("capacity answer", c) }

// curve is one line of a sweep chart: a strategy, and the values of the
// other keys when several are varied.
type curve struct {
	name string
	x    []float64
	runs []*Run
}

// sweepCurves groups the points' runs into curves, in order of first
// appearance, each sorted by the charted value.
func (s *SweepReport) curves() []*curve {
	var out []*curve
	byName := map[string]*curve{}
	for _, p := range s.Points {
		if p.Results == nil {
			continue
		}
		suffix := ""
		if len(p.Values) > 1 {
			var parts []string
			for k, v := range p.Values[1:] {
				if k+1 < len(s.Keys) {
					parts = append(parts, s.Keys[k+1]+"="+fmtNum(v))
				} else {
					parts = append(parts, fmtNum(v))
				}
			}
			suffix = " (" + strings.Join(parts, ", ") + ")"
		}
		for i := range p.Results.Runs {
			run := &p.Results.Runs[i]
			name := run.Strategy + suffix
			c := byName[name]
			if c == nil {
				c = &curve{name: name}
				byName[name] = c
				out = append(out, c)
			}
			c.x = append(c.x, p.Value)
			c.runs = append(c.runs, run)
		}
	}
	for _, c := range out {
		idx := make([]int, len(c.x))
		for i := range idx {
			idx[i] = i
		}
		slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(c.x[a], c.x[b]) })
		x, runs := make([]float64, len(idx)), make([]*Run, len(idx))
		for i, j := range idx {
			x[i], runs[i] = c.x[j], c.runs[j]
		}
		c.x, c.runs = x, runs
	}
	return out
}

// Knee returns the index of the knee of the curve through (x[i], y[i]),
// x increasing, or -1 when it has none: the point farthest below the
// chord from the first point to the last, both axes scaled to [0, 1]
// (Satopää et al.'s Kneedle, for the convex curves latency draws against
// load or fleet size). With fewer than three points, a flat curve or no
// point clearly (5% of the range) below the chord there is none.
func Knee(x, y []float64) int {
	n := min(len(x), len(y))
	if n < 3 || x[n-1] <= x[0] {
		return -1
	}
	lo, hi := slices.Min(y[:n]), slices.Max(y[:n])
	if !(hi > lo) || math.IsInf(hi-lo, 0) {
		return -1
	}
	xs := func(i int) float64 { return (x[i] - x[0]) / (x[n-1] - x[0]) }
	ys := func(i int) float64 { return (y[i] - lo) / (hi - lo) }
	best, at := 0.05, -1
	for i := 1; i < n-1; i++ {
		chord := ys(0) + (ys(n-1)-ys(0))*xs(i)
		if d := chord - ys(i); d > best {
			best, at = d, i
		}
	}
	return at
}

// sweepMetric is one figure charted against the swept value.
type sweepMetric struct {
	id, title, axis string
	get             func(*Run) float64
	knee            bool
	logIfSpread     bool
}

var sweepMetrics = []sweepMetric{
	{"sweep-p99", "p99 latency", "p99 latency (ms)", func(r *Run) float64 { return r.LatencyMS.P99 }, true, true},
	{"sweep-p50", "p50 latency", "p50 latency (ms)", func(r *Run) float64 { return r.LatencyMS.P50 }, false, true},
	{"sweep-availability", "Availability", "availability (%)", func(r *Run) float64 { return 100 * r.Availability }, false, false},
	{"sweep-throughput", "Throughput", "throughput (requests/s)", func(r *Run) float64 { return r.ThroughputRPS }, false, false},
}

// WriteSweepHTML writes the self-contained HTML report of a sweep to w:
// p50, p99 (with each curve's knee marked), availability and throughput
// against the varied value, one curve per strategy, and a table of every
// point (with SLO verdicts when opt.SLO is set). Nothing is written to w
// on error; the same sweep gives the same bytes.
func WriteSweepHTML(w io.Writer, s *SweepReport, opt HTMLOptions) error {
	if s == nil || len(s.Points) == 0 {
		return errors.New("html sweep report: no points")
	}
	p := newPage(opt)
	name := s.Scenario
	if name == "" && s.Points[0].Results != nil {
		name = s.Points[0].Results.Scenario
	}
	p.Title = opt.Title
	if p.Title == "" {
		p.Title = name + " — edgelab sweep"
	}
	keys := s.Key
	if len(s.Keys) > 1 {
		keys = strings.Join(s.Keys, " × ")
	}
	p.Subtitle = fmt.Sprintf("%s — %d points varying %s", name, len(s.Points), keys)
	if s.Partial {
		p.Notes = append(p.Notes, "Partial sweep: it was interrupted; only the points that finished are shown.")
	}
	slo := opt.SLO
	if slo != nil && slo.IsZero() {
		slo = nil
	}
	cs := s.curves()
	sec := p.section("curves", "Against "+s.Key)
	knees := &table{Caption: "Knee of each p99 curve (the point farthest below the chord from the first point to the last)",
		Header: []string{"curve", s.Key + " at the knee", "p99 ms there"}}
	for _, m := range sweepMetrics {
		line := charts.NewLine()
		sub := "one curve per strategy; ok requests after warm-up"
		if m.knee {
			sub += "; pins: each curve's knee"
		}
		scale := "value"
		if m.logIfSpread && spread(cs, m.get) > 50 {
			scale = "log"
			sub += "; log scale"
		}
		line.SetGlobalOptions(globals(m.id, chartText{m.title + " against " + s.Key, sub}, "axis", true)...)
		ya := yAxis(m.axis, scale)
		ya.Scale = opts.Bool(!m.logIfSpread) // availability and throughput: zoom on the range
		line.SetGlobalOptions(charts.WithXAxisOpts(xValueAxis(s.Key)), charts.WithYAxisOpts(ya))
		for i, c := range cs {
			ys := make([]float64, len(c.runs))
			data := make([]xy, len(c.runs))
			for k, run := range c.runs {
				ys[k] = m.get(run)
				var y any = fin(ys[k])
				if scale == "log" && ys[k] <= 0 {
					y = nil
				}
				data[k] = xy{fin(c.x[k]), y}
			}
			extra := with(func(se *charts.SingleSeries) { se.ShowSymbol = opts.Bool(true); se.SymbolSize = 6 })
			var kneeOpt charts.SeriesOpts = with(func(*charts.SingleSeries) {})
			if m.knee {
				if k := Knee(c.x, ys); k >= 0 {
					knees.Rows = append(knees.Rows, []cell{{Text: c.name}, num(fmtNum(c.x[k])), num(fmtMS(ys[k]))})
					kneeOpt = with(func(se *charts.SingleSeries) {
						se.MarkPoints = &opts.MarkPoints{
							Data: []any{map[string]any{"name": "knee " + fmtNum(c.x[k]), "coord": []any{fin(c.x[k]), fin(ys[k])}}},
							MarkPointStyle: opts.MarkPointStyle{SymbolSize: 38,
								Label: &opts.Label{Show: opts.Bool(true), Formatter: "knee", FontSize: 9}},
						}
					})
				}
			}
			line.AddSeries(c.name, nil, seriesStyle(data, color(i), "solid"), extra, kneeOpt)
		}
		if slo != nil && m.id == "sweep-p99" && slo.P99MS > 0 {
			addSeries(&line.RectChart, thresholdSeries("SLO p99 ≤ "+fmtNum(slo.P99MS)+" ms", "yAxis", slo.P99MS, "#cf222e"))
		}
		if slo != nil && m.id == "sweep-availability" && slo.Availability > 0 {
			addSeries(&line.RectChart, thresholdSeries("SLO availability ≥ "+fmtNum(slo.Availability)+"%", "yAxis", slo.Availability, "#cf222e"))
		}
		half := m.id == "sweep-p50" || m.id == "sweep-availability"
		p.chart(sec, m.id, heightChart, half, line)
	}
	if len(knees.Rows) > 0 {
		sec.table(knees)
	}
	pts := p.section("points", "Every point")
	pts.table(sweepTable(s, slo))
	return p.write(w)
}

// spread is the ratio of the largest positive figure to the smallest.
func spread(cs []*curve, get func(*Run) float64) float64 {
	lo, hi := 0.0, 0.0
	for _, c := range cs {
		for _, run := range c.runs {
			if v := get(run); v > 0 {
				if lo == 0 || v < lo {
					lo = v
				}
				hi = max(hi, v)
			}
		}
	}
	if lo == 0 {
		return 0
	}
	return hi / lo
}

// thresholdSeries is an empty series carrying a dashed mark line at
// value on the given axis ("xAxis" vertical, "yAxis" horizontal), with
// its own legend entry.
func thresholdSeries(name, axis string, value float64, col string) charts.SingleSeries {
	return charts.SingleSeries{
		Name: name, Type: "line", Data: []xy{},
		ItemStyle: &opts.ItemStyle{Color: col},
		MarkLines: &opts.MarkLines{
			Data: []any{map[string]any{"name": name, axis: fin(value)}},
			MarkLineStyle: opts.MarkLineStyle{Symbol: []string{"none", "none"},
				LineStyle: &opts.LineStyle{Color: col, Type: "dashed", Width: 1.5},
				Label:     &opts.Label{Show: opts.Bool(true), Formatter: "{b}", Position: "insideEndTop", Color: col}},
		},
	}
}

func sweepTable(s *SweepReport, slo *SLO) *table {
	t := &table{Header: []string{s.Key, "strategy", "p50 ms", "p99 ms", "mean ms", "availability %", "throughput rps", "failed"}}
	if len(s.Keys) > 1 {
		t.Header = append([]string{"values (" + strings.Join(s.Keys, ", ") + ")"}, t.Header...)
	}
	if slo != nil {
		t.Header = append(t.Header, slo.String())
	}
	for _, p := range s.Points {
		if p.Results == nil {
			continue
		}
		for i := range p.Results.Runs {
			run := &p.Results.Runs[i]
			var row []cell
			if len(s.Keys) > 1 {
				var vs []string
				for _, v := range p.Values {
					vs = append(vs, fmtNum(v))
				}
				row = append(row, cell{Text: strings.Join(vs, ", ")})
			}
			row = append(row, num(fmtNum(p.Value)), cell{Text: run.Strategy}, num(fmtMS(run.LatencyMS.P50)),
				num(fmtMS(run.LatencyMS.P99)), num(fmtMS(run.LatencyMS.Mean)), num(fmtPct(run.Availability)),
				num(strconv.FormatFloat(run.ThroughputRPS, 'f', 1, 64)), num(fmtInt(run.Failed)))
			if slo != nil {
				if slo.Meets(run) {
					row = append(row, cell{Text: "✓ meets", Class: "pass"})
				} else {
					row = append(row, cell{Text: "✗ misses", Class: "fail"})
				}
			}
			t.Rows = append(t.Rows, row)
		}
	}
	return t
}

// WriteCapacityHTML writes the self-contained HTML report of a capacity
// search to w: the answer (with its monthly cost and N+k tolerance), p99
// and mean latency and availability against the probed values with the
// SLO's thresholds and the answer marked, and a table of the probes.
// Nothing is written to w on error; the same answer gives the same bytes.
func WriteCapacityHTML(w io.Writer, c *CapacityReport, opt HTMLOptions) error {
	if c == nil {
		return errors.New("html capacity report: no answer")
	}
	p := newPage(opt)
	p.Title = opt.Title
	if p.Title == "" {
		p.Title = c.Scenario + " — edgelab capacity"
		if c.Scenario == "" {
			p.Title = "edgelab capacity: " + c.Key
		}
	}
	p.Subtitle = fmt.Sprintf("smallest %s meeting %s; %d values probed", c.Key, c.SLO.String(), len(c.Probes))
	if c.Partial {
		p.Notes = append(p.Notes, "Partial search: it was interrupted before an answer was established.")
	}
	if !c.Monotonic {
		p.Notes = append(p.Notes, "Not monotonic: a larger value failed the SLO where a smaller one met it; the answer comes from a linear scan.")
	}
	probes := slices.Clone(c.Probes)
	slices.SortStableFunc(probes, func(a, b CapacityProbe) int { return cmp.Compare(a.Value, b.Value) })
	sec := p.section("answer", "Answer")
	switch {
	case c.Answer != nil:
		sec.text("The smallest %s meeting %s is %s.", c.Key, c.SLO.String(), fmtNum(*c.Answer))
	case len(probes) > 0:
		sec.text("No probed value of %s (%s to %s) meets %s.", c.Key, fmtNum(probes[0].Value),
			fmtNum(probes[len(probes)-1].Value), c.SLO.String())
	default:
		sec.text("No value of %s was probed.", c.Key)
	}
	if c.MonthlyCost > 0 {
		sec.text("Monthly cost of that fleet: %s (instances × per_instance_hour × 730 h).", strconv.FormatFloat(c.MonthlyCost, 'f', 2, 64))
	}
	if c.Tolerate > 0 {
		sec.text("N+%d: the SLO had to hold with %d instance(s) of the group down for the whole run.", c.Tolerate, c.Tolerate)
	}
	if len(probes) > 0 {
		capacityChart(p, sec, c, probes, true)
		capacityChart(p, sec, c, probes, false)
	}
	t := &table{Caption: "Probes: the worst figure over the strategies run",
		Header: []string{c.Key, "p99 ms", "mean ms", "availability %", "meets " + c.SLO.String()}}
	for _, pr := range probes {
		row := []cell{num(fmtNum(pr.Value)), num(fmtMS(pr.P99MS)), num(fmtMS(pr.MeanMS)),
			num(strconv.FormatFloat(pr.Availability, 'f', 3, 64))}
		if pr.Meets {
			row = append(row, cell{Text: "✓ yes", Class: "pass"})
		} else {
			row = append(row, cell{Text: "✗ no", Class: "fail"})
		}
		t.Rows = append(t.Rows, row)
	}
	sec.table(t)
	return p.write(w)
}

// capacityChart draws the probes' latency (p99 and mean) or availability
// against the value, green where the SLO is met and red where not, with
// the SLO's thresholds and the answer as dashed lines.
func capacityChart(p *page, s *section, c *CapacityReport, probes []CapacityProbe, latency bool) {
	id, title, axis := "capacity-availability", "Availability against "+c.Key, "availability (%)"
	if latency {
		id, title, axis = "capacity-latency", "Latency against "+c.Key, "latency (ms)"
	}
	line := charts.NewLine()
	line.SetGlobalOptions(globals(id, chartText{title, "worst over the strategies run; green: meets the SLO, red: misses; dashed: thresholds and answer"}, "axis", true)...)
	line.SetGlobalOptions(charts.WithXAxisOpts(xValueAxis(c.Key)), charts.WithYAxisOpts(opts.YAxis{Type: "value", Name: axis, Scale: opts.Bool(true)}))
	type fig struct {
		name string
		get  func(CapacityProbe) float64
		col  string
	}
	figs := []fig{{"availability", func(pr CapacityProbe) float64 { return pr.Availability }, color(0)}}
	if latency {
		figs = []fig{{"p99", func(pr CapacityProbe) float64 { return pr.P99MS }, color(0)},
			{"mean", func(pr CapacityProbe) float64 { return pr.MeanMS }, color(4)}}
	}
	for _, f := range figs {
		data := make([]any, len(probes))
		for k, pr := range probes {
			col := "#cf222e"
			if pr.Meets {
				col = "#1a7f37"
			}
			data[k] = map[string]any{"value": xy{fin(pr.Value), fin(f.get(pr))}, "itemStyle": map[string]any{"color": col}}
		}
		line.AddSeries(f.name, nil, seriesStyle(data, f.col, "solid"), with(func(se *charts.SingleSeries) {
			se.ShowSymbol = opts.Bool(true)
			se.SymbolSize = 8
		}))
	}
	if latency {
		if c.SLO.P99MS > 0 {
			addSeries(&line.RectChart, thresholdSeries("SLO p99 ≤ "+fmtNum(c.SLO.P99MS)+" ms", "yAxis", c.SLO.P99MS, "#cf222e"))
		}
		if c.SLO.MeanMS > 0 {
			addSeries(&line.RectChart, thresholdSeries("SLO mean ≤ "+fmtNum(c.SLO.MeanMS)+" ms", "yAxis", c.SLO.MeanMS, "#bf3989"))
		}
	} else if c.SLO.Availability > 0 {
		addSeries(&line.RectChart, thresholdSeries("SLO availability ≥ "+fmtNum(c.SLO.Availability)+"%", "yAxis", c.SLO.Availability, "#cf222e"))
	}
	if c.Answer != nil {
		addSeries(&line.RectChart, thresholdSeries("answer: "+fmtNum(*c.Answer), "xAxis", *c.Answer, "#1a7f37"))
	}
	p.chart(s, id, heightChart, true, line)
}
