package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgelab/edgelab/workloads"
)

// From a run to its access log, the log fitted, the fragment replayed:
// each step from the CLI.
func TestAccessLogFitAndReplay(t *testing.T) {
	dir := t.TempDir()
	sc := writeFile(t, dir, "s.yaml", small)
	out := filepath.Join(dir, "out")
	code, stdout, stderr := runCLI(t, "run", sc, "--out", out, "--access-log", "haproxy", "--strategy", "round-robin,p2c")
	if code != 0 {
		t.Fatalf("run: exit %d: %s", code, stderr)
	}
	log := filepath.Join(out, "access-p2c.log")
	if !exists(log) || !exists(filepath.Join(out, "access-round-robin.log")) || !strings.Contains(stdout, "wrote "+log) {
		t.Fatalf("no access log per strategy: %s", stdout)
	}
	fitOut := filepath.Join(dir, "fit")
	code, stdout, stderr = runCLI(t, "fit", log, "--out", fitOut)
	if code != 0 {
		t.Fatalf("fit: exit %d: %s", code, stderr)
	}
	if !exists(filepath.Join(fitOut, "report.html")) || !exists(filepath.Join(fitOut, "fit.json")) {
		t.Errorf("fit wrote no report: %s", stderr)
	}
	if _, err := workloads.Parse([]byte("duration: 1s\n"+stdout), "fragment", nil); err != nil {
		t.Errorf("the fragment does not load: %v\n%s", err, stdout)
	}
	code, stdout, _ = runCLI(t, "fit", log, "--out", fitOut, "--json")
	var frag struct {
		Clients struct {
			Arrival map[string]any `json:"arrival"`
		} `json:"clients"`
		Servers []map[string]any `json:"servers"`
	}
	if code != 0 || json.Unmarshal([]byte(stdout), &frag) != nil || frag.Clients.Arrival["process"] == nil || len(frag.Servers) != 1 {
		t.Errorf("fit --json: exit %d: %s", code, stdout)
	}
	// Replay the log through the scenario.
	replay := writeFile(t, dir, "replay.yaml", strings.Replace(small, "arrival: {process: poisson, rate: 200}", "arrival: {process: trace, file: "+log+"}", 1))
	code, _, stderr = runCLI(t, "run", replay, "--out", filepath.Join(dir, "replayed"))
	if code != 0 {
		t.Errorf("replay: exit %d: %s", code, stderr)
	}
}

// Bad logs and bad log flags are exit 2 with one message, and write
// nothing.
func TestFitBadInput(t *testing.T) {
	dir := t.TempDir()
	sc := writeFile(t, dir, "s.yaml", small)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"fit", writeFile(t, dir, "junk.log", "not a log line\n")}, "junk.log:1: no known log format"},
		{[]string{"fit", filepath.Join(dir, "missing.log")}, "missing.log"},
		{[]string{"fit", writeFile(t, dir, "few.csv", "time\n1\n2\n")}, "a fit needs at least 10"},
		{[]string{"fit", writeFile(t, dir, "x.csv", "time\n1\n"), "--format", "w3c"}, `--format: "w3c" is not one of`},
		{[]string{"fit", writeFile(t, dir, "y.csv", "time\n1\n"), "--by", "colour"}, `--by "colour"`},
		{[]string{"run", sc, "--access-log", "json"}, `--access-log: "json" is not a format`},
		{[]string{"live", sc, "--access-log", "json"}, `--access-log: "json" is not a format`},
	} {
		out := filepath.Join(dir, "o"+c.args[0])
		code, stdout, stderr := runCLI(t, append(c.args, "--out", out)...)
		if code != 2 || !strings.Contains(stderr, c.want) || stdout != "" || strings.Count(strings.TrimSpace(stderr), "\n") > 0 {
			t.Errorf("%v: exit %d, stderr %q, want exit 2 and %q", c.args, code, stderr, c.want)
		}
		if _, err := os.Stat(out); err == nil {
			t.Errorf("%v: wrote %s", c.args, out)
		}
	}
}

// edgelab tls-cost prints gateway.tls keys a scenario loads; a bad key
// is exit 2.
func TestTLSCost(t *testing.T) {
	code, stdout, stderr := runCLI(t, "tls-cost", "--key", "p256", "-n", "3")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	yaml := "duration: 1s\nclients: {arrival: {process: poisson, rate: 10}}\nservers: [{name: a, count: 1, service: {mean: 1ms}}]\n" + stdout
	sc, err := workloads.Parse([]byte(yaml), "tls.yaml", nil)
	if err != nil {
		t.Fatalf("%v\n%s", err, stdout)
	}
	if tls := sc.Gateway.TLS; tls.Full <= 0 || tls.Resumed <= 0 {
		t.Errorf("measured %+v", tls)
	}
	if code, _, stderr := runCLI(t, "tls-cost", "--key", "dsa"); code != 2 || !strings.Contains(stderr, `--key: "dsa"`) {
		t.Errorf("bad key: exit %d: %s", code, stderr)
	}
}
