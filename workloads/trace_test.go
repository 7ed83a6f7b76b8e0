package workloads

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestTraceScenario(t *testing.T) {
	dir := t.TempDir()
	csv := "time,path,key,service_ms\n10,/a,1,4\n10.5,/a,2,\n12,/b,3,8\n"
	if err := os.WriteFile(filepath.Join(dir, "t.csv"), []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "bad.log"), []byte("what is this\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	base := `
clients:
  arrival: {process: trace, file: t.csv}
servers:
  - {name: a, count: 1, service: {from: trace}}
`
	load := func(yaml string, sets ...string) (*Scenario, error) {
		return Parse([]byte(yaml), filepath.Join(dir, "s.yaml"), sets)
	}
	sc, err := load(base)
	if err != nil {
		t.Fatal(err)
	}
	// The length, rate and mean demand come from the trace.
	a := sc.Clients.Arrival
	if sc.Duration.D() != 2001*time.Millisecond || a.Rate != 1 || sc.Servers[0].Service.Mean.D() != 6*time.Millisecond {
		t.Errorf("duration %v, rate %g, mean %v", sc.Duration, a.Rate, sc.Servers[0].Service.Mean)
	}
	if sc.TracePath() != filepath.Join(dir, "t.csv") || sc.TraceStats().Records != 3 {
		t.Errorf("path %q, stats %+v", sc.TracePath(), sc.TraceStats())
	}
	if sc, err = load(base, "clients.arrival.speed=2", "duration=10s"); err != nil || sc.Duration.D() != 10*time.Second || sc.Clients.Arrival.Rate != 2 {
		t.Errorf("speed 2: %v, rate %g", err, sc.Clients.Arrival.Rate)
	}
	for _, c := range []struct{ name, yaml, want string }{
		{"missing file", strings.Replace(base, "t.csv", "nope.csv", 1), "s.yaml:3: clients.arrival.file: open " + filepath.Join(dir, "nope.csv")},
		{"unknown format", strings.Replace(base, "t.csv", "bad.log", 1), "bad.log:1: no known log format"},
		{"a rate", strings.Replace(base, "file: t.csv", "file: t.csv, rate: 5", 1), "clients.arrival.rate: a trace's rate is its own"},
		{"trace keys elsewhere", "clients: {arrival: {process: poisson, rate: 5, speed: 2}}\nservers: [{name: a, count: 1}]\nduration: 1s\n", "clients.arrival.speed: belongs to process: trace"},
		{"from trace without one", "clients: {arrival: {process: poisson, rate: 5}}\nservers: [{name: a, count: 1, service: {from: trace}}]\nduration: 1s\n", "servers[0].service.from: takes demands from a trace"},
		{"a distribution beside from", strings.Replace(base, "{from: trace}", "{from: trace, mean: 5ms}", 1), "give no distribution beside it"},
		{"a bad window", strings.Replace(base, "file: t.csv", "file: t.csv, window: {from: 2s, to: 1s}", 1), "clients.arrival.window.to: must be after from"},
		{"an empty window", strings.Replace(base, "file: t.csv", "file: t.csv, window: {from: 1h}", 1), "has no request in the window replayed"},
		{"paths beside a trace", strings.Replace(base, "servers:", "  paths: [{path: /x, weight: 1}]\nservers:", 1), "clients.paths: a trace's requests have their own paths"},
		{"a bad log_format", strings.Replace(base, "file: t.csv", "file: t.csv, format: nginx, log_format: '$status'", 1), "has no time"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := load(c.yaml)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want %q", err, c.want)
			}
			if err != nil && !IsInputError(err) {
				t.Errorf("%v is not an input error (exit 2)", err)
			}
		})
	}
}
