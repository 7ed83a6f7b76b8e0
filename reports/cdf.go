package reports

import (
	"encoding/json"
	"math"
)

// CDF levels: the latency CDF in results.json samples the quantile
// function on a grid even in "nines" (n = −log10(1 − q): 1 = p90, 2 = p99,
// 3 = p99.9), cdfStep apart up to cdfMaxNines, so that the tail has as many
// points as the body and a chart can draw it on a nines axis.
const (
	cdfStep     = 0.025
	cdfMaxNines = 6
)

// CDFPoint is one point of a latency distribution: the share Q of ok
// requests answered within MS milliseconds.
type CDFPoint struct {
	MS float64
	Q  float64
}

// MarshalJSON writes the point as [ms, q], which keeps results.json
// small for the few hundred points of a CDF.
func (p CDFPoint) MarshalJSON() ([]byte, error) {
	return []byte("[" + fmtNum(p.MS) + "," + fmtNum(p.Q) + "]"), nil
}

// UnmarshalJSON reads [ms, q].
func (p *CDFPoint) UnmarshalJSON(b []byte) error {
	var v [2]float64
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	p.MS, p.Q = v[0], v[1]
	return nil
}

// cdfOf samples the recorder's distribution at every level of the
// nines grid its count can resolve (a level q needs about 1/(1−q)
// values), then its maximum at q = 1: a few hundred points from the full
// histogram, where the percentiles of latency_ms are six.
func cdfOf(l *LatencyRecorder) []CDFPoint {
	if l.count == 0 {
		return nil
	}
	var out []CDFPoint
	last := -1.0
	for k := 0; ; k++ {
		n := float64(k) * cdfStep
		q := 1 - math.Pow(10, -n)
		if n > cdfMaxNines || (1-q)*float64(l.count) < 1 {
			break
		}
		ms := round6sig(float64(l.Quantile(max(q, 1e-9))) / 1e6)
		if ms == last && len(out) > 0 {
			out[len(out)-1].Q = round6(q) // a flat step: keep its top
			continue
		}
		out = append(out, CDFPoint{MS: ms, Q: round6(q)})
		last = ms
	}
	out = append(out, CDFPoint{MS: round6sig(float64(l.max) / 1e6), Q: 1})
	return out
}

// mergedCDF is the latency CDF of every replication's ok requests
// together.
func mergedCDF(reps []Replication) []CDFPoint {
	if len(reps) == 1 {
		return cdfOf(reps[0].Latency)
	}
	all := NewLatencyRecorder()
	for _, r := range reps {
		if r.Latency != nil {
			all.Merge(r.Latency)
		}
	}
	return cdfOf(all)
}
