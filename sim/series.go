package sim

import (
	"time"

	"github.com/edgelab/edgelab/reports"
)

// maxBuckets bounds the time series' length; longer runs get wider buckets.
const maxBuckets = 600

// planSeries sets up the time series and schedules the end of every bucket.
func (m *model) planSeries() {
	m.interval = reports.SeriesInterval(m.end, maxBuckets)
	buckets := int((m.end + m.interval - 1) / m.interval)
	m.series = reports.NewSeries(m.interval, buckets, len(m.srv))
	m.bucketLat = reports.NewCoarseLatencyRecorder()
	m.lastBusy = make([]float64, len(m.srv))
	// One tick is pending at a time (each schedules the next), so the
	// series adds one event to the queue, not one per bucket.
	m.eng.Schedule(min(m.interval, m.end), m.h, evTick, 0)
}

// tick closes bucket k of the time series.
func (m *model) tick(now time.Duration, k int) {
	s := m.series
	s.P50MS[k] = float64(m.bucketLat.Quantile(0.50)) / 1e6
	s.P99MS[k] = float64(m.bucketLat.Quantile(0.99)) / 1e6
	m.bucketLat.Reset()
	for _, p := range m.pools {
		p.Refresh(now)
	}
	s.Healthy[k] = m.healthyServers()
	s.Instances[k] = m.activeServers()
	width := float64(now - time.Duration(k)*m.interval)
	for i := range m.srv {
		sv := &m.srv[i]
		inflight := 0
		for _, pr := range m.srvPools[i] {
			inflight += m.pools[pr.pool].InFlight(int(pr.local))
		}
		s.InFlight[i][k] = float64(inflight)
		busy := sv.busyAvg.Integral(now)
		if width > 0 {
			s.Utilization[i][k] = reports.Round((busy-m.lastBusy[i])/width/float64(sv.conc), 6)
		}
		m.lastBusy[i] = busy
	}
	m.curK = k + 1
	if next := time.Duration(k+2) * m.interval; k+1 < len(s.T) {
		m.eng.Schedule(min(next, m.end), m.h, evTick, int64(k+1))
	}
}
