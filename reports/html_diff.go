package reports

// Before/after: one page comparing two or more results.json (or sweep.json)
// files — today's configuration against a proposed one, or a simulation
// against a live run — with its findings written as changes.

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/go-echarts/go-echarts/v2/charts"
	"github.com/go-echarts/go-echarts/v2/opts"
)

// DiffSide is one file of a before/after comparison: a results.json or a
// sweep.json, and the label the page and the text give it.
type DiffSide struct {
	Label   string
	Results *Results
	Sweep   *SweepReport
}

// Change is one figure of one strategy (at one sweep point) from the
// first side, A, to another, B.
type Change struct {
	Strategy string
	// Point names the sweep point ("servers[0].count=3"); empty for
	// results.
	Point  string
	Metric string
	// Unit is " ms", "%", " rps" or "".
	Unit string
	// Points is true when the change is told in percentage points.
	Points bool
	Diff   Diff
}

// diffMetric is one figure a before/after comparison reports.
type diffMetric struct {
	findingMetric
	sentence bool // also in the sentences, not only the table
}

var diffMetrics = []diffMetric{
	{findingMetrics[0], true}, // p99
	{findingMetric{name: "p50", unit: " ms", value: func(r *Run) float64 { return r.LatencyMS.P50 },
		reps: func(x *Replicates) []float64 { return x.P50MS }}, false},
	{findingMetrics[1], true}, // mean
	{findingMetrics[2], true}, // availability
	{findingMetrics[3], true}, // failed requests
	{findingMetric{name: "throughput", unit: " rps", value: func(r *Run) float64 { return r.ThroughputRPS },
		reps: func(x *Replicates) []float64 { return x.ThroughputRPS }}, false},
}

// DiffMethod says how the runs of a and b can be compared: "paired" when
// both are simulations of the same scenario and seed with the same number
// of replications (two or more) and per-replication figures — replication
// i of each then drew the same random streams; "welch" (unpaired
// intervals) when both have per-replication figures otherwise; "" (no
// interval) when either has one replication. The note says why, for the
// page.
func DiffMethod(a, b *Results) (method, note string) {
	ra, rb := pairedReplications(runPtrs(a.Runs)), pairedReplications(runPtrs(b.Runs))
	switch {
	case ra == 0 || rb == 0:
		return "", "at least one side has one replication (or no per-replication figures): the changes carry no " +
			"confidence interval and may be noise; run both with replications: 5 or more to get one"
	case a.Mode == "sim" && b.Mode == "sim" && a.Scenario == b.Scenario && a.Seed == b.Seed && ra == rb:
		return "paired", fmt.Sprintf("both are simulations of %s with seed %d and %d replications: replication by "+
			"replication they drew the same random streams, so the changes are paired, with 95%% confidence intervals "+
			"from Student's t", a.Scenario, a.Seed, ra)
	}
	return "welch", fmt.Sprintf("the sides cannot be paired (%s): the changes carry unpaired 95%% confidence "+
		"intervals (Welch's t) over %d and %d replications", unpairedWhy(a, b), ra, rb)
}

func unpairedWhy(a, b *Results) string {
	switch {
	case a.Mode != "sim" || b.Mode != "sim":
		return a.Mode + " against " + b.Mode
	case a.Scenario != b.Scenario:
		return "different scenarios"
	case a.Seed != b.Seed:
		return "different seeds"
	}
	return "different numbers of replications"
}

// matchRuns pairs the runs of a and b by strategy; two files of one run
// each are paired whatever their strategies.
func matchRuns(a, b *Results) [][2]*Run {
	var out [][2]*Run
	if len(a.Runs) == 1 && len(b.Runs) == 1 {
		return [][2]*Run{{&a.Runs[0], &b.Runs[0]}}
	}
	for i := range a.Runs {
		if o := matchRun(b.Runs, a.Runs[i].Strategy); o != nil {
			out = append(out, [2]*Run{&a.Runs[i], o})
		}
	}
	return out
}

// DiffResults lists the changes from a to b, strategy by strategy (runs
// matched by strategy name), with the method of DiffMethod.
func DiffResults(a, b *Results) []Change {
	method, _ := DiffMethod(a, b)
	var out []Change
	for _, pr := range matchRuns(a, b) {
		ra, rb := pr[0], pr[1]
		name := ra.Strategy
		if rb.Strategy != ra.Strategy {
			name = ra.Strategy + " → " + rb.Strategy
		}
		for _, m := range diffMetrics {
			if m.failures && ra.Failed == 0 && rb.Failed == 0 {
				continue
			}
			var d Diff
			switch method {
			case "paired":
				d = PairedDiff(m.reps(ra.Replicates), m.reps(rb.Replicates))
			case "welch":
				d = WelchDiff(m.reps(ra.Replicates), m.reps(rb.Replicates))
			default:
				x, y := m.value(ra), m.value(rb)
				d = Diff{A: x, B: y, Delta: y - x, N: 1}
			}
			out = append(out, Change{Strategy: name, Metric: m.name, Unit: m.unit, Points: m.points, Diff: d})
		}
	}
	return out
}

// Sentence tells the change: "p99 falls from 200.00 ms to 115.00 ms
// (−42.5%, 95% CI −47.0…−37.0%)", relative to A's mean, or in points for
// availability; "not significant" when the CI includes zero.
func (c Change) Sentence() string {
	d := c.Diff
	unit := c.Unit
	from, to := c.fig(d.A)+unit, c.fig(d.B)+unit
	plural := strings.HasSuffix(c.Metric, "s")
	verb := map[bool]string{false: "rises", true: "rise"}[plural]
	if d.Delta < 0 {
		verb = map[bool]string{false: "falls", true: "fall"}[plural]
	}
	if c.fig(d.A) == c.fig(d.B) && (!d.HasCI() || !d.Significant()) {
		s := c.Metric + map[bool]string{false: " stays at ", true: " stay at "}[plural] + from
		if d.HasCI() && d.Half > 0 {
			s += " (95% CI of the change " + signed(-d.Half) + "…" + signed(d.Half) + c.changeUnit() + ")"
		}
		return s
	}
	s := c.Metric + " " + verb + " from " + from + " to " + to
	var change, lo, hi string
	switch {
	case c.Points:
		change, lo, hi = signed(d.Delta)+" pts", signed(d.Delta-d.Half), signed(d.Delta+d.Half)+" pts"
	case d.A != 0:
		k := 100 / math.Abs(d.A)
		change, lo, hi = signedPct(k*d.Delta)+"%", signedPct(k*(d.Delta-d.Half)), signedPct(k*(d.Delta+d.Half))+"%"
	default:
		change, lo, hi = signed(d.Delta)+unit, signed(d.Delta-d.Half), signed(d.Delta+d.Half)+unit
	}
	if d.HasCI() {
		s += " (" + change + ", 95% CI " + lo + "…" + hi + ")"
		if !d.Significant() {
			s += ": not significant, within the noise"
		}
	} else {
		s += " (" + change + ")"
	}
	return s
}

// fig formats a figure of the change's metric: availability with three
// decimals, like the summary table.
func (c Change) fig(x float64) string {
	if c.Points {
		return strconv.FormatFloat(x, 'f', 3, 64)
	}
	return fmtFig(x)
}

func (c Change) changeUnit() string {
	if c.Points {
		return " pts"
	}
	return c.Unit
}

// signedPct writes a percentage with one decimal and its sign.
func signedPct(x float64) string {
	s := fmt.Sprintf("%.1f", math.Abs(x))
	switch {
	case s == "0.0":
		return s
	case x < 0:
		return "−" + s
	}
	return "+" + s
}

// DiffFindings writes the findings of a comparison of sides[1:] against
// sides[0]: how each is compared, then one sentence per strategy (and,
// for sweeps, a summary over the points).
func DiffFindings(sides []DiffSide) (Findings, error) {
	var f Findings
	if len(sides) < 2 {
		return f, errors.New("compare: need two files or more")
	}
	sweep := sides[0].Sweep != nil
	for _, s := range sides {
		if (s.Sweep != nil) != sweep || (s.Sweep == nil && s.Results == nil) {
			return f, errors.New("compare: cannot compare a sweep.json with a results.json: give files of one kind")
		}
	}
	f.Header = []string{"against " + sides[0].Label, "strategy", "metric", sides[0].Label, "other", "change", "95% CI", "verdict"}
	if sweep {
		f.Header = append([]string{"point"}, f.Header...)
	}
	a := sides[0]
	for _, b := range sides[1:] {
		var changes []Change
		if sweep {
			cs, note, err := DiffSweeps(a.Sweep, b.Sweep)
			if err != nil {
				return f, fmt.Errorf("%s against %s: %w", b.Label, a.Label, err)
			}
			changes = cs
			f.Sentences = append(f.Sentences, b.Label+" against "+a.Label+": "+note+".")
			f.Sentences = append(f.Sentences, sweepSentences(changes)...)
		} else {
			_, note := DiffMethod(a.Results, b.Results)
			changes = DiffResults(a.Results, b.Results)
			if len(changes) == 0 {
				return f, fmt.Errorf("%s against %s: no strategy in common", b.Label, a.Label)
			}
			f.Sentences = append(f.Sentences, b.Label+" against "+a.Label+": "+note+".")
			f.Sentences = append(f.Sentences, resultSentences(changes)...)
		}
		for _, c := range changes {
			row := []string{b.Label, c.Strategy, c.Metric + strings.Replace(c.Unit, "%", " %", 1), c.fig(c.Diff.A), c.fig(c.Diff.B), changeText(c), "—", "no CI"}
			cls := []string{"", "", "", "num", "num", "num", "num", ""}
			if c.Diff.HasCI() {
				row[6] = signed(c.Diff.Delta-c.Diff.Half) + "…" + signed(c.Diff.Delta+c.Diff.Half)
				row[7] = "not significant"
				if c.Diff.Significant() {
					row[7], cls[7] = "significant", "sig"
				}
			}
			if sweep {
				row, cls = append([]string{c.Point}, row...), append([]string{""}, cls...)
			}
			f.Rows = append(f.Rows, row)
			f.rowClass = append(f.rowClass, cls)
		}
	}
	return f, nil
}

// changeText is a change for the table: relative when it can be.
func changeText(c Change) string {
	d := c.Diff
	if c.Points {
		return signed(d.Delta) + " pts"
	}
	if d.A != 0 {
		return signed(d.Delta) + " (" + signedPct(100*d.Delta/math.Abs(d.A)) + "%)"
	}
	return signed(d.Delta)
}

// resultSentences groups the changes of each strategy into one sentence.
func resultSentences(changes []Change) []string {
	var out []string
	var cur string
	var parts []string
	flush := func() {
		if len(parts) > 0 {
			out = append(out, cur+": "+strings.Join(parts, "; ")+".")
		}
		parts = nil
	}
	for _, c := range changes {
		if c.Strategy != cur {
			flush()
			cur = c.Strategy
		}
		if inSentence(c.Metric) {
			parts = append(parts, c.Sentence())
		}
	}
	flush()
	return out
}

func inSentence(metric string) bool {
	for _, m := range diffMetrics {
		if m.name == metric {
			return m.sentence
		}
	}
	return false
}

// DiffSweeps lines up two sweeps point by point (points with the same
// values of the same keys) and lists the changes at each point. The note
// says how many points matched and how they were compared.
func DiffSweeps(a, b *SweepReport) ([]Change, string, error) {
	if a.Key != b.Key || strings.Join(a.Keys, ",") != strings.Join(b.Keys, ",") {
		return nil, "", fmt.Errorf("the sweeps vary different keys (%s and %s)", sweepKeys(a), sweepKeys(b))
	}
	at := map[string]*Results{}
	for _, p := range b.Points {
		at[pointName(b, p)] = p.Results
	}
	var out []Change
	matched := 0
	methods := map[string]int{}
	for _, p := range a.Points {
		name := pointName(a, p)
		rb := at[name]
		if p.Results == nil || rb == nil {
			continue
		}
		matched++
		m, _ := DiffMethod(p.Results, rb)
		methods[m]++
		for _, c := range DiffResults(p.Results, rb) {
			c.Point = name
			out = append(out, c)
		}
	}
	if matched == 0 {
		return nil, "", fmt.Errorf("no point of one sweep has the values of a point of the other (%s)", sweepKeys(a))
	}
	how := "without confidence intervals (one replication per point: differences may be noise; run the sweeps with replications: 5 or more)"
	switch {
	case methods["paired"] == matched:
		how = "paired across replications with 95% confidence intervals"
	case methods[""] == 0:
		how = "with 95% confidence intervals (unpaired where the points cannot be paired)"
	case methods[""] < matched:
		how = "with 95% confidence intervals where both points have replications"
	}
	note := fmt.Sprintf("%d points in common (of %d and %d), compared point by point %s", matched, len(a.Points), len(b.Points), how)
	return out, note, nil
}

func sweepKeys(s *SweepReport) string {
	if len(s.Keys) > 1 {
		return strings.Join(s.Keys, " × ")
	}
	return s.Key
}

// pointName is "key=value" (every key's, for a grid).
func pointName(s *SweepReport, p SweepPoint) string {
	if len(p.Values) > 1 && len(s.Keys) == len(p.Values) {
		parts := make([]string, len(p.Values))
		for i, v := range p.Values {
			parts[i] = s.Keys[i] + "=" + fmtNum(v)
		}
		return strings.Join(parts, ", ")
	}
	return s.Key + "=" + fmtNum(p.Value)
}

// sweepSentences summarise, per strategy, where p99 and availability
// change: at how many points they fall, rise or do not change
// significantly, and the largest change.
func sweepSentences(changes []Change) []string {
	var out []string
	type tally struct {
		falls, rises, same, total int
		ci                        bool
		big                       *Change
	}
	var order []string
	tallies := map[string]*tally{}
	for i := range changes {
		c := &changes[i]
		if c.Metric != "p99" && c.Metric != "availability" {
			continue
		}
		key := c.Strategy + "\x00" + c.Metric
		t := tallies[key]
		if t == nil {
			t = &tally{}
			tallies[key] = t
			order = append(order, key)
		}
		t.total++
		d := c.Diff
		t.ci = t.ci || d.HasCI()
		switch {
		case (d.HasCI() && !d.Significant()) || fmtFig(d.A) == fmtFig(d.B):
			t.same++
			continue
		case d.Delta < 0:
			t.falls++
		default:
			t.rises++
		}
		if t.big == nil || relChange(*c) > relChange(*t.big) {
			t.big = c
		}
	}
	for _, key := range order {
		strategy, metric, _ := strings.Cut(key, "\x00")
		t := tallies[key]
		if metric == "availability" && t.falls+t.rises == 0 {
			continue
		}
		same := "does not change"
		if t.ci {
			same = "does not change significantly"
		}
		s := fmt.Sprintf("%s: %s falls at %d of %d points, rises at %d, %s at %d", strategy, metric, t.falls, t.total, t.rises, same, t.same)
		if t.big != nil {
			s += "; the largest change is at " + t.big.Point + ": " + t.big.Sentence()
		}
		if !t.ci {
			s += " (no confidence intervals)"
		}
		out = append(out, s+".")
	}
	return out
}

// relChange is the size of a change relative to A (absolute for points).
func relChange(c Change) float64 {
	if c.Points || c.Diff.A == 0 {
		return math.Abs(c.Diff.Delta)
	}
	return math.Abs(c.Diff.Delta / c.Diff.A)
}

// WriteDiffText prints the findings of the comparison: the sentences,
// then the table of every change.
func WriteDiffText(w io.Writer, sides []DiffSide) error {
	f, err := DiffFindings(sides)
	if err != nil {
		return err
	}
	for _, s := range f.Sentences {
		if _, err := fmt.Fprintln(w, Printable(s)); err != nil {
			return err
		}
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(f.Header, "\t")+"\t")
	for _, row := range f.Rows {
		cells := make([]string, len(row))
		for i, c := range row {
			cells[i] = Printable(c)
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t")+"\t")
	}
	return tw.Flush()
}

// WriteDiffHTML writes one self-contained page comparing sides[1:] with
// sides[0]: the findings as changes first, then the latency percentiles
// and CDF of every side (results), or p99 and availability against the
// swept value (sweeps), and each side's summary table. Nothing is written
// to w on error; the same files give the same bytes.
func WriteDiffHTML(w io.Writer, sides []DiffSide, opt HTMLOptions) error {
	f, err := DiffFindings(sides)
	if err != nil {
		return fmt.Errorf("html comparison: %w", err)
	}
	p := newPage(opt)
	labels := make([]string, len(sides))
	for i, s := range sides {
		labels[i] = s.Label
	}
	p.Title = opt.Title
	if p.Title == "" {
		p.Title = strings.Join(labels, " vs ") + " — edgelab comparison"
	}
	var subs []string
	for _, s := range sides {
		if s.Results != nil {
			subs = append(subs, s.Label+": "+runSubtitle(s.Results))
		} else {
			subs = append(subs, fmt.Sprintf("%s: sweep of %s, %d points", s.Label, sweepKeys(s.Sweep), len(s.Sweep.Points)))
		}
	}
	p.Subtitle = strings.Join(subs, " · ")
	for _, s := range sides {
		if (s.Results != nil && s.Results.Partial) || (s.Sweep != nil && s.Sweep.Partial) {
			p.Notes = append(p.Notes, s.Label+" is partial: it was interrupted before its end.")
		}
	}
	findingsSection(p, f, "Every change against "+sides[0].Label+" (★ significant: the 95% CI excludes zero)")
	if sides[0].Sweep != nil {
		diffSweepCharts(p, sides)
	} else {
		diffRunCharts(p, sides, opt.SLO)
	}
	return p.write(w)
}

// diffRunCharts draws every side's percentiles and CDF, strategy by
// strategy, the first side solid and the others faded or dashed, and
// each side's summary table.
func diffRunCharts(p *page, sides []DiffSide, slo *SLO) {
	lat := p.section("latency", "Latency")
	var bs []barSeries
	var cs []cdfSeries
	dashes := []string{"solid", "dashed", "dotted"}
	for i := range sides[0].Results.Runs {
		base := &sides[0].Results.Runs[i]
		for k, s := range sides {
			run := base
			if k > 0 {
				prs := matchRuns(sides[0].Results, s.Results)
				run = nil
				for _, pr := range prs {
					if pr[0] == base {
						run = pr[1]
					}
				}
			}
			if run == nil || run.OK == 0 {
				continue
			}
			v, ci := ciValues(run)
			bs = append(bs, barSeries{name: run.Strategy + " (" + s.Label + ")", col: color(i), faded: k > 0, values: v, ci: ci})
			cs = append(cs, cdfSeries{run.Strategy + " (" + s.Label + ")", color(i), dashes[min(k, len(dashes)-1)], run})
		}
	}
	others := strings.Join(labelsOf(sides[1:]), ", ")
	percentileBars(p, lat, "diff-percentiles", chartText{"Latency percentiles: " + sides[0].Label + " and " + others,
		"ok requests after warm-up; faded bars: " + others}, bs)
	cdfChart(p, lat, "diff-cdf", chartText{"Latency distribution (CDF): " + sides[0].Label + " and " + others,
		"dashed: " + others + "; latency on a log scale, share axis spaced by percentile"}, cs)
	sum := p.section("summary", "Each side")
	for _, s := range sides {
		t := summaryTable(s.Results, slo)
		t.Caption = s.Label + ": " + s.Results.Scenario + " (" + s.Results.Mode + ")"
		sum.table(t)
	}
}

func labelsOf(sides []DiffSide) []string {
	out := make([]string, len(sides))
	for i, s := range sides {
		out[i] = s.Label
	}
	return out
}

// diffSweepCharts draws p99 and availability against the swept value,
// one curve per strategy and side (the first side solid, the others
// dashed).
func diffSweepCharts(p *page, sides []DiffSide) {
	sec := p.section("curves", "Against "+sides[0].Sweep.Key)
	dashes := []string{"solid", "dashed", "dotted"}
	for _, m := range []sweepMetric{sweepMetrics[0], sweepMetrics[2]} {
		line := charts.NewLine()
		others := strings.Join(labelsOf(sides[1:]), ", ")
		line.SetGlobalOptions(globals("diff-"+m.id, chartText{m.title + " against " + sides[0].Sweep.Key,
			"solid: " + sides[0].Label + "; dashed: " + others}, "axis", true)...)
		ya := yAxis(m.axis, "value")
		ya.Scale = opts.Bool(true)
		line.SetGlobalOptions(charts.WithXAxisOpts(xValueAxis(sides[0].Sweep.Key)), charts.WithYAxisOpts(ya))
		names := map[string]int{}
		for k, s := range sides {
			for _, c := range s.Sweep.curves() {
				ci, ok := names[c.name]
				if !ok {
					ci = len(names)
					names[c.name] = ci
				}
				data := make([]xy, len(c.runs))
				for j, run := range c.runs {
					data[j] = xy{fin(c.x[j]), fin(m.get(run))}
				}
				line.AddSeries(c.name+" ("+s.Label+")", nil, seriesStyle(data, color(ci), dashes[min(k, len(dashes)-1)]),
					with(func(se *charts.SingleSeries) { se.ShowSymbol = opts.Bool(true); se.SymbolSize = 6 }))
			}
		}
		p.chart(sec, "diff-"+m.id, heightChart, false, line)
	}
}

// ReadComparable parses a file to compare: a results.json (returned as
// results) or a sweep.json (as sweep), checked like ReadResults checks a
// results.json. Anything else is refused with what it is not.
func ReadComparable(data []byte) (*Results, *SweepReport, error) {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, nil, fmt.Errorf("neither a results.json nor a sweep.json: %s", JSONError(err))
	}
	if _, ok := probe["points"]; ok {
		var s SweepReport
		if err := json.Unmarshal(data, &s); err != nil {
			return nil, nil, fmt.Errorf("not a sweep.json: %s", JSONError(err))
		}
		if s.Key == "" || len(s.Points) == 0 {
			return nil, nil, errors.New("not a sweep.json: no key or points")
		}
		for i, p := range s.Points {
			if p.Results == nil || p.Results.Scenario == "" || len(p.Results.Runs) == 0 {
				return nil, nil, fmt.Errorf("sweep.json: points[%d] has no results", i)
			}
			for k := range p.Results.Runs {
				if err := p.Results.Runs[k].check(); err != nil {
					return nil, nil, fmt.Errorf("sweep.json: points[%d].runs[%d]: %w", i, k, err)
				}
			}
		}
		return nil, &s, nil
	}
	if _, ok := probe["probes"]; ok {
		return nil, nil, errors.New("a capacity.json: only results.json and sweep.json files can be compared")
	}
	r, err := ReadResults(data)
	if err != nil {
		return nil, nil, fmt.Errorf("%w (nor a sweep.json)", err)
	}
	return r, nil, nil
}
