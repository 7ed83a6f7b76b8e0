package configs

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/edgelab/edgelab/strategies"
	"github.com/edgelab/edgelab/workloads"
)

// param is a strategy parameter: the scenario's, or its default.
func param(sc *workloads.Scenario, strategy, name string) float64 {
	if v, ok := sc.Balancer.Params[strategy][name]; ok {
		return v
	}
	info, _ := strategies.Lookup(strategy)
	for _, p := range info.Params {
		if p.Name == name {
			return p.Default
		}
	}
	return math.NaN()
}

// seconds writes a duration for NGINX and HAProxy: whole seconds when it
// is, else milliseconds (both read "ms").
func seconds(d time.Duration) string {
	if d%time.Second == 0 {
		return fmt.Sprintf("%ds", d/time.Second)
	}
	return fmt.Sprintf("%dms", (d+time.Millisecond/2)/time.Millisecond)
}

// nginxMethod is the upstream method directive of a strategy ("" = the
// default weighted round robin).
func nginxMethod(sc *workloads.Scenario, strategy string, weighted bool) (method string, notes []string, err error) {
	switch strategy {
	case "weighted-round-robin":
		return "", nil, nil
	case "round-robin":
		if weighted {
			notes = append(notes, "NGINX's round robin is weighted; the scenario's round-robin ignores weights")
		}
		return "", notes, nil
	case "least-request":
		return "least_conn", []string{"least_conn breaks ties by weighted round robin, edgelab's least-request at random"}, nil
	case "ip-hash":
		return "hash " + nginxVar(clientHeader), []string{"edgelab's ip-hash hashes the client identity (sent as " + clientHeader + "); NGINX's hash uses another function, so clients land on other servers with the same spread"}, nil
	case "ring-hash":
		if v := param(sc, strategy, "vnodes"); v != 160 {
			notes = append(notes, fmt.Sprintf("NGINX's consistent hash has 160 points per server (ketama); the scenario asks %g", v))
		}
		return "hash " + nginxVar(keyHeader) + " consistent", notes, nil
	case "weighted-random":
		return "random", nil, nil
	case "random":
		if weighted {
			notes = append(notes, "NGINX's random is weighted; the scenario's random ignores weights")
		}
		return "random", notes, nil
	case "p2c":
		if c := param(sc, strategy, "choices"); c != 2 {
			return "", nil, fmt.Errorf("NGINX's random two takes 2 servers; the scenario's p2c takes %g", c)
		}
		if param(sc, strategy, "distinct") == 0 {
			notes = append(notes, "NGINX's random two draws two distinct servers; the scenario's p2c may draw one twice (distinct: 0)")
		}
		return "random two least_conn", notes, nil
	case "least-time":
		return "least_time last_byte inflight", []string{"least_time is in NGINX open source since 1.31.0 (NGINX Plus before)"}, nil
	}
	return "", nil, fmt.Errorf("NGINX has no balancing method like %s (it has round robin, least_conn, hash, ip_hash, random, random two and least_time)", strategy)
}

// nginxNextUpstream is proxy_next_upstream for the outcomes retried.
func nginxNextUpstream(on []string) string {
	return conditions(on, [4]string{"error", "timeout", "http_500 http_502 http_504", "http_503"}, "off")
}

func writeNGINX(b *strings.Builder, sc *workloads.Scenario, opt Options) ([]string, error) {
	srv, notes := backends(sc, opt.BackendPort, 1000)
	weighted := false
	for _, s := range srv {
		weighted = weighted || s.weight != srv[0].weight
	}
	method, more, err := nginxMethod(sc, opt.Strategy, weighted)
	if err != nil {
		return nil, err
	}
	notes = append(notes, more...)
	h, r := sc.Balancer.Health, sc.Clients.Retries

	// Passive health: NGINX always counts errors and timeouts, and 5xx
	// answers only when proxy_next_upstream lists them (which retries
	// them too).
	maxFails, failTimeout := 0, 10*time.Second
	on := retryOn(r)
	if r.Max == 0 {
		on = nil
	}
	if p := h.Passive; p != nil {
		maxFails, failTimeout = p.MaxFails, p.FailTimeout.D()
		counted := []string{"connect_failure", "timeout"}
		for _, o := range []string{"error_5xx", "queue_full"} {
			if slices.Contains(on, o) {
				counted = append(counted, o)
			}
		}
		if !sameSet(p.On, counted) {
			notes = append(notes, fmt.Sprintf("NGINX counts %v as failures here (errors and timeouts always, 5xx only when retried); the scenario counts %v", counted, p.On))
		}
	}
	next := nginxNextUpstream(on)
	if r.Max > 0 {
		if !r.OncePerHost {
			notes = append(notes, "NGINX sends a retry to a server the request has not tried, each at most once (once_per_host); the scenario's retries do not say so")
		}
		if r.Backoff > 0 && !r.OncePerHost {
			notes = append(notes, "NGINX retries at once; the scenario waits a backoff")
		}
	}
	notes = append(notes, unexported(sc, "NGINX", "502")...)
	if h.Active != nil {
		notes = append(notes, "NGINX open source has no active health checks (NGINX Plus's health_check); balancer.health.active is not exported")
	}
	if h.SlowStart > 0 {
		notes = append(notes, "slow_start is NGINX Plus only; not exported")
	}

	fmt.Fprintf(b, `worker_processes 1;
pid nginx.pid;
error_log stderr notice;
events { worker_connections 4096; }
http {
  log_format edgelab '$msec $status "$upstream_addr" "$upstream_status" $request_time "$upstream_response_time"';
  access_log access.log edgelab buffer=256k flush=1s;
  upstream edgelab {
`)
	if method != "" {
		fmt.Fprintf(b, "    %s;\n", method)
	}
	for _, s := range srv {
		fmt.Fprintf(b, "    server %s weight=%d max_fails=%d fail_timeout=%s", s.addr, s.weight, maxFails, seconds(failTimeout))
		if s.spare {
			b.WriteString(" down")
		}
		fmt.Fprintf(b, "; # %s\n", s.name)
	}
	fmt.Fprintf(b, `    keepalive 64;
  }
  server {
    listen %s;
    location / {
      proxy_pass http://edgelab;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_next_upstream %s;
`, opt.Listen, next)
	if r.Max > 0 {
		fmt.Fprintf(b, "      proxy_next_upstream_tries %d;\n", r.Max+1)
	}
	if t := r.Timeout.D(); r.Max > 0 && t > 0 {
		fmt.Fprintf(b, "      proxy_next_upstream_timeout %s;\n", seconds(t))
	}
	if t := r.PerTryTimeout.D(); t > 0 {
		fmt.Fprintf(b, "      proxy_read_timeout %s;\n", seconds(t))
	}
	b.WriteString("    }\n  }\n}\n")
	return notes, nil
}
