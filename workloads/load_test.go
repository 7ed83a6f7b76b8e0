package workloads_test

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgelab/edgelab/engine"
	"github.com/edgelab/edgelab/workloads"
)

// validYAML is a minimal valid scenario. Its lines are:
//
//	1 name  2 duration  3 warmup  4 clients  5 arrival  6 servers
//	7 - name  8 count  9 service
//
// Cases either append lines (a line at column 4 belongs to servers[0]) or
// replace one line with edit, which keeps the line numbers.
const validYAML = `name: t
duration: 10s
warmup: 1s
clients:
  arrival: {process: poisson, rate: 100}
servers:
  - name: web
    count: 2
    service: {dist: exponential, mean: 10ms}
`

// edit replaces the first occurrence of old in validYAML.
func edit(old, new string) string {
	if !strings.Contains(validYAML, old) {
		panic("edit: " + old + " is not in validYAML")
	}
	return strings.Replace(validYAML, old, new, 1)
}

// lines joins its arguments as the lines of a file: argument i is line i+1.
func lines(l ...string) string { return strings.Join(l, "\n") + "\n" }

// withService is validYAML with servers[0].service (line 9) replaced.
func withService(svc string) string {
	return edit("service: {dist: exponential, mean: 10ms}", "service: "+svc)
}

type badCase struct {
	name  string
	yaml  string
	line  int    // expected Error.Line (0: no line)
	field string // expected Error.Field ("" when the error has none)
	want  []string
}

// badCases are malformed scenarios with the error each must produce. The
// fuzz target seeds its corpus with them too.
var badCases = []badCase{
	// Document structure.
	{name: "syntax error", yaml: lines("name: t", "duration: 10s", "clients: {arrival: [1, 2}"), line: 3,
		want: []string{"YAML syntax"}},
	{name: "syntax error bad indent", yaml: lines("name: t", "clients:", "  arrival: 1", " keys: 2"), line: 4,
		want: []string{"YAML syntax"}},
	{name: "syntax error on line 1", yaml: "clients: {arrival: [1, 2}\nname: t\n", line: 1,
		want: []string{"YAML syntax: did not find expected ',' or ']'"}},
	{name: "scanner error", yaml: lines("name: t", "duration: 10s", "servers: a: b"), line: 3,
		want: []string{"YAML syntax: mapping values are not allowed"}},
	{name: "tab indentation", yaml: lines("name: t", "clients:", "\tarrival: {rate: 1}"), line: 3,
		want: []string{"YAML syntax"}},
	{name: "unclosed quote", yaml: lines("name: t", "duration: 10s", `name2: "abc`, "x: 1"), line: 3,
		want: []string{"YAML syntax"}},
	{name: "empty file", yaml: "", want: []string{"the file is empty"}},
	{name: "only comments", yaml: "# nothing here\n\n", want: []string{"the file is empty"}},
	{name: "two documents", yaml: validYAML + "---\nname: u\n", line: 10,
		want: []string{"more than one YAML document"}},
	{name: "broken second document", yaml: validYAML + "---\n[\n", line: 12, want: []string{"YAML syntax"}},
	{name: "top level is a list", yaml: lines("- name: t", "- duration: 1s"), line: 1,
		want: []string{"a scenario is a mapping"}},
	{name: "top level is a scalar", yaml: "hello\n", line: 1, want: []string{"a scenario is a mapping"}},
	{name: "alias", yaml: lines("name: t", "duration: 10s", "clients:", "  arrival: &a {rate: 1}",
		"  keys: *a", "servers: [{count: 1, service: {mean: 1s}}]"), line: 5,
		want: []string{"YAML aliases"}},
	{name: "nesting too deep", yaml: "name: " + strings.Repeat("[", 80) + strings.Repeat("]", 80) + "\n", line: 1,
		want: []string{"nesting is too deep"}},

	// Keys.
	{name: "unknown top-level key", yaml: validYAML + "durration: 10s\n", line: 10, field: "durration",
		want: []string{"unknown key", `did you mean "duration"?`}},
	{name: "unknown nested key", yaml: validYAML + "    concurency: 4\n", line: 10, field: "servers[0].concurency",
		want: []string{"unknown key", `did you mean "concurrency"?`}},
	{name: "unknown key in flow mapping", yaml: edit("{process: poisson, rate: 100}", "{process: poisson, rat: 100}"),
		line: 5, field: "clients.arrival.rat", want: []string{`did you mean "rate"?`}},
	{name: "unknown key far from any", yaml: validYAML + "autoscaler: {instances: 2}\n", line: 10, field: "autoscaler",
		want: []string{"unknown key", "(known: balancer, clients, cost, duration, gateway, name, replications, seed, servers, warmup)"}},
	{name: "repeated key", yaml: validYAML + "duration: 20s\n", line: 10, field: "duration",
		want: []string{"key repeated (first at line 2)"}},
	{name: "repeated key in flow mapping", yaml: edit("rate: 100}", "rate: 100, rate: 200}"), line: 5,
		field: "clients.arrival.rate", want: []string{"key repeated (first at line 5)"}},

	// Types.
	{name: "string for a number", yaml: edit("rate: 100", "rate: fast"), line: 5, field: "clients.arrival.rate",
		want: []string{"want a number, got text `fast`"}},
	{name: "string for an integer", yaml: edit("count: 2", "count: many"), line: 8, field: "servers[0].count",
		want: []string{"`many`"}},
	{name: "fraction for an integer", yaml: edit("count: 2", "count: 1.5"), line: 8, field: "servers[0].count",
		want: []string{"want a whole number, got 1.5"}},
	{name: "fraction for queue", yaml: validYAML + "    queue: 0.5\n", line: 10, field: "servers[0].queue",
		want: []string{"want a whole number"}},
	{name: "negative seed", yaml: validYAML + "seed: -1\n", line: 10, field: "seed",
		want: []string{"want a whole number from 0 to 18446744073709551615, got -1"}},
	// yaml.v3 reads 2^64 as a float and would make it 2^63.
	{name: "seed beyond uint64", yaml: validYAML + "seed: 18446744073709551616\n", line: 10, field: "seed",
		want: []string{"want a whole number from 0 to 18446744073709551615, got 18446744073709551616"}},
	{name: "inexact float seed", yaml: validYAML + "seed: 1e18\n", line: 10, field: "seed",
		want: []string{"write 1e18 in digits"}},
	// A name is printed and becomes ids and log lines: no escape
	// sequences, carriage returns or bidirectional overrides.
	{name: "escape sequence in the name", yaml: edit("name: t", `name: "t\x1b[2J"`), line: 1, field: "name",
		want: []string{"control or format characters"}},
	{name: "bidi override in a group name", yaml: edit("  - name: web", `  - name: "web\u202e"`), line: 7, field: "servers[0].name",
		want: []string{"control or format characters"}},
	// YAML 1.1 reads a leading 0 as octal: count 010 would be 8.
	{name: "octal count", yaml: edit("count: 2", "count: 010"), line: 8, field: "servers[0].count",
		want: []string{"want a whole number in decimal digits, got 010"}},
	{name: "hex count", yaml: edit("count: 2", "count: 0x10"), line: 8, field: "servers[0].count",
		want: []string{"want a whole number in decimal digits, got 0x10"}},
	{name: "list for a mapping", yaml: edit("  arrival: {process: poisson, rate: 100}", "  arrival: [poisson, 100]"),
		line: 5, field: "clients.arrival", want: []string{"want a mapping of keys, got a list"}},
	{name: "scalar for a mapping", yaml: withService("exponential"), line: 9, field: "servers[0].service",
		want: []string{"want a mapping of keys, got a scalar"}},
	{name: "mapping for a list", yaml: lines("duration: 10s", "clients: {arrival: {rate: 1}}", "servers:", "  count: 1"),
		line: 4, field: "servers", want: []string{"want a list, got a mapping"}},
	{name: "list for a string", yaml: edit("name: t", "name: [t]"), line: 1, field: "name",
		want: []string{"want text, got a list"}},
	{name: "list for a duration", yaml: withService("{dist: exponential, mean: [10ms]}"), line: 9,
		field: "servers[0].service.mean", want: []string{`want a duration such as "250ms", got a list`}},
	{name: "bad duration", yaml: edit("duration: 10s", "duration: 10 parsecs"), line: 2, field: "duration",
		want: []string{`got "10 parsecs"`}},
	{name: "duration without unit", yaml: edit("duration: 10s", "duration: 10"), line: 2, field: "duration",
		want: []string{`got "10"`}},
	{name: "mapping for speed", yaml: validYAML + "    speed: {a: 1}\n", line: 10, field: "servers[0].speed",
		want: []string{"want a number or a list of numbers, got a mapping"}},
	{name: "text in speed list", yaml: validYAML + "    speed: [1, fast]\n", line: 10, field: "servers[0].speed",
		want: []string{`want a number, got "fast"`}},
	{name: "empty speed list", yaml: validYAML + "    speed: []\n", line: 10, field: "servers[0].speed",
		want: []string{"non-empty list"}},

	// Top-level values.
	{name: "duration missing", yaml: strings.Replace(validYAML, "duration: 10s\nwarmup: 1s\n", "", 1), field: "duration",
		want: []string{"must be greater than 0"}},
	{name: "duration zero", yaml: edit("duration: 10s", "duration: 0"), line: 2, field: "duration",
		want: []string{"must be greater than 0"}},
	{name: "warmup equals duration", yaml: edit("warmup: 1s", "warmup: 10s"), line: 3, field: "warmup",
		want: []string{"must be shorter than duration"}},
	{name: "warmup above duration", yaml: edit("warmup: 1s", "warmup: 1m"), line: 3, field: "warmup",
		want: []string{"must be shorter than duration"}},
	{name: "negative warmup", yaml: edit("warmup: 1s", "warmup: -1s"), line: 3, field: "warmup",
		want: []string{"must not be negative"}},
	{name: "run time overflows", yaml: edit("duration: 10s\nwarmup: 1s", "duration: 2562047h\nwarmup: 2562046h"),
		line: 2, field: "duration", want: []string{"warmup + duration must be at most"}},
	{name: "negative replications", yaml: validYAML + "replications: -1\n", line: 10, field: "replications",
		want: []string{"must be between 1 and 1000"}},

	// Clients.
	{name: "negative rate", yaml: edit("rate: 100", "rate: -5"), line: 5, field: "clients.arrival.rate",
		want: []string{"above 0 (got -5)"}},
	{name: "zero rate", yaml: edit("rate: 100", "rate: 0"), line: 5, field: "clients.arrival.rate",
		want: []string{"above 0 (got 0)"}},
	{name: "rate missing", yaml: edit("{process: poisson, rate: 100}", "{process: constant}"), line: 5,
		field: "clients.arrival.rate", want: []string{"above 0"}},
	{name: "nan rate", yaml: edit("rate: 100", "rate: .nan"), line: 5, field: "clients.arrival.rate",
		want: []string{"above 0"}},
	{name: "unknown process", yaml: edit("process: poisson", "process: bursty"), line: 5, field: "clients.arrival.process",
		want: []string{`"bursty" is not one of: poisson, constant, sine, ramp, steps, mmpp, trace, closed`}},
	{name: "mmpp without burst", yaml: edit("process: poisson, rate: 100}", "process: mmpp, rate: 100, calm: 1s}"), line: 5,
		field: "clients.arrival.burst", want: []string{"mean length of its bursts"}},
	{name: "mmpp low above rate", yaml: edit("process: poisson, rate: 100}", "process: mmpp, rate: 100, low: 200, burst: 1s, calm: 1s}"), line: 5,
		field: "clients.arrival.low", want: []string{"below the burst rate 100"}},
	{name: "poisson with burst", yaml: edit("rate: 100}", "rate: 100, burst: 1s}"), line: 5,
		field: "clients.arrival.burst", want: []string{"belongs to process: mmpp"}},
	{name: "sine without amplitude", yaml: edit("process: poisson", "process: sine"), line: 5,
		field: "clients.arrival.amplitude", want: []string{"must be above 0 and at most the rate"}},
	{name: "poisson with amplitude", yaml: edit("rate: 100}", "rate: 100, amplitude: 150}"), line: 5,
		field: "clients.arrival.amplitude", want: []string{"belongs to process: sine"}},
	{name: "sine negative rate swing", yaml: edit("process: poisson, rate: 100}", "process: sine, rate: 100, amplitude: 150}"), line: 5,
		field: "clients.arrival.amplitude", want: []string{"never goes negative (got 150)"}},
	{name: "sine negative period", yaml: edit("process: poisson, rate: 100}", "process: sine, rate: 100, amplitude: 50, period: -1s}"), line: 5,
		field: "clients.arrival.period", want: []string{"positive duration"}},
	{name: "ramp without to", yaml: edit("process: poisson", "process: ramp"), line: 5,
		field: "clients.arrival.to", want: []string{"between"}},
	{name: "poisson with to", yaml: edit("rate: 100}", "rate: 100, to: 500}"), line: 5,
		field: "clients.arrival.to", want: []string{"belongs to process: ramp"}},
	{name: "closed without users", yaml: edit("{process: poisson, rate: 100}", "{process: closed, think: 1s}"), line: 5,
		field: "clients.arrival.users", want: []string{"a closed process needs 1 to"}},
	{name: "closed with a rate", yaml: edit("{process: poisson, rate: 100}", "{process: closed, users: 10, rate: 5}"), line: 5,
		field: "clients.arrival.rate", want: []string{"not a rate"}},
	{name: "closed negative think", yaml: edit("{process: poisson, rate: 100}", "{process: closed, users: 10, think: -1s}"),
		line: 5, field: "clients.arrival.think", want: []string{"must not be negative"}},
	{name: "poisson with users", yaml: edit("rate: 100}", "rate: 100, users: 10}"), line: 5,
		field: "clients.arrival.users", want: []string{"belong to process: closed"}},
	{name: "poisson with think", yaml: edit("rate: 100}", "rate: 100, think: 1s}"), line: 5,
		field: "clients.arrival.users", want: []string{"belong to process: closed"}},
	{name: "negative client count", yaml: edit("clients:\n", "clients:\n  count: -3\n"), line: 5, field: "clients.count",
		want: []string{"must be between 1 and"}},
	{name: "negative timeout", yaml: edit("clients:\n", "clients:\n  timeout: -1s\n"), line: 5, field: "clients.timeout",
		want: []string{"must not be negative"}},
	{name: "zipf negative n", yaml: edit("clients:\n", "clients:\n  keys: {dist: zipf, n: -1}\n"), line: 5,
		field: "clients.keys.n", want: []string{"must be between 1 and 10000000"}},
	{name: "keys n too large", yaml: edit("clients:\n", "clients:\n  keys: {dist: uniform, n: 20000000}\n"), line: 5,
		field: "clients.keys.n", want: []string{"must be between 1 and 10000000"}},
	{name: "zipf negative s", yaml: edit("clients:\n", "clients:\n  keys: {dist: zipf, s: -1}\n"), line: 5,
		field: "clients.keys.s", want: []string{"between 0 and 100"}},
	{name: "uniform keys with s", yaml: edit("clients:\n", "clients:\n  keys: {dist: uniform, s: 1.2}\n"), line: 5,
		field: "clients.keys.s", want: []string{"uniform keys take only n"}},
	{name: "unknown key dist", yaml: edit("clients:\n", "clients:\n  keys: {dist: pareto}\n"), line: 5,
		field: "clients.keys.dist", want: []string{`"pareto" is not one of: uniform, zipf`}},

	// Balancer.

	// Servers.
	{name: "no servers", yaml: lines("duration: 10s", "clients: {arrival: {rate: 1}}"), field: "servers",
		want: []string{"at least one server group"}},
	{name: "empty server list", yaml: lines("duration: 10s", "clients: {arrival: {rate: 1}}", "servers: []"), line: 3,
		field: "servers", want: []string{"at least one server group"}},
	{name: "zero instances", yaml: edit("count: 2", "count: 0"), line: 8, field: "servers[0].count",
		want: []string{"must be between 1 and 100000 instances (got 0)"}},
	{name: "count missing", yaml: strings.Replace(validYAML, "    count: 2\n", "", 1), line: 7, field: "servers[0].count",
		want: []string{"(got 0)"}},
	{name: "too many instances", yaml: edit("count: 2", "count: 60000") + "  - {name: b, count: 60000, service: {mean: 1s}}\n",
		line: 6, field: "servers", want: []string{"120000 instances in all"}},
	{name: "negative concurrency", yaml: validYAML + "    concurrency: -1\n", line: 10, field: "servers[0].concurrency",
		want: []string{"must be between 1 and 1000000 (got -1)"}},
	{name: "negative queue", yaml: validYAML + "    queue: -1\n", line: 10, field: "servers[0].queue",
		want: []string{"omit it for an unbounded queue"}},
	{name: "unknown discipline", yaml: validYAML + "    discipline: lifo\n", line: 10, field: "servers[0].discipline",
		want: []string{`"lifo" is not one of: fifo, ps`}},
	{name: "errors above 1", yaml: validYAML + "    errors: 1.5\n", line: 10, field: "servers[0].errors",
		want: []string{"probability between 0 and 1 (got 1.5)"}},
	{name: "negative errors", yaml: validYAML + "    errors: -0.1\n", line: 10, field: "servers[0].errors",
		want: []string{"probability"}},
	{name: "speed list too short", yaml: validYAML + "    speed: [1, 1, 0.5]\n", line: 10, field: "servers[0].speed",
		want: []string{"has 3 values for 2 instances"}},
	{name: "speed zero", yaml: validYAML + "    speed: 0\n", line: 10, field: "servers[0].speed",
		want: []string{"values must be between 1e-06 and 1e+06 (got 0)"}},
	{name: "speed zero in list", yaml: validYAML + "    speed: [1, 0]\n", line: 10, field: "servers[0].speed",
		want: []string{"(got 0)"}},
	{name: "negative weight", yaml: validYAML + "    weight: -1\n", line: 10, field: "servers[0].weight",
		want: []string{"(got -1)"}},
	{name: "tiny speed", yaml: validYAML + "    speed: 1e-300\n", line: 10, field: "servers[0].speed",
		want: []string{"(got 1e-300)"}},
	{name: "tiny rate", yaml: edit("rate: 100", "rate: 1e-300"), line: 5, field: "clients.arrival.rate",
		want: []string{"must be at least 1e-06 requests/second (got 1e-300)"}},
	{name: "gamma tiny shape", yaml: withService("{dist: gamma, mean: 10ms, shape: 5e-324}"), line: 9,
		field: "servers[0].service.shape", want: []string{"shape between 1e-06 and 1e+06"}},
	{name: "duplicate group names", yaml: validYAML + "  - name: web\n    count: 1\n    service: {mean: 1s}\n", line: 10,
		field: "servers[1].name", want: []string{`"web" is already the name of servers[0]`}},
	{name: "default name collides", yaml: lines("duration: 10s", "clients: {arrival: {rate: 1}}", "servers:",
		"  - {name: group1, count: 1, service: {mean: 1s}}", "  - {count: 1, service: {mean: 1s}}"), line: 5,
		field: "servers[1].name", want: []string{`"group1" is already the name of servers[0]`}},

	// Service distributions.
	{name: "mean missing", yaml: withService("{dist: exponential}"), line: 9, field: "servers[0].service.mean",
		want: []string{"exponential needs a mean above 0"}},
	{name: "negative mean", yaml: withService("{dist: constant, mean: -1ms}"), line: 9, field: "servers[0].service.mean",
		want: []string{"constant needs a mean above 0"}},
	{name: "unknown dist", yaml: withService("{dist: weibull, mean: 1ms}"), line: 9, field: "servers[0].service.dist",
		want: []string{`"weibull" is not one of: exponential, constant, normal, lognormal, pareto, gamma, hyperexp, uniform`}},
	{name: "exponential with sigma", yaml: withService("{dist: exponential, mean: 10ms, sigma: 1}"), line: 9,
		field: "servers[0].service.sigma", want: []string{"exponential does not take sigma (it takes: mean)"}},
	{name: "uniform with mean", yaml: withService("{dist: uniform, mean: 10ms, max: 20ms}"), line: 9,
		field: "servers[0].service.mean", want: []string{"uniform does not take mean (it takes: min, max)"}},
	{name: "uniform max below min", yaml: withService("{dist: uniform, min: 20ms, max: 10ms}"), line: 9,
		field: "servers[0].service.max", want: []string{"0 ≤ min ≤ max"}},
	{name: "normal negative sd", yaml: withService("{dist: normal, mean: 10ms, sd: -1ms}"), line: 9,
		field: "servers[0].service.sd", want: []string{"must not be negative"}},
	{name: "lognormal p99 below mean", yaml: withService("{dist: lognormal, mean: 10ms, p99: 5ms}"), line: 9,
		field: "servers[0].service.p99", want: []string{"must be above the mean"}},
	{name: "lognormal p99 too far", yaml: withService("{dist: lognormal, mean: 10ms, p99: 1s}"), line: 9,
		field: "servers[0].service.p99", want: []string{"no lognormal has mean", "at most 15.0× the mean"}},
	{name: "lognormal sigma and p99", yaml: withService("{dist: lognormal, mean: 10ms, sigma: 1, p99: 50ms}"), line: 9,
		field: "servers[0].service.p99", want: []string{"give sigma or p99, not both"}},
	{name: "lognormal neither", yaml: withService("{dist: lognormal, mean: 10ms}"), line: 9,
		field: "servers[0].service.sigma", want: []string{"lognormal needs sigma"}},
	{name: "pareto alpha 1", yaml: withService("{dist: pareto, mean: 10ms, alpha: 1}"), line: 9,
		field: "servers[0].service.alpha", want: []string{"alpha > 1", "(got 1)"}},
	{name: "pareto alpha below 1", yaml: withService("{dist: pareto, mean: 10ms, alpha: 0.5}"), line: 9,
		field: "servers[0].service.alpha", want: []string{"(got 0.5)"}},
	{name: "gamma shape and scv", yaml: withService("{dist: gamma, mean: 10ms, shape: 2, scv: 0.5}"), line: 9,
		field: "servers[0].service.scv", want: []string{"give shape or scv, not both"}},
	{name: "gamma without shape", yaml: withService("{dist: gamma, mean: 10ms}"), line: 9,
		field: "servers[0].service.shape", want: []string{"gamma needs shape > 0 or scv > 0"}},
	{name: "gamma tiny scv", yaml: withService("{dist: gamma, mean: 10ms, scv: 1e-9}"), line: 9,
		field: "servers[0].service.scv", want: []string{"between 1e-06 and 1e+06"}},
	{name: "hyperexp scv below 1", yaml: withService("{dist: hyperexp, mean: 10ms, scv: 0.5}"), line: 9,
		field: "servers[0].service.scv", want: []string{"hyperexp needs scv ≥ 1 (got 0.5)"}},
	{name: "hyperexp block style", yaml: withService("\n      dist: hyperexp\n      mean: 10ms\n      scv: 0.5"), line: 12,
		field: "servers[0].service.scv", want: []string{"scv ≥ 1"}},
}

func TestParseMalformed(t *testing.T) {
	for _, c := range badCases {
		t.Run(c.name, func(t *testing.T) {
			sc, err := workloads.Parse([]byte(c.yaml), "bad.yaml", nil)
			if err == nil {
				t.Fatalf("Parse accepted:\n%s\n(got %+v)", c.yaml, sc)
			}
			var e *workloads.Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T %q is not a *workloads.Error", err, err)
			}
			msg := err.Error()
			prefix := "bad.yaml: "
			if c.line > 0 {
				prefix = fmt.Sprintf("bad.yaml:%d: ", c.line)
			}
			if c.field != "" {
				prefix += c.field + ": "
			}
			if !strings.HasPrefix(msg, prefix) {
				t.Errorf("error %q does not start with %q", msg, prefix)
			}
			if e.File != "bad.yaml" || e.Line != c.line || e.Field != c.field {
				t.Errorf("error at file %q line %d field %q, want bad.yaml line %d field %q (%s)",
					e.File, e.Line, e.Field, c.line, c.field, msg)
			}
			for _, w := range c.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not contain %q", msg, w)
				}
			}
			if !workloads.IsInputError(fmt.Errorf("wrapped: %w", err)) {
				t.Errorf("IsInputError(wrapped) = false")
			}
		})
	}
}

func mustParse(t *testing.T, yaml string, sets ...string) *workloads.Scenario {
	t.Helper()
	sc, err := workloads.Parse([]byte(yaml), "ok.yaml", sets)
	if err != nil {
		t.Fatalf("Parse: %v\n%s", err, yaml)
	}
	return sc
}

func TestParseDefaults(t *testing.T) {
	sc := mustParse(t, lines("duration: 10s", "clients: {arrival: {rate: 50}}", "servers: [{service: {mean: 5ms}, count: 3}]"))
	g := sc.Servers[0]
	checks := []struct {
		what      string
		got, want any
	}{
		{"name", sc.Name, "scenario"},
		{"seed", sc.Seed, uint64(1)},
		{"replications", sc.Replications, 1},
		{"warmup", sc.Warmup, workloads.Duration(0)},
		{"process", sc.Clients.Arrival.Process, workloads.ProcessPoisson},
		{"clients.count", sc.Clients.Count, 1000},
		{"clients.timeout", sc.Clients.Timeout, workloads.Duration(0)},
		{"keys.dist", sc.Clients.Keys.Dist, workloads.KeysUniform},
		{"keys.n", sc.Clients.Keys.N, 10000},
		{"keys.s", sc.Clients.Keys.S, 0.0},
		{"strategy", sc.Balancer.Strategy, "round-robin"},
		{"strategies", fmt.Sprint(sc.Strategies()), "[round-robin]"},
		{"group name", g.Name, "group0"},
		{"concurrency", g.Concurrency, 1},
		{"discipline", g.Discipline, workloads.DisciplineFIFO},
		{"service.dist", g.Service.Dist, workloads.DistExponential},
		{"errors", g.Errors, 0.0},
		{"bounded", g.Bounded(), false},
		{"speed", g.Speed.At(2, 1), 1.0},
		{"weight", g.Weight.At(2, 1), 1.0},
		{"instances", sc.Instances(), 3},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v (%T), want %v (%T)", c.what, c.got, c.got, c.want, c.want)
		}
	}

	sc = mustParse(t, edit("clients:\n", "clients:\n  keys: {dist: zipf, n: 50, s: 0.8}\n"))
	if k := sc.Clients.Keys; k.N != 50 || k.S != 0.8 {
		t.Errorf("zipf keys n %d s %g, want 50 and 0.8", k.N, k.S)
	}
}

// An absent key takes its default; an explicit zero is never silently
// replaced by it: where zero is a setting it means zero, elsewhere it is
// refused, naming the default.
func TestExplicitZeros(t *testing.T) {
	retry := func(r string) string { return edit("clients:\n", "clients:\n  retries: "+r+"\n") }
	kept := []struct {
		name, yaml string
		check      func(sc *workloads.Scenario) bool
	}{
		{"seed 0", validYAML + "seed: 0\n", func(sc *workloads.Scenario) bool { return sc.Seed == 0 }},
		{"no seed", validYAML, func(sc *workloads.Scenario) bool { return sc.Seed == 1 }},
		{"backoff 0s", retry("{max: 2, backoff: 0s}"), func(sc *workloads.Scenario) bool { return sc.Clients.Retries.Backoff == 0 }},
		{"no backoff", retry("{max: 2}"), func(sc *workloads.Scenario) bool { return sc.Clients.Retries.Backoff.D() == 25*time.Millisecond }},
		{"min_concurrency 0", retry("{max: 2, budget: 0.2, min_concurrency: 0}"), func(sc *workloads.Scenario) bool { return sc.Clients.Retries.MinConcurrency == 0 }},
		{"hedge max 0", edit("clients:\n", "clients:\n  hedge: {after: 50ms, max: 0}\n"), func(sc *workloads.Scenario) bool { return sc.Clients.Hedge.Max == 0 }},
		{"max_ejection_percent 0", validYAML + "balancer: {health: {outlier: {max_ejection_percent: 0}}}\n",
			func(sc *workloads.Scenario) bool { return sc.Balancer.Health.Outlier.MaxEjectionPercent == 0 }},
	}
	for _, c := range kept {
		if sc := mustParse(t, c.yaml); !c.check(sc) {
			t.Errorf("%s: not what was written (or the default when absent)", c.name)
		}
	}
	refused := []struct {
		name, yaml, field, want string
	}{
		{"concurrency 0", validYAML + "    concurrency: 0\n", "servers[0].concurrency", "0 is not a setting of this key; omit the key for its default (1)"},
		{"keys n 0", edit("clients:\n", "clients:\n  keys: {dist: zipf, n: 0}\n"), "clients.keys.n", "default (10000)"},
		{"replications 0", validYAML + "replications: 0\n", "replications", "default (1)"},
		{"empty strategy", validYAML + "balancer: {strategy: \"\"}\n", "balancer.strategy", `"" is not a setting of this key; omit the key for its default (round-robin)`},
		{"interval 0s", validYAML + "balancer: {health: {active: {interval: 0s}}}\n", "balancer.health.active.interval", "default (5s)"},
	}
	for _, c := range refused {
		_, err := workloads.Parse([]byte(c.yaml), "z.yaml", nil)
		var e *workloads.Error
		if !errors.As(err, &e) || e.Field != c.field || !strings.Contains(e.Msg, c.want) || e.Line == 0 {
			t.Errorf("%s: error %v; want %s at its line: %q", c.name, err, c.field, c.want)
		}
	}
	// A text key whose value reads as a zero duration is a name like any
	// other; YAML's 1_000 is a thousand.
	if sc, err := workloads.Parse([]byte(edit("name: t", `name: "0s"`)+"    concurrency: 1_000\n"), "z.yaml", nil); err != nil ||
		sc.Name != "0s" || sc.Servers[0].Concurrency != 1000 {
		t.Errorf("name 0s, concurrency 1_000: %v", err)
	}
	// The same through --set.
	if _, err := workloads.Parse([]byte(validYAML), "z.yaml", []string{"servers[0].concurrency=0"}); err == nil || !strings.Contains(err.Error(), "--set") {
		t.Errorf("--set servers[0].concurrency=0: %v", err)
	}
	if sc, err := workloads.Parse([]byte(validYAML), "z.yaml", []string{"seed=0"}); err != nil || sc.Seed != 0 {
		t.Errorf("--set seed=0: seed %d, %v", sc.Seed, err)
	}
}

func TestParseValues(t *testing.T) {
	sc := mustParse(t, validYAML+"    speed: 0.5\n    weight: [3, 1]\n    queue: 0\n")
	g := sc.Servers[0]
	if len(g.Speed) != 1 || g.Speed.At(0, 1) != 0.5 || g.Speed.At(1, 1) != 0.5 {
		t.Errorf("scalar speed = %v, want 0.5 for every instance", g.Speed)
	}
	if g.Weight.At(0, 1) != 3 || g.Weight.At(1, 1) != 1 {
		t.Errorf("weight list = %v, want [3 1]", g.Weight)
	}
	if !g.Bounded() || *g.Queue != 0 {
		t.Errorf("queue: 0 → bounded %v, want a bounded queue of 0", g.Bounded())
	}

	sc = mustParse(t, validYAML+"    speed: [1, 0.25]\n")
	if sc.Servers[0].Speed.At(1, 1) != 0.25 {
		t.Errorf("speed list = %v", sc.Servers[0].Speed)
	}

	// A whole number written as a float is a whole number.
	sc = mustParse(t, edit("count: 2", "count: 2.0"))
	if sc.Servers[0].Count != 2 {
		t.Errorf("count: 2.0 → %d", sc.Servers[0].Count)
	}

	// Gamma's scv is turned into its shape.
	sc = mustParse(t, withService("{dist: gamma, mean: 10ms, scv: 0.25}"))
	if s := sc.Servers[0].Service; s.Shape != 4 || s.SCV != 0 {
		t.Errorf("gamma scv 0.25 → shape %g scv %g, want shape 4", s.Shape, s.SCV)
	}

	// compare is de-duplicated after strategy.
	sc = mustParse(t, validYAML+"balancer: {strategy: p2c, compare: [random, p2c, random]}\n")
	if got := fmt.Sprint(sc.Strategies()); got != "[p2c random]" {
		t.Errorf("Strategies() = %s", got)
	}

	// A closed process.
	sc = mustParse(t, edit("{process: poisson, rate: 100}", "{process: closed, users: 20, think: 100ms}"))
	if a := sc.Clients.Arrival; a.Users != 20 || a.Think.D().Milliseconds() != 100 || a.Rate != 0 {
		t.Errorf("closed arrival = %+v", a)
	}
}

func TestEmbeddedAndExamplesParse(t *testing.T) {
	sc, err := workloads.Parse(workloads.Quickstart(), workloads.QuickstartName, nil)
	if err != nil {
		t.Fatalf("quick-start: %v", err)
	}
	if sc.Name != "quickstart" || len(sc.Strategies()) != 5 {
		t.Errorf("quick-start: name %q, strategies %v", sc.Name, sc.Strategies())
	}
	files, _ := filepath.Glob("../examples/*.yaml")
	for _, f := range files {
		if _, err := workloads.Load(f, nil); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

func TestLoadMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope.yaml")
	_, err := workloads.Load(path, nil)
	var e *workloads.Error
	if !errors.As(err, &e) || e.File != path || !strings.Contains(err.Error(), "cannot read") {
		t.Fatalf("Load(missing) = %v", err)
	}
}

func TestLoadNamesTheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.yaml")
	if err := os.WriteFile(path, []byte(edit("rate: 100", "rate: -1")), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := workloads.Load(path, nil)
	if err == nil || !strings.HasPrefix(err.Error(), path+":5: clients.arrival.rate: ") {
		t.Fatalf("Load = %v, want %s:5: clients.arrival.rate: ...", err, path)
	}
}

// setBase is validYAML with three instances, so per-instance lists of three
// values fit.
var setBase = edit("count: 2", "count: 3")

func TestSet(t *testing.T) {
	sc := mustParse(t, setBase,
		"clients.arrival.rate=900",
		"servers[0].speed=[1,1,0.5]",
		"clients.timeout=2s",
		"duration=1m30s",
		"warmup=0",
		"clients.keys.dist=zipf",
		"servers[0].queue=0",
		"balancer.strategy=p2c",
		"name=over ridden",
	)
	g := sc.Servers[0]
	switch {
	case sc.Clients.Arrival.Rate != 900:
		t.Errorf("rate = %g", sc.Clients.Arrival.Rate)
	case len(g.Speed) != 3 || g.Speed.At(2, 1) != 0.5:
		t.Errorf("speed = %v", g.Speed)
	case sc.Clients.Timeout.Seconds() != 2:
		t.Errorf("timeout = %s", sc.Clients.Timeout)
	case sc.Duration.Seconds() != 90 || sc.Warmup != 0:
		t.Errorf("duration %s warmup %s", sc.Duration, sc.Warmup)
	case sc.Clients.Keys.Dist != "zipf" || sc.Clients.Keys.S != 1.1:
		t.Errorf("keys = %+v", sc.Clients.Keys)
	case !g.Bounded() || *g.Queue != 0:
		t.Errorf("queue not bounded at 0")
	case sc.Balancer.Strategy != "p2c" || sc.Name != "over ridden":
		t.Errorf("strategy %q name %q", sc.Balancer.Strategy, sc.Name)
	}

	// Sets apply in order, and a list index reaches into the file's list.
	sc = mustParse(t, validYAML, "servers[0].count=12", "servers[0].count=4", "servers[0].speed=[1, 1, 1, 0.5]")
	if sc.Servers[0].Count != 4 || len(sc.Servers[0].Speed) != 4 {
		t.Errorf("count %d speed %v", sc.Servers[0].Count, sc.Servers[0].Speed)
	}
	sc = mustParse(t, validYAML, "servers[0].count=12")
	if sc.Servers[0].Count != 12 {
		t.Errorf("servers[0].count=12 → %d", sc.Servers[0].Count)
	}

	// A whole mapping can be set.
	sc = mustParse(t, validYAML, "servers[0].service={dist: lognormal, mean: 20ms, p99: 100ms}")
	if s := sc.Servers[0].Service; s.Dist != "lognormal" || s.P99.D().Milliseconds() != 100 {
		t.Errorf("service = %+v", s)
	}

	// Sets work on the embedded quick-start too (the CLI's --seed is a set).
	sc, err := workloads.Parse(workloads.Quickstart(), workloads.QuickstartName, []string{"seed=7", "servers[0].count=2", "servers[0].speed=1", "servers[0].weight=1"})
	if err != nil || sc.Seed != 7 || sc.Servers[0].Count != 2 {
		t.Errorf("quick-start with sets: %v", err)
	}
}

func TestSetErrors(t *testing.T) {
	cases := []struct {
		set   string
		field string
		want  string
	}{
		{"clients.arival.rate=1", "clients.arival.rate", `unknown key "arival" (did you mean "arrival"?)`},
		{"servers[0].concurency=2", "servers[0].concurency", `did you mean "concurrency"?`},
		{"autoscaler.instances=2", "autoscaler.instances", `unknown key "autoscaler" (known: balancer, clients`},
		{"servers[3].count=1", "servers[3].count", "index 3 is out of range"},
		{"clients.arrival.rate", "clients.arrival.rate", "want key=value"},
		{"clients.arrival.rate=abc", "clients.arrival.rate", "want a number, got text `abc`"},
		{"servers[0].count=1.5", "servers[0].count", "want a whole number, got 1.5"},
		{"servers[0].count=", "servers[0].count", "empty value"},
		{"clients.arrival.rate=[1,", "clients.arrival.rate", "is not valid YAML"},
		{"duration=10 parsecs", "duration", `got "10 parsecs"`},
		{"duration[0]=1s", "duration[0]", "this key is not a list"},
		{"clients[0].count=1", "clients[0].count", "this key is not a list"},
		{"duration.unit=s", "duration.unit", "this key has no sub-keys"},
		{"balancer.compare[0]=p2c", "balancer.compare[0]", `no list "compare" to index`},
		{"servers[0]count=1", "servers[0]count", "bad key path"},
		{"=1", "", "empty key"},
		{"clients.arrival={rat: 1}", "clients.arrival.rat", `unknown key (did you mean "rate"?)`},
		{"clients.arrival=[1]", "clients.arrival", "want a mapping of keys, got a list"},
		{"servers[0].speed={a: 1}", "servers[0].speed", "want a number or a list of numbers"},
		{"clients.arrival.rate=*x", "clients.arrival.rate", "not valid YAML"},
	}
	for _, c := range cases {
		t.Run(c.set, func(t *testing.T) {
			_, err := workloads.Parse([]byte(validYAML), "ok.yaml", []string{c.set})
			var e *workloads.Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v (%T) is not a *workloads.Error", err, err)
			}
			msg := err.Error()
			prefix := "--set: "
			if c.field != "" {
				prefix += c.field + ": "
			}
			if !strings.HasPrefix(msg, prefix) || e.File != "--set" || e.Line != 0 {
				t.Errorf("error %q (line %d) does not start with %q", msg, e.Line, prefix)
			}
			if !strings.Contains(msg, c.want) {
				t.Errorf("error %q does not contain %q", msg, c.want)
			}
		})
	}
}

// A set value that parses but makes the scenario invalid is reported by
// validation, naming the field and --set as its origin.
func TestSetInvalidScenario(t *testing.T) {
	cases := []struct {
		sets   []string
		prefix string
	}{
		{[]string{"clients.arrival.rate=-1"}, "--set: clients.arrival.rate: must be a rate"},
		{[]string{"servers[0].count=0"}, "--set: servers[0].count: must be between 1"},
		{[]string{"clients.timeout=-2s"}, "--set: clients.timeout: must not be negative"},
		{[]string{"servers=[]"}, "--set: servers: at least one server group"},
		{[]string{"servers[0].service.dist=lognormal"}, "ok.yaml:9: servers[0].service.sigma: lognormal needs sigma"},
		// The offending value is in the file, made invalid by a set elsewhere.
		{[]string{"servers[0].count=3"}, "ok.yaml:10: servers[0].speed: has 2 values for 3 instances"},
		{[]string{"duration=1s"}, "ok.yaml:3: warmup: must be shorter than duration"},
	}
	for _, c := range cases {
		_, err := workloads.Parse([]byte(validYAML+"    speed: [1, 2]\n"), "ok.yaml", c.sets)
		if !workloads.IsInputError(err) || !strings.HasPrefix(fmt.Sprint(err), c.prefix) {
			t.Errorf("sets %q: error %v, want prefix %q", c.sets, err, c.prefix)
		}
	}
}

func TestLognormalSigma(t *testing.T) {
	const mean, p99 = 0.010, 0.060
	sig, err := workloads.LognormalSigma(mean, p99)
	if err != nil {
		t.Fatal(err)
	}
	mu := math.Log(mean) - sig*sig/2
	if got := math.Exp(mu + 2.3263478740408408*sig); math.Abs(got-p99) > 1e-12 {
		t.Errorf("p99 of the fitted lognormal = %g, want %g", got, p99)
	}
	if _, err := workloads.LognormalSigma(mean, mean); err == nil {
		t.Error("p99 = mean accepted")
	}
}

func TestHyperexpParams(t *testing.T) {
	for _, scv := range []float64{1, 2, 10, 1000} {
		p, r1, r2 := workloads.HyperexpParams(2, scv)
		mean := p/r1 + (1-p)/r2
		m2 := 2*p/(r1*r1) + 2*(1-p)/(r2*r2)
		if math.Abs(mean-2) > 1e-9 || math.Abs((m2-mean*mean)/(mean*mean)-scv) > 1e-6*scv {
			t.Errorf("scv %g: mean %g scv %g", scv, mean, (m2-mean*mean)/(mean*mean))
		}
		if math.Abs(p/r1-(1-p)/r2) > 1e-9 {
			t.Errorf("scv %g: means not balanced", scv)
		}
	}
}

// The moments used by the theory tests match what the samplers draw.
func TestServiceMoments(t *testing.T) {
	svcs := []string{
		"{dist: exponential, mean: 10ms}",
		"{dist: constant, mean: 10ms}",
		"{dist: normal, mean: 10ms, sd: 8ms}",
		"{dist: lognormal, mean: 10ms, sigma: 0.5}",
		"{dist: gamma, mean: 10ms, shape: 2}",
		"{dist: hyperexp, mean: 10ms, scv: 4}",
		"{dist: uniform, min: 5ms, max: 15ms}",
		"{dist: pareto, mean: 10ms, alpha: 5}",
	}
	const n = 200_000
	for _, svc := range svcs {
		s := mustParse(t, withService(svc)).Servers[0].Service
		smp := s.Sampler(engine.Source(1, 0, "moments"))
		var sum, sum2 float64
		for i := 0; i < n; i++ {
			x := smp.Sample() / 1e9
			sum += x
			sum2 += x * x
		}
		m, m2 := sum/n, sum2/n
		if math.Abs(m-s.MeanSeconds()) > 0.02*s.MeanSeconds() {
			t.Errorf("%s: sample mean %g, MeanSeconds %g", svc, m, s.MeanSeconds())
		}
		if math.Abs(m2-s.SecondMoment()) > 0.05*s.SecondMoment() {
			t.Errorf("%s: sample E[S²] %g, SecondMoment %g", svc, m2, s.SecondMoment())
		}
	}
}

// A scenario file over MaxFileSize is refused before it is parsed (a
// 20 MB file took 1.95 GB to parse).
func TestFileSizeCap(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big.yaml")
	data := []byte(validYAML + "# " + strings.Repeat("x", workloads.MaxFileSize) + "\n")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := workloads.Load(path, nil)
	var e *workloads.Error
	if !errors.As(err, &e) || !strings.Contains(e.Msg, "larger than a scenario can be") {
		t.Errorf("Load of a %d-byte file: %v", len(data), err)
	}
	if _, err := workloads.Load(writeTemp(t, validYAML), nil); err != nil {
		t.Errorf("a small file: %v", err)
	}
}

func writeTemp(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "s.yaml")
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
