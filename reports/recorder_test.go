package reports

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// The recorder's histogram must be HdrHistogram's, count for count and
// percentile for percentile: results.json's numbers depend on it.
func TestRecorderMatchesHdrHistogram(t *testing.T) {
	qs := []float64{0, 1e-9, 0.001, 0.1, 0.25, 0.5, 0.9, 0.95, 0.99, 0.999, 0.9999, 1, 1.5, -0.5}
	for _, sig := range []int{2, 3} {
		r := rand.New(rand.NewPCG(1, uint64(sig)))
		for trial := 0; trial < 40; trial++ {
			l := newRecorder(sig)
			h := hdrhistogram.New(histMin, histMax, sig)
			if len(l.counts) != len(h.Export().Counts) {
				t.Fatalf("sig %d: %d counts, hdrhistogram has %d", sig, len(l.counts), len(h.Export().Counts))
			}
			n := 1 + r.IntN(2000)
			for i := 0; i < n; i++ {
				var v int64
				switch r.IntN(4) {
				case 0: // anywhere in range, log-uniform
					v = int64(float64(histMin) * float64(uint64(1)<<r.IntN(32)) * (1 + r.Float64()))
				case 1: // around a millisecond
					v = int64(r.ExpFloat64() * 1e6)
				case 2: // out of range
					v = []int64{0, 1, 999, histMax, histMax + 1, 1 << 62}[r.IntN(6)]
				default: // bucket edges
					v = int64(1)<<(10+r.IntN(32)) + int64(r.IntN(3)) - 1
				}
				l.Record(time.Duration(v))
				_ = h.RecordValue(min(max(v, histMin), histMax))
			}
			for i, c := range h.Export().Counts {
				if l.counts[i] != c {
					t.Fatalf("sig %d: count %d is %d, want %d", sig, i, l.counts[i], c)
				}
			}
			for _, q := range qs {
				if got, want := int64(l.Quantile(q)), h.ValueAtQuantile(q*100); got != want {
					t.Fatalf("sig %d, n %d: quantile %v = %d, want %d", sig, n, q, got, want)
				}
			}
		}
	}
}

func TestRecorderMergeMatchesHdrHistogram(t *testing.T) {
	r := rand.New(rand.NewPCG(2, 3))
	fine, coarse := NewLatencyRecorder(), NewCoarseLatencyRecorder()
	hf, hc := hdrhistogram.New(histMin, histMax, 3), hdrhistogram.New(histMin, histMax, 2)
	for i := 0; i < 5000; i++ {
		v := int64(r.ExpFloat64() * 5e6)
		fine.Record(time.Duration(v))
		coarse.Record(time.Duration(v))
		_ = hf.RecordValue(max(v, histMin))
		_ = hc.RecordValue(max(v, histMin))
	}
	a, b := NewLatencyRecorder(), NewCoarseLatencyRecorder()
	ha, hb := hdrhistogram.New(histMin, histMax, 3), hdrhistogram.New(histMin, histMax, 2)
	a.Merge(fine)
	a.Merge(coarse)
	b.Merge(fine)
	b.Merge(coarse)
	ha.Merge(hf)
	ha.Merge(hc)
	hb.Merge(hf)
	hb.Merge(hc)
	for _, c := range []struct {
		l *LatencyRecorder
		h *hdrhistogram.Histogram
	}{{a, ha}, {b, hb}} {
		if c.l.Count() != c.h.TotalCount() {
			t.Fatalf("count %d, want %d", c.l.Count(), c.h.TotalCount())
		}
		for _, q := range []float64{0.5, 0.9, 0.99, 0.999, 1} {
			if got, want := int64(c.l.Quantile(q)), c.h.ValueAtQuantile(q*100); got != want {
				t.Fatalf("quantile %v = %d, want %d", q, got, want)
			}
		}
	}
}

func BenchmarkRecord(b *testing.B) {
	l := NewLatencyRecorder()
	v := time.Duration(1)
	for i := 0; i < b.N; i++ {
		v = v*6364136223846793005 + 1442695040888963407
		l.Record(v & (1<<34 - 1))
	}
}
