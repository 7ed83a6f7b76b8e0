package presets_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/edgelab/edgelab/plan"
	"github.com/edgelab/edgelab/presets"
	"github.com/edgelab/edgelab/strategies"
	"github.com/edgelab/edgelab/workloads"
	"gopkg.in/yaml.v3"
)

// scenario is a small scenario selecting a preset; extra is YAML put under
// balancer (the balancer tier) or under gateway (the gateway tier).
func scenario(tier presets.Tier, spec, extra string) string {
	doc := `
name: preset
duration: 1s
clients: {arrival: {process: poisson, rate: 100}}
servers: [{name: web, count: 3, service: {dist: exponential, mean: 2ms}}]
`
	if tier == presets.Gateway {
		return doc + fmt.Sprintf("gateway:\n  preset: %s\n  stages: [{type: ratelimit, rate: 50}, {type: cache, ttl: 1s, size: 10}]\n%s", spec, extra)
	}
	return doc + fmt.Sprintf("balancer:\n  preset: %s\n%s", spec, extra)
}

func load(t *testing.T, doc string, sets ...string) *workloads.Scenario {
	t.Helper()
	sc, err := workloads.Parse([]byte(doc), "preset.yaml", sets)
	if err != nil {
		t.Fatal(err)
	}
	if err := plan.Check(sc); err != nil {
		t.Fatal(err)
	}
	return sc
}

// Every preset, at its oldest and newest version, loads into a valid
// scenario; every setting and algorithm is cited, and every algorithm
// names a catalogue strategy with valid parameters.
func TestEveryPresetLoads(t *testing.T) {
	for _, s := range presets.Systems() {
		versions := []string{""}
		if s.Oldest != "" {
			versions = []string{s.Oldest, s.Newest}
		}
		for _, v := range versions {
			spec := s.Name
			if v != "" {
				spec += "@" + v
			}
			sc := load(t, scenario(s.Tier, spec, ""))
			ps := sc.Presets()
			if len(ps) != 1 || ps[0].System != s || ps[0].Version != v && v != "" {
				t.Errorf("%s: presets %+v", spec, ps)
			}
		}
		for _, st := range s.Settings {
			if !strings.HasPrefix(st.Source, "https://") || st.Vendor == "" {
				t.Errorf("%s: setting %s has no vendor setting or source", s.Name, st.Key)
			}
		}
		for _, a := range s.Algorithms {
			if !strings.HasPrefix(a.Source, "https://") {
				t.Errorf("%s: algorithm %s has no source", s.Name, a.Name)
			}
			if !strategies.Known(a.Strategy) {
				t.Errorf("%s: algorithm %s maps to unknown strategy %q", s.Name, a.Name, a.Strategy)
				continue
			}
			if err := strategies.CheckParams(a.Strategy, a.Params); err != nil {
				t.Errorf("%s: algorithm %s: %v", s.Name, a.Name, err)
			}
		}
		if len(s.Gaps) == 0 && s.Tier == presets.Balancer && s.Name != "grpc" {
			t.Errorf("%s: no gaps listed; every system has some", s.Name)
		}
	}
}

// The systems are all there.
func TestCatalogueCoversTheSystems(t *testing.T) {
	for _, name := range []string{"nginx", "haproxy", "envoy", "aws-alb", "aws-nlb", "f5", "ipvs", "kong", "tyk",
		"apigee", "aws-api-gateway", "gcp-api-gateway", "apisix", "zuul", "traefik", "caddy", "linkerd", "grpc"} {
		if _, ok := presets.Lookup(name); !ok {
			t.Errorf("no preset %q", name)
		}
	}
}

// Each preset expands to the defaults its vendor documents (the sources
// are in catalogue.go and docs/presets.md).
func TestExpansionsPinnedToVendorDefaults(t *testing.T) {
	sec := func(d workloads.Duration) time.Duration { return d.D() }
	t.Run("nginx", func(t *testing.T) {
		sc := load(t, scenario(presets.Balancer, "nginx", ""))
		h, r := sc.Balancer.Health, sc.Clients.Retries
		if sc.Balancer.Strategy != "weighted-round-robin" || sc.Balancer.Preset != "nginx@1.31" {
			t.Errorf("strategy %q preset %q", sc.Balancer.Strategy, sc.Balancer.Preset)
		}
		if h.Passive == nil || h.Passive.MaxFails != 1 || sec(h.Passive.FailTimeout) != 10*time.Second ||
			fmt.Sprint(h.Passive.On) != "[connect_failure timeout]" || h.WhenAllUnhealthy != "reject" {
			t.Errorf("health %+v passive %+v", h, h.Passive)
		}
		if r.Max != 10 || !r.OncePerHost || r.Backoff != 0 || fmt.Sprint(r.On) != "[connect_failure timeout]" || sec(r.PerTryTimeout) != time.Minute {
			t.Errorf("retries %+v", r)
		}
		if sc.Gateway != nil {
			t.Errorf("the preset's stage defaults made a gateway tier: %+v", sc.Gateway)
		}
		gw := load(t, scenario(presets.Balancer, "nginx", "")+"gateway: {stages: [{type: ratelimit, rate: 10}]}\n")
		if st := gw.Gateway.Stages[0]; st.Algorithm != "leaky-bucket" {
			t.Errorf("NGINX's ratelimit stage: %+v, want limit_req's leaky bucket", st)
		}
	})
	t.Run("haproxy versions", func(t *testing.T) {
		old := load(t, scenario(presets.Balancer, "haproxy@3.2", ""))
		if old.Balancer.Strategy != "weighted-round-robin" {
			t.Errorf("haproxy 3.2 default balance: %q, want roundrobin", old.Balancer.Strategy)
		}
		cur := load(t, scenario(presets.Balancer, "haproxy", ""))
		p := cur.Balancer.Params["p2c"]
		if cur.Balancer.Strategy != "p2c" || p["choices"] != 2 || p["distinct"] != 0 || cur.Balancer.Preset != "haproxy@3.3" {
			t.Errorf("haproxy 3.3 default balance: %q %v, want random(2) with replacement", cur.Balancer.Strategy, p)
		}
		a, r := cur.Balancer.Health.Active, cur.Clients.Retries
		if a == nil || sec(a.Interval) != 2*time.Second || sec(a.Timeout) != 2*time.Second || a.Healthy != 2 || a.Unhealthy != 3 {
			t.Errorf("check %+v, want inter 2s rise 2 fall 3", a)
		}
		if r.Max != 3 || !r.SameHost || sec(r.Turnaround) != time.Second || r.Redispatch != 0 || fmt.Sprint(r.On) != "[connect_failure]" {
			t.Errorf("retries %+v, want retries 3, same server, 1 s turn-around, no redispatch", r)
		}
	})
	t.Run("envoy", func(t *testing.T) {
		sc := load(t, scenario(presets.Balancer, "envoy", ""))
		if sec(sc.Clients.Timeout) != 15*time.Second || sc.Clients.Retries.Max != 0 || *sc.Balancer.Health.PanicThreshold != 50 {
			t.Errorf("timeout %s retries %d panic %v", sc.Clients.Timeout, sc.Clients.Retries.Max, *sc.Balancer.Health.PanicThreshold)
		}
	})
	t.Run("aws-alb", func(t *testing.T) {
		sc := load(t, scenario(presets.Balancer, "aws-alb", ""))
		a := sc.Balancer.Health.Active
		if sc.Balancer.Health.WhenAllUnhealthy != "fail_open" || sec(a.Interval) != 30*time.Second || sec(a.Timeout) != 5*time.Second || a.Healthy != 5 || a.Unhealthy != 2 {
			t.Errorf("health %+v active %+v", sc.Balancer.Health, a)
		}
	})
	t.Run("kong", func(t *testing.T) {
		sc := load(t, scenario(presets.Gateway, "kong", ""))
		st := sc.Gateway.Stages[0]
		if sc.Clients.Retries.Max != 5 || st.Algorithm != "fixed-window" || st.Per != "client" || st.Rate != 50 || sc.Gateway.Preset != "kong" {
			t.Errorf("retries %d, stage %+v, preset %q", sc.Clients.Retries.Max, st, sc.Gateway.Preset)
		}
	})
	t.Run("aws-api-gateway", func(t *testing.T) {
		sc := load(t, scenario(presets.Gateway, "aws-api-gateway", ""))
		if sec(sc.Clients.Timeout) != 29*time.Second || sc.Gateway.Stages[1].TTL.D() != time.Second {
			t.Errorf("timeout %s, cache %+v (the user's ttl must win)", sc.Clients.Timeout, sc.Gateway.Stages[1])
		}
		if st := sc.Gateway.Stages[0]; st.Rate != 50 {
			t.Errorf("the user's ratelimit stage was replaced: %+v", st)
		}
		doc := strings.Replace(scenario(presets.Gateway, "aws-api-gateway", ""), "{type: ratelimit, rate: 50}, ", "", 1)
		sc = load(t, doc)
		if st := sc.Gateway.Stages[0]; st.Type != "ratelimit" || st.Rate != 10000 || st.Burst != 5000 || st.Algorithm != "token-bucket" {
			t.Errorf("account throttle: %+v, want a 10000/s token bucket of 5000 first", sc.Gateway.Stages)
		}
	})
}

// Every key the user writes wins over the preset, --set included; a block
// written as null removes the preset's block; a panic threshold the user
// chose replaces the preset's when_all_unhealthy.
func TestUserKeysOverridePresets(t *testing.T) {
	sc := load(t, scenario(presets.Balancer, "nginx", "  health: {passive: {max_fails: 3}, panic_threshold: 30}\n"),
		"clients.retries.max=2")
	h := sc.Balancer.Health
	if h.Passive.MaxFails != 3 || h.Passive.FailTimeout.D() != 10*time.Second || sc.Clients.Retries.Max != 2 {
		t.Errorf("passive %+v retries %d", h.Passive, sc.Clients.Retries.Max)
	}
	if h.WhenAllUnhealthy != "" || *h.PanicThreshold != 30 {
		t.Errorf("when_all_unhealthy %q panic %v, want the user's panic threshold alone", h.WhenAllUnhealthy, *h.PanicThreshold)
	}
	off := load(t, scenario(presets.Balancer, "haproxy", "  health: {active: null}\n"))
	if off.Balancer.Health.Active != nil {
		t.Errorf("active: null kept the preset's checks: %+v", off.Balancer.Health.Active)
	}
	set := load(t, scenario(presets.Balancer, "nginx", ""), "balancer.preset=haproxy@3.2")
	if set.Balancer.Preset != "haproxy@3.2" || set.Balancer.Strategy != "weighted-round-robin" || !set.Clients.Retries.SameHost {
		t.Errorf("--set balancer.preset: %q %q", set.Balancer.Preset, set.Balancer.Strategy)
	}
	both := load(t, scenario(presets.Gateway, "kong", "")+"balancer: {preset: nginx}\n")
	if both.Clients.Retries.Max != 10 || !both.Clients.Retries.OncePerHost {
		t.Errorf("balancer.preset must win over gateway.preset: %+v", both.Clients.Retries)
	}
}

// Under a preset, balancer.strategy and balancer.compare take the system's
// own algorithm names, mapped to the catalogue with their parameters.
func TestSystemAlgorithmNames(t *testing.T) {
	sc := load(t, scenario(presets.Balancer, "nginx", "  strategy: least_conn\n  compare: [random two, hash consistent, round-robin]\n"))
	if got := fmt.Sprint(sc.Strategies()); got != "[least-request p2c ring-hash round-robin]" {
		t.Errorf("strategies %s", got)
	}
	if p := sc.Balancer.Params["p2c"]; p["distinct"] != 1 || sc.Balancer.Params["ring-hash"]["vnodes"] != 160 {
		t.Errorf("params %v", sc.Balancer.Params)
	}
	h := load(t, scenario(presets.Balancer, "haproxy", "  strategy: random(3)\n"))
	if p := h.Balancer.Params["p2c"]; h.Balancer.Strategy != "p2c" || p["choices"] != 3 || p["distinct"] != 0 {
		t.Errorf("random(3): %s %v", h.Balancer.Strategy, p)
	}
	e := load(t, scenario(presets.Balancer, "envoy", "  strategy: LEAST_REQUEST\n  params: {p2c: {distinct: 1}}\n"))
	if e.Balancer.Params["p2c"]["distinct"] != 1 {
		t.Errorf("the user's params must win: %v", e.Balancer.Params)
	}
}

// Bad preset keys are input errors at the preset's line.
func TestPresetErrors(t *testing.T) {
	for _, c := range []struct{ doc, want string }{
		{scenario(presets.Balancer, "nginx@2.0", ""), "preset.yaml:7: balancer.preset: preset \"nginx@2.0\": edgelab knows NGINX (open source)'s behaviour from 1.12 to 1.31"},
		{scenario(presets.Balancer, "nginx@one", ""), "preset.yaml:7: balancer.preset: preset \"nginx@one\": version \"one\" is not a version"},
		{scenario(presets.Balancer, "nginks", ""), "preset.yaml:7: balancer.preset: unknown preset \"nginks\""},
		{scenario(presets.Balancer, "kong", ""), "preset.yaml:7: balancer.preset: kong is a gateway preset: select it with gateway.preset"},
		{scenario(presets.Balancer, "{a: 1}", ""), "preset.yaml:7: balancer.preset: want text, got a mapping"},
		{scenario(presets.Balancer, "haproxy", "  strategy: random\n  compare: [random(3)]\n"), "preset.yaml:9: balancer.compare: random and random(3) are both p2c with other parameters"},
		{scenario(presets.Balancer, "nginx", "  strategy: leastconn\n"), "preset.yaml:8: balancer.strategy: unknown strategy \"leastconn\""},
	} {
		_, err := workloads.Parse([]byte(c.doc), "preset.yaml", nil)
		if err == nil {
			var sc *workloads.Scenario
			sc, err = workloads.Parse([]byte(c.doc), "preset.yaml", nil)
			if err == nil {
				err = plan.Check(sc)
			}
		}
		if err == nil || !strings.HasPrefix(err.Error(), c.want) || !workloads.IsInputError(err) {
			t.Errorf("got %v\nwant %s…", err, c.want)
		}
	}
	if _, err := workloads.Parse([]byte(scenario(presets.Balancer, "nginx", "")), "preset.yaml", []string{"balancer.preset=nope"}); err == nil ||
		!strings.HasPrefix(err.Error(), "--set: balancer.preset: unknown preset") {
		t.Errorf("--set: %v", err)
	}
}

// Versions compare by component, a missing one standing for the newest
// release of its line.
func TestResolveVersions(t *testing.T) {
	for _, c := range []struct {
		spec, version string
		ok            bool
	}{
		{"haproxy", "3.3", true}, {"haproxy@3.2", "3.2", true}, {"haproxy@2.6.12", "2.6.12", true},
		{"haproxy@1.9", "", false}, {"haproxy@3.4", "", false}, {"nginx@1.22.1", "1.22.1", true},
		{"envoy@1.30", "1.30", true}, {"envoy", "", true}, {"nginx@1.2.3.4", "", false},
	} {
		_, v, err := presets.Resolve(c.spec)
		if (err == nil) != c.ok || v != c.version {
			t.Errorf("%s: version %q, err %v", c.spec, v, err)
		}
	}
	h, _ := presets.Lookup("haproxy")
	for v, want := range map[string]string{"3.2": "roundrobin", "3.2.9": "roundrobin", "3.3": "random", "3.3.0": "random", "2.6": "roundrobin"} {
		for _, st := range h.At(v) {
			if st.Key == "balancer.strategy" && st.Value != want {
				t.Errorf("haproxy@%s: default balance %s, want %s", v, st.Value, want)
			}
		}
	}
}

// Every setting of every preset, at every documented version's bounds,
// reaches the loaded scenario with its value: the expansion is pinned to
// the cited defaults (list-element selectors are checked above).
func TestEverySettingReachesTheScenario(t *testing.T) {
	for _, s := range presets.Systems() {
		versions := []string{""}
		if s.Oldest != "" {
			versions = []string{s.Oldest, s.Newest}
		}
		for _, v := range versions {
			spec := s.Spec(v)
			sc := load(t, scenario(s.Tier, spec, ""))
			out, err := yaml.Marshal(sc)
			if err != nil {
				t.Fatal(err)
			}
			var got map[string]any
			if err := yaml.Unmarshal(out, &got); err != nil {
				t.Fatal(err)
			}
			for _, st := range s.At(v) {
				if strings.Contains(st.Key, "[") {
					continue
				}
				var want any
				if err := yaml.Unmarshal([]byte(st.Value), &want); err != nil {
					t.Fatal(err)
				}
				if st.Key == "balancer.strategy" {
					if a, ok := s.Algorithm(st.Value, v); ok {
						want = a.Strategy
					}
				}
				have := at(got, st.Key)
				if !sameValue(have, want) {
					t.Errorf("%s: %s = %v after loading, the preset says %v", spec, st.Key, have, want)
				}
			}
		}
	}
}

// at is the value at a dotted path of a decoded document.
func at(doc map[string]any, key string) any {
	var cur any = doc
	for _, seg := range strings.Split(key, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[seg]
	}
	return cur
}

// sameValue compares YAML values, durations by their length.
func sameValue(a, b any) bool {
	if fmt.Sprint(a) == fmt.Sprint(b) {
		return true
	}
	da, errA := time.ParseDuration(fmt.Sprint(a))
	db, errB := time.ParseDuration(fmt.Sprint(b))
	return errA == nil && errB == nil && da == db
}
