package reports

import "fmt"

// Replicates holds one strategy's figures per replication, in replication
// order: what a paired comparison of two strategies needs, since every
// strategy of one replication sees the same requests (common random
// numbers). Summarize fills it only when there are two replications or
// more; results.json carries it as a run's "replicates" object.
type Replicates struct {
	MeanMS []float64 `json:"mean_ms"`
	P50MS  []float64 `json:"p50_ms"`
	P90MS  []float64 `json:"p90_ms"`
	P99MS  []float64 `json:"p99_ms"`
	P999MS []float64 `json:"p999_ms"`
	// Availability is each replication's ok / (ok + failed), a fraction.
	Availability []float64 `json:"availability"`
	// Failed is each replication's count of failed requests.
	Failed        []int64   `json:"failed"`
	ThroughputRPS []float64 `json:"throughput_rps"`
}

// replicatesOf collects the per-replication figures of reps; nil with
// fewer than two.
func replicatesOf(reps []Replication, durationS float64) *Replicates {
	if len(reps) < 2 {
		return nil
	}
	out := &Replicates{}
	for _, r := range reps {
		s := r.Latency.Summary()
		out.MeanMS = append(out.MeanMS, s.Mean)
		out.P50MS = append(out.P50MS, s.P50)
		out.P90MS = append(out.P90MS, s.P90)
		out.P99MS = append(out.P99MS, s.P99)
		out.P999MS = append(out.P999MS, s.P999)
		out.Availability = append(out.Availability, round6(availability(r.Outcomes)))
		out.Failed = append(out.Failed, r.Outcomes.Failed())
		out.ThroughputRPS = append(out.ThroughputRPS, round6(float64(r.Outcomes.Total())/durationS))
	}
	return out
}

// check reports whether every array has one value per replication.
func (r *Replicates) check(replications int) error {
	if r == nil {
		return nil
	}
	for _, a := range []struct {
		name string
		n    int
	}{
		{"mean_ms", len(r.MeanMS)}, {"p50_ms", len(r.P50MS)}, {"p90_ms", len(r.P90MS)}, {"p99_ms", len(r.P99MS)},
		{"p999_ms", len(r.P999MS)}, {"availability", len(r.Availability)}, {"failed", len(r.Failed)},
		{"throughput_rps", len(r.ThroughputRPS)},
	} {
		if a.n != replications {
			return fmt.Errorf("replicates.%s has %d values for %d replications", a.name, a.n, replications)
		}
	}
	return nil
}

// failedF returns Failed as float64s.
func (r *Replicates) failedF() []float64 {
	out := make([]float64, len(r.Failed))
	for i, f := range r.Failed {
		out[i] = float64(f)
	}
	return out
}
