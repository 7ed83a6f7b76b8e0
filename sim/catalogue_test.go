package sim

import (
	"testing"

	"github.com/edgelab/edgelab/strategies"
)

// Linkerd's experiment again (see TestLinkerdSlowHost), now with the
// latency-aware balancer Linkerd ships: peak-EWMA sees the slow host's
// latency itself rather than only its in-flight count, so it times out
// fewer requests than p2c, which times out fewer than round robin
// (Linkerd blog, "Beyond Round Robin: Load Balancing for Latency", 2016).
func TestLinkerdPeakEWMABeatsP2C(t *testing.T) {
	yaml := linkerdYAML
	frac := map[string]float64{}
	for _, s := range []string{"round-robin", "p2c", "peak-ewma"} {
		r := simulate(t, yaml, s)
		frac[s] = float64(r.Outcomes.Timeout) / float64(r.Requests)
	}
	t.Logf("timed out: round robin %.4f, p2c %.4f, peak-ewma %.4f", frac["round-robin"], frac["p2c"], frac["peak-ewma"])
	if !(frac["peak-ewma"] < frac["p2c"] && frac["p2c"] < frac["round-robin"]) {
		t.Errorf("want peak-ewma < p2c < round-robin, got %v", frac)
	}
}

// A heterogeneous fleet, two of eight instances at 0.3× speed: Prequal
// (Wydrowski et al., NSDI 2024) probes requests in flight and latency and
// avoids the slow pair, so its p99 beats p2c's, which beats round robin's
// (round robin gives the slow instances an equal share they cannot serve).
func TestHeterogeneousFleetPrequalBeatsP2C(t *testing.T) {
	yaml := `
name: hetero
seed: 5
duration: 300s
warmup: 10s
clients:
  arrival: {process: poisson, rate: 500}
servers:
  - name: s
    count: 8
    concurrency: 4
    service: {dist: exponential, mean: 40ms}
    speed: [1, 1, 1, 1, 1, 1, 0.3, 0.3]
`
	p99 := map[string]float64{}
	for _, s := range []string{"round-robin", "p2c", "prequal"} {
		p99[s] = simulate(t, yaml, s).LatencyMS.P99
	}
	t.Logf("p99 ms: round robin %.1f, p2c %.1f, prequal %.1f", p99["round-robin"], p99["p2c"], p99["prequal"])
	if !(p99["prequal"] < p99["p2c"] && p99["p2c"] < p99["round-robin"]) {
		t.Errorf("want prequal < p2c < round-robin in p99, got %v", p99)
	}
}

// Every strategy in the catalogue runs through the simulator on the same
// scenario with failures and a gateway, keeping conservation.
func TestEveryStrategySimulates(t *testing.T) {
	yaml := `
name: all
duration: 20s
warmup: 2s
clients:
  arrival: {process: poisson, rate: 400}
  keys: {dist: zipf, n: 1000, s: 1.0}
  timeout: 500ms
gateway: {instances: 2}
servers:
  - name: s
    count: 6
    concurrency: 4
    service: {dist: lognormal, mean: 10ms, p99: 60ms}
    speed: [1, 1, 1, 1, 0.5, 0.5]
    failures: [{kind: crash, at: 8s, for: 4s, instances: [0]}]
`
	for _, name := range strategies.Names() {
		r := simulate(t, yaml, name)
		if r.OK == 0 {
			t.Errorf("%s: no request succeeded", name)
		}
	}
}

// A crashed server answers no probe and piggybacks no report, so the
// server-signal strategies see it as the most loaded and route around it
// even without health checks; round robin keeps sending it its share.
func TestSignalStrategiesAvoidCrashedServer(t *testing.T) {
	yaml := `
name: crashsignals
seed: 4
duration: 60s
clients:
  arrival: {process: poisson, rate: 400}
servers:
  - name: s
    count: 4
    concurrency: 8
    service: {dist: exponential, mean: 10ms}
    failures: [{kind: crash, at: 10s, for: 30s, instances: [0]}]
`
	rr := simulate(t, yaml, "round-robin")
	for _, s := range []string{"prequal", "c3"} {
		r := simulate(t, yaml, s)
		t.Logf("%s failed %d, round robin %d", s, r.Failed, rr.Failed)
		if r.Failed*10 > rr.Failed {
			t.Errorf("%s failed %d requests, round robin %d: it should avoid the crashed server", s, r.Failed, rr.Failed)
		}
	}
}
