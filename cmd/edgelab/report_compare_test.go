package main

import (
	"html"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// report A.json B.json compares two simulations of one scenario run with
// different --set: the changes are paired, printed, and written into
// --out's report.html with the findings first.
func TestReportCompareSimRuns(t *testing.T) {
	dir := t.TempDir()
	a, b, out := filepath.Join(dir, "today"), filepath.Join(dir, "proposed"), filepath.Join(dir, "review")
	common := []string{"run", "../../examples/mm1.yaml", "--set", "duration=20s", "--set", "warmup=2s",
		"--set", "replications=3", "--strategy", "round-robin"}
	if code, _, stderr := runCLI(t, append(common, "--out", a)...); code != 0 {
		t.Fatalf("run A: %s", stderr)
	}
	if code, _, stderr := runCLI(t, append(common, "--out", b, "--set", "servers[0].count=2")...); code != 0 {
		t.Fatalf("run B: %s", stderr)
	}
	code, stdout, stderr := runCLI(t, "report", filepath.Join(a, "results.json"), filepath.Join(b, "results.json"), "--out", out)
	if code != 0 {
		t.Fatalf("report: exit %d: %s", code, stderr)
	}
	for _, want := range []string{"changes are paired", "round-robin: p99 falls from", "95% CI", "wrote " + filepath.Join(out, "report.html")} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	page, err := os.ReadFile(filepath.Join(out, "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	text := html.UnescapeString(string(page))
	f, c := strings.Index(text, `id="findings"`), strings.Index(text, `class="chart`)
	if f < 0 || c < f || !strings.Contains(text, "round-robin: p99 falls from") || !strings.Contains(text, `id="diff-percentiles"`) {
		t.Errorf("report.html: findings at %d, first chart at %d, or no findings sentence or percentile chart", f, c)
	}
	// A's own report.html is untouched by the comparison.
	if own, _ := os.ReadFile(filepath.Join(a, "report.html")); strings.Contains(string(own), "edgelab comparison") {
		t.Error("the comparison overwrote A's report.html")
	}
}

// A simulation against a live run (a results.json whose mode is live)
// cannot be paired: with replications on both sides the intervals are
// Welch's.
func TestReportCompareSimLive(t *testing.T) {
	dir := t.TempDir()
	sim := filepath.Join(dir, "sim")
	if code, _, stderr := runCLI(t, "run", "../../examples/mm1.yaml", "--set", "duration=10s", "--set", "warmup=1s",
		"--set", "replications=3", "--strategy", "round-robin", "--out", sim); code != 0 {
		t.Fatalf("run: %s", stderr)
	}
	data, err := os.ReadFile(filepath.Join(sim, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	live := filepath.Join(dir, "live")
	if err := os.MkdirAll(live, 0o755); err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(string(data), `"mode": "sim"`, `"mode": "live"`, 1)
	if err := os.WriteFile(filepath.Join(live, "results.json"), []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCLI(t, "report", filepath.Join(sim, "results.json"), filepath.Join(live, "results.json"), "--out", filepath.Join(dir, "cmp"))
	if code != 0 {
		t.Fatalf("report: exit %d: %s", code, stderr)
	}
	for _, want := range []string{"cannot be paired (sim against live)", "Welch", "round-robin: p99 stays at"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
}

// Two sweeps are compared point by point on matching values.
func TestReportCompareSweeps(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	args := []string{"sweep", "../../examples/mm1.yaml", "--set", "duration=10s", "--set", "warmup=1s", "--strategy", "round-robin"}
	if code, _, stderr := runCLI(t, append(args, "--vary", "clients.arrival.rate=20..60:20", "--out", a)...); code != 0 {
		t.Fatalf("sweep A: %s", stderr)
	}
	if code, _, stderr := runCLI(t, append(args, "--vary", "clients.arrival.rate=40..80:20", "--set", "servers[0].count=2", "--out", b)...); code != 0 {
		t.Fatalf("sweep B: %s", stderr)
	}
	out := filepath.Join(dir, "cmp")
	code, stdout, stderr := runCLI(t, "report", filepath.Join(a, "sweep.json"), filepath.Join(b, "sweep.json"), "--out", out)
	if code != 0 {
		t.Fatalf("report: exit %d: %s", code, stderr)
	}
	for _, want := range []string{"2 points in common (of 3 and 3)", "round-robin: p99 falls at 2 of 2 points",
		"clients.arrival.rate=60", "no confidence intervals"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	page, err := os.ReadFile(filepath.Join(out, "report.html"))
	if err != nil || !strings.Contains(html.UnescapeString(string(page)), "p99 falls at 2 of 2 points") {
		t.Errorf("report.html lacks the findings (%v)", err)
	}
}

// Bad input exits 2 with a message naming the problem.
func TestReportCompareBadInput(t *testing.T) {
	dir := t.TempDir()
	res := filepath.Join(dir, "run")
	if code, _, stderr := runCLI(t, "run", "../../examples/mm1.yaml", "--set", "duration=5s", "--set", "warmup=1s", "--out", res); code != 0 {
		t.Fatalf("run: %s", stderr)
	}
	sw := filepath.Join(dir, "sweep")
	if code, _, stderr := runCLI(t, "sweep", "../../examples/mm1.yaml", "--set", "duration=5s", "--set", "warmup=1s",
		"--vary", "clients.arrival.rate=20..40:20", "--out", sw); code != 0 {
		t.Fatalf("sweep: %s", stderr)
	}
	notJSON := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(notJSON, []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(dir, "other.json")
	if err := os.WriteFile(other, []byte(`{"name": "x"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	r, s := filepath.Join(res, "results.json"), filepath.Join(sw, "sweep.json")
	out := filepath.Join(dir, "cmp")
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{r, notJSON, "--out", out}, "notes.txt: neither a results.json nor a sweep.json"},
		{[]string{r, other, "--out", out}, "other.json: not a results.json"},
		{[]string{r, s, "--out", out}, "is a sweep.json but"},
		{[]string{s, r, "--out", out}, "is a results.json but"},
		{[]string{r, r}, "needs --out"},
	} {
		code, stdout, stderr := runCLI(t, append([]string{"report"}, tt.args...)...)
		if code != 2 || !strings.Contains(stderr, tt.want) || stdout != "" {
			t.Errorf("%v: exit %d, stderr %q, stdout %q; want exit 2 and %q", tt.args, code, stderr, stdout, tt.want)
		}
	}
	if exists(filepath.Join(out, "report.html")) {
		t.Error("a refused comparison wrote report.html")
	}
}
