package reports

import "time"

// Series is a run's time series in fixed buckets over the whole run,
// warm-up included (t_s is the bucket start since the run began), for
// charts of what happened when.
type Series struct {
	IntervalS float64   `json:"interval_s"`
	T         []float64 `json:"t_s"`
	// Offered counts requests created in each bucket.
	Offered []int64 `json:"offered"`
	// Outcomes counts requests finished in each bucket, by outcome.
	OK             []int64 `json:"ok"`
	Error5xx       []int64 `json:"error_5xx"`
	Timeout        []int64 `json:"timeout"`
	QueueFull      []int64 `json:"queue_full"`
	ConnectFailure []int64 `json:"connect_failure"`
	NoUpstream     []int64 `json:"no_upstream"`
	RateLimited    []int64 `json:"rate_limited"`
	AuthRejected   []int64 `json:"auth_rejected"`
	// P50MS and P99MS are the latency of ok requests finished in each
	// bucket (0 when none).
	P50MS []float64 `json:"p50_ms"`
	P99MS []float64 `json:"p99_ms"`
	// Healthy is the number of endpoints eligible for traffic at the end
	// of each bucket; Instances the number of instances. Healthy is
	// absent when the balancer is not edgelab's (live --gateway): its
	// view of the backends is not measured.
	Healthy   []int `json:"healthy,omitempty"`
	Instances []int `json:"instances"`
	// InFlight[i][k] is instance i's attempts in flight (the balancer's
	// view) at the end of bucket k, absent like Healthy; Utilization[i][k]
	// its busy workers / concurrency averaged over the bucket.
	InFlight    [][]float64 `json:"in_flight,omitempty"`
	Utilization [][]float64 `json:"utilization"`
}

// SeriesInterval picks the bucket width for a run of the given length:
// one second, widened to whole seconds so that there are at most
// maxBuckets buckets.
func SeriesInterval(run time.Duration, maxBuckets int) time.Duration {
	iv := time.Second
	if n := (run + iv - 1) / iv; int(n) > maxBuckets {
		iv = time.Duration((int(n) + maxBuckets - 1) / maxBuckets * int(time.Second))
	}
	return iv
}

// NewSeries returns empty series for n instances and the given buckets.
func NewSeries(interval time.Duration, buckets, instances int) *Series {
	s := &Series{
		IntervalS:      interval.Seconds(),
		T:              make([]float64, buckets),
		Offered:        make([]int64, buckets),
		OK:             make([]int64, buckets),
		Error5xx:       make([]int64, buckets),
		Timeout:        make([]int64, buckets),
		QueueFull:      make([]int64, buckets),
		ConnectFailure: make([]int64, buckets),
		NoUpstream:     make([]int64, buckets),
		RateLimited:    make([]int64, buckets),
		AuthRejected:   make([]int64, buckets),
		P50MS:          make([]float64, buckets),
		P99MS:          make([]float64, buckets),
		Healthy:        make([]int, buckets),
		Instances:      make([]int, buckets),
		InFlight:       make([][]float64, instances),
		Utilization:    make([][]float64, instances),
	}
	for k := range s.T {
		s.T[k] = round6(float64(k) * interval.Seconds())
	}
	for i := range s.InFlight {
		s.InFlight[i] = make([]float64, buckets)
		s.Utilization[i] = make([]float64, buckets)
	}
	return s
}
