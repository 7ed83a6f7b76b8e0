package plan

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/edgelab/edgelab/presets"
	"github.com/edgelab/edgelab/reports"
	"github.com/edgelab/edgelab/strategies"
	"github.com/edgelab/edgelab/workloads"
)

// Strategies returns the strategies a run compares: the ones given on the
// command line, or else the scenario's balancer.strategy followed by
// balancer.compare (workloads.Scenario.Strategies). Both worlds run this
// list, so that a live run and its simulated comparison line up.
func Strategies(sc *workloads.Scenario, given []string) []string {
	if len(given) > 0 {
		return given
	}
	return sc.Strategies()
}

// Check validates the parts of a scenario that belong to the strategies
// package: the strategy names in balancer.strategy and balancer.compare,
// and balancer.params, reporting errors at the field's line.
func Check(sc *workloads.Scenario) error {
	for i, name := range sc.Strategies() {
		if !strategies.Known(name) {
			field := "balancer.strategy"
			if i > 0 {
				field = "balancer.compare"
			}
			own := ""
			if ps := sc.Presets(); len(ps) > 0 {
				own = fmt.Sprintf("; %s's own: %s", ps[0].System.Name, strings.Join(ps[0].System.AlgorithmNames(ps[0].Version), ", "))
			}
			return sc.FieldError(field, "unknown strategy %q (known: %s%s)", name, strings.Join(strategies.Names(), ", "), own)
		}
	}
	return CheckParams(sc)
}

// CheckParams validates balancer.params: every key names a strategy and
// every parameter is one it takes, within range.
func CheckParams(sc *workloads.Scenario) error {
	names := make([]string, 0, len(sc.Balancer.Params))
	for name := range sc.Balancer.Params {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		field := "balancer.params." + name
		if !strategies.Known(name) {
			return sc.FieldError(field, "unknown strategy %q (known: %s)", name, strings.Join(strategies.Names(), ", "))
		}
		if err := strategies.CheckParams(name, sc.Balancer.Params[name]); err != nil {
			return sc.FieldError(field, "%v", err)
		}
	}
	return nil
}

// Presets lists the presets a scenario used, for results.json. Both
// worlds record them.
func Presets(sc *workloads.Scenario) []reports.Preset {
	var out []reports.Preset
	for _, a := range sc.Presets() {
		out = append(out, reports.Preset{Key: a.Tier.Key(), Name: a.System.Name, Version: a.Version})
	}
	return out
}

// MapStrategies reads --strategy names under the scenario's preset: a
// catalogue name stays, and one of the system's own algorithm names
// ("least_conn", "random(3)") becomes its catalogue strategy, whose
// parameters join balancer.params (unless the scenario set them
// otherwise, which is an error). Without a preset, or for a name neither
// knows, it returns an error that lists both.
func MapStrategies(sc *workloads.Scenario, given []string) ([]string, error) {
	var sys *presets.System
	version := ""
	var fromPreset []string
	if ps := sc.Presets(); len(ps) > 0 {
		sys, version, fromPreset = ps[0].System, ps[0].Version, ps[0].Params
	}
	out := make([]string, 0, len(given))
	for _, name := range given {
		if strategies.Known(name) {
			out = append(out, name)
			continue
		}
		var alg presets.Algorithm
		ok := false
		if sys != nil {
			alg, ok = sys.Algorithm(name, version)
		}
		if !ok {
			own := ""
			if sys != nil {
				own = fmt.Sprintf("; %s's own: %s", sys.Name, strings.Join(sys.AlgorithmNames(version), ", "))
			}
			return nil, fmt.Errorf("unknown strategy %q (known: %s%s)", name, strings.Join(strategies.Names(), ", "), own)
		}
		for k, v := range alg.Params {
			if have, set := sc.Balancer.Params[alg.Strategy][k]; set && have != v && !slices.Contains(fromPreset, alg.Strategy+"."+k) {
				return nil, fmt.Errorf("%s is %s with %s %g, but balancer.params sets %g", name, alg.Strategy, k, v, have)
			}
			if sc.Balancer.Params == nil {
				sc.Balancer.Params = map[string]map[string]float64{}
			}
			if sc.Balancer.Params[alg.Strategy] == nil {
				sc.Balancer.Params[alg.Strategy] = map[string]float64{}
			}
			sc.Balancer.Params[alg.Strategy][k] = v
		}
		out = append(out, alg.Strategy)
	}
	return out, nil
}
