// Package configs writes the real configuration of a load balancer that
// realizes a scenario's balancer — NGINX's upstream or HAProxy's backend,
// with the servers on the emulated backends' loopback ports — so that the
// real program can run in front of edgelab's backends with
// `edgelab live --gateway` and be compared with the simulation.
//
// What the program cannot express is never dropped in silence: Export
// returns it, and writes it as comments at the top of the configuration.
package configs

import (
	"fmt"
	"io"
	"math"
	"net"
	"slices"
	"strings"

	"github.com/edgelab/edgelab/live/wire"
	"github.com/edgelab/edgelab/plan"
	"github.com/edgelab/edgelab/workloads"
)

// Formats Export writes.
const (
	NGINX   = "nginx"
	HAProxy = "haproxy"
)

// Envoy is the format ImportEnvoy reads (there is no Envoy export yet).
const Envoy = "envoy"

// Formats lists them.
var Formats = []string{NGINX, HAProxy}

// Options say where the real program listens and where the backends are.
type Options struct {
	// Listen is the address the program listens on (default
	// 127.0.0.1:8080).
	Listen string
	// BackendPort is the emulated backends' first port, as given to
	// `edgelab live --backend-port` (default 9001).
	BackendPort int
	// Strategy is the scenario strategy to realize (default
	// balancer.strategy).
	Strategy string
	// Source names the scenario in the header comment.
	Source string
}

// Default options.
const (
	DefaultListen      = "127.0.0.1:8080"
	DefaultBackendPort = 9001
)

// Export writes the configuration of format for sc to w and returns what
// the program cannot express or only approximates (also written as
// comments). An error means the scenario cannot be realized at all (its
// strategy has no equivalent, or its backends do not fit the ports).
func Export(w io.Writer, format string, sc *workloads.Scenario, opt Options) (notes []string, err error) {
	if opt.Listen == "" {
		opt.Listen = DefaultListen
	}
	if opt.BackendPort == 0 {
		opt.BackendPort = DefaultBackendPort
	}
	if opt.Strategy == "" {
		opt.Strategy = sc.Balancer.Strategy
	}
	if _, _, err := net.SplitHostPort(opt.Listen); err != nil {
		return nil, fmt.Errorf("--listen %q: want host:port", opt.Listen)
	}
	if n := sc.Instances(); opt.BackendPort < 1 || opt.BackendPort+n-1 > 65535 {
		return nil, fmt.Errorf("--backend-port %d: the scenario's %d backends would listen past port 65535", opt.BackendPort, n)
	}
	if sc.Gateway != nil {
		notes = append(notes, "the scenario's gateway tier (stages, routes, instances) is not exported: the program balances the servers directly")
	}
	var b strings.Builder
	var more []string
	switch format {
	case NGINX:
		more, err = writeNGINX(&b, sc, opt)
	case HAProxy:
		more, err = writeHAProxy(&b, sc, opt)
	default:
		return nil, fmt.Errorf("unknown format %q (known: %s)", format, strings.Join(Formats, ", "))
	}
	if err != nil {
		return nil, err
	}
	notes = append(notes, more...)
	var head strings.Builder
	fmt.Fprintf(&head, "# %s configuration written by `edgelab export %s` from %s", format, format, opt.Source)
	for _, p := range plan.Presets(sc) {
		fmt.Fprintf(&head, " (%s: %s", p.Key, p.Name)
		if p.Version != "" {
			fmt.Fprintf(&head, "@%s", p.Version)
		}
		head.WriteString(")")
	}
	fmt.Fprintf(&head, ", strategy %s.\n# The servers are edgelab's emulated backends: run `edgelab live SCENARIO --gateway http://%s --backend-port %d`.\n",
		opt.Strategy, opt.Listen, opt.BackendPort)
	for _, n := range notes {
		fmt.Fprintf(&head, "# NOTE: %s\n", n)
	}
	if _, err := io.WriteString(w, head.String()+b.String()); err != nil {
		return nil, err
	}
	return notes, nil
}

// backend is one server line.
type backend struct {
	name, addr string
	weight     int
	spare      bool // an autoscaler's instance not started
}

// backends lists the servers on their live ports, with integer weights
// (both programs take whole weights; fractions are scaled when they can be).
func backends(sc *workloads.Scenario, basePort, maxWeight int) ([]backend, []string) {
	var notes []string
	servers := plan.Servers(sc)
	scale := 1.0
	for _, s := range servers {
		if s.Weight != math.Trunc(s.Weight) {
			scale = 10
		}
	}
	var out []backend
	clamped := false
	for k, s := range servers {
		w := int(math.Round(s.Weight * scale))
		if w < 1 || w > maxWeight {
			w, clamped = min(max(w, 1), maxWeight), true
		}
		out = append(out, backend{name: s.ID, addr: plan.BackendAddr(basePort, k), weight: w,
			spare: s.Index >= sc.Servers[s.Group].Count})
	}
	if scale != 1 {
		notes = append(notes, "fractional weights were multiplied by 10 and rounded")
	}
	if clamped {
		notes = append(notes, fmt.Sprintf("weights were clamped to 1…%d", maxWeight))
	}
	return out, notes
}

// unexported notes what neither NGINX nor HAProxy can express: a retry
// budget, Envoy-style outlier ejection, panic or fail-open when every
// server is out (program answers allDown instead), hedging and affinity.
func unexported(sc *workloads.Scenario, program, allDown string) []string {
	var notes []string
	h, r := sc.Balancer.Health, sc.Clients.Retries
	if r.Max > 0 && r.Budget > 0 {
		notes = append(notes, program+" has no retry budget")
	}
	if h.Outlier != nil {
		notes = append(notes, program+" has no Envoy-style outlier ejection; balancer.health.outlier is not exported")
	}
	if h.WhenAllUnhealthy == "panic" || h.WhenAllUnhealthy == "fail_open" || (h.PanicThreshold != nil && *h.PanicThreshold > 0) {
		notes = append(notes, program+" answers "+allDown+" when every server is out; it has no panic or fail-open mode")
	}
	if sc.Clients.Hedge.After > 0 {
		notes = append(notes, program+" does not hedge; clients.hedge is not exported")
	}
	if sc.Balancer.Affinity != "" {
		notes = append(notes, "balancer.affinity is not exported")
	}
	return notes
}

// retryOn returns the outcomes clients.retries.on names (its default when
// absent).
func retryOn(r workloads.Retries) []string {
	if r.On == nil {
		return []string{"error_5xx", "connect_failure", "timeout", "queue_full"}
	}
	return r.On
}

// conditionOrder is the order of the outcomes in conditions' words.
var conditionOrder = [4]string{"connect_failure", "timeout", "error_5xx", "queue_full"}

// conditions writes the outcomes in on in a program's words (one per
// entry of conditionOrder), or none when there are none.
func conditions(on []string, words [4]string, none string) string {
	var out []string
	for k, o := range conditionOrder {
		if slices.Contains(on, o) {
			out = append(out, words[k])
		}
	}
	if len(out) == 0 {
		return none
	}
	return strings.Join(out, " ")
}

func sameSet(a, b []string) bool {
	x, y := slices.Clone(a), slices.Clone(b)
	slices.Sort(x)
	slices.Sort(y)
	return slices.Equal(x, y)
}

// keyHeader and clientHeader carry the request key and client identity
// from edgelab's attacker, so that a hash in the real program hashes what
// the simulation hashes.
var (
	keyHeader    = wire.HeaderKey
	clientHeader = wire.HeaderClient
)

// nginxVar is the NGINX variable of a request header.
func nginxVar(h string) string {
	return "$http_" + strings.ReplaceAll(strings.ToLower(h), "-", "_")
}
