package reports

import (
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/go-echarts/go-echarts/v2/charts"
	"github.com/go-echarts/go-echarts/v2/opts"
)

// FitView is what edgelab fit's report page shows: the arrival rate over
// time against each fitted model, and per upstream the histogram of its
// service times against each fitted density, with the tables of
// likelihoods (package fit builds it).
type FitView struct {
	// Title and Subtitle head the page; Fragment is the scenario fragment
	// the fit gives, shown verbatim.
	Title, Subtitle, Fragment string
	// Rate is the arrival rate per step and each model's.
	Rate FitCurves
	// RateTable lists the rate models.
	RateTable FitTable
	// Services are the upstreams' histograms and tables.
	Services []FitService
}

// FitCurves are curves over a common x: Observed (bars) and Models
// (lines), each with its name.
type FitCurves struct {
	XName, YName string
	X            []float64
	Observed     []float64
	Models       []FitCurve
}

// FitCurve is one fitted model's values at FitCurves.X.
type FitCurve struct {
	Name string
	Y    []float64
}

// FitTable is a table of candidates: Header, then one row per candidate.
type FitTable struct {
	Header []string
	Rows   [][]string
}

// FitService is one upstream's part of the page.
type FitService struct {
	Name, Text string
	Density    FitCurves
	Table      FitTable
}

// WriteFitHTML writes fit's self-contained report page to w (nothing on
// error; the same view gives the same bytes).
func WriteFitHTML(w io.Writer, v *FitView, opt HTMLOptions) error {
	if v == nil {
		return errors.New("fit report: nothing to show")
	}
	p := newPage(opt)
	p.Title, p.Subtitle = v.Title, v.Subtitle
	s := p.section("fragment", "Scenario fragment")
	s.pre(v.Fragment)
	s = p.section("arrivals", "Arrival rate")
	fitChart(p, s, "rate", chartText{"arrival rate over time", "requests per step, and each fitted model's rate"}, &v.Rate, true)
	s.table(fitTable(&v.RateTable, "rate models, best first (AIC: lower is better)"))
	for i := range v.Services {
		f := &v.Services[i]
		s := p.section(fmt.Sprintf("service-%d", i), "Service time: "+f.Name)
		s.text("%s", f.Text)
		fitChart(p, s, fmt.Sprintf("density-%d", i), chartText{"service time of " + f.Name, "histogram of the log's times (density) and each fitted family's density"}, &f.Density, false)
		s.table(fitTable(&f.Table, "families, best first (AIC: lower is better; KS: the largest gap between the CDFs)"))
	}
	return p.write(w)
}

func fitTable(t *FitTable, caption string) *table {
	out := &table{Caption: caption, Header: t.Header}
	for _, r := range t.Rows {
		var row []cell
		for _, c := range r {
			class := ""
			if _, err := strconv.ParseFloat(c, 64); err == nil {
				class = "num"
			}
			row = append(row, cell{Text: c, Class: class})
		}
		out.Rows = append(out.Rows, row)
	}
	return out
}

// fitChart draws observed values as bars (steps: a line) with the models
// as lines over them.
func fitChart(p *page, s *section, id string, text chartText, c *FitCurves, steps bool) {
	if len(c.X) == 0 {
		return
	}
	line := charts.NewLine()
	line.SetGlobalOptions(globals(id, text, "axis", true)...)
	line.SetGlobalOptions(charts.WithXAxisOpts(xValueAxis(c.XName)), charts.WithYAxisOpts(yAxis(c.YName, "value")))
	pts := func(y []float64) []xy {
		out := make([]xy, 0, len(c.X))
		for i, x := range c.X {
			if i < len(y) {
				out = append(out, xy{fin(x), fin(y[i])})
			}
		}
		return out
	}
	line.AddSeries("log", nil, seriesStyle(pts(c.Observed), "#9aa5b1", "solid"), with(func(s *charts.SingleSeries) {
		s.AreaStyle = &opts.AreaStyle{Opacity: opts.Float(0.35)}
		if steps {
			s.Step = "start"
		}
	}))
	for i, m := range c.Models {
		lt := "solid"
		if i > 0 {
			lt = "dashed"
		}
		line.AddSeries(m.Name, nil, seriesStyle(pts(m.Y), color(i), lt))
	}
	p.chart(s, id, heightChart, false, line)
}
