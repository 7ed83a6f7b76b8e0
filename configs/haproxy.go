package configs

import (
	"fmt"
	"strings"
	"time"

	"github.com/edgelab/edgelab/workloads"
)

// haproxyBalance is the balance line (and hash-type, server maxconn) of a
// strategy.
func haproxyBalance(sc *workloads.Scenario, strategy string) (balance, hashType string, maxconn int, notes []string, err error) {
	switch strategy {
	case "round-robin", "weighted-round-robin":
		return "roundrobin", "", 0, []string{"HAProxy's roundrobin is weighted and dynamic; edgelab's is smooth weighted round robin (the same shares)"}, nil
	case "least-request":
		return "leastconn", "", 0, []string{"leastconn breaks ties by round robin and counts queued connections, edgelab's least-request breaks ties at random"}, nil
	case "first":
		return "first", "", int(param(sc, strategy, "maxconn")), nil, nil
	case "p2c":
		c := int(param(sc, strategy, "choices"))
		if param(sc, strategy, "distinct") == 1 {
			notes = append(notes, "HAProxy's random(<draws>) draws with replacement; the scenario's p2c draws distinct servers (distinct: 1)")
		}
		return fmt.Sprintf("random(%d)", c), "", 0, notes, nil
	case "weighted-random":
		return "random(1)", "", 0, nil, nil
	case "ip-hash":
		return "hdr(" + clientHeader + ")", "", 0, []string{"edgelab's ip-hash hashes the client identity (sent as " + clientHeader + "); HAProxy's map-based hash uses another function, so clients land on other servers with the same spread"}, nil
	case "ring-hash":
		return "hdr(" + keyHeader + ")", "consistent", 0, []string{"HAProxy's consistent hash tree has its own number of points per server"}, nil
	case "bounded-hash":
		f := 100 * (1 + param(sc, strategy, "epsilon"))
		return "hdr(" + keyHeader + ")\n  hash-balance-factor " + fmt.Sprintf("%.0f", f), "consistent", 0, nil, nil
	}
	return "", "", 0, nil, fmt.Errorf("HAProxy has no balance algorithm like %s (it has roundrobin, static-rr, leastconn, first, random, and hashes)", strategy)
}

// haproxyRetryOn is retry-on for the outcomes retried.
func haproxyRetryOn(on []string) string {
	return conditions(on, [4]string{"conn-failure", "response-timeout", "500 502 504", "503"}, "none")
}

func writeHAProxy(b *strings.Builder, sc *workloads.Scenario, opt Options) ([]string, error) {
	srv, notes := backends(sc, opt.BackendPort, 256)
	balance, hashType, maxconn, more, err := haproxyBalance(sc, opt.Strategy)
	if err != nil {
		return nil, err
	}
	notes = append(notes, more...)
	h, r := sc.Balancer.Health, sc.Clients.Retries

	connect := 5 * time.Second
	redispatch := ""
	switch {
	case r.Max == 0:
	case r.SameHost:
		if t := r.Turnaround.D(); t < time.Second {
			// HAProxy's turn-around is min(timeout connect, 1s).
			connect = max(t, time.Millisecond)
		} else if t > time.Second {
			notes = append(notes, fmt.Sprintf("HAProxy's turn-around is at most 1 s; the scenario waits %s", t))
		}
		switch {
		case r.Redispatch == -1:
			redispatch = "option redispatch"
		case r.Redispatch != 0:
			redispatch = fmt.Sprintf("option redispatch %d", r.Redispatch)
		}
	default:
		// A retry through the balancer: every retry redispatched.
		redispatch = "option redispatch 1"
		notes = append(notes, "the scenario's retries go through the balancer: exported as option redispatch 1 (every retry elsewhere)")
		if r.Backoff > 0 {
			notes = append(notes, "HAProxy redispatches at once; the scenario waits a backoff")
		}
	}
	if r.Timeout > 0 {
		notes = append(notes, "HAProxy has no time limit on retries (clients.retries.timeout)")
	}
	notes = append(notes, unexported(sc, "HAProxy", "503")...)
	if h.Passive != nil {
		notes = append(notes, "NGINX's passive window (balancer.health.passive) has no HAProxy equivalent; not exported")
	}

	server := "60s"
	if t := r.PerTryTimeout.D(); t > 0 {
		server = seconds(t)
	}
	fmt.Fprintf(b, `global
  nbthread 1
  maxconn 4096
  log stderr format raw local0 notice
defaults
  mode http
  log global
  option httplog
  timeout connect %s
  timeout client 60s
  timeout server %s
  http-reuse always
  retries %d
`, seconds(connect), server, r.Max)
	if r.Max > 0 {
		fmt.Fprintf(b, "  retry-on %s\n", haproxyRetryOn(retryOn(r)))
	}
	if redispatch != "" {
		fmt.Fprintf(b, "  %s\n", redispatch)
	}
	if a := h.Active; a != nil && a.Timeout != a.Interval {
		// Without it, a check's whole timeout is inter.
		fmt.Fprintf(b, "  timeout check %s\n", seconds(a.Timeout.D()))
	}
	fmt.Fprintf(b, "frontend fe\n  bind %s\n  default_backend edgelab\nbackend edgelab\n  balance %s\n", opt.Listen, balance)
	if hashType != "" {
		fmt.Fprintf(b, "  hash-type %s\n", hashType)
	}
	for _, s := range srv {
		fmt.Fprintf(b, "  server %s %s weight %d", s.name, s.addr, s.weight)
		if maxconn > 0 {
			fmt.Fprintf(b, " maxconn %d", maxconn)
		}
		if a := h.Active; a != nil {
			fmt.Fprintf(b, " check inter %s rise %d fall %d", seconds(a.Interval.D()), a.Healthy, a.Unhealthy)
		}
		if s.spare {
			b.WriteString(" disabled")
		}
		b.WriteString("\n")
	}
	return notes, nil
}
