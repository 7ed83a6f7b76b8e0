package live

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/edgelab/edgelab/live/internal/livetest"
	"github.com/edgelab/edgelab/live/tlscost"
	"github.com/edgelab/edgelab/reports"
	"github.com/edgelab/edgelab/sim"
	"github.com/edgelab/edgelab/workloads"
)

// tlsYAML: two gateway instances behind the L4 balancer (which passes
// TLS through and checks the instances' health over TLS), terminating
// TLS with a generated P-256 certificate, 50 clients. The health checks'
// timeout is loose: a TLS probe under the load of CI's parallel test
// packages took over 100 ms, and the L4 balancer, finding both instances
// down, closed clients' connections (CI80: 101 connect failures).
const tlsYAML = `
name: tls
seed: 5
duration: 1500ms
warmup: 300ms
clients:
  arrival: {process: poisson, rate: 200}
  count: 50
  timeout: 2s
gateway:
  instances: 2
  health: {interval: 1s, timeout: 800ms, unhealthy: 3, healthy: 1}
  tls: {key_type: p256}
servers:
  - {name: web, count: 2, concurrency: 8, service: {dist: constant, mean: 2ms}}
`

// The gateway terminates real TLS and the attacker speaks HTTPS: every
// request succeeds, the connections and handshakes the clients made are
// counted, and each client keeps its own connections, as simulated.
func TestLiveTLS(t *testing.T) {
	for _, tc := range []struct {
		name string
		sets []string
		// connections per request: about this, within tolerance
		perReq, tol float64
		resumed     float64 // share of resumed handshakes, about
	}{
		// One request a connection: a handshake each, counted by the
		// request's schedule, so exactly as many as requests.
		{"no reuse", []string{"clients.keepalive.requests=1"}, 1, 0.001, 0},
		// NGINX's default keep-alive: about one connection a client.
		{"keep-alive", nil, 0, 0, 0},
		// Four requests a connection, half the handshakes resumed.
		{"resumption", []string{"clients.keepalive.requests=4", "gateway.tls.resumption=0.5"}, 0.25, 0.08, 0.5},
		// TLS at the edge: the L4 balancer terminates it.
		{"edge", []string{"clients.keepalive.requests=4", "gateway.tls.at=edge", "gateway.tls.edge_workers=2"}, 0.25, 0.08, 0},
		// HTTP/2 by ALPN at the edge, h2c on to the instances.
		{"edge multiplex", []string{"clients.keepalive.requests=10", "clients.keepalive.multiplex=true", "gateway.tls.at=edge", "gateway.tls.edge_workers=2"}, 0.1, 0.06, 0},
		// Re-encrypted to the servers: the backends serve HTTPS.
		{"re-encrypt", []string{"clients.keepalive.requests=4", "balancer.upstream={tls: {}}"}, 0.25, 0.08, 0},
		// HTTP/2 over TLS (ALPN h2), ten streams a connection.
		{"multiplex", []string{"clients.keepalive.requests=10", "clients.keepalive.multiplex=true"}, 0.1, 0.06, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc := parse(t, tlsYAML, tc.sets...)
			res, err := Run(context.Background(), sc, Options{})
			if err != nil {
				t.Fatal(err)
			}
			r := res.Runs[0]
			conserved(t, r)
			if r.Failed != 0 || r.Rejected != 0 {
				t.Fatalf("%d failed, %d rejected: %+v", r.Failed, r.Rejected, r.Outcomes)
			}
			g := r.Gateway
			if g == nil || g.Connections == 0 {
				t.Fatalf("no connections counted: %+v", g)
			}
			if g.FullHandshakes+g.ResumedHandshakes != g.Connections {
				t.Errorf("%d connections, %d + %d handshakes", g.Connections, g.FullHandshakes, g.ResumedHandshakes)
			}
			if g.ConnectMS <= 0 {
				t.Errorf("connect_ms %v", g.ConnectMS)
			}
			per := float64(g.Connections) / float64(r.Requests)
			t.Logf("%d connections for %d requests (%d full, %d resumed)", g.Connections, r.Requests, g.FullHandshakes, g.ResumedHandshakes)
			if tc.perReq == 0 {
				// Each of the 50 clients opens about one, some in warm-up.
				if g.Connections > 60 {
					t.Errorf("%d connections for 50 clients kept alive", g.Connections)
				}
			} else if math.Abs(per-tc.perReq) > tc.tol {
				t.Errorf("%.3f connections a request (%d for %d), want %.2f", per, g.Connections, r.Requests, tc.perReq)
			}
			if tc.resumed > 0 {
				share := float64(g.ResumedHandshakes) / float64(g.Connections)
				if math.Abs(share-tc.resumed) > 0.15 {
					t.Errorf("resumed share %.2f (%d of %d), want about %.2f", share, g.ResumedHandshakes, g.Connections, tc.resumed)
				}
			}
		})
	}
}

// --cpu measures the gateway's CPU per request with the profiler's
// labels: with a handshake a request it is at least what a handshake
// costs the server, and most of it is TLS; Calibrate turns it into keys.
func TestLiveTLSCPU(t *testing.T) {
	if livetest.Race {
		t.Skip("the race detector multiplies CPU times")
	}
	// RSA-2048 handshakes, about 1.2 ms each: some 60 samples of the
	// profiler's 10 ms.
	sc := parse(t, tlsYAML, "clients.keepalive.requests=1", "duration=2s", "gateway.tls.key_type=rsa2048")
	res, err := Run(context.Background(), sc, Options{MeasureCPU: true})
	if err != nil {
		t.Fatal(err)
	}
	r := res.Runs[0]
	g := r.Gateway
	if g == nil || g.CPUPerRequestMS <= 0 || g.HandshakeCPUMS <= 0 {
		t.Fatalf("gateway CPU not measured: %+v", g)
	}
	t.Logf("CPU %.3f ms/req, TLS %.0f %%, handshake %.3f ms, connect %.3f ms", g.CPUPerRequestMS, 100*g.TLSShare, g.HandshakeCPUMS, g.ConnectMS)
	if g.TLSShare < 0.3 || g.TLSShare > 1 {
		t.Errorf("TLS share %.2f of a handshake-a-request gateway", g.TLSShare)
	}
	costs := tlscost.Costs{Full: 400 * time.Microsecond, Resumed: 300 * time.Microsecond}
	cal, err := Calibrate(sc, &r, costs)
	if err != nil {
		t.Fatal(err)
	}
	// By construction the calibration charges what was measured: the
	// proxy, the handshakes the clients made (about one a request: the
	// window's edges shift under load) and the records.
	var n int64
	for _, in := range g.Instances {
		n += in.Requests
	}
	perReq := cal.ProxyCost.Seconds()*1000 + cal.Full.Seconds()*1000*float64(g.FullHandshakes)/float64(n) + cal.Record.Seconds()*1000
	if d := math.Abs(perReq-g.CPUPerRequestMS) / g.CPUPerRequestMS; d > 0.02 {
		t.Errorf("calibration charges %.3f ms a request, measured %.3f ms (%v)", perReq, g.CPUPerRequestMS, cal.Sets())
	}
}

// Calibrate's arithmetic on a run made up: 1,000 requests, 0.5 ms of
// CPU each, 60 % TLS; 200 handshakes (150 full, 50 resumed) of 1 ms on
// average; a stage charging 0.05 ms; connections ready in 1.4 ms.
func TestCalibrate(t *testing.T) {
	sc := parse(t, tlsYAML, "gateway.stages=[{type: transform, cost: 50us}]")
	run := &reports.Run{Gateway: &reports.Gateway{
		Instances:       []reports.Server{{Requests: 600}, {Requests: 400}},
		Stages:          []reports.Stage{{Type: "transform", Requests: 1000}},
		CPUPerRequestMS: 0.5, TLSShare: 0.6, HandshakeCPUMS: 1, ConnectMS: 1.4,
		FullHandshakes: 150, ResumedHandshakes: 50,
	}}
	cal, err := Calibrate(sc, run, tlscost.Costs{Full: time.Millisecond, Resumed: 250 * time.Microsecond})
	if err != nil {
		t.Fatal(err)
	}
	// proxy = 0.5 − 0.3 − 0.05; handshakes 200 ms = full·(150 + 0.25·50);
	// records = 0.3 − 200/1000; connect = 1.4 − 1.
	full := 200.0 / 162.5
	want := Calibration{ProxyCost: 150 * time.Microsecond, TLS: true, ResumedRatio: 0.25,
		Full: time.Duration(full * 1e6).Round(time.Microsecond), Resumed: time.Duration(full * 0.25 * 1e6).Round(time.Microsecond),
		Record: 100 * time.Microsecond, Connect: 400 * time.Microsecond}
	if cal != want {
		t.Errorf("calibration\n got %+v\nwant %+v", cal, want)
	}
	// The keys load.
	if _, err := parseErr(tlsYAML, cal.Sets()); err != nil {
		t.Errorf("%v: %v", cal.Sets(), err)
	}
}

func parseErr(yaml string, sets []string) (any, error) {
	return workloads.Parse([]byte(yaml), "calibrated.yaml", sets)
}

// With TLS at the edge, --cpu measures the L4 balancer's CPU (its
// handshakes) apart from the instances', which then spend none on TLS.
func TestLiveEdgeTLSCPU(t *testing.T) {
	if livetest.Race {
		t.Skip("the race detector multiplies CPU times")
	}
	sc := parse(t, tlsYAML, "clients.keepalive.requests=1", "duration=2s", "gateway.tls.key_type=rsa2048", "gateway.tls.at=edge", "gateway.tls.edge_workers=2")
	res, err := Run(context.Background(), sc, Options{MeasureCPU: true})
	if err != nil {
		t.Fatal(err)
	}
	g := res.Runs[0].Gateway
	if g == nil || g.Edge == nil || g.Edge.CPUPerRequestMS <= 0 || g.CPUPerRequestMS <= 0 {
		t.Fatalf("CPU not measured: %+v", g)
	}
	t.Logf("edge %.3f ms/req (TLS %.0f %%), instances %.3f ms/req (TLS %.0f %%), handshake %.3f ms",
		g.Edge.CPUPerRequestMS, 100*g.Edge.TLSShare, g.CPUPerRequestMS, 100*g.TLSShare, g.HandshakeCPUMS)
	if g.Edge.TLSShare < 0.3 || g.TLSShare != 0 || g.HandshakeCPUMS <= 0 {
		t.Errorf("edge TLS share %.2f, instances' %.2f, handshake %.3f ms", g.Edge.TLSShare, g.TLSShare, g.HandshakeCPUMS)
	}
	cal, err := Calibrate(sc, &res.Runs[0], tlscost.Costs{Full: 400 * time.Microsecond, Resumed: 300 * time.Microsecond})
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, in := range g.Instances {
		n += in.Requests
	}
	if perReq := cal.Full.Seconds()*1000*float64(g.FullHandshakes)/float64(n) + cal.Record.Seconds()*1000; math.Abs(perReq-g.Edge.CPUPerRequestMS)/g.Edge.CPUPerRequestMS > 0.02 {
		t.Errorf("calibration charges the edge %.3f ms a request, measured %.3f (%v)", perReq, g.Edge.CPUPerRequestMS, cal.Sets())
	}
}

// gateway.connections live, both ways, against the simulation: with
// drain (NGINX) the 50 clients' idle connections make room for each other,
// so two requests in three open a connection and none is refused; held
// (HAProxy) the first 8 connections keep their places and the other
// clients wait in the backlog until they give up, so only the first
// clients are served.
func TestLiveConnectionLimit(t *testing.T) {
	for _, tc := range []struct {
		name string
		sets []string
	}{
		{"drain", []string{"gateway.connections={max: 8, drain: true}"}},
		{"hold", []string{"gateway.connections={max: 8}", "clients.timeout=300ms"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sets := append([]string{"clients.keepalive={requests: 100, idle: 30s}", "gateway.tls=null"}, tc.sets...)
			sc := parse(t, tlsYAML, sets...)
			res, err := Run(context.Background(), sc, Options{})
			if err != nil {
				t.Fatal(err)
			}
			sr, err := sim.Run(context.Background(), sc, sim.Options{})
			if err != nil {
				t.Fatal(err)
			}
			l, s := res.Runs[0], sr.Runs[0]
			conserved(t, l)
			t.Logf("live: %d requests, %d connections, %d ok, %+v; sim: %d, %d, %d ok, %+v", l.Requests, l.Gateway.Connections, l.OK, l.Outcomes,
				s.Requests, s.Gateway.Connections, s.OK, s.Outcomes)
			if tc.name == "drain" {
				if l.Failed != 0 || s.Failed != 0 {
					t.Errorf("drain refused requests: live %d, sim %d", l.Failed, s.Failed)
				}
				relWithin(t, "drain: connections", float64(l.Gateway.Connections), float64(s.Gateway.Connections), 0.10)
				return
			}
			// Held: only the clients of the first 8 connections are served.
			relWithin(t, "held: ok requests", float64(l.OK), float64(s.OK), 0.25)
		})
	}
}
