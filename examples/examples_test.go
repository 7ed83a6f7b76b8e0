// Package examples_test keeps every scenario in examples/ valid and
// runnable: each file must load with the current schema and simulate with
// conservation of requests. Runs are shortened with --set-style overrides
// so that the whole directory takes well under a second of CPU.
package examples_test

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/edgelab/edgelab/experiment"
	"github.com/edgelab/edgelab/sim"
	"github.com/edgelab/edgelab/workloads"
)

// shorten overrides every example's length, including bench-bare.yaml's
// 556 s benchmark run: 20 s measured after 2 s of warm-up.
var shorten = []string{"duration=20s", "warmup=2s"}

// keepTimeline lists the examples whose failures fall late in the run.
// They keep their full length, so that every failure window is exercised,
// and use these overrides instead of shorten: a lower rate where the full
// one would cost too much.
var keepTimeline = map[string][]string{
	"failing-server": {"clients.arrival.rate=300"}, // a quarter of the load, all four failures
	"retry-storm":    nil,                          // cheap at full length
}

// maxReplications caps replications in the test; two are enough to
// exercise the confidence-interval path.
const maxReplications = 2

// exampleFiles lists the scenarios: examples/*.yaml, not the
// subdirectories (k8s/ holds Kubernetes manifests, checked by
// TestK8sManifests).
func exampleFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no examples/*.yaml found")
	}
	return files
}

func TestExamplesLoadAndRun(t *testing.T) {
	for _, file := range exampleFiles(t) {
		name := strings.TrimSuffix(file, ".yaml")
		t.Run(name, func(t *testing.T) {
			// The file as shipped must be valid, not only its shortened form.
			if _, err := workloads.Load(file, nil); err != nil {
				t.Fatalf("as written: %v", err)
			}
			sets, whole := keepTimeline[name]
			if !whole {
				sets = shorten
			}
			sc, err := workloads.Load(file, sets)
			if err != nil {
				t.Fatalf("shortened: %v", err)
			}
			sc.Replications = min(sc.Replications, maxReplications)
			res, err := sim.Run(context.Background(), sc, sim.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if res.Partial {
				t.Fatal("run marked partial without cancellation")
			}
			if whole && len(res.Failures) == 0 {
				t.Error("run at full length, yet no failure window in the results")
			}
			want := sc.Strategies()
			if len(res.Runs) != len(want) {
				t.Fatalf("%d runs, want one per strategy %v", len(res.Runs), want)
			}
			for i, r := range res.Runs {
				if r.Strategy != want[i] {
					t.Errorf("run %d is %s, want %s", i, r.Strategy, want[i])
				}
				if r.Requests <= 0 {
					t.Errorf("%s: no requests measured", r.Strategy)
				}
				if r.OK+r.Failed+r.Rejected != r.Requests {
					t.Errorf("%s: conservation broken: ok %d + failed %d + rejected %d != requests %d",
						r.Strategy, r.OK, r.Failed, r.Rejected, r.Requests)
				}
				if r.Outcomes.Total() != r.Requests {
					t.Errorf("%s: outcomes %+v do not add up to %d requests", r.Strategy, r.Outcomes, r.Requests)
				}
				t.Logf("%-20s requests %7d  ok %7d  failed %6d  mean %8.2f ms  p99 %8.2f ms",
					r.Strategy, r.Requests, r.OK, r.Failed, r.LatencyMS.Mean, r.LatencyMS.P99)
			}
		})
	}
}

// Every name in keepTimeline is an example file, so that a rename does not
// silently put it back on the shortened run.
func TestKeepTimelineNamesExist(t *testing.T) {
	for name := range keepTimeline {
		if _, err := os.Stat(name + ".yaml"); err != nil {
			t.Errorf("keepTimeline names %s: %v", name, err)
		}
	}
}

// Every example opens with a comment saying what it shows and what to look
// for, since users copy these files.
func TestExamplesHaveHeaderComment(t *testing.T) {
	for _, file := range exampleFiles(t) {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(string(data), "# ") {
			t.Errorf("%s: does not start with a '# ' comment describing the example", file)
		}
	}
}

// varyRE finds the --vary flags of a manifest's shell commands, once
// commentRE has removed its comments.
var (
	varyRE    = regexp.MustCompile(`--vary '([^']+)'`)
	commentRE = regexp.MustCompile(`(?m)^\s*#.*$`)
)

// The Kubernetes manifests in k8s/ parse, every document names its kind,
// the scenario a ConfigMap embeds loads, and the sweep it runs is valid
// for that scenario: its --vary flags parse and every point of the grid
// loads.
func TestK8sManifests(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("k8s", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no examples/k8s/*.yaml found")
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			f, err := os.Open(file)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			dec := yaml.NewDecoder(f)
			var scenario []byte
			var kinds []string
			for {
				var doc struct {
					APIVersion string                `yaml:"apiVersion"`
					Kind       string                `yaml:"kind"`
					Metadata   struct{ Name string } `yaml:"metadata"`
					Data       map[string]string     `yaml:"data"`
				}
				if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
					break
				} else if err != nil {
					t.Fatal(err)
				}
				if doc.APIVersion == "" || doc.Kind == "" || doc.Metadata.Name == "" {
					t.Errorf("a document without apiVersion, kind or metadata.name: %+v", doc)
				}
				kinds = append(kinds, doc.Kind)
				if s, ok := doc.Data["scenario.yaml"]; ok {
					scenario = []byte(s)
				}
			}
			if !strings.Contains(strings.Join(kinds, ","), "Job") || scenario == nil {
				t.Fatalf("kinds %v, scenario %v: want Jobs and a ConfigMap with scenario.yaml", kinds, scenario != nil)
			}
			if _, err := workloads.Parse(scenario, file+": scenario.yaml", nil); err != nil {
				t.Fatal(err)
			}
			text, _ := os.ReadFile(file)
			for _, want := range []string{"JOB_COMPLETION_INDEX", "--shard", "edgelab merge"} {
				if !strings.Contains(string(text), want) {
					t.Errorf("no %q in %s", want, file)
				}
			}
			var ranges []experiment.Range
			for _, m := range varyRE.FindAllStringSubmatch(commentRE.ReplaceAllString(string(text), ""), -1) {
				r, err := experiment.ParseVary(m[1])
				if err != nil {
					t.Fatal(err)
				}
				ranges = append(ranges, r)
			}
			g, err := experiment.NewGrid(ranges...)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range g.Points() {
				if _, err := workloads.Parse(scenario, file+": scenario.yaml", g.Sets(p)); err != nil {
					t.Fatalf("point %v: %v", p, err)
				}
			}
		})
	}
}

// examples/tls-gateway.yaml's and tls-edge.yaml's questions, answered as
// their headers say (docs/tls.md compares them). At the gateway: the
// instances p99 ≤ 40 ms takes with TLS and keep-alive, with keep-alive
// cut, and without TLS — and what 1/(c + h/r) predicts for each
// (24,000/s over 9,662, 1,729 and 13,333 a second an instance, at most
// 80 % busy). At the edge: its workers with keep-alive (the cold start's
// handshakes, not the steady 1.37 workers' worth, decide: the runs are
// the example's full length) and with keep-alive cut (24.2 workers'
// worth), and the instances, which pay their stages only.
func TestTLSCapacity(t *testing.T) {
	for _, c := range []struct {
		file, vary string
		sets       []string
		want       float64
	}{
		{"tls-gateway.yaml", "gateway.instances=1..24", []string{"duration=10s", "warmup=2s"}, 3},
		{"tls-gateway.yaml", "gateway.instances=1..24", []string{"duration=10s", "warmup=2s", "clients.keepalive.requests=1"}, 14},
		{"tls-gateway.yaml", "gateway.instances=1..24", []string{"duration=10s", "warmup=2s", "gateway.tls.full=0s", "gateway.tls.record=0s"}, 2},
		{"tls-edge.yaml", "gateway.tls.edge_workers=1..64", nil, 9},
		{"tls-edge.yaml", "gateway.tls.edge_workers=1..64", []string{"duration=10s", "warmup=2s", "clients.keepalive.requests=1"}, 25},
		{"tls-edge.yaml", "gateway.instances=1..24", []string{"duration=10s", "warmup=2s", "gateway.tls.edge_workers=16"}, 2},
	} {
		load := func(sets []string) (*workloads.Scenario, error) {
			return workloads.Load(c.file, append(append([]string(nil), c.sets...), sets...))
		}
		rng, err := experiment.ParseVary(c.vary)
		if err != nil {
			t.Fatal(err)
		}
		slo, err := experiment.ParseSLO("p99=40ms")
		if err != nil {
			t.Fatal(err)
		}
		ans, err := experiment.Runner{Load: load}.Capacity(context.Background(), rng, experiment.Objective{SLO: slo})
		if err != nil {
			t.Fatal(err)
		}
		if ans.Answer == nil || *ans.Answer != c.want {
			t.Errorf("%s %s %v: answer %v, want %g", c.file, c.vary, c.sets, ans.Answer, c.want)
		}
	}
}
