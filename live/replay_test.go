package live

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgelab/edgelab/live/internal/livetest"
	"github.com/edgelab/edgelab/reports"
	"github.com/edgelab/edgelab/sim"
	"github.com/edgelab/edgelab/traces"
	"github.com/edgelab/edgelab/workloads"
)

// A trace replays live as in the simulator: the same requests, at the
// recorded instants, to the routes their paths take, with the recorded
// demands; a path no route matches is answered 404 (no_upstream).
func TestTraceReplayLive(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("time,path,key,service_ms\n")
	for i := range 200 {
		path := "/a/x"
		switch {
		case i%4 == 0:
			path = "/b"
		case i == 7:
			path = "/nowhere"
		}
		fmt.Fprintf(&b, "%.4f,%s,%d,%d\n", 100+float64(i)*0.005, path, i%13, 1+i%3)
	}
	if err := os.WriteFile(filepath.Join(dir, "t.csv"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	sc, err := workloads.Parse([]byte(`
name: trace-live
duration: 2s # past the last arrival (1 s), so that servers count every request within it
clients: {arrival: {process: trace, file: t.csv}}
gateway:
  routes: [{prefix: /a, to: a}, {prefix: /b, to: b}]
servers:
  - {name: a, count: 2, concurrency: 4, service: {from: trace}}
  - {name: b, count: 1, concurrency: 4, service: {from: trace}}
`), filepath.Join(dir, "s.yaml"), nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run(context.Background(), sc, Options{Strategies: []string{"round-robin"}})
	if err != nil {
		t.Fatal(err)
	}
	simRes, err := sim.Run(context.Background(), sc, sim.Options{Strategies: []string{"round-robin"}})
	if err != nil {
		t.Fatal(err)
	}
	r, s := res.Runs[0], simRes.Runs[0]
	conserved(t, r)
	if r.Requests != 200 || s.Requests != 200 || r.Outcomes.NoUpstream != 1 || s.Outcomes.NoUpstream != 1 || r.OK != 199 {
		t.Errorf("live %d requests (%+v), sim %d (%+v)", r.Requests, r.Outcomes, s.Requests, s.Outcomes)
	}
	if res.Trace == nil || res.Trace.Replayed != 200 {
		t.Errorf("trace %+v", res.Trace)
	}
	for i, sv := range s.Servers {
		if r.Servers[i].Requests != sv.Requests {
			t.Errorf("server %s: live %d requests, sim %d", sv.ID, r.Servers[i].Requests, sv.Requests)
		}
	}
}

// A log recorded from a live run replays to the live run: the simulator,
// given the log's arrivals and demands, agrees with the run that wrote it
// within live mode's tolerances (agreement_test.go).
func TestReplayOfALiveLogMatchesTheLiveRun(t *testing.T) {
	if os.Getenv("EDGELAB_AGREEMENT") == "" || livetest.Race {
		t.Skip("a 14 s timing-sensitive live run: set EDGELAB_AGREEMENT=1 and run it alone")
	}
	dir := t.TempDir()
	sc, err := workloads.Parse([]byte(agreementYAML), filepath.Join(dir, "agreement.yaml"), nil)
	if err != nil {
		t.Fatal(err)
	}
	lr, err := Run(context.Background(), sc, Options{OutDir: dir, AccessLogFormat: traces.CSV})
	if err != nil {
		t.Fatal(err)
	}
	log := filepath.Join(dir, traces.LogName("round-robin", traces.CSV))
	yaml := strings.Replace(agreementYAML, "arrival: {process: poisson, rate: 300}", "arrival: {process: trace, file: "+log+"}", 1)
	yaml = strings.Replace(yaml, "duration: 12s\n", "", 1)
	yaml = strings.Replace(yaml, "service: {dist: lognormal, mean: 20ms, sigma: 0.6}", "service: {from: trace}", 1)
	rsc, err := workloads.Parse([]byte(yaml), filepath.Join(dir, "replay.yaml"), nil)
	if err != nil {
		t.Fatal(err)
	}
	sr, err := sim.Run(context.Background(), rsc, sim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	l, s := lr.Runs[0], sr.Runs[0]
	for _, c := range reports.Compare(lr, sr) {
		t.Logf("%-14s replay %8.2f  live %8.2f  %+.3f", c.Metric, c.Sim, c.Live, c.Diff)
	}
	if d := float64(s.Requests-l.Requests) / float64(l.Requests); d > 0.01 || d < -0.01 {
		t.Errorf("the replay measured %d requests, the live run %d", s.Requests, l.Requests)
	}
	relWithin(t, "p50", l.LatencyMS.P50, s.LatencyMS.P50, 0.15)
	relWithin(t, "p90", l.LatencyMS.P90, s.LatencyMS.P90, 0.20)
	relWithin(t, "p99", l.LatencyMS.P99, s.LatencyMS.P99, 0.30)
}
