package configs_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/edgelab/edgelab/configs"
)

const base = `
name: export
duration: 10s
clients: {arrival: {process: poisson, rate: 100}}
servers:
  - {name: web, count: 3, weight: [1, 2, 3], service: {dist: exponential, mean: 2ms}}
  - {name: big, count: 1, autoscale: {max: 2}, service: {dist: exponential, mean: 2ms}}
`

// Export writes each part of the balancer as the program's own directive,
// key by key, and lists what it cannot express.
func TestExportKeyByKey(t *testing.T) {
	for _, c := range []struct {
		name, format string
		sets         []string
		want, notes  []string
	}{
		{"nginx preset", configs.NGINX, []string{"balancer.preset=nginx"},
			[]string{"server 127.0.0.1:9001 weight=1 max_fails=1 fail_timeout=10s; # web-0", "server 127.0.0.1:9003 weight=3 max_fails=1 fail_timeout=10s; # web-2",
				"server 127.0.0.1:9005 weight=1 max_fails=1 fail_timeout=10s down; # big-1", "proxy_next_upstream error timeout;",
				"proxy_next_upstream_tries 11;", "proxy_read_timeout 60s;", "listen 127.0.0.1:8080;"}, nil},
		{"nginx least_conn", configs.NGINX, []string{"balancer.preset=nginx", "balancer.strategy=least_conn"}, []string{"    least_conn;\n"}, []string{"least_conn breaks ties"}},
		{"nginx plain", configs.NGINX, []string{"balancer.strategy=p2c", "balancer.params={p2c: {distinct: 0}}"},
			[]string{"random two least_conn;", "max_fails=0", "proxy_next_upstream off;"}, []string{"may draw one twice"}},
		{"nginx hash", configs.NGINX, []string{"balancer.strategy=ring-hash", "clients.retries.max=2", "clients.retries.on=[error_5xx]", "clients.retries.timeout=1500ms"},
			[]string{"hash $http_x_edgelab_key consistent;", "proxy_next_upstream http_500 http_502 http_504;", "proxy_next_upstream_tries 3;", "proxy_next_upstream_timeout 1500ms;"},
			[]string{"once_per_host"}},
		{"haproxy 2.6", configs.HAProxy, []string{"balancer.preset=haproxy@2.6"},
			[]string{"balance roundrobin", "retries 3", "retry-on conn-failure", "timeout connect 5s",
				"server web-1 127.0.0.1:9002 weight 2 check inter 2s rise 2 fall 3", "server big-1 127.0.0.1:9005 weight 1 check inter 2s rise 2 fall 3 disabled"}, nil},
		{"haproxy redispatch", configs.HAProxy, []string{"balancer.preset=haproxy", "clients.retries.redispatch=-1", "clients.retries.turnaround=200ms"},
			[]string{"balance random(2)", "  option redispatch\n", "timeout connect 200ms"}, nil},
		{"haproxy envoy-style retries", configs.HAProxy, []string{"balancer.strategy=least-request", "clients.retries.max=2"},
			[]string{"balance leastconn", "option redispatch 1", "retry-on conn-failure response-timeout 500 502 504 503"}, []string{"through the balancer"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			sc := parse(t, base, c.sets...)
			var b bytes.Buffer
			notes, err := configs.Export(&b, c.format, sc, configs.Options{Source: "export.yaml"})
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range c.want {
				if !strings.Contains(b.String(), w) {
					t.Errorf("no %q in\n%s", w, b.String())
				}
			}
			for _, w := range c.notes {
				found := false
				for _, n := range notes {
					found = found || strings.Contains(n, w)
				}
				if !found || !strings.Contains(b.String(), "# NOTE: ") {
					t.Errorf("no note %q in %q", w, notes)
				}
			}
		})
	}
}

// A strategy the program has no equivalent for, and ports past 65535, are
// errors, not a configuration that balances otherwise.
func TestExportRefuses(t *testing.T) {
	sc := parse(t, base, "balancer.strategy=jiq")
	for _, f := range configs.Formats {
		if _, err := configs.Export(&bytes.Buffer{}, f, sc, configs.Options{}); err == nil || !strings.Contains(err.Error(), "jiq") {
			t.Errorf("%s: %v", f, err)
		}
	}
	sc = parse(t, base)
	if _, err := configs.Export(&bytes.Buffer{}, configs.NGINX, sc, configs.Options{BackendPort: 65533}); err == nil {
		t.Error("backends past port 65535 were exported")
	}
	if _, err := configs.Export(&bytes.Buffer{}, "caddy", sc, configs.Options{}); err == nil {
		t.Error("unknown format exported")
	}
}

// Export writes a configuration the real program can run.
func ExampleExport() {
	sc := mustParse(`
name: example
duration: 10s
clients: {arrival: {process: poisson, rate: 100}}
balancer: {preset: haproxy@3.2, strategy: leastconn}
servers: [{name: web, count: 2, service: {dist: exponential, mean: 2ms}}]
`)
	var b bytes.Buffer
	if _, err := configs.Export(&b, configs.HAProxy, sc, configs.Options{Listen: "127.0.0.1:28080", BackendPort: 9001}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	for _, line := range strings.Split(b.String(), "\n") {
		if strings.HasPrefix(line, "  balance") || strings.HasPrefix(line, "  server") || strings.HasPrefix(line, "  retries") {
			fmt.Println(line)
		}
	}
	// Output:
	//   retries 3
	//   balance leastconn
	//   server web-0 127.0.0.1:9001 weight 1 check inter 2s rise 2 fall 3
	//   server web-1 127.0.0.1:9002 weight 1 check inter 2s rise 2 fall 3
}

func errorsAs(err error, target **configs.InputError) bool { return errors.As(err, target) }
