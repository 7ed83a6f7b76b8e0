package configs_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgelab/edgelab/configs"
	"github.com/edgelab/edgelab/plan"
	"github.com/edgelab/edgelab/workloads"
)

// importAndLoad imports one upstream of a test configuration with read
// and loads the scenario it writes.
func importAndLoad(t *testing.T, read func(string, configs.ImportOptions) (*configs.Imported, error), file, upstream string) (*configs.Imported, *workloads.Scenario) {
	t.Helper()
	im, err := read(filepath.Join("testdata", file), configs.ImportOptions{Upstream: upstream})
	if err != nil {
		t.Fatal(err)
	}
	sc, err := workloads.Parse(im.YAML, "imported.yaml", nil)
	if err != nil {
		t.Fatalf("%v\n%s", err, im.YAML)
	}
	if err := plan.Check(sc); err != nil {
		t.Fatal(err)
	}
	return im, sc
}

// importNGINX imports an upstream of testdata/nginx.conf (which includes
// testdata/upstreams.conf) and loads the scenario.
func importNGINX(t *testing.T, upstream string) (*configs.Imported, *workloads.Scenario) {
	t.Helper()
	return importAndLoad(t, configs.ImportNGINX, "nginx.conf", upstream)
}

// The api upstream of a realistic configuration (an include, weights, a
// server marked down, a backup, least_conn, max_fails/fail_timeout,
// keepalive, and a location with proxy_next_upstream, _tries, _timeout,
// an inherited proxy_read_timeout and limit_req) becomes the scenario
// expected, key by key, each with its file and line; what is not mapped is
// listed with its line.
func TestImportNGINXKeyByKey(t *testing.T) {
	im, sc := importNGINX(t, "api")
	up := filepath.Join("testdata", "upstreams.conf")
	main := filepath.Join("testdata", "nginx.conf")
	g := sc.Servers[0]
	r, h := sc.Clients.Retries, sc.Balancer.Health
	checks := []struct {
		what string
		ok   bool
	}{
		{"preset nginx", sc.Balancer.Preset == "nginx@1.31"},
		{"least_conn", sc.Balancer.Strategy == "least-request"},
		{"three primaries, weights 5,1,1", g.Count == 3 && fmt.Sprint(g.Weight) == "[5 1 1]"},
		{"the server marked down crashes for the run", len(g.Failures) == 1 && g.Failures[0].Kind == "crash" && fmt.Sprint(g.Failures[0].Instances) == "[2]"},
		{"max_fails=3 fail_timeout=30s", h.Passive != nil && h.Passive.MaxFails == 3 && h.Passive.FailTimeout.D() == 30*time.Second},
		{"5xx retried count as failures", fmt.Sprint(h.Passive.On) == "[connect_failure timeout error_5xx]"},
		{"proxy_next_upstream error timeout http_502", fmt.Sprint(r.On) == "[connect_failure timeout error_5xx]"},
		{"proxy_next_upstream_tries 3", r.Max == 2 && r.OncePerHost},
		{"proxy_next_upstream_timeout 5s", r.Timeout.D() == 5*time.Second},
		{"proxy_read_timeout 30s from http", r.PerTryTimeout.D() == 30*time.Second},
		{"limit_req burst=20 nodelay, zone rate=50r/s per address", sc.Gateway != nil && len(sc.Gateway.Stages) == 1 &&
			sc.Gateway.Stages[0].Algorithm == "leaky-bucket" && sc.Gateway.Stages[0].Rate == 50 && sc.Gateway.Stages[0].Burst == 20 &&
			sc.Gateway.Stages[0].NoDelay && sc.Gateway.Stages[0].Per == "client"},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("%s: not so in\n%s", c.what, im.YAML)
		}
	}
	for _, want := range []string{
		"strategy: least_conn  # " + up + ":2",
		"max_fails: 3  # " + up + ":4",
		"max: 2  # " + main + ":12",
		"per_try_timeout: 30s  # " + main + ":5",
		"name: api  # " + up + ":1",
		"keepalive: 32  # " + up + ":8",
	} {
		if !bytes.Contains(im.YAML, []byte(want)) {
			t.Errorf("no %q in\n%s", want, im.YAML)
		}
	}
	notes := fmt.Sprint(im.Notes)
	for _, want := range []string{up + ":7: server 10.0.0.9:8080 backup", up + ":3: zone api 64k", main + ":5: proxy_read_timeout 30s"} {
		if !strings.Contains(notes, want) {
			t.Errorf("no note %q in %s", want, notes)
		}
	}
	// The notes are at the top of the scenario too.
	if !bytes.Contains(im.YAML, []byte("#   "+up+":7: server 10.0.0.9:8080 backup")) {
		t.Errorf("notes missing from the scenario:\n%s", im.YAML)
	}
}

// hash … consistent maps to ring hashing, and a server parameter edgelab
// does not model is listed.
func TestImportNGINXHash(t *testing.T) {
	im, sc := importNGINX(t, "static")
	if sc.Strategies()[0] != "ring-hash" || sc.Balancer.Params["ring-hash"]["vnodes"] != 160 || sc.Servers[0].Count != 2 {
		t.Errorf("strategy %v params %v\n%s", sc.Strategies(), sc.Balancer.Params, im.YAML)
	}
	if !strings.Contains(fmt.Sprint(im.Notes), "upstreams.conf:13: max_conns=100: not modelled") {
		t.Errorf("notes %v", im.Notes)
	}
}

// An imported upstream exported again gives NGINX the same method, weights
// and passive health (on edgelab's backends' ports).
func TestImportThenExportNGINX(t *testing.T) {
	_, sc := importNGINX(t, "api")
	var b bytes.Buffer
	if _, err := configs.Export(&b, configs.NGINX, sc, configs.Options{}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"least_conn;", "server 127.0.0.1:9001 weight=5 max_fails=3 fail_timeout=30s;",
		"proxy_next_upstream error timeout http_500 http_502 http_504;", "proxy_next_upstream_tries 3;", "proxy_next_upstream_timeout 5s;"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("no %q in\n%s", want, b.String())
		}
	}
}

// Bad configurations are input errors at their file and line.
func TestImportNGINXErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, c := range []struct{ name, text, upstream, want string }{
		{"broken.conf", "http {\n  upstream a {\n    server 10.0.0.1;\n", "", "broken.conf: not a valid NGINX configuration"},
		{"none.conf", "http { server { listen 80; } }\n", "", "none.conf: no upstream: nothing to balance"},
		{"two.conf", "http { upstream a { server x; } upstream b { server y; } }\n", "", "two.conf: 2 upstreams (a, b): choose one with --upstream"},
		{"missing.conf", "http { upstream a { server x; } }\n", "b", `missing.conf: no upstream "b" (there are: a)`},
		{"backup.conf", "http { upstream a { server x backup; } }\n", "", "backup.conf:1: the upstream has no primary server"},
		{"zone.conf", "http {\n upstream a { server x; }\n server { location / { proxy_pass http://a; limit_req zone=z; } }\n}\n", "", "zone.conf:3: limit_req zone=z: no limit_req_zone defines it"},
	} {
		_, err := configs.ImportNGINX(write(c.name, c.text), configs.ImportOptions{Upstream: c.upstream})
		var ie *configs.InputError
		if err == nil || !strings.Contains(err.Error(), c.want) || !errorsAs(err, &ie) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
	if _, err := configs.ImportNGINX(filepath.Join(dir, "absent.conf"), configs.ImportOptions{}); err == nil || !strings.Contains(err.Error(), "absent.conf: cannot read") {
		t.Errorf("absent file: %v", err)
	}
}

// importHAProxy imports a backend of testdata/haproxy.cfg and loads it.
func importHAProxy(t *testing.T, backend string) (*configs.Imported, *workloads.Scenario) {
	t.Helper()
	return importAndLoad(t, configs.ImportHAProxy, "haproxy.cfg", backend)
}

// An HAProxy backend (defaults inherited: retries 3, option redispatch,
// timeout connect 500ms, timeout server 30s; balance leastconn, retry-on,
// default-server inter 3s rise 2 fall 4, weighted servers with check, a
// disabled one, a backup one) becomes the scenario expected, key by key.
func TestImportHAProxyKeyByKey(t *testing.T) {
	im, sc := importHAProxy(t, "web")
	cfg := filepath.Join("testdata", "haproxy.cfg")
	g, r, a := sc.Servers[0], sc.Clients.Retries, sc.Balancer.Health.Active
	for _, c := range []struct {
		what string
		ok   bool
	}{
		{"preset haproxy", strings.HasPrefix(sc.Balancer.Preset, "haproxy@")},
		{"balance leastconn", sc.Balancer.Strategy == "least-request"},
		{"three active servers, weights 10,20,10", g.Count == 3 && fmt.Sprint(g.Weight) == "[10 20 10]"},
		{"the disabled server crashes for the run", len(g.Failures) == 1 && fmt.Sprint(g.Failures[0].Instances) == "[1]" == false && fmt.Sprint(g.Failures[0].Instances) == "[2]"},
		{"retries 3, retry-on conn-failure 503", r.Max == 3 && fmt.Sprint(r.On) == "[connect_failure queue_full]"},
		{"option redispatch from defaults", r.SameHost && r.Redispatch == -1},
		{"turn-around min(timeout connect, 1s)", r.Turnaround.D() == 500*time.Millisecond},
		{"timeout server 30s", r.PerTryTimeout.D() == 30*time.Second},
		{"check inter 3s rise 2 fall 4", a != nil && a.Interval.D() == 3*time.Second && a.Timeout.D() == 3*time.Second && a.Healthy == 2 && a.Unhealthy == 4 && a.FirstUnhealthy == 1},
	} {
		if !c.ok {
			t.Errorf("%s: not so in\n%s", c.what, im.YAML)
		}
	}
	for _, want := range []string{"strategy: leastconn  # " + cfg + ":21", "redispatch: -1  # " + cfg + ":11", "max: 3  # " + cfg + ":10"} {
		if !bytes.Contains(im.YAML, []byte(want)) {
			t.Errorf("no %q in\n%s", want, im.YAML)
		}
	}
	notes := fmt.Sprint(im.Notes)
	for _, want := range []string{cfg + ":27: server spare 10.0.0.9:8080: backup", cfg + ":24: maxconn 100: not modelled"} {
		if !strings.Contains(notes, want) {
			t.Errorf("no note %q in %s", want, notes)
		}
	}
}

// A backend without checks drops the preset's, and random(<draws>) and a
// section's own "no option redispatch" win over the defaults.
func TestImportHAProxyNoChecks(t *testing.T) {
	im, sc := importHAProxy(t, "api")
	p := sc.Balancer.Params["p2c"]
	if sc.Balancer.Health.Active != nil || sc.Balancer.Strategy != "p2c" || p["choices"] != 3 || p["distinct"] != 0 || sc.Clients.Retries.Redispatch != 0 {
		t.Errorf("active %+v strategy %s %v redispatch %d\n%s", sc.Balancer.Health.Active, sc.Balancer.Strategy, p, sc.Clients.Retries.Redispatch, im.YAML)
	}
}

// Bad HAProxy configurations are input errors at their line.
func TestImportHAProxyErrors(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct{ name, text, want string }{
		{"early.cfg", "retries 3\nbackend b\n  server s 1.2.3.4:80\n", "early.cfg:1: \"retries\" before any section"},
		{"noname.cfg", "backend\n  server s x\n", "noname.cfg:1: backend needs a name"},
		{"server.cfg", "backend b\n  server s\n", "server.cfg:2: server: want a name and an address"},
		{"time.cfg", "backend b\n  timeout connect 5x\n  server s x\n", "time.cfg:2: timeout connect"},
		{"none.cfg", "global\n  maxconn 10\n", "none.cfg: no backend: nothing to balance"},
		{"backup.cfg", "backend b\n  server s x backup\n", "backup.cfg:1: the backend has no active server"},
	} {
		p := filepath.Join(dir, c.name)
		if err := os.WriteFile(p, []byte(c.text), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := configs.ImportHAProxy(p, configs.ImportOptions{})
		var ie *configs.InputError
		if err == nil || !strings.Contains(err.Error(), c.want) || !errorsAs(err, &ie) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
}

// importEnvoy imports a cluster of testdata/envoy.yaml and loads it.
func importEnvoy(t *testing.T, cluster string) (*configs.Imported, *workloads.Scenario) {
	t.Helper()
	return importAndLoad(t, configs.ImportEnvoy, "envoy.yaml", cluster)
}

// An Envoy bootstrap's cluster (LEAST_REQUEST with choice_count 3,
// weighted endpoints and a priority-1 one, an HTTP health check, outlier
// detection, a panic threshold, circuit breakers) and the route that sends
// to it (timeout, retry policy with previous_hosts) become the scenario
// expected, key by key, with the YAML's lines.
func TestImportEnvoyKeyByKey(t *testing.T) {
	im, sc := importEnvoy(t, "api")
	cfg := filepath.Join("testdata", "envoy.yaml")
	g, r, h := sc.Servers[0], sc.Clients.Retries, sc.Balancer.Health
	for _, c := range []struct {
		what string
		ok   bool
	}{
		{"preset envoy", sc.Balancer.Preset == "envoy"},
		{"LEAST_REQUEST, choice_count 3", sc.Balancer.Strategy == "p2c" && sc.Balancer.Params["p2c"]["choices"] == 3 && sc.Balancer.Params["p2c"]["distinct"] == 0},
		{"three priority-0 endpoints, weights 2,1,1", g.Count == 3 && fmt.Sprint(g.Weight) == "[2 1 1]"},
		{"health check 5s/1s/3/2", h.Active != nil && h.Active.Interval.D() == 5*time.Second && h.Active.Timeout.D() == time.Second && h.Active.Unhealthy == 3 && h.Active.Healthy == 2},
		{"outlier 3 consecutive 5xx, 10s", h.Outlier != nil && h.Outlier.Consecutive5xx == 3 && h.Outlier.BaseEjection.D() == 10*time.Second && h.Outlier.MaxEjectionPercent == 10},
		{"panic threshold 40", h.PanicThreshold != nil && *h.PanicThreshold == 40},
		{"route timeout 5s", sc.Clients.Timeout.D() == 5*time.Second},
		{"num_retries 2, 5xx and reset", r.Max == 2 && fmt.Sprint(r.On) == "[error_5xx connect_failure queue_full timeout]"},
		{"per_try_timeout 1s, backoff 50ms..500ms", r.PerTryTimeout.D() == time.Second && r.Backoff.D() == 50*time.Millisecond && r.MaxBackoff.D() == 500*time.Millisecond},
		{"previous_hosts", r.OtherHost},
	} {
		if !c.ok {
			t.Errorf("%s: not so in\n%s", c.what, im.YAML)
		}
	}
	for _, want := range []string{"strategy: LEAST_REQUEST  # " + cfg + ":39", "consecutive_5xx: 3  # " + cfg + ":49", "interval: 5s  # " + cfg + ":43"} {
		if !bytes.Contains(im.YAML, []byte(want)) {
			t.Errorf("no %q in\n%s", want, im.YAML)
		}
	}
	notes := fmt.Sprint(im.Notes)
	for _, want := range []string{cfg + ":52: circuit_breakers", cfg + ":38: connect_timeout 250ms", cfg + ":51: outlier_detection.interval", "priority 1"} {
		if !strings.Contains(notes, want) {
			t.Errorf("no note %q in %s", want, notes)
		}
	}
}

// A cluster with an extension edgelab does not link (a custom transport
// socket) still imports, the extension listed; without a route, Envoy's
// route defaults (the preset's) stay.
func TestImportEnvoyUnknownExtension(t *testing.T) {
	im, sc := importEnvoy(t, "static")
	if sc.Balancer.Strategy != "ring-hash" || sc.Servers[0].Count != 2 || sc.Clients.Timeout.D() != 15*time.Second {
		t.Errorf("strategy %s count %d timeout %s\n%s", sc.Balancer.Strategy, sc.Servers[0].Count, sc.Clients.Timeout, im.YAML)
	}
	if !strings.Contains(fmt.Sprint(im.Notes), "acme.transport_sockets.Custom: an extension edgelab does not read") {
		t.Errorf("notes %v", im.Notes)
	}
}

// A lone cluster imports as well, and bad files are input errors.
func TestImportEnvoyShapesAndErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	lone := write("cluster.yaml", "name: one\nlb_policy: RANDOM\nload_assignment:\n  endpoints:\n    - lb_endpoints:\n        - endpoint: {address: {socket_address: {address: 10.0.0.1, port_value: 80}}}\n")
	im, err := configs.ImportEnvoy(lone, configs.ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sc, err := workloads.Parse(im.YAML, "lone.yaml", nil)
	if err != nil || sc.Balancer.Strategy != "random" || sc.Servers[0].Count != 1 {
		t.Errorf("%v\n%s", err, im.YAML)
	}
	for _, c := range []struct{ name, text, want string }{
		{"bad.yaml", "static_resources:\n  clusters: [\n", "bad.yaml:"},
		{"type.yaml", "static_resources:\n  clusters:\n    - name: a\n      connect_timeout: soon\n", "type.yaml: not an Envoy configuration"},
		{"empty.yaml", "static_resources:\n  clusters:\n    - name: a\n", "empty.yaml:3: the cluster has no endpoint"},
		{"none.yaml", "static_resources: {}\n", "none.yaml: no cluster"},
		{"list.yaml", "- a\n", "list.yaml: want an Envoy bootstrap or cluster"},
	} {
		_, err := configs.ImportEnvoy(write(c.name, c.text), configs.ImportOptions{})
		var ie *configs.InputError
		if err == nil || !strings.Contains(err.Error(), c.want) || !errorsAs(err, &ie) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
}
