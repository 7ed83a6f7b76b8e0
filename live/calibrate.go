package live

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/edgelab/edgelab/live/tlscost"
	"github.com/edgelab/edgelab/reports"
	"github.com/edgelab/edgelab/workloads"
)

// Calibration is what a live run with Options.MeasureCPU measured of
// edgelab's gateway, as the scenario keys that make the simulator charge
// the same: its CPU per request apart from stages and TLS, TLS's
// handshakes and records, and what opening a connection costs the client.
type Calibration struct {
	// ProxyCost is gateway.proxy_cost: the gateway's CPU per request,
	// less TLS and less what its stages' cost keys already charge.
	ProxyCost time.Duration
	// TLS says the scenario terminates TLS; the keys below are set then.
	TLS bool
	// Full, Resumed and Record are gateway.tls.full, resumed and record:
	// the handshakes' CPU measured in the run, split between full and
	// resumed ones in the proportion tlscost measured (ResumedRatio), and
	// the rest of TLS's CPU per request.
	Full, Resumed, Record time.Duration
	// Connect is clients.keepalive.connect: the client's median time to
	// open a TLS connection, less the gateway's handshake CPU (which the
	// simulator charges to the gateway's worker).
	Connect time.Duration
	// ResumedRatio is a resumed handshake's cost over a full one's, as
	// tlscost measured them.
	ResumedRatio float64
}

// Calibrate derives a Calibration from run, a live run of sc measured
// with Options.MeasureCPU. With TLS at the edge, the L4 balancer's CPU is
// TLS's: its handshakes give full and resumed, the rest of it (records
// and relaying the bytes) record. costs are tlscost's measurements with the
// gateway's kind of certificate; they split the measured handshake CPU
// between full and resumed handshakes (and stand in for it when the run
// made none).
func Calibrate(sc *workloads.Scenario, run *reports.Run, costs tlscost.Costs) (Calibration, error) {
	if u := sc.Balancer.Upstream; u != nil && u.TLS != nil {
		return Calibration{}, errors.New("calibrate: with balancer.upstream.tls the gateway's records to the servers mix with the clients' (remove it to calibrate the gateway's own costs)")
	}
	g := run.Gateway
	if g == nil {
		return Calibration{}, errors.New("calibrate: the run has no gateway tier (edgelab's own gateway, with --cpu, is needed)")
	}
	if g.CPUPerRequestMS <= 0 {
		return Calibration{}, errors.New("calibrate: the gateway's CPU was not measured: the profiler takes 100 samples a CPU-second, and the run gave it none (run longer, or at a higher rate)")
	}
	var n int64
	for _, in := range g.Instances {
		n += in.Requests
	}
	if n == 0 {
		return Calibration{}, errors.New("calibrate: the gateway received no request in the measured window")
	}
	ms := func(v float64) time.Duration {
		return time.Duration(v * float64(time.Millisecond)).Round(time.Microsecond)
	}
	perReq := g.CPUPerRequestMS
	tlsPerReq := perReq * g.TLSShare
	edge := sc.Gateway.TLS != nil && sc.Gateway.TLS.At == workloads.TLSAtEdge
	if edge {
		// The L4 balancer's CPU is TLS's, relaying the bytes included
		// (the simulated edge does nothing else); the instances' is the
		// proxy's.
		if g.Edge == nil || g.Edge.CPUPerRequestMS <= 0 {
			return Calibration{}, errors.New("calibrate: the run measured no CPU at the edge")
		}
		tlsPerReq = g.Edge.CPUPerRequestMS
	}
	// What the stages' cost keys charge per request.
	stages := 0.0
	for si, st := range g.Stages {
		if si < len(sc.Gateway.Stages) {
			stages += sc.Gateway.Stages[si].Cost.Seconds() * 1000 * float64(st.Requests) / float64(n)
		}
	}
	gatewayTLS := tlsPerReq
	if edge {
		gatewayTLS = 0
	}
	c := Calibration{ProxyCost: ms(max(0, perReq-gatewayTLS-stages))}
	if sc.Gateway.TLS == nil {
		return c, nil
	}
	c.TLS = true
	if costs.Full <= 0 {
		return c, fmt.Errorf("calibrate: tlscost measured no full handshake cost")
	}
	c.ResumedRatio = float64(costs.Resumed) / float64(costs.Full)
	hs := g.FullHandshakes + g.ResumedHandshakes
	if hs == 0 || g.HandshakeCPUMS <= 0 {
		c.Full, c.Resumed = costs.Full.Round(time.Microsecond), costs.Resumed.Round(time.Microsecond)
		c.Record = ms(tlsPerReq)
		return c, nil
	}
	hsTotal := g.HandshakeCPUMS * float64(hs) // ms
	full := hsTotal / (float64(g.FullHandshakes) + c.ResumedRatio*float64(g.ResumedHandshakes))
	c.Full, c.Resumed = ms(full), ms(full*c.ResumedRatio)
	c.Record = ms(max(0, tlsPerReq-hsTotal/float64(n)))
	c.Connect = ms(max(0, g.ConnectMS-g.HandshakeCPUMS))
	return c, nil
}

// Sets are the calibration as --set overrides.
func (c Calibration) Sets() []string {
	out := []string{"gateway.proxy_cost=" + us(c.ProxyCost)}
	if c.TLS {
		out = append(out, "gateway.tls.full="+us(c.Full), "gateway.tls.resumed="+us(c.Resumed),
			"gateway.tls.record="+us(c.Record), "clients.keepalive.connect="+us(c.Connect))
	}
	return out
}

// us writes a duration as a scenario does, in ASCII (us, not µs).
func us(d time.Duration) string { return strings.ReplaceAll(d.String(), "µs", "us") }
