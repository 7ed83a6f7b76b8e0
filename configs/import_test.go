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

// importNGINX imports an upstream of testdata/nginx.conf (which includes
// testdata/upstreams.conf) and loads the scenario.
func importNGINX(t *testing.T, upstream string) (*configs.Imported, *workloads.Scenario) {
	t.Helper()
	im, err := configs.ImportNGINX(filepath.Join("testdata", "nginx.conf"), configs.ImportOptions{Upstream: upstream})
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
	} {
		if !bytes.Contains(im.YAML, []byte(want)) {
			t.Errorf("no %q in\n%s", want, im.YAML)
		}
	}
	notes := fmt.Sprint(im.Notes)
	for _, want := range []string{up + ":8: keepalive 32", up + ":7: server 10.0.0.9:8080 backup", up + ":3: zone api 64k", main + ":5: proxy_read_timeout 30s"} {
		if !strings.Contains(notes, want) {
			t.Errorf("no note %q in %s", want, notes)
		}
	}
	// The notes are at the top of the scenario too.
	if !bytes.Contains(im.YAML, []byte("#   "+up+":8: keepalive 32")) {
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
		{"none.conf", "http { server { listen 80; } }\n", "", "none.conf: no upstream block"},
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
