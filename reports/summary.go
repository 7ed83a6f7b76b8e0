package reports

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"unicode"
	"unicode/utf8"
)

// Replication is what one independent run of one strategy measured after
// warm-up.
type Replication struct {
	Latency  *LatencyRecorder
	Outcomes Outcomes
	Attempts int64
	Servers  []Server
	Events   uint64
	WallS    float64
	// Series is the replication's time series (nil when not recorded).
	Series *Series
	// Gateway is the gateway tier's statistics (nil without one).
	Gateway *Gateway
	// Trace is what a trace replay read (nil without one).
	Trace *Trace
	// UpstreamConnections counts the connections to servers measured
	// attempts opened (balancer.upstream).
	UpstreamConnections int64
}

// Summarize combines the replications of one strategy into a Run. Counts
// are totals over replications and max is the largest of all; the other
// latency figures, throughput and availability are means over replications
// with a 95% CI half-width in CI95 when there are at least two.
func Summarize(strategy string, reps []Replication, durationS float64) Run {
	run := Run{Strategy: strategy, Replications: len(reps)}
	if len(reps) == 0 {
		return run
	}
	var lat [7][]float64
	var thr, good, avail []float64
	var events uint64
	var wall float64
	for _, r := range reps {
		run.Outcomes.Add(r.Outcomes)
		run.Attempts += r.Attempts
		run.UpstreamConnections += r.UpstreamConnections
		events += r.Events
		wall += r.WallS
		s := r.Latency.Summary()
		for i, v := range []float64{s.Mean, s.P50, s.P90, s.P95, s.P99, s.P999, s.Max} {
			lat[i] = append(lat[i], v)
		}
		thr = append(thr, float64(r.Outcomes.Total())/durationS)
		good = append(good, float64(r.Outcomes.OK)/durationS)
		avail = append(avail, availability(r.Outcomes))
	}
	o := run.Outcomes
	run.Requests, run.OK, run.Failed, run.Rejected = o.Total(), o.OK, o.Failed(), o.Rejected()
	ci := map[string]float64{}
	m := func(name string, xs []float64) float64 {
		mean, half := MeanCI95(xs)
		if len(xs) > 1 {
			ci[name] = round6(half)
		}
		return round6(mean)
	}
	run.LatencyMS = Latency{
		Mean: m("latency_ms.mean", lat[0]),
		P50:  m("latency_ms.p50", lat[1]),
		P90:  m("latency_ms.p90", lat[2]),
		P95:  m("latency_ms.p95", lat[3]),
		P99:  m("latency_ms.p99", lat[4]),
		P999: m("latency_ms.p999", lat[5]),
		Max:  maxOf(lat[6]),
	}
	run.ThroughputRPS = m("throughput_rps", thr)
	run.GoodputRPS = m("goodput_rps", good)
	run.Availability = m("availability", avail)
	if len(ci) > 0 {
		run.CI95 = ci
	}
	run.Replicates = replicatesOf(reps, durationS)
	// Servers: requests summed, gauges averaged over replications.
	run.Servers = make([]Server, len(reps[0].Servers))
	for i := range run.Servers {
		run.Servers[i].ID = reps[0].Servers[i].ID
		for _, r := range reps {
			run.Servers[i].Requests += r.Servers[i].Requests
			run.Servers[i].Utilization += r.Servers[i].Utilization
			run.Servers[i].MeanQueue += r.Servers[i].MeanQueue
		}
		n := float64(len(reps))
		run.Servers[i].Utilization = round6(run.Servers[i].Utilization / n)
		run.Servers[i].MeanQueue = round6(run.Servers[i].MeanQueue / n)
	}
	run.LatencyCDF = mergedCDF(reps)
	run.Sim = &SimStats{Events: events, WallS: round6(wall)}
	run.Series = reps[0].Series
	run.Gateway = summarizeGateway(reps)
	return run
}

func maxOf(xs []float64) float64 {
	m := 0.0
	for _, x := range xs {
		m = max(m, x)
	}
	return m
}

func availability(o Outcomes) float64 {
	if o.OK+o.Failed() == 0 {
		return 1
	}
	return float64(o.OK) / float64(o.OK+o.Failed())
}

// WriteText prints the runs side by side: one column per strategy, one row
// per metric.
func WriteText(w io.Writer, r *Results) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	partial := ""
	if r.Partial {
		partial = " (PARTIAL: interrupted)"
	}
	if p := PresetText(r.Presets); p != "" {
		partial = ", preset " + Printable(p) + partial
	}
	fmt.Fprintf(w, "%s — %s, %gs measured after %gs warm-up, seed %d%s\n",
		Printable(r.Scenario), r.Mode, r.DurationS, r.WarmupS, r.Seed, partial)
	if r.Trace != nil {
		fmt.Fprintln(w, Printable(r.Trace.Text()))
	}
	fmt.Fprintln(w)
	row := func(label string, f func(run *Run) string) {
		cells := []string{label}
		for i := range r.Runs {
			cells = append(cells, f(&r.Runs[i]))
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t")+"\t")
	}
	withCI := func(run *Run, key string, v float64, format string) string {
		s := fmt.Sprintf(format, v)
		if h, ok := run.CI95[key]; ok {
			s += fmt.Sprintf(" ±"+format, h)
		}
		return s
	}
	lat := func(label, key string, get func(Latency) float64) {
		row(label, func(run *Run) string { return withCI(run, key, get(run.LatencyMS), "%.2f") })
	}
	row("strategy", func(run *Run) string { return Printable(run.Strategy) })
	row("requests", func(run *Run) string { return fmt.Sprint(run.Requests) })
	row("ok", func(run *Run) string { return fmt.Sprint(run.OK) })
	row("failed", func(run *Run) string { return fmt.Sprint(run.Failed) })
	row("rejected", func(run *Run) string { return fmt.Sprint(run.Rejected) })
	row("availability %", func(run *Run) string {
		return withCI(run, "availability", run.Availability*100, "%.3f")
	})
	row("throughput rps", func(run *Run) string { return withCI(run, "throughput_rps", run.ThroughputRPS, "%.1f") })
	if len(r.Runs) > 0 && r.Runs[0].Live != nil {
		row("target rps", func(run *Run) string { return fmt.Sprintf("%.1f", liveOf(run).TargetRPS) })
		row("achieved rps", func(run *Run) string { return fmt.Sprintf("%.1f", liveOf(run).AchievedRPS) })
		row("send lag p99 ms", func(run *Run) string { return fmt.Sprintf("%.2f", liveOf(run).SendLagMS.P99) })
	}
	lat("mean ms", "latency_ms.mean", func(l Latency) float64 { return l.Mean })
	lat("p50 ms", "latency_ms.p50", func(l Latency) float64 { return l.P50 })
	lat("p90 ms", "latency_ms.p90", func(l Latency) float64 { return l.P90 })
	lat("p99 ms", "latency_ms.p99", func(l Latency) float64 { return l.P99 })
	lat("p99.9 ms", "latency_ms.p999", func(l Latency) float64 { return l.P999 })
	lat("max ms", "latency_ms.max", func(l Latency) float64 { return l.Max })
	outcome := func(label string, get func(Outcomes) int64) {
		any := false
		for _, run := range r.Runs {
			any = any || get(run.Outcomes) > 0
		}
		if any {
			row("  "+label, func(run *Run) string { return fmt.Sprint(get(run.Outcomes)) })
		}
	}
	outcome("error_5xx", func(o Outcomes) int64 { return o.Error5xx })
	outcome("timeout", func(o Outcomes) int64 { return o.Timeout })
	outcome("queue_full", func(o Outcomes) int64 { return o.QueueFull })
	outcome("no_upstream", func(o Outcomes) int64 { return o.NoUpstream })
	outcome("connect_failure", func(o Outcomes) int64 { return o.ConnectFailure })
	outcome("rate_limited", func(o Outcomes) int64 { return o.RateLimited })
	outcome("auth_rejected", func(o Outcomes) int64 { return o.AuthRejected })
	row("max utilization", func(run *Run) string {
		mx := 0.0
		for _, s := range run.Servers {
			mx = max(mx, s.Utilization)
		}
		return fmt.Sprintf("%.3f", mx)
	})
	if len(r.Runs) > 0 && r.Runs[0].Gateway != nil && r.Runs[0].Gateway.Connections > 0 {
		row("gateway max util", func(run *Run) string {
			mx := 0.0
			for _, s := range run.Gateway.Instances {
				mx = max(mx, s.Utilization)
			}
			return fmt.Sprintf("%.3f", mx)
		})
		row("connections", func(run *Run) string { return fmt.Sprint(run.Gateway.Connections) })
		row("TLS % gateway CPU", func(run *Run) string { return fmt.Sprintf("%.1f", 100*run.Gateway.TLSShare) })
	}
	if len(r.Runs) > 0 && r.Runs[0].Gateway != nil && r.Runs[0].Gateway.Edge != nil {
		row("edge TLS util", func(run *Run) string {
			if run.Gateway.Edge == nil {
				return "-"
			}
			return fmt.Sprintf("%.3f", run.Gateway.Edge.Utilization)
		})
	}
	if len(r.Runs) > 0 && r.Runs[0].Gateway != nil && r.Runs[0].Gateway.CPUPerRequestMS > 0 {
		row("gateway CPU ms/req", func(run *Run) string { return fmt.Sprintf("%.3f", run.Gateway.CPUPerRequestMS) })
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for i := range r.Runs {
		if warn := liveOf(&r.Runs[i]).Warning; warn != "" {
			if _, err := fmt.Fprintf(w, "\nWARNING: %s: %s\n", r.Runs[i].Strategy, warn); err != nil {
				return err
			}
		}
	}
	return nil
}

func liveOf(r *Run) *LiveStats {
	if r.Live == nil {
		return &LiveStats{}
	}
	return r.Live
}

// summarizeGateway sums gateway counts over replications and averages
// the rest.
func summarizeGateway(reps []Replication) *Gateway {
	if reps[0].Gateway == nil {
		return nil
	}
	out := &Gateway{}
	n := float64(len(reps))
	for ri, r := range reps {
		g := r.Gateway
		if ri == 0 {
			out.Instances = make([]Server, len(g.Instances))
			out.Stages = make([]Stage, len(g.Stages))
			for i := range g.Instances {
				out.Instances[i].ID = g.Instances[i].ID
			}
			for i := range g.Stages {
				out.Stages[i] = Stage{Type: g.Stages[i].Type, CostMS: g.Stages[i].CostMS}
			}
		}
		for i, s := range g.Instances {
			out.Instances[i].Requests += s.Requests
			out.Instances[i].Utilization += s.Utilization / n
			out.Instances[i].MeanQueue += s.MeanQueue / n
		}
		for i, s := range g.Stages {
			out.Stages[i].Requests += s.Requests
			out.Stages[i].LatencyShare += s.LatencyShare / n
		}
		out.QueueMS += g.QueueMS / n
		out.LatencyShare += g.LatencyShare / n
		out.CacheHits += g.CacheHits
		out.CacheMisses += g.CacheMisses
		out.Connections += g.Connections
		out.FullHandshakes += g.FullHandshakes
		out.ResumedHandshakes += g.ResumedHandshakes
		out.TLSShare += g.TLSShare / n
		out.CPUPerRequestMS += g.CPUPerRequestMS / n
		out.ConnectMS += g.ConnectMS / n
		out.HandshakeCPUMS += g.HandshakeCPUMS / n
		if e := g.Edge; e != nil {
			if out.Edge == nil {
				out.Edge = &Edge{Workers: e.Workers}
			}
			out.Edge.Utilization += e.Utilization / n
			out.Edge.MeanQueue += e.MeanQueue / n
			out.Edge.QueueMS += e.QueueMS / n
			out.Edge.CPUPerRequestMS += e.CPUPerRequestMS / n
			out.Edge.TLSShare += e.TLSShare / n
		}
	}
	if e := out.Edge; e != nil {
		e.Utilization, e.MeanQueue, e.QueueMS, e.CPUPerRequestMS, e.TLSShare = round6(e.Utilization), round6(e.MeanQueue), round6(e.QueueMS), round6(e.CPUPerRequestMS), round6(e.TLSShare)
	}
	out.HandshakeCPUMS = round6(out.HandshakeCPUMS)
	out.ConnectMS = round6(out.ConnectMS)
	out.TLSShare = round6(out.TLSShare)
	out.CPUPerRequestMS = round6(out.CPUPerRequestMS)
	for i := range out.Instances {
		out.Instances[i].Utilization = round6(out.Instances[i].Utilization)
		out.Instances[i].MeanQueue = round6(out.Instances[i].MeanQueue)
	}
	for i := range out.Stages {
		out.Stages[i].LatencyShare = round6(out.Stages[i].LatencyShare)
	}
	out.QueueMS = round6(out.QueueMS)
	out.LatencyShare = round6(out.LatencyShare)
	if t := out.CacheHits + out.CacheMisses; t > 0 {
		out.CacheHitRatio = round6(float64(out.CacheHits) / float64(t))
	}
	return out
}

// Printable returns s with every control or format character (escape
// sequences, carriage returns, bidirectional overrides) written as a Go
// escape (\x1b, \r, \u202e), so that a name read from a scenario or a
// results file prints as text and cannot move the cursor, clear the
// screen or fake a line of output. Other characters, of any script, are
// kept.
func Printable(s string) string {
	clean := true
	for _, r := range s {
		if r == utf8.RuneError || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if r == utf8.RuneError {
			b.WriteString(`\ufffd`) // invalid UTF-8
			continue
		}
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
