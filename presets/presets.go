// Package presets names the systems people run — NGINX, HAProxy, Envoy, the
// AWS load balancers, Kong and the other API gateways — as sets of scenario
// keys, each with the vendor's own setting and the page or source file it
// was read in.
//
// A scenario selects one with balancer.preset (a load balancer or proxy) or
// gateway.preset (an API gateway tier), optionally at a version
// ("haproxy@3.2"). The preset is expanded into the scenario's YAML before
// anything else reads it, under the user's keys: every key the user writes
// wins, and a block written as null (passive: null) removes the preset's
// block. So sim, live, sweeps and capacity all see one expanded scenario and
// never the preset itself. Under a preset, balancer.strategy and
// balancer.compare also take the system's own algorithm names
// ("least_conn", "leastconn", "LEAST_REQUEST"), mapped to the catalogue.
package presets

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Tier says where a system sits, and so which key selects it.
type Tier string

// Tiers.
const (
	// Balancer systems pick servers for requests: balancer.preset.
	Balancer Tier = "balancer"
	// Gateway systems are API gateways with stages: gateway.preset.
	Gateway Tier = "gateway"
)

// Key returns the scenario key that selects a system of the tier.
func (t Tier) Key() string { return string(t) + ".preset" }

// Setting is one scenario key a preset sets.
type Setting struct {
	// Key is the dotted scenario path ("balancer.health.passive.max_fails").
	// A list element is selected by one of its keys:
	// "gateway.stages[type=ratelimit].algorithm" sets algorithm in every
	// ratelimit stage the user wrote; "gateway.stages[type=ratelimit]+",
	// whose value is a whole stage, puts that stage first when the user
	// wrote no ratelimit stage (and leaves the user's alone).
	Key string
	// Value is the key's value, as YAML ("1", "10s", "[connect_failure]").
	Value string
	// Vendor is the system's own setting and its default, as its docs
	// write it ("max_fails=1").
	Vendor string
	// Source is where the default was read: the vendor's page or source
	// file.
	Source string
	// Note says how edgelab's key approximates the vendor's, when it does.
	Note string
	// Since and Until bound the versions the setting applies to (both
	// inclusive; "" = unbounded).
	Since, Until string
	// Unless lists keys that, when the user wrote them, make this setting
	// moot (a panic threshold the user chose replaces when_all_unhealthy).
	Unless []string
}

// Algorithm is one of a system's own balancing algorithms.
type Algorithm struct {
	// Name is the system's name for it, as its configuration writes it.
	Name string
	// Strategy is the catalogue strategy that realizes it.
	Strategy string
	// Params are the strategy's parameters that make it the system's.
	Params map[string]float64
	// Source is the vendor's page.
	Source string
	// Note says what differs from the vendor's algorithm, if anything.
	Note string
	// Since and Until bound the versions that have it.
	Since, Until string
}

// System is one named preset.
type System struct {
	// Name selects it ("nginx", "aws-alb").
	Name string
	// Title is the product's name.
	Title string
	// Tier says which key selects it.
	Tier Tier
	// Oldest and Newest bound the versions whose behaviour is documented
	// here; "" for a system whose defaults do not depend on the version
	// (any version is then accepted and recorded). Newest is the version
	// used when none is given.
	Oldest, Newest string
	// Settings are the keys the preset sets.
	Settings []Setting
	// Algorithms are the system's algorithm names a scenario may use.
	Algorithms []Algorithm
	// Gaps lists what edgelab approximates or does not model.
	Gaps []string
}

// Systems returns every preset, balancers first, each tier by name.
func Systems() []*System {
	out := slices.Clone(catalogue)
	slices.SortStableFunc(out, func(a, b *System) int {
		if a.Tier != b.Tier {
			return strings.Compare(string(a.Tier), string(b.Tier))
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out
}

// Lookup finds a system by name.
func Lookup(name string) (*System, bool) {
	for _, s := range catalogue {
		if s.Name == name {
			return s, true
		}
	}
	return nil, false
}

// Names lists every system's name.
func Names() []string {
	var out []string
	for _, s := range Systems() {
		out = append(out, s.Name)
	}
	return out
}

// Resolve reads "name" or "name@version" and returns the system and the
// version it runs at: the given one, or the newest documented.
func Resolve(spec string) (*System, string, error) {
	name, ver, hasVer := strings.Cut(strings.TrimSpace(spec), "@")
	s, ok := Lookup(name)
	if !ok {
		return nil, "", fmt.Errorf("unknown preset %q (known: %s; `edgelab presets` lists them)", name, strings.Join(Names(), ", "))
	}
	if !hasVer {
		return s, s.Newest, nil
	}
	v, err := parseVersion(ver)
	if err != nil {
		return nil, "", fmt.Errorf("preset %q: version %q is not a version such as 1.29 or 3.2", spec, ver)
	}
	if s.Oldest != "" && (compare(v, padLow(mustVersion(s.Oldest))) < 0 || compare(v, mustVersion(s.Newest)) > 0) {
		return nil, "", fmt.Errorf("preset %q: edgelab knows %s's behaviour from %s to %s", spec, s.Title, s.Oldest, s.Newest)
	}
	return s, ver, nil
}

// Spec returns "name@version", or the name alone without a version.
func (s *System) Spec(version string) string {
	if version == "" {
		return s.Name
	}
	return s.Name + "@" + version
}

// At returns the settings that apply at version.
func (s *System) At(version string) []Setting {
	var out []Setting
	for _, st := range s.Settings {
		if inRange(version, st.Since, st.Until) {
			out = append(out, st)
		}
	}
	return out
}

// Algorithm finds one of the system's algorithm names at version.
func (s *System) Algorithm(name, version string) (Algorithm, bool) {
	for _, a := range s.Algorithms {
		if a.Name == name && inRange(version, a.Since, a.Until) {
			return a, true
		}
	}
	if a, ok := s.drawsAlgorithm(name, version); ok {
		return a, true
	}
	return Algorithm{}, false
}

// AlgorithmNames lists the system's algorithm names at version.
func (s *System) AlgorithmNames(version string) []string {
	var out []string
	for _, a := range s.Algorithms {
		if inRange(version, a.Since, a.Until) {
			out = append(out, a.Name)
		}
	}
	return out
}

// drawsAlgorithm reads HAProxy's "random(<draws>)".
func (s *System) drawsAlgorithm(name, version string) (Algorithm, bool) {
	base, ok := s.Algorithm("random", version)
	if !ok || s.Name != "haproxy" || !strings.HasPrefix(name, "random(") || !strings.HasSuffix(name, ")") {
		return Algorithm{}, false
	}
	n, err := strconv.Atoi(name[len("random(") : len(name)-1])
	if err != nil || n < 1 || n > 64 {
		return Algorithm{}, false
	}
	a := base
	a.Name = name
	if n == 1 {
		a.Strategy, a.Params = "weighted-random", nil
		return a, true
	}
	a.Params = map[string]float64{"choices": float64(n), "distinct": 0}
	return a, true
}

// version is a dotted version; a missing component stands for the newest
// release of the line ("1.29" is at least "1.29.7").
type version []int

const latest = 1 << 30

func parseVersion(s string) (version, error) {
	parts := strings.Split(s, ".")
	if len(parts) == 0 || len(parts) > 3 {
		return nil, fmt.Errorf("bad version %q", s)
	}
	var v version
	for _, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || n >= latest {
			return nil, fmt.Errorf("bad version %q", s)
		}
		v = append(v, n)
	}
	return v, nil
}

func mustVersion(s string) version {
	v, err := parseVersion(s)
	if err != nil {
		panic(err) // the catalogue is checked by tests
	}
	return v
}

func compare(a, b version) int {
	for i := range 3 {
		x, y := latest, latest
		if i < len(a) {
			x = a[i]
		}
		if i < len(b) {
			y = b[i]
		}
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return 0
}

// inRange reports whether version v lies in [since, until]; an empty
// version (a system without versions) is in every range.
func inRange(v, since, until string) bool {
	if v == "" {
		return true
	}
	x, err := parseVersion(v)
	if err != nil {
		return false
	}
	if since != "" && compare(x, padLow(mustVersion(since))) < 0 {
		return false
	}
	if until != "" && compare(x, mustVersion(until)) > 0 {
		return false
	}
	return true
}

// padLow makes a bound's missing components the oldest release of its
// line: "since 3.3" starts at 3.3.0.
func padLow(v version) version {
	for len(v) < 3 {
		v = append(v, 0)
	}
	return v
}
