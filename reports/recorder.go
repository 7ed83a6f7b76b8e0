package reports

import (
	"math"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Latency histograms record nanoseconds from 1µs to 1 hour with three
// significant digits (0.1% relative precision). Shorter values are clamped
// up, longer ones down, and counted in the exact mean regardless.
const (
	histMin = int64(time.Microsecond)
	histMax = int64(time.Hour)
	histSig = 3
)

// LatencyRecorder collects response times: an HDR histogram for
// percentiles plus an exact sum for the mean and an exact max.
type LatencyRecorder struct {
	h     *hdrhistogram.Histogram
	sum   float64 // nanoseconds
	count int64
	max   int64
}

// NewLatencyRecorder returns an empty recorder with three significant
// digits (0.1% relative precision).
func NewLatencyRecorder() *LatencyRecorder {
	return &LatencyRecorder{h: hdrhistogram.New(histMin, histMax, histSig)}
}

// NewCoarseLatencyRecorder returns an empty recorder with two significant
// digits (1% relative precision): a tenth of the memory, so it stays in
// cache, for the many short-lived percentiles of a time series.
func NewCoarseLatencyRecorder() *LatencyRecorder {
	return &LatencyRecorder{h: hdrhistogram.New(histMin, histMax, 2)}
}

// Record adds one response time.
func (l *LatencyRecorder) Record(d time.Duration) {
	v := int64(d)
	l.sum += float64(v)
	l.count++
	if v > l.max {
		l.max = v
	}
	if v < histMin {
		v = histMin
	} else if v > histMax {
		v = histMax
	}
	_ = l.h.RecordValue(v)
}

// Count is the number of values recorded.
func (l *LatencyRecorder) Count() int64 { return l.count }

// Reset forgets everything recorded.
func (l *LatencyRecorder) Reset() {
	l.h.Reset()
	l.sum, l.count, l.max = 0, 0, 0
}

// Merge adds another recorder's values.
func (l *LatencyRecorder) Merge(o *LatencyRecorder) {
	l.h.Merge(o.h)
	l.sum += o.sum
	l.count += o.count
	if o.max > l.max {
		l.max = o.max
	}
}

// Quantile returns the q-quantile (0 < q ≤ 1) as a duration.
func (l *LatencyRecorder) Quantile(q float64) time.Duration {
	if l.count == 0 {
		return 0
	}
	return time.Duration(l.h.ValueAtQuantile(q * 100))
}

// Mean is the exact mean.
func (l *LatencyRecorder) Mean() time.Duration {
	if l.count == 0 {
		return 0
	}
	return time.Duration(math.Round(l.sum / float64(l.count)))
}

// Summary returns the latency block of results.json, in milliseconds.
func (l *LatencyRecorder) Summary() Latency {
	if l.count == 0 {
		return Latency{}
	}
	ms := func(ns float64) float64 { return round6(ns / 1e6) }
	// Clamp histogram quantiles to the exact max, which the clamped
	// histogram may under- or over-state by its bucket width.
	q := func(p float64) float64 {
		v := float64(l.Quantile(p))
		return ms(math.Min(v, float64(l.max)))
	}
	return Latency{
		Mean: ms(l.sum / float64(l.count)),
		P50:  q(0.50),
		P90:  q(0.90),
		P95:  q(0.95),
		P99:  q(0.99),
		P999: q(0.999),
		Max:  ms(float64(l.max)),
	}
}

// round6 rounds to six decimals, keeping JSON short and stable.
func round6(x float64) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return 0
	}
	return math.Round(x*1e6) / 1e6
}

// TimeAverage integrates a piecewise-constant gauge (busy workers, queue
// length) over time, so that its time average can be read after warm-up.
type TimeAverage struct {
	value float64
	last  time.Duration
	start time.Duration
	area  float64 // since the last Restart
	total float64 // since the beginning
}

// Set changes the gauge's value at time now.
func (t *TimeAverage) Set(now time.Duration, v float64) {
	a := t.value * float64(now-t.last)
	t.area += a
	t.total += a
	t.value, t.last = v, now
}

// Integral is the gauge's integral over time (value × ns) from the
// beginning to now, unaffected by Restart: the difference of two readings
// is the area over the span between them.
func (t *TimeAverage) Integral(now time.Duration) float64 {
	return t.total + t.value*float64(now-t.last)
}

// Add changes the gauge by delta at time now.
func (t *TimeAverage) Add(now time.Duration, delta float64) { t.Set(now, t.value+delta) }

// Value is the gauge's current value.
func (t *TimeAverage) Value() float64 { return t.value }

// Restart forgets the area so far and starts averaging at now.
func (t *TimeAverage) Restart(now time.Duration) {
	t.area = 0
	t.last, t.start = now, now
}

// Mean is the time average from the last Restart to now.
func (t *TimeAverage) Mean(now time.Duration) float64 {
	if now <= t.start {
		return t.value
	}
	area := t.area + t.value*float64(now-t.last)
	return area / float64(now-t.start)
}
