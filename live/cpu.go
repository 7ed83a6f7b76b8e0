package live

import (
	"bytes"
	"errors"
	"fmt"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/google/pprof/profile"

	"github.com/edgelab/edgelab/live/gateway"
)

// cpuMeter measures the CPU time of edgelab's gateway instances in this
// process with Go's CPU profiler: every goroutine a gateway instance
// starts carries the profiler label gateway.CPULabel=CPUGateway (its
// connections and TLS handshakes, handlers, stages, upstream attempts and
// health checks), so the profile's samples with that label are the
// gateway's CPU time, apart from the backends, the L4 balancer and the
// attacker running beside it. The profiler samples every 10 ms of CPU
// time (100 Hz), so over n samples the share is good to about 1/√n. The
// garbage collector's background workers carry no label: their CPU time
// counts for no one (mark assists are charged to the goroutine that
// allocates, so the gateway pays its own).
//
// A process runs one CPU profile at a time: start fails while another
// (edgelab serve --cpuprofile, go test -cpuprofile, a concurrent run)
// is on.
type cpuMeter struct {
	buf     bytes.Buffer
	started time.Time
}

// startCPU starts the profiler.
func startCPU() (*cpuMeter, error) {
	m := &cpuMeter{started: time.Now()}
	if err := pprof.StartCPUProfile(&m.buf); err != nil {
		return nil, fmt.Errorf("measure the gateway's CPU: %w", err)
	}
	return m, nil
}

// cpuTimes is what a cpuMeter measured.
type cpuTimes struct {
	// Gateway is the gateway instances' goroutines, Edge the L4
	// balancer's when it terminates TLS (labelled cpuEdge).
	Gateway, Edge tierCPU
	// Total is the whole process's samples; Wall the time profiled.
	Total, Wall time.Duration
}

// tierCPU is one tier's CPU time, and the parts of it spent on TLS (see
// tlsWork): in the clients' handshakes, in its own handshakes with the
// servers it re-encrypts to (Upstream), and on the records.
type tierCPU struct {
	Total, Handshake, Upstream, Record time.Duration
}

func (c *tierCPU) add(s *profile.Sample, d time.Duration) {
	c.Total += d
	switch tlsWork(s) {
	case workHandshake:
		c.Handshake += d
	case workUpstream:
		c.Upstream += d
	case workRecord:
		c.Record += d
	}
}

// What a sample's stack spends its time on (tlsWork).
const (
	workOther     = iota
	workHandshake // a client's handshake with the tier
	workUpstream  // the tier's own handshake as a client (re-encryption)
	workRecord    // records
)

// cpuEdge labels the L4 balancer's goroutines when it terminates TLS.
const cpuEdge = "edge"

// tlsWork tells what a sample's stack spends its time on: a handshake
// (its network reads and writes included: a plain connection does not
// make them), the server's side or the client's, or the records (in
// crypto/tls but not in a read or write system call, which a plain
// connection makes too), or none of these.
func tlsWork(s *profile.Sample) int {
	inTLS, inIO, handshake, client := false, false, false, false
	for _, loc := range s.Location {
		for _, ln := range loc.Line {
			if ln.Function == nil {
				continue
			}
			name := ln.Function.Name
			switch {
			case strings.HasPrefix(name, "crypto/tls.(*Conn).handshakeContext"):
				handshake = true
			case strings.HasPrefix(name, "crypto/tls.(*Conn).clientHandshake"):
				client = true
			case strings.HasPrefix(name, "crypto/tls."):
				inTLS = true
			case strings.HasPrefix(name, "internal/poll.(*FD)."):
				inIO = true
			}
		}
	}
	switch {
	case handshake && client:
		return workUpstream
	case handshake:
		return workHandshake
	case inTLS && !inIO:
		return workRecord
	}
	return workOther
}

// stop stops the profiler and sums its samples.
func (m *cpuMeter) stop() (cpuTimes, error) {
	pprof.StopCPUProfile()
	t := cpuTimes{Wall: time.Since(m.started)}
	p, err := profile.Parse(&m.buf)
	if err != nil {
		return t, fmt.Errorf("read the CPU profile: %w", err)
	}
	idx := -1
	for i, st := range p.SampleType {
		if st.Type == "cpu" && st.Unit == "nanoseconds" {
			idx = i
		}
	}
	if idx < 0 {
		return t, errors.New("read the CPU profile: no cpu/nanoseconds samples")
	}
	for _, s := range p.Sample {
		d := time.Duration(s.Value[idx])
		t.Total += d
		for _, v := range s.Label[gateway.CPULabel] {
			switch v {
			case gateway.CPUGateway:
				t.Gateway.add(s, d)
			case cpuEdge:
				t.Edge.add(s, d)
			}
		}
	}
	return t, nil
}
