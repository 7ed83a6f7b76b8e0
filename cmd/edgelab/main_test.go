package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/edgelab/edgelab/reports"
	"github.com/edgelab/edgelab/strategies"
)

// small is a valid scenario that simulates in well under a second.
const small = `name: small
seed: 3
duration: 2s
warmup: 1s
clients:
  arrival: {process: poisson, rate: 200}
balancer:
  strategy: round-robin
  compare: [p2c]
servers:
  - name: web
    count: 2
    service: {dist: exponential, mean: 5ms}
`

// malformed has a negative rate on line 7.
const malformed = `name: bad
duration: 2s
warmup: 1s
clients:
  arrival:
    process: poisson
    rate: -5
servers:
  - name: web
    count: 2
    service: {dist: exponential, mean: 5ms}
`

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// Bad input exits 2 with one line on stderr, prints nothing on stdout and
// creates no output directory.
func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	bad := writeFile(t, dir, "bad.yaml", malformed)
	good := writeFile(t, dir, "small.yaml", small)
	out := filepath.Join(dir, "out")
	cases := []struct {
		name string
		args []string
		want []string // substrings of stderr
	}{
		{"malformed scenario", []string{"run", bad, "--out", out},
			[]string{bad + ":7: clients.arrival.rate: ", "above 0"}},
		{"malformed scenario json", []string{"run", bad, "--out", out, "--json"},
			[]string{bad + ":7: clients.arrival.rate: "}},
		{"missing file", []string{"run", filepath.Join(dir, "nope.yaml"), "--out", out},
			[]string{"nope.yaml: cannot read"}},
		{"unknown flag", []string{"run", good, "--out", out, "--bogus"},
			[]string{"unknown flag: --bogus"}},
		{"flag without value", []string{"run", good, "--out", out, "--set"},
			[]string{"flag needs an argument: --set"}},
		{"unknown strategy", []string{"run", good, "--out", out, "--strategy", "round-robin,fastest"},
			[]string{`--strategy: unknown strategy "fastest"`, "p2c"}},
		{"bad seed", []string{"run", good, "--out", out, "--seed", "x"},
			[]string{`--seed: want a non-negative integer, got "x"`}},
		{"negative seed", []string{"run", good, "--out", out, "--seed", "-1"},
			[]string{"--seed"}},
		{"bad set key", []string{"run", good, "--out", out, "--set", "clients.arival.rate=9"},
			[]string{"--set: clients.arival.rate: ", `did you mean "arrival"?`}},
		{"set makes scenario invalid", []string{"run", good, "--out", out, "--set", "servers[0].count=0"},
			[]string{"--set: servers[0].count: "}},
		{"bad set on quick-start", []string{"run", "--out", out, "--set", "clients.arrival.rate=abc"},
			[]string{"--set: clients.arrival.rate: "}},
		{"two scenario files", []string{"run", good, good, "--out", out},
			[]string{"at most one scenario file"}},
		{"unknown command", []string{"frobnicate"}, []string{`unknown command "frobnicate"`}},
		{"strategies with an argument", []string{"strategies", "extra"}, []string{"unknown command"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, c.args...)
			if code != 2 {
				t.Errorf("exit code %d, want 2 (stderr %q)", code, stderr)
			}
			if stdout != "" {
				t.Errorf("stdout %q, want nothing", stdout)
			}
			if n := strings.Count(stderr, "\n"); n != 1 || !strings.HasSuffix(stderr, "\n") {
				t.Errorf("stderr has %d lines, want one: %q", n, stderr)
			}
			for _, w := range c.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr %q does not contain %q", stderr, w)
				}
			}
			if exists(out) {
				t.Errorf("output directory %s was created", out)
			}
		})
	}
}

func TestRunJSON(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, "small.yaml", small)
	out := filepath.Join(dir, "out")
	code, stdout, stderr := runCLI(t, "run", path, "--json", "--out", out, "--seed", "5")
	if code != 0 {
		t.Fatalf("exit code %d, stderr %q", code, stderr)
	}
	// --json keeps stdout for the file; what was written (and so
	// overwritten) is said on stderr.
	if want := "edgelab: wrote " + filepath.Join(out, "results.json") + "\nedgelab: wrote " + filepath.Join(out, "report.html") + "\n"; stderr != want {
		t.Errorf("stderr %q, want %q", stderr, want)
	}
	dec := json.NewDecoder(strings.NewReader(stdout))
	dec.DisallowUnknownFields()
	var res reports.Results
	if err := dec.Decode(&res); err != nil {
		t.Fatalf("stdout is not results.json: %v\n%s", err, stdout)
	}
	if dec.More() || strings.TrimSpace(stdout[dec.InputOffset():]) != "" {
		t.Errorf("stdout has more than one JSON value: %q", stdout[dec.InputOffset():])
	}
	if res.Scenario != "small" || res.Mode != "sim" || res.Seed != 5 || res.DurationS != 2 || res.WarmupS != 1 {
		t.Errorf("header = %+v", res)
	}
	if len(res.Runs) != 2 || res.Runs[0].Strategy != "round-robin" || res.Runs[1].Strategy != "p2c" {
		t.Fatalf("runs = %+v", res.Runs)
	}
	for _, r := range res.Runs {
		if r.Requests == 0 || r.OK+r.Failed+r.Rejected != r.Requests {
			t.Errorf("%s: requests %d ok %d failed %d rejected %d", r.Strategy, r.Requests, r.OK, r.Failed, r.Rejected)
		}
	}
	written, err := os.ReadFile(filepath.Join(out, "results.json"))
	if err != nil {
		t.Fatalf("results.json not written: %v", err)
	}
	if string(written) != stdout {
		t.Errorf("results.json differs from stdout")
	}

	// --strategy replaces the scenario's strategies.
	code, stdout, stderr = runCLI(t, "run", path, "--json", "--out", out, "--strategy", "random")
	if code != 0 {
		t.Fatalf("--strategy random: exit %d, stderr %q", code, stderr)
	}
	res = reports.Results{}
	if err := json.Unmarshal([]byte(stdout), &res); err != nil || len(res.Runs) != 1 || res.Runs[0].Strategy != "random" {
		t.Errorf("--strategy random: runs %+v, err %v", res.Runs, err)
	}
}

func TestRunText(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, "small.yaml", small)
	out := filepath.Join(dir, "text")
	code, stdout, stderr := runCLI(t, "run", path, "--out", out, "--set", "clients.arrival.rate=50")
	if code != 0 {
		t.Fatalf("exit code %d, stderr %q", code, stderr)
	}
	if !strings.Contains(stdout, "wrote "+filepath.Join(out, "results.json")) {
		t.Errorf("stdout does not say where results went:\n%s", stdout)
	}
	if !exists(filepath.Join(out, "results.json")) {
		t.Errorf("no results.json in %s", out)
	}
}

func TestStrategies(t *testing.T) {
	code, stdout, stderr := runCLI(t, "strategies")
	if code != 0 || stderr != "" {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	// One line per strategy, in catalogue order, each followed by one
	// indented line per parameter.
	var got []string
	for _, line := range strings.Split(strings.TrimRight(stdout, "\n"), "\n") {
		if f := strings.Fields(line); len(f) > 0 && !strings.HasPrefix(line, " ") {
			got = append(got, f[0])
		}
	}
	if want := strategies.Names(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("listed %v, want %v", got, want)
	}
	if !strings.Contains(stdout, "param choices") && !strings.Contains(stdout, "param vnodes") {
		t.Errorf("parameters are not listed:\n%s", stdout)
	}
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"run", "--help"}, {"help", "run"}, {}} {
		code, stdout, stderr := runCLI(t, args...)
		if code != 0 {
			t.Errorf("%q: exit %d, stderr %q", args, code, stderr)
		}
		if !regexp.MustCompile(`Usage:`).MatchString(stdout) {
			t.Errorf("%q: no usage on stdout:\n%s", args, stdout)
		}
	}
}

// Ctrl-C: the run stops early, still writes results.json marked partial,
// and exits 130.
func TestInterruptedRunWritesPartialResults(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	out := filepath.Join(t.TempDir(), "out")
	var stdout, stderr bytes.Buffer
	code := run(ctx, []string{"run", "--out", out, "--json"}, &stdout, &stderr)
	if code != 130 {
		t.Fatalf("exit %d, stderr %s", code, stderr.String())
	}
	data, err := os.ReadFile(filepath.Join(out, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	var res reports.Results
	if err := json.Unmarshal(data, &res); err != nil || !res.Partial {
		t.Fatalf("partial %v, err %v", res.Partial, err)
	}
	if !bytes.Equal(stdout.Bytes(), data) {
		t.Fatal("--json stdout differs from results.json")
	}
	if !strings.Contains(stderr.String(), "interrupted") {
		t.Fatalf("stderr %q", stderr.String())
	}
}

func TestDuplicateStrategiesRunOnce(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"run", "--out", out, "--json", "--set", "duration=3s", "--set", "warmup=1s", "--strategy", "p2c,random,p2c"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	var res reports.Results
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Runs) != 2 || res.Runs[0].Strategy != "p2c" || res.Runs[1].Strategy != "random" {
		t.Fatalf("runs %+v", res.Runs)
	}
}

// edgelab --version names the build: module version, VCS revision when
// the build had it, Go version.
func TestVersion(t *testing.T) {
	code, stdout, stderr := runCLI(t, "--version")
	if code != 0 || !strings.HasPrefix(stdout, "edgelab ") || !strings.Contains(stdout, "go1.") || stderr != "" {
		t.Errorf("--version: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

// Output directories: names of any script keep their letters, names with
// none left get a hash of their own, and nothing escapes out/.
func TestSafeName(t *testing.T) {
	for name, want := range map[string]string{
		"checkout":       "checkout",
		"платёж":         "платёж",
		"決済 API":         "決済-API",
		"../../etc":      "etc",
		"a/b\\c":         "a-b-c",
		"":               "scenario-e3b0c442",
		"!!!":            "scenario-" + hashOf("!!!"),
		"???":            "scenario-" + hashOf("???"),
		"evil\x1b[2Jend": "evil-2Jend",
	} {
		if got := safeName(name); got != want {
			t.Errorf("safeName(%q) = %q, want %q", name, got, want)
		}
	}
	if safeName("!!!") == safeName("???") {
		t.Error("two symbol-only names share a directory")
	}
}

func hashOf(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:4])
}

// A results.json whose names hold escape sequences (written by hand: the
// loader refuses such names) prints them escaped, not acted on.
func TestReportEscapesControlCharacters(t *testing.T) {
	dir := t.TempDir()
	var stdout, stderr strings.Builder
	if code := run(context.Background(), []string{"run", "--out", dir, "--json", "--set", "duration=3s", "--set", "warmup=1s",
		"--strategy", "p2c"}, &stdout, &stderr); code != 0 {
		t.Fatalf("run: exit %d %s", code, stderr.String())
	}
	var res reports.Results
	if err := json.Unmarshal([]byte(stdout.String()), &res); err != nil {
		t.Fatal(err)
	}
	res.Scenario = "fake\rwrote /etc/passwd\x1b[2J\u202e"
	res.Runs[0].Strategy = "p2c\x1b[31m"
	data, _ := json.Marshal(&res)
	path := filepath.Join(dir, "results.json")
	os.WriteFile(path, data, 0o644)
	code, out, errs := runCLI(t, "report", path)
	if code != 0 {
		t.Fatalf("report: exit %d: %s", code, errs)
	}
	if strings.ContainsAny(out, "\r\x1b\u202e") || !strings.Contains(out, `fake\rwrote /etc/passwd\x1b[2J\u202e`) || !strings.Contains(out, `p2c\x1b[31m`) {
		t.Errorf("names not escaped:\n%q", out)
	}
}

// An --out that cannot be written is refused before any simulating, with
// exit 2 and nothing created.
func TestOutNotWritable(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, "small.yaml", small)
	file := writeFile(t, dir, "a-file", "x")
	for _, args := range [][]string{
		{"run", path, "--out", filepath.Join(file, "out")},
		{"sweep", path, "--vary", "servers[0].count=1..2", "--out", filepath.Join(file, "out")},
		{"capacity", path, "--slo", "p99=1s", "--vary", "servers[0].count=1..2", "--out", file},
	} {
		code, stdout, stderr := runCLI(t, args...)
		if code != 2 || stdout != "" || !strings.Contains(stderr, "--out") || !strings.Contains(stderr, "is not a directory") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", args[:1], code, stdout, stderr)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Errorf("refused runs left files: %v", entries)
	}
}
