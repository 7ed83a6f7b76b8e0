package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgelab/edgelab/reports"
)

// report re-renders a results.json: the table on stdout, and CSV exports
// whose summary rows match the runs and whose series rows cover every
// bucket of every strategy.
func TestReportWritesCSV(t *testing.T) {
	dir := t.TempDir()
	var stdout, stderr strings.Builder
	if code := run(context.Background(), []string{"run", "--out", dir, "--set", "duration=5s", "--set", "warmup=1s",
		"--strategy", "p2c,random"}, &stdout, &stderr); code != 0 {
		t.Fatalf("run: exit %d %s", code, stderr.String())
	}
	stdout.Reset()
	if code := run(context.Background(), []string{"report", filepath.Join(dir, "results.json")}, &stdout, &stderr); code != 0 {
		t.Fatalf("report: exit %d %s", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), "p99 ms") || !strings.Contains(stdout.String(), "summary.csv") ||
		!strings.Contains(stdout.String(), "report.html") {
		t.Fatalf("stdout:\n%s", stdout.String())
	}
	read := func(name string) [][]string {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		rows, err := csv.NewReader(f).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		return rows
	}
	sum := read("summary.csv")
	if len(sum) != 3 || sum[1][3] != "p2c" || sum[2][3] != "random" {
		t.Fatalf("summary.csv: %v", sum)
	}
	// 6 s of run in 1 s buckets, two strategies, plus the header.
	if series := read("series.csv"); len(series) != 1+2*6 {
		t.Fatalf("series.csv has %d rows", len(series))
	}
	// 8 instances × 6 buckets × 2 strategies.
	if inst := read("instances.csv"); len(inst) != 1+8*6*2 {
		t.Fatalf("instances.csv has %d rows", len(inst))
	}
}

// Every run writes report.html next to results.json, and report
// re-renders exactly the same page from results.json.
func TestRunWritesReportHTML(t *testing.T) {
	if err := reports.HTMLAvailable(); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "run")
	args := []string{"run", "examples/failing-server.yaml", "--out", out, "--set", "duration=30s", "--strategy", "round-robin,p2c"}
	args[1] = filepath.Join("..", "..", args[1])
	var stdout, stderr strings.Builder
	if code := run(context.Background(), args, &stdout, &stderr); code != 0 {
		t.Fatalf("run: exit %d %s", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), "wrote "+filepath.Join(out, "report.html")) {
		t.Errorf("stdout does not say where the report went:\n%s", stdout.String())
	}
	page, err := os.ReadFile(filepath.Join(out, "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<!DOCTYPE html>", "failing-server", `id="latency-p99-time"`, `data-charts="`} {
		if !strings.Contains(string(page), want) {
			t.Errorf("report.html lacks %q", want)
		}
	}
	// --json: stdout is results.json alone, and the report is still written.
	jsonOut := filepath.Join(dir, "json")
	stdout.Reset()
	if code := run(context.Background(), append(args[:3:3], jsonOut, "--set", "duration=30s", "--strategy", "round-robin,p2c", "--json"),
		&stdout, &stderr); code != 0 {
		t.Fatalf("run --json: exit %d %s", code, stderr.String())
	}
	if !json.Valid([]byte(stdout.String())) || !exists(filepath.Join(jsonOut, "report.html")) {
		t.Errorf("--json: stdout is not only JSON or no report.html")
	}
	again := filepath.Join(dir, "again")
	if code := run(context.Background(), []string{"report", filepath.Join(out, "results.json"), "--out", again}, &stdout, &stderr); code != 0 {
		t.Fatalf("report: exit %d %s", code, stderr.String())
	}
	rerendered, err := os.ReadFile(filepath.Join(again, "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(page, rerendered) {
		t.Error("report re-rendered a different report.html than run wrote")
	}
}

// When report.html cannot be written, the run fails without writing
// results.json: the directory never holds one without the other.
func TestRunReportFailureWritesNothing(t *testing.T) {
	if err := reports.HTMLAvailable(); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	// A non-empty directory named report.html cannot be renamed over.
	if err := os.MkdirAll(filepath.Join(out, "report.html", "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr strings.Builder
	code := run(context.Background(), []string{"run", "--out", out, "--set", "duration=2s", "--set", "warmup=1s"}, &stdout, &stderr)
	if code != 1 || !strings.Contains(stderr.String(), "report.html") {
		t.Errorf("exit %d, stderr %q", code, stderr.String())
	}
	if exists(filepath.Join(out, "results.json")) {
		t.Error("results.json written without its report")
	}
	entries, _ := os.ReadDir(out)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("temporary file left behind: %s", e.Name())
		}
	}
}

func TestReportBadInput(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte("{not json"), 0o644)
	for _, args := range [][]string{{"report"}, {"report", filepath.Join(dir, "missing.json")}, {"report", bad}} {
		var stdout, stderr strings.Builder
		if code := run(context.Background(), args, &stdout, &stderr); code != 2 || stderr.Len() == 0 {
			t.Errorf("%v: exit %d, stderr %q", args, code, stderr.String())
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("bad input wrote files: %v", entries)
	}
}

// N+k planning: with k instances of the varied group down for the whole
// run (and health checks routing around them), the smallest fleet meeting
// the SLO grows by exactly k in a homogeneous group.
func TestCapacityTolerateCrash(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "np.yaml")
	os.WriteFile(file, []byte(`
name: nplus
seed: 3
duration: 60s
warmup: 5s
clients:
  arrival: {process: poisson, rate: 300}
balancer:
  strategy: least-request
  health:
    active: {interval: 200ms, timeout: 50ms, unhealthy: 1, healthy: 1}
    panic_threshold: 0
servers:
  - {name: s, count: 4, service: {dist: exponential, mean: 10ms}}
cost: {per_instance_hour: 0.12}
`), 0o644)
	answer := func(extra ...string) float64 {
		var stdout, stderr strings.Builder
		args := append([]string{"capacity", file, "--vary", "servers[0].count=1..12", "--slo", "mean=20ms", "--json", "--out", dir}, extra...)
		if code := run(context.Background(), args, &stdout, &stderr); code != 0 {
			t.Fatalf("%v: exit %d %s", args, code, stderr.String())
		}
		var ans struct {
			Answer   *float64 `json:"answer"`
			Tolerate int      `json:"tolerate_crash"`
			Cost     float64  `json:"monthly_cost"`
		}
		if err := json.Unmarshal([]byte(stdout.String()), &ans); err != nil || ans.Answer == nil {
			t.Fatalf("%v: %v %s", args, err, stdout.String())
		}
		// The fleet at the answer, priced: instances × 0.12 × 730 h.
		if want := *ans.Answer * 0.12 * 730; math.Abs(ans.Cost-want) > 0.01 {
			t.Errorf("monthly cost %v, want %v", ans.Cost, want)
		}
		return *ans.Answer
	}
	base, n2 := answer(), answer("--tolerate", "crash=2")
	if n2 != base+2 {
		t.Errorf("N+2 answer %v, want %v + 2", n2, base)
	}
}

// Sweeps and capacity searches write their report beside their JSON, and
// so does merge.
func TestSweepAndCapacityWriteReportHTML(t *testing.T) {
	if err := reports.HTMLAvailable(); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	good := writeFile(t, dir, "small.yaml", small)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"sweep", good, "--vary", "clients.arrival.rate=100..200:100"}, `id="sweep-`},
		{[]string{"capacity", good, "--slo", "p99=60ms", "--vary", "servers[0].count=1..4"}, `id="capacity-`},
	} {
		out := filepath.Join(dir, tc.args[0])
		code, stdout, stderr := runCLI(t, append(tc.args, "--out", out)...)
		if code != 0 {
			t.Fatalf("%s: exit %d %s", tc.args[0], code, stderr)
		}
		page, err := os.ReadFile(filepath.Join(out, "report.html"))
		if err != nil || !strings.Contains(stdout, "report.html") {
			t.Fatalf("%s: %v\n%s", tc.args[0], err, stdout)
		}
		if !strings.Contains(string(page), tc.want) {
			t.Errorf("%s: report.html lacks %q", tc.args[0], tc.want)
		}
	}
}

// An interrupted capacity search still writes capacity.json, marked
// partial, and its report.html says the search is partial (exit 130).
func TestInterruptedCapacityIsPartial(t *testing.T) {
	if err := reports.HTMLAvailable(); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	good := writeFile(t, dir, "small.yaml", small)
	out := filepath.Join(dir, "out")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var stdout, stderr bytes.Buffer
	code := run(ctx, []string{"capacity", good, "--slo", "p99=60ms", "--vary", "servers[0].count=1..4", "--out", out}, &stdout, &stderr)
	if code != 130 || !strings.Contains(stderr.String(), "interrupted") || !strings.Contains(stdout.String(), "interrupted: no answer") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout.String(), stderr.String())
	}
	var ans struct {
		Answer  *float64 `json:"answer"`
		Partial bool     `json:"partial"`
	}
	if err := json.Unmarshal(readFile(t, filepath.Join(out, "capacity.json")), &ans); err != nil || !ans.Partial || ans.Answer != nil {
		t.Errorf("capacity.json: partial %v, answer %v, error %v", ans.Partial, ans.Answer, err)
	}
	if page := readFile(t, filepath.Join(out, "report.html")); !bytes.Contains(page, []byte("Partial search: it was interrupted")) {
		t.Error("report.html lacks the partial-search note")
	}
}

// A results.json whose series arrays disagree in length (edited by hand,
// or cut short) is refused with exit 2 and what is wrong, never rendered
// into a panic, and nothing is written.
func TestReportInconsistentSeries(t *testing.T) {
	dir := t.TempDir()
	var stdout, stderr strings.Builder
	if code := run(context.Background(), []string{"run", "--out", dir, "--json", "--set", "duration=5s", "--set", "warmup=1s",
		"--strategy", "p2c"}, &stdout, &stderr); code != 0 {
		t.Fatalf("run: exit %d %s", code, stderr.String())
	}
	good := stdout.String()
	edits := []struct {
		name string
		edit func(s *reports.Series, r *reports.Run)
		want string
	}{
		{"short ok", func(s *reports.Series, _ *reports.Run) { s.OK = s.OK[:1] }, "series.ok has 1 values"},
		{"long p99", func(s *reports.Series, _ *reports.Run) { s.P99MS = append(s.P99MS, 1) }, "series.p99_ms has"},
		{"short utilization row", func(s *reports.Series, _ *reports.Run) { s.Utilization[0] = s.Utilization[0][:2] }, "series.utilization[0] has 2 values"},
		{"extra in-flight row", func(s *reports.Series, _ *reports.Run) { s.InFlight = append(s.InFlight, s.InFlight[0]) }, "series.in_flight has"},
		{"fewer servers", func(_ *reports.Series, r *reports.Run) { r.Servers = r.Servers[:1] }, "rows for 1 servers"},
	}
	for _, e := range edits {
		var res reports.Results
		if err := json.Unmarshal([]byte(good), &res); err != nil {
			t.Fatal(err)
		}
		e.edit(res.Runs[0].Series, &res.Runs[0])
		data, _ := json.Marshal(&res)
		sub := t.TempDir()
		path := filepath.Join(sub, "results.json")
		os.WriteFile(path, data, 0o644)
		var out, errb strings.Builder
		if code := run(context.Background(), []string{"report", path}, &out, &errb); code != 2 || !strings.Contains(errb.String(), e.want) {
			t.Errorf("%s: exit %d, stderr %q; want exit 2 and %q", e.name, code, errb.String(), e.want)
		}
		if entries, _ := os.ReadDir(sub); len(entries) != 1 {
			t.Errorf("%s: wrote files: %v", e.name, entries)
		}
	}
}

// run records its inputs in results.json, and the report embeds them, so
// that anyone can reproduce the page; report re-renders them from the file.
func TestRunRecordsItsInputs(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, "small.yaml", small)
	out := filepath.Join(dir, "out")
	code, stdout, stderr := runCLI(t, "run", path, "--json", "--out", out, "--seed", "5", "--strategy", "p2c")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var res reports.Results
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatal(err)
	}
	in := res.Input
	if in == nil || in.Command != "run" || in.File != path || in.Scenario != small || len(in.Sets) != 1 || in.Sets[0] != "seed=5" ||
		len(in.Strategies) != 1 {
		t.Fatalf("input %+v", in)
	}
	for _, f := range []string{filepath.Join(out, "report.html")} {
		page, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(page), `<section id="scenario">`) || !strings.Contains(string(page), "name: small") ||
			!strings.Contains(string(page), "--set seed=5") {
			t.Errorf("%s lacks the inputs", f)
		}
	}
	// The quick-start is named as such, with nothing to pass.
	code, stdout, _ = runCLI(t, "run", "--json", "--out", t.TempDir(), "--set", "duration=2s", "--set", "warmup=1s")
	var qs reports.Results
	if err := json.Unmarshal([]byte(stdout), &qs); code != 0 || err != nil || qs.Input.File != "" || !strings.Contains(qs.Input.Scenario, "quickstart") {
		t.Errorf("quick-start input: exit %d, %v, %+v", code, err, qs.Input)
	}
}

// run --slo and report --slo put the SLO's verdicts in the findings;
// a bad --slo is exit 2 before anything runs.
func TestRunAndReportSLO(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, "small.yaml", small)
	out := filepath.Join(dir, "out")
	if code, _, stderr := runCLI(t, "run", path, "--out", out, "--slo", "p99=1ms"); code != 0 {
		t.Fatalf("run --slo: exit %d: %s", code, stderr)
	}
	page, _ := os.ReadFile(filepath.Join(out, "report.html"))
	if !strings.Contains(string(page), "No strategy meets the SLO (p99 ≤ 1 ms)") {
		t.Error("run --slo p99=1ms: the findings do not say who misses it")
	}
	again := filepath.Join(dir, "again")
	if code, _, stderr := runCLI(t, "report", filepath.Join(out, "results.json"), "--out", again, "--slo", "p99=10s"); code != 0 {
		t.Fatalf("report --slo: exit %d: %s", code, stderr)
	}
	page, _ = os.ReadFile(filepath.Join(again, "report.html"))
	if !strings.Contains(string(page), "Every strategy meets the SLO (p99 ≤ 10000 ms)") {
		t.Error("report --slo p99=10s: the findings do not say who meets it")
	}
	for _, args := range [][]string{{"run", path, "--out", filepath.Join(dir, "x"), "--slo", "p99=fast"}, {"report", filepath.Join(out, "results.json"), "--slo", "nope=1"}} {
		if code, _, stderr := runCLI(t, args...); code != 2 || !strings.Contains(stderr, "--slo") {
			t.Errorf("%v: exit %d, stderr %q", args, code, stderr)
		}
	}
	if exists(filepath.Join(dir, "x")) {
		t.Error("a bad --slo left an output directory")
	}
}
