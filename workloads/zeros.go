package workloads

import (
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// zeroKeys lists the keys whose default is not zero, so that an explicit
// zero (0, 0s, "") written for them must not silently become the default.
// A key whose zero is a setting of its own keeps it ("" here); any other
// refuses it, naming the default that omitting the key gives.
var zeroKeys = map[string]string{
	// A zero that means zero.
	"seed":                            "",
	"clients.retries.backoff":         "", // retry at once, as NGINX does
	"clients.retries.min_concurrency": "",
	"clients.hedge.max":               "", // no backup attempts
	"balancer.health.outlier.max_ejection_percent": "",
	"balancer.health.passive.max_fails":            "", // accounting off, as NGINX
	"balancer.health.passive.fail_timeout":         "10s",
	"servers[].autoscale.cooldown":                 "",
	"gateway.tls.full":                             "", // free handshakes: to see what they cost
	"gateway.tls.resumed":                          "",
	"gateway.tls.record":                           "",
	"balancer.upstream.tls.handshake":              "",
	"balancer.upstream.tls.record":                 "",
	"clients.keepalive.requests":                   "1000",
	"clients.keepalive.idle":                       "75s",
	"servers[].autoscale.provision_delay":          "",
	// A zero that is no setting: refused.
	"name":                                    "scenario",
	"replications":                            "1",
	"clients.count":                           "1000",
	"clients.keys.n":                          "10000",
	"clients.keys.s":                          "1.1",
	"clients.keys.dist":                       "uniform",
	"clients.arrival.process":                 "poisson",
	"clients.arrival.period":                  "1m",
	"clients.arrival.step":                    "1s",
	"clients.arrival.peak":                    "period/4 (write peak: <period> for a peak at the start)",
	"clients.arrival.over":                    "warmup + duration",
	"clients.retries.max_backoff":             "10 × backoff",
	"balancer.strategy":                       "round-robin",
	"servers[].name":                          "group<index>",
	"servers[].concurrency":                   "1",
	"servers[].discipline":                    "fifo",
	"servers[].service.dist":                  "exponential",
	"servers[].autoscale.min":                 "1",
	"servers[].autoscale.target_utilization":  "0.7",
	"servers[].autoscale.interval":            "15s",
	"balancer.health.active.interval":         "5s",
	"balancer.health.active.timeout":          "1s",
	"balancer.health.active.unhealthy":        "3",
	"balancer.health.active.healthy":          "2",
	"balancer.health.active.first_unhealthy":  "unhealthy",
	"balancer.health.outlier.consecutive_5xx": "5",
	"balancer.health.outlier.base_ejection":   "30s",
	"gateway.instances":                       "1",
	"gateway.l4":                              "round-robin",
	"gateway.concurrency":                     "64",
	"gateway.health.interval":                 "5s",
	"gateway.health.timeout":                  "1s",
	"gateway.health.unhealthy":                "3",
	"gateway.health.healthy":                  "2",
	"gateway.health.first_unhealthy":          "unhealthy",
	"gateway.stages[].algorithm":              "token-bucket",
	"gateway.stages[].per":                    "global",
	"gateway.stages[].alg":                    "HS256",
}

var indexRE = regexp.MustCompile(`\[\d+\]`)

// checkZeros walks the document for explicit zeros of the keys in
// zeroKeys: it refuses those that are no setting and returns the paths
// (with their indices) of those that mean zero, which the defaults then
// leave alone.
func checkZeros(file string, n *yaml.Node, path string, kept map[string]bool) error {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			if err := checkZeros(file, n.Content[i+1], join(path, n.Content[i].Value), kept); err != nil {
				return err
			}
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			if err := checkZeros(file, c, fmt.Sprintf("%s[%d]", path, i), kept); err != nil {
				return err
			}
		}
	case yaml.ScalarNode:
		def, ok := zeroKeys[indexRE.ReplaceAllString(path, "[]")]
		if !ok || !isZero(n, isDuration(path)) {
			return nil
		}
		if def == "" {
			kept[path] = true
			return nil
		}
		what := n.Value
		if what == "" {
			what = `""`
		}
		if n.Line == 0 {
			file = "--set" // --set values carry no line
		}
		return &Error{File: file, Line: n.Line, Field: path,
			Msg: fmt.Sprintf("%s is not a setting of this key; omit the key for its default (%s)", what, def)}
	}
	return nil
}

// isZero reports whether a scalar is an explicit zero: the number 0, an
// empty string, or for a duration key a zero duration ("0s"); a text
// key named "0s" is a name like any other. A null is an absent value.
func isZero(n *yaml.Node, duration bool) bool {
	switch n.ShortTag() {
	case "!!int", "!!float":
		f, err := strconv.ParseFloat(strings.ReplaceAll(n.Value, "_", ""), 64)
		return err == nil && f == 0
	case "!!str":
		if n.Value == "" {
			return true
		}
		if !duration {
			return false
		}
		d, err := time.ParseDuration(n.Value)
		return err == nil && d == 0
	}
	return false
}

// isDuration reports whether the key at path takes a duration.
func isDuration(path string) bool {
	_, t, err := keyType(path)
	return err == nil && deref(t) == reflect.TypeOf(Duration(0))
}
