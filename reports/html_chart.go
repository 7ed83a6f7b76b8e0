package reports

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/go-echarts/go-echarts/v2/charts"
	"github.com/go-echarts/go-echarts/v2/opts"
)

// palette colours strategies, in the order of the runs, in every chart:
// the Okabe–Ito colours, which stay distinct under the common forms of
// colour blindness (M. Okabe and K. Ito, "Color Universal Design", 2008),
// with the low-contrast yellow last.
var palette = []string{"#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000", "#F0E442"}

func color(i int) string { return palette[i%len(palette)] }

// kindColor colours failure kinds and outcome kinds.
var kindColor = map[string]string{
	"crash": "#cf222e", "hang": "#8250df", "slow": "#bf8700", "errors": "#e16f24",
	"error_5xx": "#e16f24", "timeout": "#cf222e", "queue_full": "#bf8700", "connect_failure": "#8250df",
	"no_upstream": "#6e7781", "rate_limited": "#0969da", "auth_rejected": "#1b7c83",
}

// Chart heights in pixels.
const (
	heightChart = 400
	heightSmall = 340
)

// chartText is a chart's title and subtitle.
type chartText struct{ title, sub string }

// globals are the options every chart shares: a fixed id (go-echarts
// would draw a random one), no animation (a report is a document, and
// screenshots must not catch a chart mid-animation), title, tooltip,
// legend, grid and a save-as-PNG button. AssetsHost replaces go-echarts'
// CDN default; go-echarts' page renderer, the only user of either, is not
// used (see html.go).
func globals(id string, t chartText, trigger string, legend bool) []charts.GlobalOpts {
	top := "48"
	if t.sub != "" {
		top = "70"
	}
	return []charts.GlobalOpts{
		charts.WithInitializationOpts(opts.Initialization{ChartID: id, AssetsHost: "inline/", Renderer: "canvas"}),
		charts.WithAnimation(false),
		charts.WithTitleOpts(titleOpts(t)),
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: trigger}),
		charts.WithLegendOpts(opts.Legend{Show: opts.Bool(legend), Type: "scroll", Bottom: "4"}),
		gridOpts(opts.Grid{Left: "24", Right: "40", Top: top, Bottom: "64", ContainLabel: opts.Bool(true)}),
		charts.WithToolboxOpts(opts.Toolbox{Show: opts.Bool(true), Right: "12", Feature: &opts.ToolBoxFeature{
			SaveAsImage: &opts.ToolBoxFeatureSaveAsImage{Show: opts.Bool(true), Type: "png", Name: id, Title: "save as PNG"}}}),
	}
}

func titleOpts(t chartText) opts.Title {
	return opts.Title{Title: t.title, Subtitle: t.sub, Left: "center", Top: "6",
		TitleStyle: &opts.TextStyle{FontSize: 15}, SubtitleStyle: &opts.TextStyle{Color: "#57606a"}}
}

// xValueAxis is a value x axis named with its unit.
func xValueAxis(name string) opts.XAxis {
	return opts.XAxis{Type: "value", Name: name, NameLocation: "middle", NameGap: 28, Scale: opts.Bool(true)}
}

// timeAxis is the x axis of a time chart: from 0 to the end of the
// last bucket.
func timeAxis(runs []Run) opts.XAxis {
	end := 0.0
	for _, run := range runs {
		if se := run.Series; se != nil && len(se.T) > 0 {
			end = max(end, se.T[len(se.T)-1]+se.IntervalS)
		}
	}
	a := opts.XAxis{Type: "value", Name: "time since start (s)", NameLocation: "middle", NameGap: 28, Min: 0}
	if end > 0 {
		a.Max = fin(end)
	}
	return a
}

func xCategoryAxis(name string) opts.XAxis {
	return opts.XAxis{Type: "category", Name: name, NameLocation: "middle", NameGap: 28}
}

func yAxis(name, typ string) opts.YAxis { return opts.YAxis{Type: typ, Name: name} }

// seriesStyle sets a series' data, colour and line type ("solid",
// "dashed", "dotted"; "" for bars).
func seriesStyle(data any, col, lineType string) charts.SeriesOpts {
	return charts.WithSeriesOpts(func(s *charts.SingleSeries) {
		s.Data = data
		s.ItemStyle = &opts.ItemStyle{Color: col}
		if lineType != "" {
			s.ShowSymbol = opts.Bool(false)
			s.LineStyle = &opts.LineStyle{Color: col, Type: lineType, Width: 1.6}
		}
	})
}

// with applies f to a series.
func with(f func(s *charts.SingleSeries)) charts.SeriesOpts { return charts.WithSeriesOpts(f) }

// xy is one point of a series on a value x axis: [x, y], y null when
// missing.
type xy [2]any

// timeSeries pairs bucket starts with ys; with gaps, zero ys are gaps (a
// bucket with no ok request has no latency).
func timeSeries(t, ys []float64, gaps bool) []xy {
	out := make([]xy, 0, len(t))
	for k := range t {
		if k >= len(ys) {
			break
		}
		var y any = fin(ys[k])
		if gaps && ys[k] <= 0 {
			y = nil
		}
		out = append(out, xy{fin(t[k]), y})
	}
	return out
}

// perSecond turns counts per bucket into rates.
func perSecond(counts []int64, interval float64) []float64 {
	out := make([]float64, len(counts))
	if interval <= 0 {
		interval = 1
	}
	for i, c := range counts {
		out[i] = float64(c) / interval
	}
	return out
}

func ints(xs []int) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = float64(x)
	}
	return out
}

// maxFailureLabels bounds the failure windows drawn one by one, with a
// label each; beyond it (random crashes) overlapping windows are merged.
const maxFailureLabels = 16

// shading returns the series that shade the warm-up and the failure
// windows on a time chart: empty line series carrying a markArea, with
// their own legend entries so that a reader can hide them.
func shading(warmupS float64, failures []FailureWindow) []charts.SingleSeries {
	var out []charts.SingleSeries
	if warmupS > 0 {
		out = append(out, markAreaSeries("warm-up", "#6e7781", []any{
			[]any{map[string]any{"name": "warm-up", "xAxis": fin(0)}, map[string]any{"xAxis": fin(warmupS)}},
		}, 0.10))
	}
	if len(failures) == 0 {
		return out
	}
	var areas []any
	if len(failures) <= maxFailureLabels {
		fs := slices.Clone(failures)
		slices.SortStableFunc(fs, func(a, b FailureWindow) int { return cmp.Compare(a.StartS, b.StartS) })
		for _, f := range fs {
			c, ok := kindColor[f.Kind]
			if !ok {
				c = "#cf222e"
			}
			areas = append(areas, []any{
				map[string]any{"name": f.Server + " " + f.Kind, "xAxis": fin(f.StartS), "itemStyle": map[string]any{"color": c, "opacity": 0.12}},
				map[string]any{"xAxis": fin(f.EndS)},
			})
		}
	} else {
		for _, u := range mergeWindows(failures) {
			areas = append(areas, []any{
				map[string]any{"name": fmt.Sprintf("%d failures", u.n), "xAxis": fin(u.start)},
				map[string]any{"xAxis": fin(u.end)},
			})
		}
	}
	return append(out, markAreaSeries("failures", "#cf222e", areas, 0.12))
}

func markAreaSeries(name, col string, areas []any, opacity float32) charts.SingleSeries {
	return charts.SingleSeries{
		Name: name, Type: "line", Data: []xy{},
		ItemStyle: &opts.ItemStyle{Color: col},
		MarkAreas: &opts.MarkAreas{
			Data: areas,
			MarkAreaStyle: opts.MarkAreaStyle{
				ItemStyle: &opts.ItemStyle{Color: col, Opacity: opts.Float(opacity)},
				Label:     &opts.Label{Show: opts.Bool(true), Position: "insideTop", Color: "#3d444d", FontSize: 10},
			},
		},
	}
}

type window struct {
	start, end float64
	n          int
}

// mergeWindows returns the union of the failure windows as disjoint
// intervals, each with the number of windows it merged.
func mergeWindows(fs []FailureWindow) []window {
	ws := make([]window, len(fs))
	for i, f := range fs {
		ws[i] = window{f.StartS, f.EndS, 1}
	}
	slices.SortFunc(ws, func(a, b window) int {
		return cmp.Or(cmp.Compare(a.start, b.start), cmp.Compare(a.end, b.end))
	})
	var out []window
	for _, w := range ws {
		if n := len(out); n > 0 && w.start <= out[n-1].end {
			out[n-1].end = max(out[n-1].end, w.end)
			out[n-1].n++
			continue
		}
		out = append(out, w)
	}
	return out
}

// addSeries appends prepared series to a chart.
func addSeries(c *charts.RectChart, ss ...charts.SingleSeries) {
	c.MultiSeries = append(c.MultiSeries, ss...)
}

// gridOpts sets the chart's only grid (charts.WithGridOpts appends one).
func gridOpts(g opts.Grid) charts.GlobalOpts {
	return func(bc *charts.BaseConfiguration) { bc.GridList = []opts.Grid{g} }
}
