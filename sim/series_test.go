package sim

import (
	"math"
	"testing"
)

// The time series must add up to the run's totals: requests created in the
// measured buckets are the measured requests, and the bucket utilizations
// average to the run's time-averaged utilization. A crash detected by
// active health checks shows in the healthy-endpoint count, and the
// failure window is listed in results.
func TestSeriesAddsUp(t *testing.T) {
	yaml := `
name: series
seed: 4
duration: 40s
warmup: 5s
clients:
  arrival: {process: poisson, rate: 300}
  timeout: 1s
balancer:
  health:
    active: {interval: 1s, timeout: 200ms, unhealthy: 2, healthy: 2}
servers:
  - name: s
    count: 4
    queue: 50
    service: {dist: exponential, mean: 10ms}
    failures:
      - {kind: crash, at: 20s, for: 10s, instances: [1]}
`
	r := simulate(t, yaml, "round-robin")
	s := r.Series
	if s == nil || s.IntervalS != 1 || len(s.T) != 45 {
		t.Fatalf("series %+v", s)
	}
	var offered int64
	for k := 5; k < len(s.T); k++ {
		offered += s.Offered[k]
	}
	if offered != r.Requests {
		t.Errorf("measured buckets offered %d requests, the run measured %d", offered, r.Requests)
	}
	for i, srv := range r.Servers {
		mean := 0.0
		for k := 5; k < len(s.T); k++ {
			mean += s.Utilization[i][k] / 40
		}
		if math.Abs(mean-srv.Utilization) > 1e-4 {
			t.Errorf("%s: bucket utilizations average %.5f, run %.5f", srv.ID, mean, srv.Utilization)
		}
	}
	// Detected within two probes (≤ 2 s), readmitted within two more after
	// it returns at 30 s.
	for k := 23; k < 30; k++ {
		if s.Healthy[k] != 3 {
			t.Errorf("t=%vs: %d healthy, want 3 while s-1 is down", s.T[k], s.Healthy[k])
		}
	}
	if s.Healthy[10] != 4 || s.Healthy[40] != 4 {
		t.Errorf("healthy before/after the crash: %d, %d", s.Healthy[10], s.Healthy[40])
	}
	if s.ConnectFailure[25] != 0 || s.ConnectFailure[20] == 0 {
		t.Errorf("connect failures at 20 s: %d (want some before detection), at 25 s: %d (want none)", s.ConnectFailure[20], s.ConnectFailure[25])
	}
}
