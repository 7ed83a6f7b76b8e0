package reports

// Findings: the sentences and the table at the top of a report that answer
// the scenario's question — which strategy meets the SLO, and which
// differences between strategies are real and which are noise.

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"
)

// Diff is the difference B − A between two sets of figures with, when the
// data allow one, the 95% confidence interval of that difference.
type Diff struct {
	// A and B are the means of the two sides.
	A, B float64
	// Delta is the mean difference B − A (for paired figures, the mean of
	// the per-pair differences, which is also B − A).
	Delta float64
	// Half is the half-width of the 95% CI of Delta; meaningful only when
	// Method is not empty.
	Half float64
	// Method is "paired" (Student's t on per-replication differences),
	// "welch" (unpaired, Welch's t) or "" (no interval).
	Method string
	// N is the number of pairs (paired) or the smaller side's count.
	N int
}

// HasCI reports whether the difference has a confidence interval.
func (d Diff) HasCI() bool { return d.Method != "" }

// Significant reports whether the 95% CI of the difference excludes zero.
// A difference without a CI is never significant.
func (d Diff) Significant() bool {
	return d.HasCI() && !math.IsNaN(d.Delta) && math.Abs(d.Delta) > d.Half
}

// tQuantile975 is the 97.5% quantile of Student's t with df degrees of
// freedom.
func tQuantile975(df float64) float64 {
	return distuv.StudentsT{Mu: 0, Sigma: 1, Nu: df}.Quantile(0.975)
}

// PairedDiff compares b with a pair by pair (a[i] and b[i] were measured
// on the same requests): the mean of b[i] − a[i] and the half-width of its
// 95% CI from Student's t with n − 1 degrees of freedom. With fewer than
// two pairs there is no interval.
func PairedDiff(a, b []float64) Diff {
	n := min(len(a), len(b))
	d := Diff{N: n}
	if n == 0 {
		return d
	}
	diffs := make([]float64, n)
	for i := range n {
		diffs[i] = b[i] - a[i]
	}
	d.A, d.B = stat.Mean(a[:n], nil), stat.Mean(b[:n], nil)
	d.Delta, d.Half = MeanCI95(diffs)
	if n >= 2 {
		d.Method = "paired"
	}
	return d
}

// WelchDiff compares two independent samples: the difference of their
// means and the half-width of its 95% CI from Welch's t, with the
// Welch–Satterthwaite degrees of freedom. Each side needs two values or
// more for an interval.
func WelchDiff(a, b []float64) Diff {
	d := Diff{N: min(len(a), len(b))}
	if len(a) == 0 || len(b) == 0 {
		return d
	}
	d.A, d.B = stat.Mean(a, nil), stat.Mean(b, nil)
	d.Delta = d.B - d.A
	if len(a) < 2 || len(b) < 2 {
		return d
	}
	d.Method = "welch"
	va, vb := stat.Variance(a, nil)/float64(len(a)), stat.Variance(b, nil)/float64(len(b))
	se2 := va + vb
	if se2 == 0 {
		return d
	}
	df := se2 * se2 / (va*va/float64(len(a)-1) + vb*vb/float64(len(b)-1))
	d.Half = tQuantile975(df) * math.Sqrt(se2)
	return d
}

// findingMetric is one figure the findings compare.
type findingMetric struct {
	name string // "p99"
	unit string // " ms", "%", ""
	// points: differences are in percentage points, not relative.
	points bool
	// value is a run's figure (a mean over replications).
	value func(*Run) float64
	// reps are its per-replication values (nil without).
	reps func(*Replicates) []float64
	// failures: only worth a word when some request failed.
	failures bool
}

var findingMetrics = []findingMetric{
	{name: "p99", unit: " ms", value: func(r *Run) float64 { return r.LatencyMS.P99 },
		reps: func(x *Replicates) []float64 { return x.P99MS }},
	{name: "mean", unit: " ms", value: func(r *Run) float64 { return r.LatencyMS.Mean },
		reps: func(x *Replicates) []float64 { return x.MeanMS }},
	{name: "availability", unit: "%", points: true, failures: true,
		value: func(r *Run) float64 { return 100 * r.Availability },
		reps:  func(x *Replicates) []float64 { return scale(x.Availability, 100) }},
	{name: "failed requests", failures: true,
		value: func(r *Run) float64 { return float64(r.Failed) / float64(max(r.Replications, 1)) },
		reps:  func(x *Replicates) []float64 { return x.failedF() }},
}

func scale(xs []float64, k float64) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = k * x
	}
	return out
}

// Findings is what a report says first: sentences that answer the
// scenario's question and a table of the differences behind them.
type Findings struct {
	Sentences []string
	// Header and Rows are the table: one row per strategy or change.
	Header []string
	Rows   [][]string
	// rowClass holds a CSS class per cell ("pass", "fail", "num", "").
	rowClass [][]string
}

// paired returns the runs' per-replication figures when every run has
// them for the same number of replications (two or more).
func pairedReplications(runs []*Run) int {
	n := -1
	for _, r := range runs {
		if r.Replicates == nil || r.Replicates.check(r.Replications) != nil || r.Replications < 2 {
			return 0
		}
		if n >= 0 && r.Replications != n {
			return 0
		}
		n = r.Replications
	}
	return max(n, 0)
}

// RunFindings writes the findings of one results.json: which strategy
// has the lowest p99, which meet the SLO (when slo is set) and which do
// not, and how each other strategy differs from the best one in p99,
// mean, and (when any request failed) availability and failed requests.
// With replications the differences are paired across replications
// (every strategy of one replication sees the same requests) and each is
// called significant only when its 95% CI excludes zero; with one
// replication they are given without interval, and said to be so.
func RunFindings(r *Results, slo *SLO) Findings {
	var f Findings
	var runs []*Run
	for i := range r.Runs {
		runs = append(runs, &r.Runs[i])
	}
	if len(runs) == 0 {
		return f
	}
	if slo != nil && slo.IsZero() {
		slo = nil
	}
	reps := runs[0].Replications
	for _, run := range runs {
		reps = min(reps, run.Replications)
	}
	paired := pairedReplications(runs)
	anyFailed := false
	for _, run := range runs {
		anyFailed = anyFailed || run.Failed > 0
	}
	// The reference: the lowest p99 among runs with ok requests.
	best := -1
	for i, run := range runs {
		if run.OK > 0 && (best < 0 || run.LatencyMS.P99 < runs[best].LatencyMS.P99) {
			best = i
		}
	}
	if best < 0 {
		f.Sentences = append(f.Sentences, "No strategy answered any request successfully: there is no latency to compare.")
		return f
	}
	ref := runs[best]
	switch {
	case reps <= 1:
		f.Sentences = append(f.Sentences, "These figures come from one replication: the differences below carry no confidence interval "+
			"and may be noise. Set replications: 5 or more to tell real differences from noise.")
	case paired > 0:
		f.Sentences = append(f.Sentences, fmt.Sprintf("Differences are paired across the %d replications (in each replication every "+
			"strategy sees the same requests, so most of their noise cancels) with 95%% confidence intervals from Student's t; "+
			"a difference is significant when its interval excludes zero.", paired))
	default:
		f.Sentences = append(f.Sentences, fmt.Sprintf("These results have %d replications but no per-replication figures "+
			"(replicates): the differences below carry no confidence interval. Re-run to compare strategies paired.", reps))
	}
	if len(runs) == 1 {
		f.Sentences = append(f.Sentences, fmt.Sprintf("One strategy, %s: p99 %s ms, mean %s ms, availability %s%%.",
			ref.Strategy, ciText(ref, "latency_ms.p99", ref.LatencyMS.P99, 1), ciText(ref, "latency_ms.mean", ref.LatencyMS.Mean, 1),
			ciText(ref, "availability", 100*ref.Availability, 100)))
	} else {
		f.Sentences = append(f.Sentences, fmt.Sprintf("Lowest p99: %s, at %s ms.", ref.Strategy,
			ciText(ref, "latency_ms.p99", ref.LatencyMS.P99, 1)))
	}
	if slo != nil {
		f.Sentences = append(f.Sentences, sloSentences(runs, slo)...)
	}
	// The table: one row per strategy, its figures and its differences
	// from the reference.
	f.Header = []string{"strategy"}
	if slo != nil {
		f.Header = append(f.Header, "SLO "+slo.String())
	}
	var ms []findingMetric
	for _, m := range findingMetrics {
		if m.failures && !anyFailed {
			continue
		}
		ms = append(ms, m)
		f.Header = append(f.Header, m.name+m.unitLabel(), "vs "+ref.Strategy)
	}
	for i, run := range runs {
		row := []string{run.Strategy}
		cls := []string{""}
		if slo != nil {
			if slo.Meets(run) {
				row, cls = append(row, "✓ meets"), append(cls, "pass")
			} else {
				row, cls = append(row, "✗ misses"), append(cls, "fail")
			}
		}
		var parts, noise []string
		for _, m := range ms {
			row, cls = append(row, fmtFig(m.value(run))), append(cls, "num")
			if i == best {
				row, cls = append(row, "reference"), append(cls, "")
				continue
			}
			d := metricDiff(m, ref, run, paired)
			row, cls = append(row, diffCell(d)), append(cls, diffClass(d))
			phrase := m.name + " " + signed(d.Delta) + unitOf(m)
			if d.HasCI() {
				phrase += " (95% CI " + signed(d.Delta-d.Half) + "…" + signed(d.Delta+d.Half) + ")"
				if !d.Significant() {
					noise = append(noise, phrase)
					continue
				}
			}
			parts = append(parts, phrase)
		}
		f.Rows = append(f.Rows, row)
		f.rowClass = append(f.rowClass, cls)
		if i == best {
			continue
		}
		s := run.Strategy + " against " + ref.Strategy + ": "
		switch {
		case paired == 0:
			s += strings.Join(parts, ", ") + " (no confidence interval: these differences may be noise)."
		case len(parts) > 0 && len(noise) > 0:
			s += "significant: " + strings.Join(parts, ", ") + "; not significant (within the noise of " +
				strconv.Itoa(paired) + " replications): " + strings.Join(noise, ", ") + "."
		case len(parts) > 0:
			s += "significant: " + strings.Join(parts, ", ") + "."
		default:
			s += "no significant difference (within the noise of " + strconv.Itoa(paired) + " replications): " +
				strings.Join(noise, ", ") + "."
		}
		f.Sentences = append(f.Sentences, s)
	}
	return f
}

// metricDiff is run − ref for metric m: paired when paired > 0, else
// without interval.
func metricDiff(m findingMetric, ref, run *Run, paired int) Diff {
	if paired > 0 {
		return PairedDiff(m.reps(ref.Replicates), m.reps(run.Replicates))
	}
	a, b := m.value(ref), m.value(run)
	return Diff{A: a, B: b, Delta: b - a, N: 1}
}

// sloSentences say which strategies meet the SLO and which miss it, and
// warn when a verdict rests on a p99 or mean whose CI includes the limit.
func sloSentences(runs []*Run, slo *SLO) []string {
	var meets, misses, narrow []string
	for _, run := range runs {
		if slo.Meets(run) {
			meets = append(meets, run.Strategy)
		} else {
			var why []string
			for _, c := range slo.checks(run) {
				if !c.ok {
					why = append(why, c.label+": "+c.value)
				}
			}
			if run.OK == 0 {
				why = append(why, "no ok request")
			}
			misses = append(misses, run.Strategy+" ("+strings.Join(why, ", ")+")")
		}
		for _, lim := range []struct {
			key, name string
			v, limit  float64
		}{{"latency_ms.p99", "p99", run.LatencyMS.P99, slo.P99MS}, {"latency_ms.mean", "mean", run.LatencyMS.Mean, slo.MeanMS}} {
			h, ok := run.CI95[lim.key]
			if lim.limit > 0 && ok && math.Abs(lim.v-lim.limit) <= h {
				narrow = append(narrow, fmt.Sprintf("%s's %s (%s ± %s ms) is within its confidence interval of the %s ms limit",
					run.Strategy, lim.name, fmtMS(lim.v), fmtMS(h), fmtNum(lim.limit)))
			}
		}
	}
	var out []string
	switch {
	case len(meets) == 0:
		out = append(out, "No strategy meets the SLO ("+slo.String()+"): "+strings.Join(misses, "; ")+".")
	case len(misses) == 0:
		out = append(out, "Every strategy meets the SLO ("+slo.String()+"): "+strings.Join(meets, ", ")+".")
	default:
		out = append(out, "Meet the SLO ("+slo.String()+"): "+strings.Join(meets, ", ")+". Miss it: "+strings.Join(misses, "; ")+".")
	}
	if len(narrow) > 0 {
		out = append(out, "Close to the limit: "+strings.Join(narrow, "; ")+": more replications would settle that verdict.")
	}
	return out
}

// ciText renders v with the run's CI half-width for key (scaled by k)
// when it has one.
func ciText(run *Run, key string, v, k float64) string {
	s := fmtFig(v)
	if h, ok := run.CI95[key]; ok {
		s += " ± " + fmtFig(k*h)
	}
	return s
}

func (m findingMetric) unitLabel() string {
	switch m.unit {
	case " ms":
		return " ms"
	case "%":
		return " %"
	}
	return ""
}

// unitOf is the unit of a difference of metric m.
func unitOf(m findingMetric) string {
	if m.points {
		return " pts"
	}
	return m.unit
}

// fmtFig writes a figure with two decimals (three below 1 in absolute
// value, none for whole numbers of 1000 and more).
func fmtFig(x float64) string {
	switch {
	case math.IsNaN(x) || math.IsInf(x, 0):
		return "—"
	case math.Abs(x) >= 1000 && x == math.Trunc(x):
		return strconv.FormatFloat(x, 'f', 0, 64)
	case x != 0 && math.Abs(x) < 1:
		return strconv.FormatFloat(x, 'f', 3, 64)
	}
	return strconv.FormatFloat(x, 'f', 2, 64)
}

// signed writes x with its sign: "+8.10", "−1.20" (a minus sign, not a
// hyphen), "0.00".
func signed(x float64) string {
	s := fmtFig(math.Abs(x))
	switch {
	case s == fmtFig(0) || strings.Trim(s, "0.") == "":
		return s
	case x < 0:
		return "−" + s
	}
	return "+" + s
}

// diffCell renders a difference for the findings table.
func diffCell(d Diff) string {
	s := signed(d.Delta)
	if d.HasCI() {
		s += " (" + signed(d.Delta-d.Half) + "…" + signed(d.Delta+d.Half) + ")"
		if !d.Significant() {
			s += " n.s."
		}
	}
	return s
}

// diffClass marks a significant difference.
func diffClass(d Diff) string {
	if d.Significant() {
		return "sig"
	}
	return "num"
}

// table renders the findings table for the page.
func (f Findings) table(caption string) *table {
	if len(f.Rows) == 0 {
		return nil
	}
	t := &table{Caption: caption, Header: f.Header}
	for i, row := range f.Rows {
		cells := make([]cell, len(row))
		for k, text := range row {
			cls := f.rowClass[i][k]
			if cls == "sig" {
				cls = "num"
				text = "★ " + text
			}
			cells[k] = cell{Text: text, Class: cls}
		}
		t.Rows = append(t.Rows, cells)
	}
	return t
}

// findingsSection adds the findings section to p: sentences, then the
// table.
func findingsSection(p *page, f Findings, caption string) {
	if len(f.Sentences) == 0 {
		return
	}
	s := p.section("findings", "Findings")
	for _, text := range f.Sentences {
		s.text("%s", text)
	}
	if t := f.table(caption); t != nil {
		s.table(t)
	}
}

// addRunFindings puts the findings of r first on the page.
func addRunFindings(p *page, r *Results, opt HTMLOptions) {
	f := RunFindings(r, opt.SLO)
	caption := "Each strategy against the one with the lowest p99"
	if pairedReplications(runPtrs(r.Runs)) > 0 {
		caption += "; differences with their paired 95% CI, ★ significant, n.s. not significant"
	} else {
		caption += "; no confidence intervals (one replication)"
	}
	if len(r.Runs) == 1 {
		caption = "The strategy's figures"
	}
	findingsSection(p, f, caption)
}

func runPtrs(runs []Run) []*Run {
	out := make([]*Run, len(runs))
	for i := range runs {
		out[i] = &runs[i]
	}
	return out
}
