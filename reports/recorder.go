package reports

import (
	"math"
	"math/bits"
	"time"
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
//
// The histogram is HdrHistogram's (Tene; the layout and the percentile
// rule of github.com/HdrHistogram/hdrhistogram-go, which the tests check
// value for value), kept here as a bare counts array so that recording a
// value costs a few instructions: the simulator records one or two values
// per request.
type LatencyRecorder struct {
	counts  []int64
	sum     float64 // nanoseconds
	count   int64
	max     int64
	halfMag uint  // log2 of half the sub-buckets per bucket
	mask    int64 // sub-bucket mask, shifted by the unit magnitude
}

// unitMag is log2 of histMin, rounded down: values below 2^unitMag share
// the first sub-bucket.
const unitMag = 9

// newRecorder returns an empty recorder with sig significant digits.
func newRecorder(sig int) *LatencyRecorder {
	// HdrHistogram keeps single-unit resolution up to 2·10^sig, in a
	// power-of-two count of sub-buckets.
	subMag := uint(math.Ceil(math.Log2(2 * math.Pow10(sig))))
	half := int64(1) << (subMag - 1)
	// Buckets double until one covers histMax.
	buckets := int64(1)
	for v := int64(1) << (subMag + unitMag); v <= histMax; v <<= 1 {
		buckets++
	}
	return &LatencyRecorder{
		counts:  make([]int64, (buckets+1)*half),
		halfMag: subMag - 1,
		mask:    (2*half - 1) << unitMag,
	}
}

// NewLatencyRecorder returns an empty recorder with three significant
// digits (0.1% relative precision).
func NewLatencyRecorder() *LatencyRecorder { return newRecorder(histSig) }

// NewCoarseLatencyRecorder returns an empty recorder with two significant
// digits (1% relative precision): a tenth of the memory, so it stays in
// cache, for the many short-lived percentiles of a time series.
func NewCoarseLatencyRecorder() *LatencyRecorder { return newRecorder(2) }

// index is the counts index of v (histMin ≤ v ≤ histMax).
func (l *LatencyRecorder) index(v int64) int {
	// shift = bucket index + unit magnitude.
	shift := uint(63-bits.LeadingZeros64(uint64(v|l.mask))) - l.halfMag
	return int((shift-unitMag)<<l.halfMag) + int(v>>shift)
}

// value is the lowest value of counts index i.
func (l *LatencyRecorder) value(i int) int64 {
	bucket := i>>l.halfMag - 1
	sub := int64(i&(1<<l.halfMag-1)) + 1<<l.halfMag
	if bucket < 0 {
		sub -= 1 << l.halfMag
		bucket = 0
	}
	return sub << (uint(bucket) + unitMag)
}

// highest is the highest value equivalent to v (in v's sub-bucket).
func (l *LatencyRecorder) highest(v int64) int64 {
	shift := uint(63-bits.LeadingZeros64(uint64(v|l.mask))) - l.halfMag
	sub := v >> shift
	size := int64(1) << shift
	if sub >= 2<<l.halfMag {
		size <<= 1
	}
	return sub<<shift + size - 1
}

// Record adds one response time.
func (l *LatencyRecorder) Record(d time.Duration) {
	v := int64(d)
	l.sum += float64(v)
	l.count++
	if v > l.max {
		l.max = v
	}
	v = min(max(v, histMin), histMax)
	l.counts[l.index(v)]++
}

// Count is the number of values recorded.
func (l *LatencyRecorder) Count() int64 { return l.count }

// Reset forgets everything recorded.
func (l *LatencyRecorder) Reset() {
	clear(l.counts)
	l.sum, l.count, l.max = 0, 0, 0
}

// Merge adds another recorder's values.
func (l *LatencyRecorder) Merge(o *LatencyRecorder) {
	if l.halfMag == o.halfMag {
		for i, c := range o.counts {
			l.counts[i] += c
		}
	} else {
		// Different precisions: each of o's sub-buckets counts as its
		// lowest value, as HdrHistogram merges.
		for i, c := range o.counts {
			if c != 0 {
				l.counts[l.index(o.value(i))] += c
			}
		}
	}
	l.sum += o.sum
	l.count += o.count
	if o.max > l.max {
		l.max = o.max
	}
}

// Quantile returns the q-quantile (0 < q ≤ 1) as a duration: the highest
// value equivalent to the smallest recorded one at or above rank q·count
// (HdrHistogram's ValueAtQuantile).
func (l *LatencyRecorder) Quantile(q float64) time.Duration {
	if l.count == 0 {
		return 0
	}
	p := min(q*100, 100)
	if p < 0 {
		p = 0
	}
	rank := int64(1)
	if r := p/100*float64(l.count) + 0.5; r >= float64(l.count) {
		rank = l.count
	} else if r >= 1 {
		rank = int64(r)
	}
	v := int64(0)
	var seen int64
	for i, c := range l.counts {
		seen += c
		if seen >= rank {
			v = l.value(i)
			break
		}
	}
	if p == 0 {
		return time.Duration(v)
	}
	return time.Duration(l.highest(v))
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

// Round rounds x to the given number of decimal places (0 for NaN and
// infinities), as results.json's numbers are rounded: short and stable
// JSON, the same in sim and live.
func Round(x float64, places int) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return 0
	}
	p := math.Pow10(places)
	return math.Round(x*p) / p
}

func round6(x float64) float64 { return Round(x, 6) }

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
