package main

import (
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/edgelab/edgelab/live/tlscost"
	"github.com/edgelab/edgelab/reports"
	"github.com/edgelab/edgelab/workloads"
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
		{[]string{"live", good, "--gateway", "http://127.0.0.1:9102", "--backend-port", "9101"}, "is one of the backends'"},
		{[]string{"live", good, "--strategy", "nope"}, "unknown strategy"},
		{[]string{"live", good, "--gateway", "http://127.0.0.1:9", "--strategy", "p2c"}, "--strategy with --gateway"},
		{[]string{"live", good, "--set", "clients.arrival.rate=-1"}, "clients.arrival.rate"},
		{[]string{"live", good, "--backend", "http://u:p@127.0.0.1:9"}, "without credentials"},
		{[]string{"live", good, "--calibrate", filepath.Join(dir, "cal.yaml")}, "has no gateway to calibrate"},
		{[]string{"live", good, "--cpu", "--cpuprofile", filepath.Join(dir, "p")}, "one CPU profile at a time"},
		{[]string{"live", good, "--cpu", "--gateway", "http://127.0.0.1:9"}, "--cpu with --gateway"},
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
	for _, name := range []string{"results.json", "report.html", "vegeta.bin"} {
		path := filepath.Join(out, name)
		if st, err := os.Stat(path); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", name, err)
		}
		// Every file written is listed.
		if !strings.Contains(stdout, "wrote "+path+"\n") {
			t.Errorf("stdout does not list %s:\n%s", path, stdout)
		}
	}
}

// edgelab run and edgelab live compare the same strategies for every
// example (plan.Strategies: balancer.strategy, then balancer.compare), so
// live --compare lines up like with like. Each example runs live briefly
// at a low rate; examples live mode refuses (closed loop, autoscaling,
// gateway failures) are checked to be refused for that reason.
func TestRunAndLiveCompareTheSameStrategies(t *testing.T) {
	if testing.Short() {
		t.Skip("runs every example live")
	}
	examples, err := filepath.Glob("../../examples/*.yaml")
	if err != nil || len(examples) == 0 {
		t.Fatalf("no examples: %v", err)
	}
	names := func(runs []reports.Run) []string {
		var out []string
		for _, r := range runs {
			out = append(out, r.Strategy)
		}
		return out
	}
	short := []string{"--set", "duration=300ms", "--set", "warmup=0s", "--set", "clients.arrival.rate=40", "--set", "replications=1"}
	for _, ex := range examples {
		name := strings.TrimSuffix(filepath.Base(ex), ".yaml")
		code, stdout, stderr := runCLI(t, append([]string{"run", ex, "--json", "--out", t.TempDir()}, short[:4]...)...)
		if code != 0 {
			t.Fatalf("%s: run: exit %d: %s", name, code, stderr)
		}
		var sim reports.Results
		if err := json.Unmarshal([]byte(stdout), &sim); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		args := short
		if sc, err := workloads.Load(ex, nil); err != nil {
			t.Fatal(err)
		} else if sc.Clients.Arrival.Process == workloads.ProcessClosed {
			args = short[:4] // no rate to lower
		}
		code, stdout, stderr = runCLI(t, append([]string{"live", ex, "--json", "--compare", "--out", t.TempDir()}, args...)...)
		if code == 2 && strings.Contains(stderr, "simulator only") {
			continue // not a live scenario
		}
		if code != 0 {
			t.Fatalf("%s: live: exit %d: %s", name, code, stderr)
		}
		var lv reports.Results
		if err := json.Unmarshal([]byte(stdout), &lv); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		want := strings.Join(names(sim.Runs), ",")
		if got := strings.Join(names(lv.Runs), ","); got != want {
			t.Errorf("%s: live ran %s, run ran %s", name, got, want)
		}
		if lv.Compare == nil || strings.Join(names(lv.Compare.Runs), ",") != want {
			t.Errorf("%s: live --compare compared with %v, want %s", name, lv.Compare, want)
		}
	}
}

// live --gateway --compare lines the external run up with the simulation
// of the scenario's balancer.strategy alone, even when balancer.compare
// lists more: the external gateway makes one run, and the simulation is
// the user's model of it.
func TestLiveGatewayCompare(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	backend, _ := url.Parse(fmt.Sprintf("http://127.0.0.1:%d", port))
	gw := httptest.NewServer(httputil.NewSingleHostReverseProxy(backend))
	defer gw.Close()
	dir := t.TempDir()
	one := strings.Replace(liveSmall, "count: 2", "count: 1", 1) + "balancer: {strategy: least-request, compare: [p2c, random]}\n"
	good := writeFile(t, dir, "good.yaml", one)
	out := filepath.Join(dir, "out")
	code, stdout, stderr := runCLI(t, "live", good, "--gateway", gw.URL, "--backend-port", strconv.Itoa(port), "--compare", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "external") || !strings.Contains(stdout, "p99 ms") {
		t.Errorf("no comparison of the external run:\n%s", stdout)
	}
	if !strings.Contains(stderr, "as least-request") || !strings.Contains(stderr, "balancer.compare") {
		t.Errorf("stderr does not say what the simulation models and what is not applied:\n%s", stderr)
	}
	data, err := os.ReadFile(filepath.Join(out, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	var res reports.Results
	if err := json.Unmarshal(data, &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Runs) != 1 || res.Runs[0].Strategy != "external" || res.Compare == nil ||
		len(res.Compare.Runs) != 1 || res.Compare.Runs[0].Strategy != "least-request" {
		t.Fatalf("runs %d, compare %v", len(res.Runs), res.Compare != nil)
	}
	// What edgelab cannot see through someone else's gateway is absent,
	// not reported as measured: attempts, the balancer's healthy count and
	// in-flight view. The backends' own counters and instances are there.
	r := res.Runs[0]
	if r.Attempts != 0 || r.Series == nil || r.Series.Healthy != nil || r.Series.InFlight != nil ||
		len(r.Series.Utilization) != 1 || r.Servers[0].Requests == 0 {
		t.Errorf("external run: attempts %d, series %+v, servers %+v", r.Attempts, r.Series, r.Servers)
	}
	for _, n := range r.Series.Instances {
		if n != 1 {
			t.Errorf("instances %v, want the one backend", r.Series.Instances)
			break
		}
	}
	// Such a file is valid input to edgelab report, and its CSV has empty
	// cells where nothing was measured.
	if _, err := reports.ReadResults(data); err != nil {
		t.Errorf("ReadResults: %v", err)
	}
	var csv strings.Builder
	if err := reports.WriteInstanceSeriesCSV(&csv, &res); err != nil || !strings.Contains(csv.String(), "external,web-0,0,,") {
		t.Errorf("instance CSV (%v):\n%s", err, csv.String())
	}
}

// live --calibrate runs the scenario with the gateway terminating TLS,
// measures its CPU, and writes the scenario with the measured costs as
// keys: the file loads, keeps the user's text, and the simulator then
// charges about what was measured.
func TestLiveCalibrate(t *testing.T) {
	dir := t.TempDir()
	src := liveSmall + "gateway: {instances: 1, tls: {key_type: p256}}\n"
	src = strings.Replace(src, "  timeout: 1s\n", "  timeout: 1s\n  keepalive: {requests: 2}\n", 1)
	path := writeFile(t, dir, "tls.yaml", "# the user's comment\n"+src)
	cal := filepath.Join(dir, "calibrated.yaml")
	code, stdout, stderr := runCLI(t, "live", path, "--calibrate", cal, "--set", "duration=1500ms", "--out", filepath.Join(dir, "out"))
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	data, err := os.ReadFile(cal)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"# Calibrated by edgelab live --calibrate", "# the user's comment", "proxy_cost:", "connect:", "duration: 1500ms"} {
		if !strings.Contains(string(data), want) {
			t.Errorf("calibrated file lacks %q:\n%s", want, data)
		}
	}
	sc, err := workloads.Load(cal, nil)
	if err != nil {
		t.Fatalf("the calibrated scenario does not load: %v\n%s", err, data)
	}
	if sc.Gateway.TLS.Full <= 0 || sc.Gateway.TLS.KeyType != "p256" {
		t.Errorf("calibrated tls %+v", sc.Gateway.TLS)
	}
	var res reports.Results
	raw, err := os.ReadFile(filepath.Join(dir, "out", "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &res); err != nil {
		t.Fatal(err)
	}
	if g := res.Runs[0].Gateway; g == nil || g.CPUPerRequestMS <= 0 || g.Connections == 0 {
		t.Errorf("results.json gateway %+v", g)
	}
}

// A calibrated scenario written to another directory keeps finding the
// files the original names relative to itself (its certificate and key).
func TestCalibrationKeepsFiles(t *testing.T) {
	src, dst := t.TempDir(), t.TempDir()
	cert, _, err := tlscost.Certificate(tlscost.P256)
	if err != nil {
		t.Fatal(err)
	}
	key, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, src, "gw.crt", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]})))
	writeFile(t, src, "gw.key", string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: key})))
	path := writeFile(t, src, "tls.yaml", liveSmall+"gateway: {tls: {cert: gw.crt, key: gw.key}}\n")
	sc, err := workloads.Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dst, "calibrated.yaml")
	sets := movedFiles(path, out, sc)
	if len(sets) != 2 {
		t.Fatalf("sets %v", sets)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rewritten, err := workloads.Rewrite(data, path, sets)
	if err != nil {
		t.Fatal(err)
	}
	out = writeFile(t, dst, "calibrated.yaml", string(rewritten))
	if _, err := workloads.Load(out, nil); err != nil {
		t.Errorf("the calibrated scenario does not find its certificate: %v\n%s", err, rewritten)
	}
	if sets := movedFiles(path, filepath.Join(src, "calibrated.yaml"), sc); sets != nil {
		t.Errorf("same directory: %v", sets)
	}
}
