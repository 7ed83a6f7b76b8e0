package live

import (
	"context"
	"runtime/pprof"
	"time"

	"github.com/edgelab/edgelab/live/backend"
	"github.com/edgelab/edgelab/live/internal/clock"
	"github.com/edgelab/edgelab/reports"
)

// sampler reads the world's state at the end of every series bucket (the
// servers' utilization, the balancers' in-flight counts, healthy
// endpoints) and the servers' counters at the ends of warm-up and of the
// run, from one goroutine.
type sampler struct {
	buckets int
	// per bucket
	healthy, instances []int
	inFlight, util     [][]float64 // [server][bucket]
	// the servers' counters at the end of warm-up and of the run
	warm, end []backend.Stats
	// attempts the gateways saw refused per server, at the same times
	// (lastRefused at the previous bucket's end)
	refWarm, refEnd, lastRefused []int64
	// gwWarm is each gateway instance's request count at the end of
	// warm-up.
	gwWarm []int64
	last   []backend.Stats // at the previous bucket's end
	w      *world
	// measureCPU profiles the gateway's CPU over the measured window
	// (Options.MeasureCPU); cpu holds what it measured and gwEnd the
	// gateway instances' request counts when it stopped.
	measureCPU bool
	meter      *cpuMeter
	cpu        *cpuTimes
	cpuErr     error
	gwEnd      []int64
}

func newSampler(w *world, buckets int) *sampler {
	n := 0
	if w.fleet != nil {
		n = len(w.fleet.Backends())
	}
	s := &sampler{buckets: buckets, healthy: make([]int, buckets), instances: make([]int, buckets),
		inFlight: make([][]float64, n), util: make([][]float64, n)}
	for i := range n {
		s.inFlight[i] = make([]float64, buckets)
		s.util[i] = make([]float64, buckets)
	}
	s.w = w
	return s
}

func (s *sampler) backends() []backend.Stats {
	if s.w.fleet == nil {
		return nil
	}
	bs := s.w.fleet.Backends()
	out := make([]backend.Stats, len(bs))
	for i, b := range bs {
		out[i] = b.Stats()
	}
	return out
}

// run samples until ctx ends: bucket k ends at start + (k+1)·iv.
func (s *sampler) run(ctx context.Context, start time.Time, iv, warm, end time.Duration) {
	defer func() {
		if s.meter != nil { // interrupted
			pprof.StopCPUProfile()
			s.meter = nil
		}
	}()
	s.last = s.backends()
	tookWarm := warm == 0
	if tookWarm {
		s.takeWarm()
	}
	for k := 0; k < s.buckets; k++ {
		at := start.Add(time.Duration(k+1) * iv)
		if !tookWarm && time.Duration(k+1)*iv > warm {
			// The end of warm-up falls inside this bucket.
			if !clock.SleepUntil(ctx, start.Add(warm)) {
				return
			}
			s.takeWarm()
			tookWarm = true
		}
		if time.Duration(k+1)*iv >= end {
			at = start.Add(end)
		}
		if !clock.SleepUntil(ctx, at) {
			return
		}
		s.sample(k, iv)
	}
	s.end = s.last
	s.refEnd = s.lastRefused
	if s.meter != nil {
		s.gwEnd = s.gatewayCounts()
		t, err := s.meter.stop()
		s.meter = nil
		s.cpu, s.cpuErr = &t, err
	}
}

func (s *sampler) gatewayCounts() []int64 {
	out := make([]int64, len(s.w.gws))
	for i, gw := range s.w.gws {
		out[i] = gw.Stats().Requests
	}
	return out
}

// tierCPU is a tier's CPU time (the gateway's, or the edge's) per
// request the gateway tier received in the measured window, in
// milliseconds, TLS's share of it and its handshakes' CPU time (ms); ok is
// false when it was not measured.
func (s *sampler) tierCPU(edge bool) (perRequestMS, tlsShare, handshakeMS float64, ok bool) {
	if s.cpu == nil || s.cpuErr != nil || s.gwEnd == nil {
		return 0, 0, 0, false
	}
	var n int64
	for i := range s.gwEnd {
		n += s.gwEnd[i]
		if i < len(s.gwWarm) {
			n -= s.gwWarm[i]
		}
	}
	c := s.cpu.Gateway
	if edge {
		c = s.cpu.Edge
	}
	if n <= 0 || c.Total <= 0 {
		return 0, 0, 0, false
	}
	return float64(c.Total) / float64(n) / 1e6, float64(c.Handshake+c.Upstream+c.Record) / float64(c.Total), float64(c.Handshake) / 1e6, true
}

// refused sums, per server, the attempts the gateway instances saw
// refused (nil without edgelab's gateway).
func (s *sampler) refused() []int64 {
	if len(s.w.gws) == 0 || s.w.fleet == nil {
		return nil
	}
	out := make([]int64, len(s.w.fleet.Backends()))
	for _, gw := range s.w.gws {
		for i, n := range gw.Stats().Refused {
			if i < len(out) {
				out[i] += n
			}
		}
	}
	return out
}

func (s *sampler) takeWarm() {
	s.warm = s.backends()
	s.refWarm = s.refused()
	s.gwWarm = s.gatewayCounts()
	if s.measureCPU && len(s.w.gws) > 0 {
		s.meter, s.cpuErr = startCPU()
	}
}

// gatewayRequests is gateway instance i's requests since warm-up.
func (s *sampler) gatewayRequests(i int) int64 {
	n := s.w.gws[i].Stats().Requests
	if i < len(s.gwWarm) {
		n -= s.gwWarm[i]
	}
	return n
}

func (s *sampler) sample(k int, iv time.Duration) {
	now := s.backends()
	s.lastRefused = s.refused()
	for i := range now {
		if c := now[i].Concurrency; c > 0 {
			dt := now[i].At.Sub(s.last[i].At).Seconds()
			if dt > 0 {
				s.util[i][k] = reports.Round((now[i].Busy-s.last[i].Busy)/(float64(c)*dt), 3)
			}
		}
	}
	s.last = now
	for _, gw := range s.w.gws {
		st := gw.Stats()
		s.healthy[k] += st.Healthy
		s.instances[k] += st.Endpoints
		for i, n := range st.InFlight {
			if i < len(s.inFlight) {
				s.inFlight[i][k] += float64(n)
			}
		}
	}
}

// servers turns the counters sampled at the ends of warm-up and of the run
// into per-server results over the measured time.
func (s *sampler) servers(w *world, measured time.Duration) []reports.Server {
	if w.fleet == nil {
		return nil
	}
	end := s.end
	if end == nil { // interrupted: up to now
		end = s.backends()
	}
	warm := s.warm
	if warm == nil {
		warm = make([]backend.Stats, len(end))
	}
	// Attempts refused by a crashed server count as its requests, as in
	// the simulator (docs/scenario.md, servers[].requests).
	refEnd, refWarm := s.refEnd, s.refWarm
	if s.end == nil {
		refEnd = s.refused()
	}
	var out []reports.Server
	for i, b := range w.fleet.Backends() {
		e, st := end[i], warm[i]
		srv := reports.Server{ID: b.ID(), Requests: e.Requests - st.Requests}
		if i < len(refEnd) {
			srv.Requests += refEnd[i]
			if i < len(refWarm) {
				srv.Requests -= refWarm[i]
			}
		}
		if dt := e.At.Sub(st.At).Seconds(); dt > 0 && !st.At.IsZero() {
			if e.Concurrency > 0 {
				srv.Utilization = reports.Round((e.Busy-st.Busy)/(float64(e.Concurrency)*dt), 6)
			}
			srv.MeanQueue = reports.Round((e.Queue-st.Queue)/dt, 6)
		}
		out = append(out, srv)
	}
	return out
}

// fill copies the sampled gauges into the attacker's series.
func (s *sampler) fill(sr *reports.Series) {
	if sr == nil {
		return
	}
	n := min(len(sr.Healthy), s.buckets)
	copy(sr.Healthy, s.healthy[:n])
	copy(sr.Instances, s.instances[:n])
	for i := range s.util {
		if i < len(sr.Utilization) {
			copy(sr.Utilization[i], s.util[i][:n])
			copy(sr.InFlight[i], s.inFlight[i][:n])
		}
	}
}
