package reports

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
)

func ftoa(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }

// WriteSummaryCSV writes one row per run: the strategy, counts, rates,
// availability and latency percentiles.
func WriteSummaryCSV(w io.Writer, r *Results) error {
	cw := csv.NewWriter(w)
	header := []string{"scenario", "mode", "seed", "strategy", "replications", "requests", "ok", "failed", "rejected",
		"attempts", "throughput_rps", "goodput_rps", "availability", "mean_ms", "p50_ms", "p90_ms", "p95_ms",
		"p99_ms", "p999_ms", "max_ms", "error_5xx", "timeout", "queue_full", "connect_failure", "no_upstream",
		"rate_limited", "auth_rejected"}
	if err := cw.Write(header); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	for _, run := range r.Runs {
		l, o := run.LatencyMS, run.Outcomes
		row := []string{r.Scenario, r.Mode, strconv.FormatUint(r.Seed, 10), run.Strategy, strconv.Itoa(run.Replications),
			itoa(run.Requests), itoa(run.OK), itoa(run.Failed), itoa(run.Rejected), itoa(run.Attempts),
			ftoa(run.ThroughputRPS), ftoa(run.GoodputRPS), ftoa(run.Availability),
			ftoa(l.Mean), ftoa(l.P50), ftoa(l.P90), ftoa(l.P95), ftoa(l.P99), ftoa(l.P999), ftoa(l.Max),
			itoa(o.Error5xx), itoa(o.Timeout), itoa(o.QueueFull), itoa(o.ConnectFailure), itoa(o.NoUpstream),
			itoa(o.RateLimited), itoa(o.AuthRejected)}
		if err := cw.Write(row); err != nil {
			return fmt.Errorf("write csv: %w", err)
		}
	}
	cw.Flush()
	return cw.Error()
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// WriteSeriesCSV writes the runs' time series in long form: one row per
// strategy and bucket, with the tier-wide columns; per-instance series go
// to WriteInstanceSeriesCSV.
func WriteSeriesCSV(w io.Writer, r *Results) error {
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{"strategy", "t_s", "offered", "ok", "error_5xx", "timeout", "queue_full",
		"connect_failure", "no_upstream", "rate_limited", "auth_rejected", "p50_ms", "p99_ms", "healthy", "instances"}); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	for _, run := range r.Runs {
		s := run.Series
		if s == nil {
			continue
		}
		for k := range s.T {
			healthy := "" // not measured (an external gateway)
			if k < len(s.Healthy) {
				healthy = strconv.Itoa(s.Healthy[k])
			}
			row := []string{run.Strategy, ftoa(s.T[k]), itoa(s.Offered[k]), itoa(s.OK[k]), itoa(s.Error5xx[k]),
				itoa(s.Timeout[k]), itoa(s.QueueFull[k]), itoa(s.ConnectFailure[k]), itoa(s.NoUpstream[k]),
				itoa(s.RateLimited[k]), itoa(s.AuthRejected[k]), ftoa(s.P50MS[k]), ftoa(s.P99MS[k]),
				healthy, strconv.Itoa(s.Instances[k])}
			if err := cw.Write(row); err != nil {
				return fmt.Errorf("write csv: %w", err)
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteInstanceSeriesCSV writes per-instance in-flight and utilization
// series in long form: strategy, instance, t_s, in_flight, utilization.
func WriteInstanceSeriesCSV(w io.Writer, r *Results) error {
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{"strategy", "instance", "t_s", "in_flight", "utilization"}); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	for _, run := range r.Runs {
		s := run.Series
		if s == nil {
			continue
		}
		for i := range max(len(s.InFlight), len(s.Utilization)) {
			id := strconv.Itoa(i)
			if i < len(run.Servers) {
				id = run.Servers[i].ID
			}
			for k := range s.T {
				inFlight, util := "", "" // absent when not measured
				if i < len(s.InFlight) {
					inFlight = ftoa(s.InFlight[i][k])
				}
				if i < len(s.Utilization) {
					util = ftoa(s.Utilization[i][k])
				}
				if err := cw.Write([]string{run.Strategy, id, ftoa(s.T[k]), inFlight, util}); err != nil {
					return fmt.Errorf("write csv: %w", err)
				}
			}
		}
	}
	cw.Flush()
	return cw.Error()
}
