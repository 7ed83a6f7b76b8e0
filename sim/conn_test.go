package sim

import (
	"context"
	"fmt"
	"math"
	"testing"

	"github.com/edgelab/edgelab/workloads"
)

// An instance's capacity with TLS: a request costs c of CPU, a handshake
// h, and a connection carries r requests, so each request costs
// c + h/r on average and one worker serves at most 1/(c + h/r) requests a
// second (the capacity law). Twenty closed-loop users with no
// think time keep one gateway worker busy all the time (the servers answer
// in a microsecond), so the throughput is the capacity. Each user sends
// one request at a time, so its connection carries exactly r requests.
// With resumption p, h is the mean (1−p)·full + p·resumed.
func TestTLSCapacity(t *testing.T) {
	const c, full, resumed = 100e-6, 1e-3, 100e-6
	for _, tc := range []struct {
		r int
		p float64
	}{{1, 0}, {2, 0}, {5, 0}, {20, 0}, {1000, 0}, {1, 0.6}, {4, 0.5}} {
		t.Run(fmt.Sprintf("r=%d,p=%g", tc.r, tc.p), func(t *testing.T) {
			yaml := fmt.Sprintf(`
duration: 20s
warmup: 2s
clients:
  arrival: {process: closed, users: 20}
  keepalive: {requests: %d, idle: 1h}
gateway:
  instances: 1
  concurrency: 1
  stages: [{type: transform, cost: 100us}]
  tls: {full: 1ms, resumed: 100us, resumption: %g, record: 0s}
servers:
  - {name: api, count: 4, concurrency: 64, service: {dist: constant, mean: 1us}}
`, tc.r, tc.p)
			sc, err := workloads.Parse([]byte(yaml), "tls.yaml", nil)
			if err != nil {
				t.Fatal(err)
			}
			res, err := Run(context.Background(), sc, Options{})
			if err != nil {
				t.Fatal(err)
			}
			run := res.Runs[0]
			h := (1-tc.p)*full + tc.p*resumed
			want := 1 / (c + h/float64(tc.r))
			t.Logf("throughput %.1f/s, 1/(c + h/r) = %.1f/s; TLS share %.4f; %d connections", run.ThroughputRPS, want, run.Gateway.TLSShare, run.Gateway.Connections)
			if rel := math.Abs(run.ThroughputRPS/want - 1); rel > 0.01 {
				t.Errorf("throughput %.1f/s, 1/(c + h/r) = %.1f/s (%.2f %% off)", run.ThroughputRPS, want, 100*rel)
			}
			g := run.Gateway
			wantShare := (h / float64(tc.r)) / (c + h/float64(tc.r))
			if math.Abs(g.TLSShare-wantShare) > 0.01 {
				t.Errorf("TLS share of the gateway's CPU %.4f, want %.4f", g.TLSShare, wantShare)
			}
			// A connection per r requests.
			if conns := float64(run.Requests) / float64(tc.r); math.Abs(float64(g.Connections)-conns) > 0.01*conns+20 {
				t.Errorf("%d connections for %d requests, want about %.0f", g.Connections, run.Requests, conns)
			}
			if tc.p > 0 {
				share := float64(g.ResumedHandshakes) / float64(g.ResumedHandshakes+g.FullHandshakes)
				if n := float64(g.ResumedHandshakes + g.FullHandshakes); math.Abs(share-tc.p) > 4*math.Sqrt(tc.p*(1-tc.p)/n) {
					t.Errorf("%.4f of the handshakes resumed, want %g", share, tc.p)
				}
			}
		})
	}
}

// The L4 balancer places connections, not requests: one client whose
// requests never overlap keeps one connection, so all its requests reach
// one gateway instance; without keep-alive (requests: 1) each request is a
// new connection, and round robin spreads them evenly.
func TestL4PlacesConnections(t *testing.T) {
	for _, tc := range []struct {
		requests int
		want     [2]int64
	}{{1000, [2]int64{99, 0}}, {1, [2]int64{50, 49}}} {
		yaml := fmt.Sprintf(`
duration: 10s
clients:
  arrival: {process: constant, rate: 10}
  count: 1
  keepalive: {requests: %d, idle: 10s}
gateway:
  instances: 2
  l4: round-robin
servers:
  - {name: api, count: 1, service: {dist: constant, mean: 1ms}}
`, tc.requests)
		sc, err := workloads.Parse([]byte(yaml), "l4.yaml", nil)
		if err != nil {
			t.Fatal(err)
		}
		res, err := Run(context.Background(), sc, Options{})
		if err != nil {
			t.Fatal(err)
		}
		g := res.Runs[0].Gateway
		got := [2]int64{g.Instances[0].Requests, g.Instances[1].Requests}
		if got != tc.want {
			t.Errorf("requests: %d a connection: gateway instances got %v, want %v", tc.requests, got, tc.want)
		}
	}
}
