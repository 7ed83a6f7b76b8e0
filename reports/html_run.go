package reports

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/go-echarts/go-echarts/v2/charts"
	"github.com/go-echarts/go-echarts/v2/opts"
)

// percentiles are the latency figures charted by strategy: label, CI95
// key ("" when none), value.
var percentiles = []struct {
	label, key string
	get        func(Latency) float64
}{
	{"p50", "latency_ms.p50", func(l Latency) float64 { return l.P50 }},
	{"p90", "latency_ms.p90", func(l Latency) float64 { return l.P90 }},
	{"p95", "latency_ms.p95", func(l Latency) float64 { return l.P95 }},
	{"p99", "latency_ms.p99", func(l Latency) float64 { return l.P99 }},
	{"p99.9", "latency_ms.p999", func(l Latency) float64 { return l.P999 }},
	{"max", "", func(l Latency) float64 { return l.Max }},
}

// outcomeKinds are the failed and rejected outcomes, with their series.
var outcomeKinds = []struct {
	name     string
	total    func(Outcomes) int64
	perSlice func(*Series) []int64
}{
	{"error_5xx", func(o Outcomes) int64 { return o.Error5xx }, func(s *Series) []int64 { return s.Error5xx }},
	{"timeout", func(o Outcomes) int64 { return o.Timeout }, func(s *Series) []int64 { return s.Timeout }},
	{"queue_full", func(o Outcomes) int64 { return o.QueueFull }, func(s *Series) []int64 { return s.QueueFull }},
	{"connect_failure", func(o Outcomes) int64 { return o.ConnectFailure }, func(s *Series) []int64 { return s.ConnectFailure }},
	{"no_upstream", func(o Outcomes) int64 { return o.NoUpstream }, func(s *Series) []int64 { return s.NoUpstream }},
	{"rate_limited", func(o Outcomes) int64 { return o.RateLimited }, func(s *Series) []int64 { return s.RateLimited }},
	{"auth_rejected", func(o Outcomes) int64 { return o.AuthRejected }, func(s *Series) []int64 { return s.AuthRejected }},
}

// buildRunReport fills p with the sections of one results.json.
func buildRunReport(p *page, r *Results, opt HTMLOptions) {
	addRunFindings(p, r, opt) // findings.go: the answer first, before any chart
	p.Subtitle = runSubtitle(r)
	if r.Partial {
		p.Notes = append(p.Notes, "Partial results: the run was interrupted before its end.")
	}
	sum := p.section("summary", "Summary")
	sum.table(summaryTable(r, opt.SLO))
	if t := liveTable(r); t != nil {
		sum.table(t)
	}
	if r.Compare != nil {
		sum.table(compareTable(r))
	}

	lat := p.section("latency", "Latency")
	latencyPercentiles(p, lat, "latency-percentiles", r.Runs)
	latencyCDF(p, lat, "latency-cdf", r.Runs)

	if hasSeries(r.Runs) {
		ts := p.section("time", "Over time")
		latencyOverTime(p, ts, r, "p99")
		latencyOverTime(p, ts, r, "p50")
		for i := range r.Runs {
			throughputOverTime(p, ts, r, i)
		}
		instancesOverTime(p, ts, r)
	}

	load := p.section("load", "Load per instance")
	instanceLoad(p, load, r.Runs)
	for i, run := range r.Runs {
		if run.Series != nil && len(run.Series.Utilization) > 0 {
			heatmap(p, load, r, i, true)
			heatmap(p, load, r, i, false)
		}
	}

	if hasGateway(r.Runs) {
		gw := p.section("gateway", "Gateway")
		gatewayStages(p, gw, r.Runs)
		gatewayRequests(p, gw, r.Runs)
		gw.table(gatewayTable(r.Runs))
	}

	topologySection(p, r)

	if r.Compare != nil && len(r.Compare.Runs) > 0 {
		compareSection(p, r)
	}
	inputsSection(p, r, opt)
}

// inputsSection embeds what produced the page, enough to reproduce it:
// the command line, the version, the seed and the scenario verbatim.
func inputsSection(p *page, r *Results, opt HTMLOptions) {
	in := r.Input
	if in == nil {
		return
	}
	s := p.section("scenario", "Inputs")
	s.text("Reproduce these results with the command below (same seed: %d; the output directory aside)%s.", r.Seed, versionText(opt.Version))
	s.pre(in.CommandLine())
	name := in.File
	if name == "" {
		name = "the embedded quick-start scenario"
	}
	s.text("The scenario, %s, as it was read (before the --set overrides above):", name)
	s.pre(in.Scenario)
}

func versionText(v string) string {
	if v == "" {
		return ""
	}
	return ", rendered by edgelab " + v
}

func runSubtitle(r *Results) string {
	s := fmt.Sprintf("%s — %s mode, %s s measured after %s s warm-up, seed %d", r.Scenario, r.Mode,
		fmtNum(r.DurationS), fmtNum(r.WarmupS), r.Seed)
	if len(r.Runs) > 0 && r.Runs[0].Replications > 1 {
		s += fmt.Sprintf(", %d replications (± is the 95%% confidence interval)", r.Runs[0].Replications)
	}
	if p := PresetText(r.Presets); p != "" {
		s += ", preset " + p
	}
	return s
}

// withCI renders v and, when the run has one, its 95% CI half-width.
func withCI(run *Run, key, v string) string {
	if h, ok := run.CI95[key]; ok {
		return v + " ± " + strconv.FormatFloat(h, 'f', 2, 64)
	}
	return v
}

// summaryTable has one row per strategy: counts, availability, rates,
// percentiles, failed and rejected requests by kind (the kinds that
// occurred) and, with an SLO, a verdict per objective.
func summaryTable(r *Results, slo *SLO) *table {
	t := &table{Caption: "Per strategy, after warm-up; latency is of ok requests"}
	t.Header = []string{"strategy", "requests", "ok", "failed", "rejected", "availability %", "throughput rps",
		"mean ms", "p50 ms", "p99 ms", "p99.9 ms", "max ms"}
	var kinds []int
	for k, kind := range outcomeKinds {
		for _, run := range r.Runs {
			if kind.total(run.Outcomes) > 0 {
				kinds = append(kinds, k)
				t.Header = append(t.Header, kind.name)
				break
			}
		}
	}
	useSLO := slo != nil && !slo.IsZero()
	if useSLO {
		for _, c := range slo.checks(&Run{}) {
			t.Header = append(t.Header, c.label)
		}
		t.Header = append(t.Header, "SLO")
	}
	for i := range r.Runs {
		run := &r.Runs[i]
		l := run.LatencyMS
		avail := strconv.FormatFloat(100*run.Availability, 'f', 3, 64)
		if h, ok := run.CI95["availability"]; ok {
			avail += " ± " + strconv.FormatFloat(100*h, 'f', 3, 64)
		}
		row := []cell{{Text: run.Strategy},
			num(fmtInt(run.Requests)), num(fmtInt(run.OK)), num(fmtInt(run.Failed)), num(fmtInt(run.Rejected)),
			num(avail), num(withCI(run, "throughput_rps", strconv.FormatFloat(run.ThroughputRPS, 'f', 1, 64))),
			num(withCI(run, "latency_ms.mean", fmtMS(l.Mean))), num(withCI(run, "latency_ms.p50", fmtMS(l.P50))),
			num(withCI(run, "latency_ms.p99", fmtMS(l.P99))), num(withCI(run, "latency_ms.p999", fmtMS(l.P999))),
			num(fmtMS(l.Max))}
		for _, k := range kinds {
			row = append(row, num(fmtInt(outcomeKinds[k].total(run.Outcomes))))
		}
		if useSLO {
			for _, c := range slo.checks(run) {
				row = append(row, verdict(c.ok, c.value))
			}
			if slo.Meets(run) {
				row = append(row, cell{Text: "✓ meets", Class: "pass"})
			} else {
				row = append(row, cell{Text: "✗ misses", Class: "fail"})
			}
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}

func num(s string) cell { return cell{Text: s, Class: "num"} }

func verdict(ok bool, v string) cell {
	if ok {
		return cell{Text: "✓ " + v, Class: "pass"}
	}
	return cell{Text: "✗ " + v, Class: "fail"}
}

// liveTable describes a live run's load generation, when there is one.
func liveTable(r *Results) *table {
	t := &table{Caption: "Load generation (live)", Header: []string{"strategy", "target", "target rps", "achieved rps",
		"send lag p50 ms", "send lag p99 ms", "send lag max ms", "wall s"}}
	for _, run := range r.Runs {
		if l := run.Live; l != nil {
			t.Rows = append(t.Rows, []cell{{Text: run.Strategy}, {Text: l.Target},
				num(strconv.FormatFloat(l.TargetRPS, 'f', 1, 64)), num(strconv.FormatFloat(l.AchievedRPS, 'f', 1, 64)),
				num(fmtMS(l.SendLagMS.P50)), num(fmtMS(l.SendLagMS.P99)), num(fmtMS(l.SendLagMS.Max)),
				num(strconv.FormatFloat(l.WallS, 'f', 1, 64))})
		}
	}
	if len(t.Rows) == 0 {
		return nil
	}
	return t
}

func hasSeries(runs []Run) bool {
	for _, run := range runs {
		if run.Series != nil && len(run.Series.T) > 0 {
			return true
		}
	}
	return false
}

func hasGateway(runs []Run) bool {
	for _, run := range runs {
		if run.Gateway != nil && len(run.Gateway.Stages) > 0 {
			return true
		}
	}
	return false
}

// barSeries is one bar series of a percentile chart: its name, colour,
// whether it is faded (the compared side), values and CI half-widths
// (nil: none).
type barSeries struct {
	name   string
	col    string
	faded  bool
	values []float64
	ci     []float64
}

// percentileBars draws grouped bars, one group per percentile, one bar
// per series, with 95% CI whiskers where a series has them. With a large
// spread between p50 and max the value axis is logarithmic.
func percentileBars(p *page, s *section, id string, text chartText, bs []barSeries) {
	lo, hi := 0.0, 0.0
	for _, b := range bs {
		for _, v := range b.values {
			if v > 0 && (lo == 0 || v < lo) {
				lo = v
			}
			hi = max(hi, v)
		}
	}
	if hi == 0 {
		return
	}
	// A log axis whenever the percentiles span more than a few times, so
	// that p50 stays readable next to the tail.
	scale := "value"
	if lo > 0 && hi/lo > 4 {
		scale = "log"
		text.sub = joinSub(text.sub, "log scale")
	}
	bar := charts.NewBar()
	bar.SetGlobalOptions(globals(id, text, "axis", true)...)
	bar.SetGlobalOptions(charts.WithXAxisOpts(xCategoryAxis("percentile of ok requests")),
		charts.WithYAxisOpts(yAxis("latency (ms)", scale)))
	labels := make([]string, len(percentiles))
	for i, pc := range percentiles {
		labels[i] = pc.label
	}
	bar.SetXAxis(labels)
	anyCI := false
	for _, b := range bs {
		data := make([]opts.BarData, len(b.values))
		for k, v := range b.values {
			if v <= 0 && scale == "log" {
				data[k] = opts.BarData{Value: nil}
				continue
			}
			data[k] = opts.BarData{Value: fin(v)}
		}
		style := &opts.ItemStyle{Color: b.col}
		if b.faded {
			style.Opacity = opts.Float(0.45)
			style.BorderColor = b.col
			style.BorderWidth = 1.5
		}
		bar.AddSeries(b.name, data, with(func(s *charts.SingleSeries) {
			s.ItemStyle = style
			s.BarGap = "30%"
			s.BarCategoryGap = "20%"
		}))
		anyCI = anyCI || b.ci != nil
	}
	if anyCI {
		for i, b := range bs {
			var data [][]any
			for k, h := range b.ci {
				if h <= 0 {
					continue
				}
				v := b.values[k]
				low := v - h
				if scale == "log" {
					low = max(low, v/20)
				}
				data = append(data, []any{k, fin(low), fin(v + h), i, len(bs)})
			}
			if len(data) == 0 {
				continue
			}
			addSeries(&bar.RectChart, charts.SingleSeries{
				Name: b.name, Type: "custom", Id: "edgelab-errorbar-" + strconv.Itoa(i), Data: data,
				Encode: &opts.Encode{X: 0, Y: []int{1, 2}}, ItemStyle: &opts.ItemStyle{Color: b.col},
			})
		}
	}
	p.chart(s, id, heightChart, false, bar)
}

func joinSub(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// ciValues returns a run's percentiles and, with replications, their CI
// half-widths.
func ciValues(run *Run) (values, ci []float64) {
	values = make([]float64, len(percentiles))
	for k, pc := range percentiles {
		values[k] = pc.get(run.LatencyMS)
		if h, ok := run.CI95[pc.key]; ok && pc.key != "" {
			if ci == nil {
				ci = make([]float64, len(percentiles))
			}
			ci[k] = h
		}
	}
	return values, ci
}

func latencyPercentiles(p *page, s *section, id string, runs []Run) {
	var bs []barSeries
	reps := 0
	for i := range runs {
		run := &runs[i]
		if run.OK == 0 {
			continue
		}
		v, ci := ciValues(run)
		bs = append(bs, barSeries{name: run.Strategy, col: color(i), values: v, ci: ci})
		if ci != nil {
			reps = max(reps, run.Replications)
		}
	}
	text := chartText{"Latency percentiles by strategy", "ok requests after warm-up"}
	if reps > 1 {
		text.sub += fmt.Sprintf("; whiskers: 95%% CI over %d replications (max has none)", reps)
	}
	percentileBars(p, s, id, text, bs)
}

// cdfSeries is one line of a latency CDF chart.
type cdfSeries struct {
	name     string
	col      string
	lineType string
	run      *Run
}

// latencyCDF draws the cumulative share of ok requests against latency,
// both on log scales: latency in ms, and the share in "nines" (90%, 99%,
// 99.9%, … equally spaced), so that the tail is as readable as the body.
// It uses the full-resolution distribution results.json keeps
// (latency_cdf), or the six percentiles of a file that has none.
func latencyCDF(p *page, s *section, id string, runs []Run) {
	var cs []cdfSeries
	for i := range runs {
		if runs[i].OK > 0 {
			cs = append(cs, cdfSeries{runs[i].Strategy, color(i), "solid", &runs[i]})
		}
	}
	cdfChart(p, s, id, chartText{"Latency distribution (CDF)",
		"share of ok requests at or below each latency; latency on a log scale, the share in nines (90%, 99%, 99.9%, … equally spaced)"}, cs)
}

// nines is −log10(1 − q): 1 at p90, 2 at p99, 3 at p99.9.
func nines(q float64) float64 { return -math.Log10(1 - q) }

// cdfPoints is a run's CDF as (ms, nines) points, leaving out q = 1 (the
// maximum, which has no place on a nines axis).
func cdfPoints(run *Run) []xy {
	var data []xy
	if len(run.LatencyCDF) > 0 {
		for _, pt := range run.LatencyCDF {
			if pt.Q < 1 && pt.MS > 0 {
				data = append(data, xy{fin(pt.MS), fin(math.Round(nines(pt.Q)*1e4) / 1e4)})
			}
		}
		return data
	}
	for _, pc := range percentiles {
		if pc.label == "max" {
			continue
		}
		q, _ := strconv.ParseFloat(strings.TrimPrefix(pc.label, "p"), 64)
		if v := pc.get(run.LatencyMS); v > 0 {
			data = append(data, xy{fin(v), fin(math.Round(nines(q/100)*1e4) / 1e4)})
		}
	}
	return data
}

func cdfChart(p *page, s *section, id string, text chartText, cs []cdfSeries) {
	if len(cs) == 0 {
		return
	}
	line := charts.NewLine()
	line.SetGlobalOptions(globals(id, text, "axis", true)...)
	top := 1.0
	var all [][]xy
	for _, c := range cs {
		data := cdfPoints(c.run)
		for _, d := range data {
			if y, ok := d[1].(float64); ok {
				top = max(top, math.Ceil(y))
			}
		}
		all = append(all, data)
	}
	// The y axis is in nines; the page's script labels it in percent
	// (the axis id edgelab-nines).
	line.SetGlobalOptions(charts.WithXAxisOpts(opts.XAxis{Type: "log", Name: "latency (ms, log scale)", NameLocation: "middle", NameGap: 28}),
		charts.WithYAxisOpts(opts.YAxis{Type: "value", Name: "share of ok requests", Min: 0, Max: top, SplitNumber: int(top)}))
	for i, c := range cs {
		line.AddSeries(c.name, nil, seriesStyle(all[i], c.col, c.lineType), with(func(s *charts.SingleSeries) {
			s.ShowSymbol = opts.Bool(len(all[i]) < 20)
			s.SymbolSize = 5
		}))
	}
	p.chart(s, id, heightChart, false, line)
	p.specs[len(p.specs)-1].Nines = true
}

// latencyOverTime draws p50 or p99 per bucket for every strategy, with
// the warm-up and failure windows shaded.
func latencyOverTime(p *page, s *section, r *Results, which string) {
	id := "latency-" + which + "-time"
	line := charts.NewLine()
	text := chartText{which + " latency over time", "ok requests finished in each " + intervalText(r.Runs) +
		" bucket, by strategy; log scale; shaded: warm-up and failure windows"}
	line.SetGlobalOptions(globals(id, text, "axis", true)...)
	line.SetGlobalOptions(charts.WithXAxisOpts(timeAxis(r.Runs)),
		charts.WithYAxisOpts(yAxis(which+" latency (ms)", "log")))
	drawn := false
	for i, run := range r.Runs {
		se := run.Series
		if se == nil {
			continue
		}
		ys := se.P99MS
		if which == "p50" {
			ys = se.P50MS
		}
		line.AddSeries(run.Strategy, nil, seriesStyle(timeSeries(se.T, ys, true), color(i), "solid"))
		drawn = true
	}
	if !drawn {
		return
	}
	addSeries(&line.RectChart, shading(r.WarmupS, r.Failures)...)
	p.chart(s, id, heightChart, false, line)
}

func intervalText(runs []Run) string {
	for _, run := range runs {
		if run.Series != nil && run.Series.IntervalS > 0 {
			return fmtNum(run.Series.IntervalS) + " s"
		}
	}
	return "time"
}

// throughputOverTime draws one strategy's offered load and ok rate on the
// left axis and its failed and rejected requests by kind on the right.
func throughputOverTime(p *page, s *section, r *Results, i int) {
	run := r.Runs[i]
	se := run.Series
	if se == nil || len(se.T) == 0 {
		return
	}
	id := fmt.Sprintf("throughput-%d", i)
	line := charts.NewLine()
	text := chartText{"Throughput and errors over time — " + run.Strategy,
		"requests per second: offered and ok (left axis), failed and rejected by kind (right axis)"}
	line.SetGlobalOptions(globals(id, text, "axis", true)...)
	line.SetGlobalOptions(charts.WithXAxisOpts(timeAxis(r.Runs)),
		charts.WithYAxisOpts(yAxis("offered, ok (requests/s)", "value")))
	line.AddSeries("offered", nil, seriesStyle(timeSeries(se.T, perSecond(se.Offered, se.IntervalS), false), "#6e7781", "dashed"))
	line.AddSeries("ok", nil, seriesStyle(timeSeries(se.T, perSecond(se.OK, se.IntervalS), false), color(i), "solid"))
	errs := false
	for _, kind := range outcomeKinds {
		counts := kind.perSlice(se)
		if !slices.ContainsFunc(counts, func(c int64) bool { return c > 0 }) {
			continue
		}
		if !errs {
			line.ExtendYAxis(opts.YAxis{Type: "value", Name: "failed, rejected (requests/s)", Position: "right",
				SplitLine: &opts.SplitLine{Show: opts.Bool(false)}})
			line.SetGlobalOptions(gridOpts(opts.Grid{Left: "24", Right: "90", Top: "70", Bottom: "64", ContainLabel: opts.Bool(true)}))
			errs = true
		}
		line.AddSeries(kind.name, nil, seriesStyle(timeSeries(se.T, perSecond(counts, se.IntervalS), false), kindColor[kind.name], "solid"),
			with(func(s *charts.SingleSeries) { s.YAxisIndex = 1 }))
	}
	if !errs {
		text.sub += "; no request failed or was rejected"
		line.SetGlobalOptions(charts.WithTitleOpts(titleOpts(text)))
	}
	addSeries(&line.RectChart, shading(r.WarmupS, r.Failures)...)
	p.chart(s, id, heightChart, false, line)
}

// instancesOverTime draws healthy endpoints and serving instances per
// strategy (one instances line when every strategy has the same).
func instancesOverTime(p *page, s *section, r *Results) {
	id := "instances-time"
	line := charts.NewLine()
	text := chartText{"Healthy and total instances over time",
		"solid: endpoints eligible for traffic; dashed: serving instances; at the end of each bucket"}
	line.SetGlobalOptions(globals(id, text, "axis", true)...)
	line.SetGlobalOptions(charts.WithXAxisOpts(timeAxis(r.Runs)),
		charts.WithYAxisOpts(opts.YAxis{Type: "value", Name: "instances", MinInterval: 1}))
	var first []int
	same := true
	for _, run := range r.Runs {
		if se := run.Series; se != nil {
			if first == nil {
				first = se.Instances
			} else if !slices.Equal(first, se.Instances) {
				same = false
			}
		}
	}
	step := with(func(s *charts.SingleSeries) { s.Step = "end" })
	for i, run := range r.Runs {
		se := run.Series
		if se == nil {
			continue
		}
		if len(se.Healthy) > 0 { // absent through an external gateway
			line.AddSeries("healthy — "+run.Strategy, nil, seriesStyle(timeSeries(se.T, ints(se.Healthy), false), color(i), "solid"), step)
		}
		if !same {
			line.AddSeries("instances — "+run.Strategy, nil, seriesStyle(timeSeries(se.T, ints(se.Instances), false), color(i), "dashed"), step)
		}
	}
	if same && first != nil {
		var t []float64
		for _, run := range r.Runs {
			if run.Series != nil {
				t = run.Series.T
				break
			}
		}
		line.AddSeries("instances (every strategy)", nil, seriesStyle(timeSeries(t, ints(first), false), "#24292f", "dashed"), step)
	}
	addSeries(&line.RectChart, shading(r.WarmupS, r.Failures)...)
	p.chart(s, id, heightSmall, false, line)
}

// instanceLoad draws the requests and the time-averaged utilization of
// every server instance, grouped by strategy.
func instanceLoad(p *page, s *section, runs []Run) {
	var ids []string
	for _, run := range runs {
		if len(run.Servers) > len(ids) {
			ids = ids[:0]
			for _, sv := range run.Servers {
				ids = append(ids, sv.ID)
			}
		}
	}
	if len(ids) == 0 {
		return
	}
	for _, which := range []string{"requests", "utilization"} {
		id := "instance-" + which
		bar := charts.NewBar()
		text := chartText{"Requests per instance", "attempts sent to each instance after warm-up"}
		ylab := "requests"
		if which == "utilization" {
			text = chartText{"Utilization per instance", "busy workers / concurrency, time-averaged after warm-up"}
			ylab = "utilization (%)"
		}
		bar.SetGlobalOptions(globals(id, text, "axis", true)...)
		bar.SetGlobalOptions(charts.WithXAxisOpts(xCategoryAxis("instance")), charts.WithYAxisOpts(yAxis(ylab, "value")))
		bar.SetXAxis(ids)
		for i, run := range runs {
			data := make([]opts.BarData, len(ids))
			for k := range ids {
				if k >= len(run.Servers) {
					continue
				}
				if which == "requests" {
					data[k] = opts.BarData{Value: run.Servers[k].Requests}
				} else {
					data[k] = opts.BarData{Value: fin(100 * run.Servers[k].Utilization)}
				}
			}
			bar.AddSeries(run.Strategy, data, with(func(s *charts.SingleSeries) { s.ItemStyle = &opts.ItemStyle{Color: color(i)} }))
		}
		p.chart(s, id, heightSmall, true, bar)
	}
}

// heatmap draws one strategy's per-instance utilization or in-flight
// attempts per bucket.
func heatmap(p *page, s *section, r *Results, i int, utilization bool) {
	run := r.Runs[i]
	se := run.Series
	rows := se.InFlight
	id := fmt.Sprintf("inflight-%d", i)
	text := chartText{"In-flight attempts per instance — " + run.Strategy, "the balancer's view at the end of each bucket"}
	maxV := 1.0
	if utilization {
		rows = se.Utilization
		id = fmt.Sprintf("utilization-%d", i)
		text = chartText{"Utilization per instance — " + run.Strategy, "busy workers / concurrency, averaged over each bucket"}
	}
	if len(rows) == 0 {
		return
	}
	names := make([]string, len(rows))
	for k := range rows {
		names[k] = strconv.Itoa(k)
		if k < len(run.Servers) {
			names[k] = run.Servers[k].ID
		}
	}
	// Beyond maxHeatmapCells, adjacent buckets are averaged into one
	// column, keeping the page small and quick to draw.
	cols := len(se.T)
	per := 1
	if n := len(rows) * cols; n > maxHeatmapCells {
		per = (n + maxHeatmapCells - 1) / maxHeatmapCells
		text.sub += fmt.Sprintf("; each column averages %d buckets", per)
	}
	ncols := (cols + per - 1) / per
	ts := make([]string, ncols)
	for c := range ts {
		ts[c] = fmtNum(se.T[c*per])
	}
	var data []opts.HeatMapData
	for y, row := range rows {
		for c := range ncols {
			lo, hi := c*per, min((c+1)*per, cols, len(row))
			if lo >= hi {
				break
			}
			sum := 0.0
			for _, v := range row[lo:hi] {
				sum += v
			}
			v := sum / float64(hi-lo)
			if !utilization {
				maxV = max(maxV, v)
			}
			data = append(data, opts.HeatMapData{Value: [3]any{c, y, fin3(v)}})
		}
	}
	hm := charts.NewHeatMap()
	hm.SetGlobalOptions(globals(id, text, "item", false)...)
	hm.SetGlobalOptions(
		gridOpts(opts.Grid{Left: "24", Right: "30", Top: "70", Bottom: "84", ContainLabel: opts.Bool(true)}),
		charts.WithXAxisOpts(opts.XAxis{Type: "category", Name: "time since start (s)", NameLocation: "middle", NameGap: 28, Data: ts}),
		charts.WithYAxisOpts(opts.YAxis{Type: "category", Name: "instance", Data: names}),
		charts.WithVisualMapOpts(opts.VisualMap{Type: "continuous", Calculable: opts.Bool(false), Min: 0, Max: float32(maxV),
			Orient: "horizontal", Left: "center", Bottom: "2", Text: heatmapText(utilization, maxV),
			InRange: &opts.VisualMapInRange{Color: []string{"#f7fbff", "#6baed6", "#08306b"}}}),
	)
	name := "in-flight attempts"
	if utilization {
		name = "utilization"
	}
	hm.AddSeries(name, data)
	height := min(max(260, 150+18*len(rows)), 640)
	p.chart(s, id, height, true, hm)
}

// maxHeatmapCells bounds the cells of one heatmap.
const maxHeatmapCells = 20000

// fin3 is fin with 3 significant digits, enough for a colour.
func fin3(x float64) any {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return nil
	}
	v, _ := strconv.ParseFloat(strconv.FormatFloat(x, 'g', 3, 64), 64)
	return v
}

func heatmapText(utilization bool, maxV float64) []string {
	if utilization {
		return []string{"1 = every worker busy", "0"}
	}
	return []string{fmtNum(maxV) + " attempts in flight", "0"}
}

// gatewayStages stacks each stage's share of the response time of ok
// requests answered upstream, and the gateway queue's, per strategy.
func gatewayStages(p *page, s *section, runs []Run) {
	id := "gateway-stages"
	var names []string
	var gws []*Gateway
	for _, run := range runs {
		if run.Gateway != nil {
			names = append(names, run.Strategy)
			gws = append(gws, run.Gateway)
		}
	}
	bar := charts.NewBar()
	text := chartText{"Gateway latency by stage", "share of the response time of ok upstream requests, by stage and queue"}
	bar.SetGlobalOptions(globals(id, text, "axis", true)...)
	bar.SetGlobalOptions(charts.WithXAxisOpts(xCategoryAxis("strategy")), charts.WithYAxisOpts(yAxis("share of response time (%)", "value")))
	bar.SetXAxis(names)
	stages := 0
	for _, g := range gws {
		stages = max(stages, len(g.Stages))
	}
	stack := with(func(s *charts.SingleSeries) { s.Stack = "gateway" })
	for k := 0; k < stages; k++ {
		data := make([]opts.BarData, len(gws))
		label := ""
		for j, g := range gws {
			if k < len(g.Stages) {
				data[j] = opts.BarData{Value: fin(100 * g.Stages[k].LatencyShare)}
				label = g.Stages[k].Type
			}
		}
		bar.AddSeries(fmt.Sprintf("%d. %s", k+1, label), data, stack, with(func(s *charts.SingleSeries) {
			s.ItemStyle = &opts.ItemStyle{Color: color(k + 1)}
		}))
	}
	queue := make([]opts.BarData, len(gws))
	for j, g := range gws {
		sum := 0.0
		for _, st := range g.Stages {
			sum += st.LatencyShare
		}
		queue[j] = opts.BarData{Value: fin(100 * max(0, g.LatencyShare-sum))}
	}
	bar.AddSeries("gateway queue", queue, stack, with(func(s *charts.SingleSeries) { s.ItemStyle = &opts.ItemStyle{Color: "#6e7781"} }))
	p.chart(s, id, heightSmall, true, bar)
}

// gatewayRequests draws the requests reaching each stage: the funnel of
// rejections and cache hits.
func gatewayRequests(p *page, s *section, runs []Run) {
	id := "gateway-requests"
	var labels []string
	for _, run := range runs {
		if run.Gateway != nil && len(run.Gateway.Stages) > len(labels) {
			labels = labels[:0]
			for k, st := range run.Gateway.Stages {
				labels = append(labels, fmt.Sprintf("%d. %s", k+1, st.Type))
			}
		}
	}
	bar := charts.NewBar()
	text := chartText{"Requests reaching each gateway stage", "after warm-up; a drop shows rejections or cache hits"}
	bar.SetGlobalOptions(globals(id, text, "axis", true)...)
	bar.SetGlobalOptions(charts.WithXAxisOpts(xCategoryAxis("stage")), charts.WithYAxisOpts(yAxis("requests", "value")))
	bar.SetXAxis(labels)
	for i, run := range runs {
		if run.Gateway == nil {
			continue
		}
		data := make([]opts.BarData, len(labels))
		for k, st := range run.Gateway.Stages {
			data[k] = opts.BarData{Value: st.Requests}
		}
		bar.AddSeries(run.Strategy, data, with(func(s *charts.SingleSeries) { s.ItemStyle = &opts.ItemStyle{Color: color(i)} }))
	}
	p.chart(s, id, heightSmall, true, bar)
}

func gatewayTable(runs []Run) *table {
	t := &table{Caption: "Gateway tier", Header: []string{"strategy", "gateway share of response time %", "queue ms",
		"cache hits", "cache misses", "cache hit ratio %"}}
	for _, run := range runs {
		g := run.Gateway
		if g == nil {
			continue
		}
		t.Rows = append(t.Rows, []cell{{Text: run.Strategy}, num(strconv.FormatFloat(100*g.LatencyShare, 'f', 2, 64)),
			num(strconv.FormatFloat(g.QueueMS, 'f', 3, 64)), num(fmtInt(g.CacheHits)), num(fmtInt(g.CacheMisses)),
			num(strconv.FormatFloat(100*g.CacheHitRatio, 'f', 1, 64))})
	}
	// Connections and TLS, when the scenario models them.
	conns := false
	for _, run := range runs {
		conns = conns || run.Gateway != nil && run.Gateway.Connections > 0
	}
	if conns {
		t.Header = append(t.Header, "connections opened", "full handshakes", "resumed handshakes", "TLS share of gateway CPU %")
		k := 0
		for _, run := range runs {
			g := run.Gateway
			if g == nil {
				continue
			}
			t.Rows[k] = append(t.Rows[k], num(fmtInt(g.Connections)), num(fmtInt(g.FullHandshakes)), num(fmtInt(g.ResumedHandshakes)),
				num(strconv.FormatFloat(100*g.TLSShare, 'f', 1, 64)))
			k++
		}
	}
	// CPU per request, and TLS at the edge.
	cpu, edge := false, false
	for _, run := range runs {
		cpu = cpu || run.Gateway != nil && run.Gateway.CPUPerRequestMS > 0
		edge = edge || run.Gateway != nil && run.Gateway.Edge != nil
	}
	if cpu || edge {
		t.Header = append(t.Header, "gateway CPU ms/request")
		if edge {
			t.Header = append(t.Header, "edge TLS CPU ms/request", "edge utilization")
		}
		k := 0
		for _, run := range runs {
			g := run.Gateway
			if g == nil {
				continue
			}
			t.Rows[k] = append(t.Rows[k], num(strconv.FormatFloat(g.CPUPerRequestMS, 'f', 3, 64)))
			if edge {
				e := g.Edge
				if e == nil {
					e = &Edge{}
				}
				t.Rows[k] = append(t.Rows[k], num(strconv.FormatFloat(e.CPUPerRequestMS, 'f', 3, 64)), num(strconv.FormatFloat(e.Utilization, 'f', 3, 64)))
			}
			k++
		}
	}
	return t
}

// modeLabels names the two sides of a comparison: the run's mode and the
// compared results' ("live" and "sim").
func modeLabels(r *Results) (string, string) {
	a, b := r.Mode, r.Compare.Mode
	if a == "" {
		a = "this run"
	}
	if b == "" || b == a {
		b = "compared"
	}
	return a, b
}

// matchRun finds the run of strategy in runs.
func matchRun(runs []Run, strategy string) *Run {
	for i := range runs {
		if runs[i].Strategy == strategy {
			return &runs[i]
		}
	}
	return nil
}

func compareTable(r *Results) *table {
	a, b := modeLabels(r)
	t := &table{Caption: a + " against " + b + " (" + r.Compare.Scenario + ")", Header: []string{"strategy",
		"availability % " + a, "availability % " + b, "p50 ms " + a, "p50 ms " + b, "p99 ms " + a, "p99 ms " + b,
		"p99 " + a + " / " + b, "throughput rps " + a, "throughput rps " + b}}
	for i := range r.Runs {
		run := &r.Runs[i]
		o := matchRun(r.Compare.Runs, run.Strategy)
		if o == nil {
			continue
		}
		ratio := "-"
		if o.LatencyMS.P99 > 0 {
			ratio = strconv.FormatFloat(run.LatencyMS.P99/o.LatencyMS.P99, 'f', 2, 64)
		}
		t.Rows = append(t.Rows, []cell{{Text: run.Strategy}, num(fmtPct(run.Availability)), num(fmtPct(o.Availability)),
			num(fmtMS(run.LatencyMS.P50)), num(fmtMS(o.LatencyMS.P50)), num(fmtMS(run.LatencyMS.P99)), num(fmtMS(o.LatencyMS.P99)),
			num(ratio), num(strconv.FormatFloat(run.ThroughputRPS, 'f', 1, 64)), num(strconv.FormatFloat(o.ThroughputRPS, 'f', 1, 64))})
	}
	return t
}

// compareSection overlays the compared results (the simulation of a live
// run): percentiles side by side, CDFs and p99 over time, the compared
// side faded or dashed.
func compareSection(p *page, r *Results) {
	a, b := modeLabels(r)
	s := p.section("compare", "Compared: "+a+" and "+b)
	var bs []barSeries
	var cs []cdfSeries
	for i := range r.Runs {
		run := &r.Runs[i]
		o := matchRun(r.Compare.Runs, run.Strategy)
		if o == nil {
			continue
		}
		v, ci := ciValues(run)
		ov, oci := ciValues(o)
		bs = append(bs, barSeries{name: run.Strategy + " (" + a + ")", col: color(i), values: v, ci: ci},
			barSeries{name: run.Strategy + " (" + b + ")", col: color(i), faded: true, values: ov, ci: oci})
		if run.OK > 0 {
			cs = append(cs, cdfSeries{run.Strategy + " (" + a + ")", color(i), "solid", run})
		}
		if o.OK > 0 {
			cs = append(cs, cdfSeries{o.Strategy + " (" + b + ")", color(i), "dashed", o})
		}
	}
	if len(bs) == 0 {
		s.text("No strategy of this run is in the compared results.")
		return
	}
	percentileBars(p, s, "compare-percentiles", chartText{"Latency percentiles: " + a + " and " + b,
		"ok requests after warm-up; faded bars: " + b}, bs)
	cdfChart(p, s, "compare-cdf", chartText{"Latency distribution (CDF): " + a + " and " + b,
		"dashed: " + b + "; latency on a log scale, share axis spaced by percentile"}, cs)
	line := charts.NewLine()
	id := "compare-p99-time"
	line.SetGlobalOptions(globals(id, chartText{"p99 latency over time: " + a + " and " + b,
		"dashed: " + b + "; log scale; shaded: warm-up and failure windows"}, "axis", true)...)
	line.SetGlobalOptions(charts.WithXAxisOpts(timeAxis(r.Runs)),
		charts.WithYAxisOpts(yAxis("p99 latency (ms)", "log")))
	drawn := false
	for i, run := range r.Runs {
		o := matchRun(r.Compare.Runs, run.Strategy)
		if o == nil {
			continue
		}
		if se := run.Series; se != nil {
			line.AddSeries(run.Strategy+" ("+a+")", nil, seriesStyle(timeSeries(se.T, se.P99MS, true), color(i), "solid"))
			drawn = true
		}
		if se := o.Series; se != nil {
			line.AddSeries(o.Strategy+" ("+b+")", nil, seriesStyle(timeSeries(se.T, se.P99MS, true), color(i), "dashed"))
			drawn = true
		}
	}
	if drawn {
		addSeries(&line.RectChart, shading(r.WarmupS, r.Failures)...)
		p.chart(s, id, heightChart, false, line)
	}
}
