package reports

import (
	"fmt"
	"io"
	"math"
	"text/tabwriter"
)

// Comparison is one metric of one strategy measured live and simulated.
type Comparison struct {
	Strategy string
	Metric   string
	Sim      float64
	Live     float64
	// Diff is (live − sim) / sim, or for fractions (Points) live − sim.
	Diff float64
	// Points is true when Diff is a difference of fractions, not a ratio.
	Points bool
}

// Compare lines up the runs of a live result with the simulation of the
// same scenario, strategy by strategy: throughput, the failed fraction
// (in points) and the latency percentiles (relative), and when live
// measured it (live --cpu) the gateway's CPU per request and TLS's share
// of it (in points).
func Compare(live, sim *Results) []Comparison {
	var out []Comparison
	for _, l := range live.Runs {
		var s *Run
		for i := range sim.Runs {
			if sim.Runs[i].Strategy == l.Strategy || len(sim.Runs) == 1 {
				s = &sim.Runs[i]
				break
			}
		}
		if s == nil {
			continue
		}
		rel := func(metric string, sv, lv float64) {
			d := math.NaN()
			if sv != 0 {
				d = (lv - sv) / sv
			}
			out = append(out, Comparison{Strategy: l.Strategy, Metric: metric, Sim: sv, Live: lv, Diff: d})
		}
		rel("throughput rps", s.ThroughputRPS, l.ThroughputRPS)
		fs, fl := failedFraction(s), failedFraction(&l)
		out = append(out, Comparison{Strategy: l.Strategy, Metric: "failed %", Sim: 100 * fs, Live: 100 * fl, Diff: 100 * (fl - fs), Points: true})
		rel("mean ms", s.LatencyMS.Mean, l.LatencyMS.Mean)
		rel("p50 ms", s.LatencyMS.P50, l.LatencyMS.P50)
		rel("p90 ms", s.LatencyMS.P90, l.LatencyMS.P90)
		rel("p99 ms", s.LatencyMS.P99, l.LatencyMS.P99)
		rel("p99.9 ms", s.LatencyMS.P999, l.LatencyMS.P999)
		if sg, lg := s.Gateway, l.Gateway; sg != nil && lg != nil && lg.CPUPerRequestMS > 0 {
			rel("gateway CPU ms/req", sg.CPUPerRequestMS, lg.CPUPerRequestMS)
			if sg.Edge != nil && lg.Edge != nil && lg.Edge.CPUPerRequestMS > 0 {
				rel("edge CPU ms/req", sg.Edge.CPUPerRequestMS, lg.Edge.CPUPerRequestMS)
			}
			if sg.TLSShare > 0 || lg.TLSShare > 0 {
				out = append(out, Comparison{Strategy: l.Strategy, Metric: "TLS % gateway CPU", Sim: 100 * sg.TLSShare, Live: 100 * lg.TLSShare,
					Diff: 100 * (lg.TLSShare - sg.TLSShare), Points: true})
			}
		}
	}
	return out
}

func failedFraction(r *Run) float64 {
	if r.Requests == 0 {
		return 0
	}
	return float64(r.Failed) / float64(r.Requests)
}

// WriteComparison prints Compare's table: for each strategy and metric the
// simulated and live values and their difference.
func WriteComparison(w io.Writer, live, sim *Results) error {
	fmt.Fprintln(w, "sim vs live (same arrivals, keys and service demands)")
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "strategy\tmetric\tsim\tlive\tdifference\t")
	for _, c := range Compare(live, sim) {
		d := fmt.Sprintf("%+.1f%%", 100*c.Diff)
		if c.Points {
			d = fmt.Sprintf("%+.2f pts", c.Diff)
		} else if math.IsNaN(c.Diff) {
			d = "—"
		}
		fmt.Fprintf(tw, "%s\t%s\t%.2f\t%.2f\t%s\t\n", Printable(c.Strategy), c.Metric, c.Sim, c.Live, d)
	}
	return tw.Flush()
}
