package workloads_test

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/edgelab/edgelab/engine"
	"github.com/edgelab/edgelab/workloads"
)

// maxFuzzZipfKeys bounds the zipf key space the fuzz body builds a sampler
// for: KeySampler allocates a CDF of n floats, up to 80 MB at the limit.
const maxFuzzZipfKeys = 100_000

// FuzzParse checks that Parse never panics, that every error it returns is
// a located *workloads.Error, and that every scenario it accepts can build
// all of its samplers and draws finite, non-negative values from them.
// The second argument is an optional --set override.
func FuzzParse(f *testing.F) {
	f.Add(workloads.Quickstart(), "")
	f.Add(workloads.Quickstart(), "servers[0].service={dist: pareto, mean: 5ms, alpha: 1.5}")
	f.Add(workloads.Quickstart(), "clients.arrival={process: closed, users: 10, think: 1s}")
	examples, _ := filepath.Glob("../examples/*.yaml")
	for _, path := range examples {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data, "")
	}
	for _, c := range badCases {
		f.Add([]byte(c.yaml), "")
	}
	f.Add([]byte(validYAML), "clients.arrival.rate=900")
	f.Add([]byte(validYAML), "servers[0].speed=[1,0.5]")
	f.Add([]byte(validYAML), "clients.keys={dist: zipf, n: 100, s: 2}")
	f.Add([]byte(validYAML), "servers[1].count=2")
	for _, svc := range []string{
		"{dist: normal, mean: 10ms, sd: 20ms}",
		"{dist: lognormal, mean: 10ms, p99: 100ms}",
		"{dist: gamma, mean: 1s, scv: 4}",
		"{dist: hyperexp, mean: 1ms, scv: 100}",
		"{dist: uniform, min: 0, max: 1ms}",
		"{dist: constant, mean: 1ns}",
	} {
		f.Add([]byte(withService(svc)), "")
	}

	for _, set := range extremeSets {
		f.Add([]byte(validYAML), set)
	}

	f.Fuzz(func(t *testing.T, data []byte, set string) {
		var sets []string
		if set != "" {
			sets = []string{set}
		}
		sc, err := workloads.Parse(data, "fuzz.yaml", sets)
		if err != nil {
			var e *workloads.Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T %q is not a *workloads.Error", err, err)
			}
			if e.Msg == "" || e.File == "" {
				t.Fatalf("error without a message or file: %#v", e)
			}
			return
		}
		if sc == nil {
			t.Fatal("nil scenario without an error")
		}
		checkScenario(t, sc)
	})
}

// checkScenario asserts what every accepted scenario guarantees to sim.
func checkScenario(t *testing.T, sc *workloads.Scenario) {
	t.Helper()
	if sc.Duration <= 0 || sc.Warmup < 0 || sc.Warmup >= sc.Duration {
		t.Fatalf("duration %d warmup %d", sc.Duration, sc.Warmup)
	}
	if sc.Replications < 1 || sc.Seed == 0 {
		t.Fatalf("replications %d seed %d", sc.Replications, sc.Seed)
	}
	if len(sc.Servers) == 0 {
		t.Fatal("no server groups")
	}
	sample := func(what string, s workloads.Sampler) {
		t.Helper()
		for i := 0; i < 5; i++ {
			v := s.Sample()
			if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
				t.Fatalf("%s drew %g", what, v)
			}
		}
	}
	for i := range sc.Servers {
		g := &sc.Servers[i]
		if g.Count < 1 || g.Concurrency < 1 {
			t.Fatalf("group %q: count %d concurrency %d", g.Name, g.Count, g.Concurrency)
		}
		if g.Queue != nil && *g.Queue < 0 {
			t.Fatalf("group %q: queue %d", g.Name, *g.Queue)
		}
		for j := 0; j < g.Count; j++ {
			if sp, w := g.Speed.At(j, 1), g.Weight.At(j, 1); !(sp > 0) || !(w > 0) || math.IsInf(sp, 0) || math.IsInf(w, 0) {
				t.Fatalf("group %q instance %d: speed %g weight %g", g.Name, j, sp, w)
			}
		}
		if m := g.Service.MeanSeconds(); !(m > 0) || math.IsInf(m, 0) {
			t.Fatalf("group %q: mean %g s", g.Name, m)
		}
		if m2 := g.Service.SecondMoment(); math.IsNaN(m2) || m2 < 0 {
			t.Fatalf("group %q: second moment %g", g.Name, m2)
		}
		sample("service of "+g.Name, g.Service.Sampler(engine.Source(1, 0, "x")))
	}
	a := &sc.Clients.Arrival
	if a.Process == workloads.ProcessClosed {
		if a.Users < 1 {
			t.Fatalf("closed process with %d users", a.Users)
		}
		sample("think", a.ThinkSampler(engine.Source(1, 0, "x")))
	} else {
		sample("interarrival", a.Interarrival(engine.Source(1, 0, "x")))
	}
	k := &sc.Clients.Keys
	if k.N < 1 {
		t.Fatalf("keys n %d", k.N)
	}
	if k.Dist != workloads.KeysZipf || k.N <= maxFuzzZipfKeys {
		ks := k.KeySampler(engine.Stream(1, 0, "x"))
		for i := 0; i < 5; i++ {
			if key := ks.Key(); int(key) >= k.N {
				t.Fatalf("key %d outside [0, %d)", key, k.N)
			}
		}
	}
}

// extremeSets are valid scenarios at the edges of the accepted ranges,
// which random mutation rarely reaches. Before the rate floor, a rate of
// 1e-300 made the interarrival sampler draw +Inf.
var extremeSets = []string{
	"clients.arrival.rate=1e-6",
	"clients.arrival.rate=1e9",
	"clients.arrival={process: constant, rate: 1e-6}",
	"clients.arrival={process: closed, users: 1, think: 1ns}",
	"clients.arrival={process: closed, users: 10000000}",
	"clients.keys={dist: zipf, n: 1, s: 100}",
	"clients.keys={dist: zipf, n: 100000, s: 0.0001}",
	"clients.keys={dist: uniform, n: 10000000}",
	"servers[0].service={dist: pareto, mean: 1ns, alpha: 1.0000000001}",
	"servers[0].service={dist: pareto, mean: 2562047h, alpha: 1.0000000001}",
	"servers[0].service={dist: lognormal, mean: 2562047h, sigma: 10}",
	"servers[0].service={dist: lognormal, mean: 1ns, p99: 14ns}",
	"servers[0].service={dist: gamma, mean: 1ns, shape: 1e-6}",
	"servers[0].service={dist: gamma, mean: 2562047h, scv: 1e-6}",
	"servers[0].service={dist: hyperexp, mean: 1ns, scv: 1e6}",
	"servers[0].service={dist: normal, mean: 1ns, sd: 2562047h}",
	"servers[0].service={dist: normal, mean: 2562047h, sd: 1ns}",
	"servers[0].service={dist: uniform, min: 2562047h, max: 2562047h}",
	"servers[0].service={dist: uniform, min: 0, max: 1ns}",
	"servers[0].speed=[1e-6, 1e6]",
}

func TestExtremeScenarios(t *testing.T) {
	for _, set := range extremeSets {
		t.Run(set, func(t *testing.T) {
			checkScenario(t, mustParse(t, validYAML, set))
		})
	}
}
