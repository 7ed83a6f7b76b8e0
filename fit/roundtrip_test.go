package fit_test

import (
	"bytes"
	"context"
	"io"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/edgelab/edgelab/fit"
	"github.com/edgelab/edgelab/sim"
	"github.com/edgelab/edgelab/traces"
	"github.com/edgelab/edgelab/workloads"
)

// The round trip of issue #13: a scenario's simulated access log, in each
// format edgelab writes, gives the scenario back. The servers do not
// queue (concurrency 64), so the upstream time NGINX and HAProxy log is
// the demand.
func TestFitRecoversTheScenarioFromItsLog(t *testing.T) {
	const yaml = `
name: fit-round-trip
seed: 11
duration: 60s
clients:
  arrival: {process: poisson, rate: 400}
servers:
  - name: api
    count: 3
    concurrency: 64
    service: {dist: lognormal, mean: 20ms, sigma: 0.8}
`
	sc, err := workloads.Parse([]byte(yaml), "rt.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, format := range traces.WriteFormats {
		t.Run(format, func(t *testing.T) {
			var log bytes.Buffer
			if _, err := sim.Run(context.Background(), sc, sim.Options{AccessLog: func(string) (io.Writer, error) { return &log, nil }, AccessLogFormat: format}); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, "access."+format)
			if err := os.WriteFile(path, log.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			rep, err := fit.FitLog(path, fit.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("\n%s", rep.YAML())
			a := rep.Arrival.Best()
			if a.Model != "constant" || math.Abs(a.Arrival.Rate/400-1) > 0.02 {
				t.Errorf("arrivals: %s %s, want a constant 400/s within 2 %%", a.Model, a.YAML)
			}
			if len(rep.Services) != 1 {
				t.Fatalf("%d upstreams fitted, want 1", len(rep.Services))
			}
			s := rep.Services[0]
			b := s.Best()
			if b.Family != workloads.DistLognormal || math.Abs(b.Service.MeanSeconds()/0.020-1) > 0.05 {
				t.Errorf("service: %s, want lognormal with mean 20ms within 5 %%", b.YAML)
			}
			if s.Instances != 3 {
				t.Errorf("%d servers seen, want 3", s.Instances)
			}
			// The fragment loads as part of a scenario.
			frag := append([]byte("duration: 10s\n"), rep.YAML()...)
			if _, err := workloads.Parse(frag, "fragment.yaml", nil); err != nil {
				t.Errorf("the fragment does not load: %v", err)
			}
		})
	}
}
