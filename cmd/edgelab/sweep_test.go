package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgelab/edgelab/reports"
)

// Bad sweep and capacity flags exit 2 with a message naming the flag, and
// print nothing on stdout.
func TestSweepBadFlags(t *testing.T) {
	dir := t.TempDir()
	good := writeFile(t, dir, "small.yaml", small)
	out := filepath.Join(dir, "out")
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"sweep", good, "--out", out}, "--vary is required"},
		{[]string{"sweep", good, "--vary", "clients.arrival.rate=10..", "--out", out}, `--vary "clients.arrival.rate=10..": to ""`},
		{[]string{"sweep", good, "--vary", "clients.arrival.rate=9..1", "--out", out}, "--vary"},
		{[]string{"sweep", good, "--vary", "clients.arrival.rate=1..2:0", "--out", out}, "step"},
		{[]string{"sweep", good, "--vary", "name=1..2", "--out", out}, "name is not a numeric key"},
		{[]string{"sweep", good, "--vary", "clients.arrival.rat=1..2", "--out", out}, "clients.arrival.rat"},
		{[]string{"sweep", good, "--vary", "servers[0].count=1..2:0.5", "--out", out}, "servers[0].count"},
		{[]string{"sweep", good, "--vary", "servers[0].count=1..2:1", "--strategy", "nope", "--out", out}, "--strategy"},
		{[]string{"sweep", good, "--vary", "servers[0].count=1..2:1", "--seed", "x", "--out", out}, "--seed"},
		{[]string{"sweep", good, "--vary", "servers[0].count=1..2:1", "--parallel", "-1", "--out", out}, "--parallel"},
		{[]string{"sweep", "--vary", "servers[0].count=1..2:1"}, "one scenario file"},
		{[]string{"capacity", good, "--vary", "servers[0].count=1..4", "--out", out}, "--slo is required"},
		{[]string{"capacity", good, "--slo", "p99=fast", "--vary", "servers[0].count=1..4", "--out", out}, `--slo term "p99=fast"`},
		{[]string{"capacity", good, "--slo", "p99=1s", "--out", out}, "--vary is required"},
		{[]string{"capacity", good, "--slo", "p99=1s", "--vary", "servers[0].count=4..1", "--out", out}, "--vary"},
		{[]string{"capacity", good, "--slo", "p99=1s", "--vary", "servers[0].count=1..4", "--vary", "clients.arrival.rate=1..2", "--out", out}, "--vary: capacity searches one key, got 2"},
		{[]string{"sweep", good, "--vary", "servers[0].count=1..2:1", "--vary", "servers[0].count=3..4:1", "--out", out}, "servers[0].count is varied twice"},
		{[]string{"sweep", good, "--vary", "servers[0].count=1..2:1", "--vary", "clients.arrival.rate=x..2", "--out", out}, `--vary "clients.arrival.rate=x..2"`},
		{[]string{"sweep", good, "--vary", "servers[0].count=1..100:1", "--vary", "clients.arrival.rate=1..200:1", "--out", out}, "more than 10000 points"},
	}
	for _, shard := range []string{"0/3", "4/3", "3", "a/b", "1/0", "-1/2", ""} {
		for _, cmd := range [][]string{{"sweep", good, "--vary", "servers[0].count=1..2:1"}, {"capacity", good, "--slo", "p99=1s", "--vary", "servers[0].count=1..4"}} {
			if shard == "" {
				continue // the default: no shard
			}
			cases = append(cases, struct {
				args []string
				want string
			}{append(cmd, "--shard", shard, "--out", out), "--shard"})
		}
	}
	cases = append(cases, struct {
		args []string
		want string
	}{[]string{"capacity", good, "--slo", "p99=1s", "--vary", "servers[0].count=1..4", "--parallel", "-2", "--out", out}, "--parallel"})
	for _, c := range cases {
		code, stdout, stderr := runCLI(t, c.args...)
		if code != 2 || stdout != "" || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 2 and %q", c.args, code, stdout, stderr, c.want)
		}
	}
	if exists(out) {
		t.Errorf("bad input created %s", out)
	}
}

func TestSweepJSON(t *testing.T) {
	dir := t.TempDir()
	good := writeFile(t, dir, "small.yaml", small)
	out := filepath.Join(dir, "out")
	code, stdout, stderr := runCLI(t, "sweep", good, "--vary", "servers[0].count=1..3:1", "--json", "--parallel", "2", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var got reports.SweepReport
	dec := json.NewDecoder(strings.NewReader(stdout))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&got); err != nil {
		t.Fatalf("stdout is not sweep JSON: %v\n%s", err, stdout)
	}
	if got.Key != "servers[0].count" || len(got.Points) != 3 || got.Partial {
		t.Fatalf("got key %q, %d points, partial %v", got.Key, len(got.Points), got.Partial)
	}
	for i, p := range got.Points {
		if p.Value != float64(i+1) || len(p.Results.Runs) != 2 || len(p.Results.Runs[0].Servers) != i+1 {
			t.Errorf("point %d: value %g, %d runs", i, p.Value, len(p.Results.Runs))
		}
	}
	file, err := os.ReadFile(filepath.Join(out, "sweep.json"))
	if err != nil || string(file) != stdout {
		t.Errorf("sweep.json differs from stdout (%v)", err)
	}
	if strings.Contains(stdout, `"keys"`) || strings.Contains(stdout, `"values"`) {
		t.Error("a one-key sweep writes keys or values")
	}
	// Text output: one line per point and strategy.
	code, stdout, stderr = runCLI(t, "sweep", good, "--vary", "clients.arrival.rate=100..200:100", "--out", out)
	if code != 0 || !strings.Contains(stdout, "p99 ms") || strings.Count(stdout, "p2c") != 2 {
		t.Errorf("text sweep: exit %d\n%s%s", code, stdout, stderr)
	}
}

func TestCapacityCLI(t *testing.T) {
	dir := t.TempDir()
	good := writeFile(t, dir, "small.yaml", small)
	out := filepath.Join(dir, "out")
	// 200 rps of 5 ms: one server is ρ = 1 and fails a 60 ms p99.
	code, stdout, stderr := runCLI(t, "capacity", good, "--slo", "p99=60ms,availability=99", "--vary", "servers[0].count=1..6", "--out", out)
	if code != 0 || !strings.Contains(stdout, "smallest servers[0].count meeting p99 ≤ 60 ms, availability ≥ 99%: ") {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	code, stdout, stderr = runCLI(t, "capacity", good, "--slo", "p99=1us", "--vary", "servers[0].count=1..3", "--json", "--out", out)
	var ans reports.CapacityReport
	if code != 0 || json.Unmarshal([]byte(stdout), &ans) != nil || ans.Answer != nil || len(ans.Probes) == 0 {
		t.Fatalf("no-answer capacity: exit %d\n%s%s", code, stdout, stderr)
	}
	code, stdout, _ = runCLI(t, "capacity", good, "--slo", "p99=1us", "--vary", "servers[0].count=1..3", "--out", out)
	if code != 0 || !strings.Contains(stdout, "no servers[0].count in 1..3 meets p99 ≤ 0.001 ms") {
		t.Errorf("no-answer text: exit %d\n%s", code, stdout)
	}
}

// A grid sweep: the first --vary outermost, "keys" and per point "values"
// besides the first key's "key" and "value", and a column per key.
func TestSweepGridJSON(t *testing.T) {
	dir := t.TempDir()
	good := writeFile(t, dir, "small.yaml", small)
	out := filepath.Join(dir, "out")
	args := []string{"sweep", good, "--vary", "servers[0].count=1..2:1", "--vary", "clients.arrival.rate=100..300:100", "--strategy", "p2c", "--out", out}
	code, stdout, stderr := runCLI(t, append(args, "--json")...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var got reports.SweepReport
	dec := json.NewDecoder(strings.NewReader(stdout))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&got); err != nil {
		t.Fatal(err)
	}
	if got.Key != "servers[0].count" || len(got.Keys) != 2 || got.Keys[1] != "clients.arrival.rate" || len(got.Points) != 6 {
		t.Fatalf("key %q keys %v, %d points", got.Key, got.Keys, len(got.Points))
	}
	for i, p := range got.Points {
		count, rate := float64(1+i/3), float64(100*(1+i%3))
		if p.Value != count || len(p.Values) != 2 || p.Values[0] != count || p.Values[1] != rate {
			t.Errorf("point %d: value %g values %v, want %g and [%g %g]", i, p.Value, p.Values, count, count, rate)
		}
		if n := len(p.Results.Runs[0].Servers); n != int(count) {
			t.Errorf("point %d ran %d servers", i, n)
		}
	}
	code, stdout, _ = runCLI(t, args...)
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if code != 0 || !strings.Contains(lines[0], "servers[0].count") || !strings.Contains(lines[0], "clients.arrival.rate") ||
		!strings.Contains(stdout, "300       p2c") {
		t.Errorf("text grid: exit %d\n%s", code, stdout)
	}
}
