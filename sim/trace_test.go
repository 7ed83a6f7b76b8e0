package sim

import (
	"bytes"
	"context"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgelab/edgelab/reports"
	"github.com/edgelab/edgelab/traces"
	"github.com/edgelab/edgelab/workloads"
)

// The round trip of issue #13: a run's access log, replayed with each
// request's recorded arrival, path, client and upstream time, gives the
// run again. The gateway queues (two workers per instance, a 1 ms stage),
// the servers do not (concurrency 64), so that the upstream time NGINX
// and HAProxy log is the demand; the CSV log carries the demand itself.
const roundTripYAML = `
name: round-trip
seed: 3
duration: 30s
clients:
  arrival: {process: poisson, rate: 400}
  count: 200
  paths:
    - {path: /orders/pay, weight: 1}
    - {path: /catalog, weight: 3}
gateway:
  instances: 2
  concurrency: 2
  stages:
    - {type: transform, cost: 1ms}
  routes:
    - {prefix: /orders, to: orders}
    - {prefix: /, to: catalog}
servers:
  - name: orders
    count: 2
    concurrency: 64
    service: {dist: lognormal, mean: 20ms, p99: 90ms}
  - name: catalog
    count: 3
    concurrency: 64
    service: {dist: gamma, mean: 8ms, shape: 2}
`

// replayYAML replays log: the same topology, every demand from the trace.
func replayYAML(log, format string) string {
	s := strings.Replace(roundTripYAML, "arrival: {process: poisson, rate: 400}", "arrival: {process: trace, file: "+log+", format: "+format+"}", 1)
	s = strings.Replace(s, "duration: 30s\n", "", 1) // the trace's length
	s = strings.Replace(s, "  paths:\n    - {path: /orders/pay, weight: 1}\n    - {path: /catalog, weight: 3}\n", "", 1)
	s = strings.Replace(s, "service: {dist: lognormal, mean: 20ms, p99: 90ms}", "service: {from: trace}", 1)
	return strings.Replace(s, "service: {dist: gamma, mean: 8ms, shape: 2}", "service: {from: trace}", 1)
}

func TestAccessLogReplaysTheRun(t *testing.T) {
	sc, err := workloads.Parse([]byte(roundTripYAML), "rt.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, format := range traces.WriteFormats {
		t.Run(format, func(t *testing.T) {
			var log bytes.Buffer
			orig, err := Run(context.Background(), sc, Options{Strategies: []string{"round-robin"},
				AccessLog: func(string) (io.Writer, error) { return &log, nil }, AccessLogFormat: format})
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, "access-"+format+".log")
			if err := os.WriteFile(path, log.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			// Every request is logged once.
			lines := int64(bytes.Count(log.Bytes(), []byte{'\n'}))
			if format == traces.CSV {
				lines--
			}
			if n := orig.Runs[0].Requests; lines != n {
				t.Errorf("%d lines for %d requests", lines, n)
			}
			rsc, err := workloads.Parse([]byte(replayYAML(path, format)), filepath.Join(dir, "replay.yaml"), nil)
			if err != nil {
				t.Fatal(err)
			}
			if st := rsc.TraceStats(); st.Skipped != 0 || st.Late != 0 {
				t.Errorf("loading the trace: %+v", st)
			}
			again, err := Run(context.Background(), rsc, Options{Strategies: []string{"round-robin"}})
			if err != nil {
				t.Fatal(err)
			}
			a, b := orig.Runs[0], again.Runs[0]
			if a.Requests != b.Requests || b.OK != b.Requests {
				t.Errorf("requests %d → %d (ok %d)", a.Requests, b.Requests, b.OK)
			}
			for _, q := range []struct {
				name string
				get  func(reports.Latency) float64
			}{{"p50", func(l reports.Latency) float64 { return l.P50 }}, {"p90", func(l reports.Latency) float64 { return l.P90 }},
				{"p99", func(l reports.Latency) float64 { return l.P99 }}} {
				x, y := q.get(a.LatencyMS), q.get(b.LatencyMS)
				if rel := math.Abs(y-x) / x; rel > 0.05 {
					t.Errorf("%s %.2f ms → %.2f ms (%+.1f %%)", q.name, x, y, 100*(y-x)/x)
				} else {
					t.Logf("%s %.2f ms → %.2f ms (%+.2f %%)", q.name, x, y, 100*(y-x)/x)
				}
			}
			for i, s := range a.Servers {
				if d := math.Abs(float64(b.Servers[i].Requests - s.Requests)); d > 0.01*float64(s.Requests)+2 {
					t.Errorf("server %s: %d requests → %d", s.ID, s.Requests, b.Servers[i].Requests)
				}
			}
		})
	}
}

// A trace's path that no route matches is answered 404 by the gateway:
// no_upstream, as the live gateway counts it.
func TestTraceUnroutedPath(t *testing.T) {
	dir := t.TempDir()
	log := "time,path,service_ms\n0.1,/a,5\n0.2,/zzz,5\n0.25,/a,five\n0.3,/a/b,5\n"
	if err := os.WriteFile(filepath.Join(dir, "t.csv"), []byte(log), 0o644); err != nil {
		t.Fatal(err)
	}
	yaml := `
duration: 1s
clients: {arrival: {process: trace, file: t.csv}}
gateway:
  routes: [{prefix: /a, to: a}]
servers:
  - {name: a, count: 1, service: {from: trace}}
`
	sc, err := workloads.Parse([]byte(yaml), filepath.Join(dir, "s.yaml"), nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run(context.Background(), sc, Options{})
	if err != nil {
		t.Fatal(err)
	}
	o := res.Runs[0].Outcomes
	if o.Total() != 3 || o.OK != 2 || o.NoUpstream != 1 {
		t.Errorf("outcomes %+v", o)
	}
	// The malformed line is skipped and reported.
	if tr := res.Trace; tr == nil || tr.Replayed != 3 || tr.Skipped != 1 || !strings.Contains(tr.FirstBad, "t.csv:4: service_ms") || tr.Format != "csv" {
		t.Errorf("trace %+v", res.Trace)
	}
}

// Writing the access log changes nothing in the results: it forces the
// general path and draws every request's key and client, from streams of
// their own.
func TestAccessLogChangesNothing(t *testing.T) {
	sc, err := workloads.Parse([]byte(roundTripYAML), "rt.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := Run(context.Background(), sc, Options{})
	if err != nil {
		t.Fatal(err)
	}
	logged, err := Run(context.Background(), sc, Options{AccessLog: func(string) (io.Writer, error) { return io.Discard, nil }, AccessLogFormat: traces.CSV})
	if err != nil {
		t.Fatal(err)
	}
	for i := range plain.Runs {
		plain.Runs[i].Sim, logged.Runs[i].Sim = nil, nil // wall time, events
	}
	a, _ := plain.JSON()
	b, _ := logged.JSON()
	if !bytes.Equal(a, b) {
		t.Error("the access log changed the results")
	}
}
