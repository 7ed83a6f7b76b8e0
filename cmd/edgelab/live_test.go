package main

import (
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgelab/edgelab/reports"
)

const liveSmall = `name: live-small
duration: 800ms
warmup: 200ms
clients:
  arrival: {process: poisson, rate: 100}
  timeout: 1s
servers:
  - {name: web, count: 2, concurrency: 2, service: {dist: constant, mean: 2ms}}
`

// edgelab live refuses what it cannot run or must not touch with exit 2,
// before starting anything.
func TestLiveBadInput(t *testing.T) {
	dir := t.TempDir()
	good := writeFile(t, dir, "good.yaml", liveSmall)
	closed := writeFile(t, dir, "closed.yaml", strings.Replace(liveSmall, "{process: poisson, rate: 100}", "{process: closed, users: 3}", 1))
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"live"}, "one scenario file"},
		{[]string{"live", closed}, "closed.yaml:5: clients.arrival.process"},
		{[]string{"live", good, "--backend", "http://192.0.2.7:80"}, "not a loopback address"},
		{[]string{"live", good, "--gateway", "http://example.invalid:80"}, "--gateway"},
		{[]string{"live", good, "--backend-port", "70000"}, "--backend-port"},
		{[]string{"live", good, "--strategy", "nope"}, "unknown strategy"},
		{[]string{"live", good, "--set", "clients.arrival.rate=-1"}, "clients.arrival.rate"},
		{[]string{"live", good, "--backend", "http://u:p@127.0.0.1:9"}, "without credentials"},
	} {
		out := filepath.Join(dir, "out")
		code, _, stderr := runCLI(t, append(tc.args, "--out", out)...)
		if code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and %q", tc.args, code, stderr, tc.want)
		}
		if _, err := os.Stat(filepath.Join(out, "results.json")); err == nil {
			t.Errorf("%v: wrote results.json", tc.args)
		}
	}
}

// A short live run with --compare writes results.json (mode live, with
// the simulation beside it), report.html and vegeta's results.
// A live run that fails once started (here: a backend port taken) leaves
// no output behind: no vegeta.bin, and no directory it created.
func TestLiveRuntimeFailureLeavesNothing(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	dir := t.TempDir()
	good := writeFile(t, dir, "good.yaml", liveSmall)
	out := filepath.Join(dir, "out")
	code, _, stderr := runCLI(t, "live", good, "--backend-port", port, "--out", out)
	if code == 0 || !strings.Contains(stderr, "address already in use") {
		t.Fatalf("exit %d, stderr %q; want a failure naming the taken port", code, stderr)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		entries, _ := os.ReadDir(out)
		t.Errorf("the failed run left %s behind (%d entries)", out, len(entries))
	}
}

func TestLiveRunCompare(t *testing.T) {
	dir := t.TempDir()
	good := writeFile(t, dir, "good.yaml", liveSmall)
	out := filepath.Join(dir, "out")
	code, stdout, stderr := runCLI(t, "live", good, "--compare", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "sim vs live") || !strings.Contains(stdout, "p99 ms") {
		t.Errorf("no comparison table:\n%s", stdout)
	}
	data, err := os.ReadFile(filepath.Join(out, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	var res reports.Results
	if err := json.Unmarshal(data, &res); err != nil {
		t.Fatal(err)
	}
	if res.Mode != "live" || res.Compare == nil || res.Compare.Mode != "sim" || len(res.Runs) != 1 || res.Runs[0].Live == nil {
		t.Fatalf("results: mode %q, compare %v, runs %d", res.Mode, res.Compare != nil, len(res.Runs))
	}
	r := res.Runs[0]
	if r.OK+r.Failed+r.Rejected != r.Requests || r.Requests == 0 {
		t.Errorf("conservation: %d + %d + %d != %d", r.OK, r.Failed, r.Rejected, r.Requests)
	}
	for _, name := range []string{"report.html", "vegeta.bin"} {
		if st, err := os.Stat(filepath.Join(out, name)); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", name, err)
		}
	}
}
