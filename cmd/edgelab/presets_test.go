package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgelab/edgelab/presets"
)

// edgelab presets lists every preset; edgelab presets NAME prints each key
// it sets with its source; an unknown name or version is exit 2.
func TestPresetsCommand(t *testing.T) {
	code, stdout, stderr := runCLI(t, "presets")
	if code != 0 || stderr != "" {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	for _, name := range presets.Names() {
		if !strings.Contains(stdout, "\n"+name+" ") {
			t.Errorf("%s not listed:\n%s", name, stdout)
		}
	}
	code, stdout, _ = runCLI(t, "presets", "haproxy@3.2")
	for _, want := range []string{"haproxy@3.2 — HAProxy", "balancer.strategy: roundrobin", "clients.retries.turnaround: 1s",
		"source: https://github.com/haproxy/haproxy/blob/master/include/haproxy/defaults.h", "random                   → p2c {choices: 2, distinct: 0}"} {
		if code != 0 || !strings.Contains(stdout, want) {
			t.Errorf("exit %d; no %q in\n%s", code, want, stdout)
		}
	}
	if _, stdout, _ = runCLI(t, "presets", "haproxy"); !strings.Contains(stdout, "balancer.strategy: random\n") {
		t.Errorf("haproxy (3.3) does not default to random:\n%s", stdout)
	}
	for _, bad := range [][]string{{"presets", "nginks"}, {"presets", "nginx@9"}, {"presets", "a", "b"}} {
		if code, stdout, stderr := runCLI(t, bad...); code != 2 || stdout != "" || strings.Count(stderr, "\n") != 1 {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", bad, code, stdout, stderr)
		}
	}
}

// edgelab export writes the configuration (stdout or --out, atomically),
// prints its notes on stderr, and refuses what it cannot realize with
// exit 2.
func TestExportCommand(t *testing.T) {
	dir := t.TempDir()
	sc := filepath.Join(dir, "s.yaml")
	if err := os.WriteFile(sc, []byte("name: s\nduration: 1s\nclients: {arrival: {rate: 10}}\nbalancer: {preset: nginx, strategy: least_conn}\nservers: [{name: web, count: 2, service: {dist: exponential, mean: 1ms}}]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCLI(t, "export", "nginx", sc, "--backend-port", "9100", "--listen", "127.0.0.1:28080")
	if code != 0 || !strings.Contains(stdout, "server 127.0.0.1:9101 weight=1 max_fails=1 fail_timeout=10s; # web-1") ||
		!strings.Contains(stdout, "least_conn;") || !strings.Contains(stderr, "note: least_conn breaks ties") {
		t.Errorf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	out := filepath.Join(dir, "haproxy.cfg")
	if code, _, stderr := runCLI(t, "export", "haproxy", sc, "--set", "balancer.preset=haproxy", "--set", "balancer.strategy=random(3)", "--out", out); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if b, err := os.ReadFile(out); err != nil || !strings.Contains(string(b), "balance random(3)") {
		t.Errorf("%v\n%s", err, b)
	}
	for _, bad := range [][]string{
		{"export", "caddy", sc},
		{"export", "nginx"},
		{"export", "nginx", sc, "--strategy", "jiq"},
		{"export", "nginx", sc, "--listen", "0.0.0.0:80"},
		{"export", "nginx", sc, "--backend-port", "65535"},
		{"export", "nginx", filepath.Join(dir, "missing.yaml")},
	} {
		if code, stdout, stderr := runCLI(t, bad...); code != 2 || stdout != "" || strings.Count(stderr, "\n") != 1 {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", bad, code, stdout, stderr)
		}
	}
}

// --strategy takes the preset system's own algorithm names too, with
// their parameters; another system's name is exit 2, naming this one's.
func TestStrategyFlagTakesSystemNames(t *testing.T) {
	dir := t.TempDir()
	sc := filepath.Join(dir, "s.yaml")
	if err := os.WriteFile(sc, []byte("name: s\nduration: 2s\nclients: {arrival: {rate: 50}}\nbalancer: {preset: haproxy}\nservers: [{name: web, count: 3, service: {dist: exponential, mean: 1ms}}]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCLI(t, "run", sc, "--strategy", "leastconn,random(3)", "--out", filepath.Join(dir, "out"), "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{`"strategy": "least-request"`, `"strategy": "p2c"`} {
		if !strings.Contains(stdout, want) {
			t.Errorf("no %s in the results", want)
		}
	}
	code, _, stderr = runCLI(t, "run", sc, "--strategy", "least_conn", "--out", filepath.Join(dir, "out2"))
	if code != 2 || !strings.Contains(stderr, "haproxy's own: roundrobin") {
		t.Errorf("exit %d: %s", code, stderr)
	}
}

// edgelab import writes a scenario that loads, lists what it left out on
// stderr, and refuses bad input with exit 2.
func TestImportCommand(t *testing.T) {
	conf := filepath.Join("..", "..", "configs", "testdata", "nginx.conf")
	out := filepath.Join(t.TempDir(), "api.yaml")
	code, _, stderr := runCLI(t, "import", conf, "--upstream", "api", "--out", out)
	if code != 0 || !strings.Contains(stderr, "not mapped: ") || !strings.Contains(stderr, "zone api 64k") {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if code, stdout, stderr := runCLI(t, "run", out, "--set", "duration=2s", "--set", "warmup=0s", "--out", filepath.Join(t.TempDir(), "run")); code != 0 || !strings.Contains(stdout, "least-request") {
		t.Errorf("running the import: exit %d: %s %s", code, stdout, stderr)
	}
	envoy := filepath.Join("..", "..", "configs", "testdata", "envoy.yaml")
	if code, stdout, stderr := runCLI(t, "import", envoy, "--upstream", "api"); code != 0 || !strings.Contains(stdout, "strategy: LEAST_REQUEST") {
		t.Errorf("envoy: exit %d: %s %s", code, stdout, stderr)
	}
	ha := filepath.Join("..", "..", "configs", "testdata", "haproxy.cfg")
	if code, stdout, stderr := runCLI(t, "import", ha, "--upstream", "api"); code != 0 || !strings.Contains(stdout, `strategy: "random(3)"`) {
		t.Errorf("haproxy: exit %d: %s %s", code, stdout, stderr)
	}
	for _, bad := range [][]string{
		{"import", conf},
		{"import", conf, "--upstream", "nope"},
		{"import", conf, "--format", "caddy"},
		{"import", "scenario.yaml"},
		{"import"},
	} {
		if code, stdout, stderr := runCLI(t, bad...); code != 2 || stdout != "" || strings.Count(stderr, "\n") != 1 {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", bad, code, stdout, stderr)
		}
	}
}
