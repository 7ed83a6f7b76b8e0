package fit

import (
	"fmt"
	"math"

	"github.com/edgelab/edgelab/reports"
)

// histogramBins is how many bins a service-time histogram has.
const histogramBins = 60

// View is the report page of the fit (reports.WriteFitHTML).
func (r *Report) View() *reports.FitView {
	v := &reports.FitView{
		Title:    "edgelab fit — " + r.Log,
		Subtitle: fmt.Sprintf("%s log, %d requests over %.3f s", r.Format, r.Arrival.N, r.Arrival.SpanS),
		Fragment: string(r.YAML()),
	}
	a := r.Arrival
	v.Rate = reports.FitCurves{XName: "time since the first request (s)", YName: "requests per second"}
	for i, c := range a.Counts {
		t := float64(i) * a.StepS
		v.Rate.X = append(v.Rate.X, t)
		v.Rate.Observed = append(v.Rate.Observed, float64(c)/a.StepS)
	}
	v.RateTable.Header = []string{"model", "parameters", "ΔAIC", "clients.arrival"}
	for i := range a.Models {
		m := &a.Models[i]
		if m.Model != "steps" { // the steps model is the bars themselves
			c := reports.FitCurve{Name: m.Model}
			for _, t := range v.Rate.X {
				c.Y = append(c.Y, m.Rate(t+a.StepS/2))
			}
			v.Rate.Models = append(v.Rate.Models, c)
		}
		y := m.YAML
		if len(y) > 160 {
			y = y[:160] + "…"
		}
		v.RateTable.Rows = append(v.RateTable.Rows, []string{m.Model, fmt.Sprint(m.Params), fmt.Sprintf("%+.1f", m.AIC-a.Best().AIC), y})
	}
	for _, s := range r.Services {
		fs := reports.FitService{Name: s.Name,
			Text: fmt.Sprintf("%d times from %d server(s), mean %.3f ms; the log's resolution %g ms", s.N, s.Instances, s.MeanMS, s.ResolutionMS)}
		// Bins up to the 99.5th percentile: a heavy tail would squash the
		// rest into one bar.
		top := s.Samples[min(len(s.Samples)-1, int(0.995*float64(len(s.Samples))))]
		w := top / histogramBins
		if !(w > 0) {
			w = 1
		}
		counts := make([]float64, histogramBins)
		for _, x := range s.Samples {
			if k := int(x / w); k < histogramBins {
				counts[k]++
			}
		}
		fs.Density = reports.FitCurves{XName: "service time (ms)", YName: "density (per ms)"}
		for k := range counts {
			fs.Density.X = append(fs.Density.X, (float64(k)+0.5)*w)
			fs.Density.Observed = append(fs.Density.Observed, counts[k]/(float64(s.N)*w))
		}
		fs.Table.Header = []string{"family", "ΔAIC", "KS", "log likelihood", "service"}
		for i := range s.Candidates {
			c := &s.Candidates[i]
			fc := reports.FitCurve{Name: c.Family}
			for _, x := range fs.Density.X {
				d := c.PDF(x)
				if math.IsInf(d, 0) || math.IsNaN(d) {
					d = 0
				}
				fc.Y = append(fc.Y, d)
			}
			fs.Density.Models = append(fs.Density.Models, fc)
			fs.Table.Rows = append(fs.Table.Rows, []string{c.Family, fmt.Sprintf("%+.1f", c.AIC-s.Best().AIC), fmt.Sprintf("%.4f", c.KS), fmt.Sprintf("%.1f", c.LogLik), c.YAML})
		}
		v.Services = append(v.Services, fs)
	}
	return v
}
