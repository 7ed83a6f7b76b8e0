package reports

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestApportion(t *testing.T) {
	for _, c := range []struct {
		total   int64
		weights []int64
		want    []int64
	}{
		{10, []int64{1, 1}, []int64{5, 5}},
		{10, []int64{1, 2, 2}, []int64{2, 4, 4}},
		{10, []int64{1, 1, 1}, []int64{4, 3, 3}}, // ties go to the earlier
		{7, []int64{0, 0}, []int64{4, 3}},        // no weight: evenly
		{5, []int64{0, 3}, []int64{0, 5}},
		{0, []int64{3, 4}, []int64{0, 0}},
		{3, nil, []int64{}},
		{100, []int64{-5, 1}, []int64{0, 100}},
	} {
		got := apportion(c.total, c.weights)
		if !slices.Equal(got, c.want) {
			t.Errorf("apportion(%d, %v) = %v, want %v", c.total, c.weights, got, c.want)
		}
	}
}

func TestGroupOf(t *testing.T) {
	for id, want := range map[string]string{
		"catalog-3": "catalog", "api-v2-10": "api-v2", "web-2-0": "web-2", "solo": "solo",
		"trailing-": "trailing-", "-7": "-7", "x-y": "x-y", "gateway-0": "gateway",
	} {
		if got := groupOf(id); got != want {
			t.Errorf("groupOf(%q) = %q, want %q", id, got, want)
		}
	}
}

// checkFlows checks that a topology is a DAG of positive flows between
// columns left to right in which the clients send every request, what
// enters a node leaves it, and each sink holds its outcome's count.
func checkFlows(t *testing.T, tp *topology, o Outcomes) {
	t.Helper()
	in := make([]int64, len(tp.nodes))
	out := make([]int64, len(tp.nodes))
	for _, l := range tp.links {
		if l.value <= 0 {
			t.Errorf("link %s → %s of %d", tp.nodes[l.src].name, tp.nodes[l.dst].name, l.value)
		}
		if tp.nodes[l.src].depth >= tp.nodes[l.dst].depth {
			t.Errorf("link %s → %s goes backwards", tp.nodes[l.src].name, tp.nodes[l.dst].name)
		}
		out[l.src] += l.value
		in[l.dst] += l.value
	}
	want := map[string]int64{"ok": o.OK, "error_5xx": o.Error5xx, "timeout": o.Timeout, "queue_full": o.QueueFull,
		"connect_failure": o.ConnectFailure, "no_upstream": o.NoUpstream, "rate_limited": o.RateLimited, "auth_rejected": o.AuthRejected}
	got := map[string]int64{}
	names := map[string]bool{}
	var ok, failed, rejected int64
	for k, n := range tp.nodes {
		if names[n.name] {
			t.Errorf("two nodes named %q", n.name)
		}
		names[n.name] = true
		switch n.kind {
		case topoSource:
			if in[k] != 0 || out[k] != o.Total() {
				t.Errorf("clients send %d (receive %d), want %d requests", out[k], in[k], o.Total())
			}
		case topoSink:
			if out[k] != 0 {
				t.Errorf("sink %s sends %d", n.name, out[k])
			}
			kind := n.outcome
			if kind == "cache" {
				kind = "ok"
			}
			got[kind] += in[k]
			switch {
			case kind == "ok":
				ok += in[k]
			case strings.HasPrefix(n.name, "rejected: "):
				rejected += in[k]
			case strings.HasPrefix(n.name, "failed: "):
				failed += in[k]
			default:
				t.Errorf("sink %q is neither ok, failed nor rejected", n.name)
			}
		default:
			if in[k] != out[k] {
				t.Errorf("%s: %d requests in, %d out", n.name, in[k], out[k])
			}
		}
	}
	for kind, n := range want {
		if got[kind] != n {
			t.Errorf("sinks of %s hold %d, want %d", kind, got[kind], n)
		}
	}
	if ok != o.OK || failed != o.Failed() || rejected != o.Rejected() || ok+failed+rejected != o.Total() {
		t.Errorf("ok %d + failed %d + rejected %d, want %d + %d + %d = %d", ok, failed, rejected,
			o.OK, o.Failed(), o.Rejected(), o.Total())
	}
}

// pipelineRun is a run of a gateway tier of 3 instances with five stages
// in front of two routes' groups, like examples/gateway-pipeline.yaml.
func pipelineRun() Run {
	run := Run{Strategy: "p2c", Requests: 162402, OK: 149977, Rejected: 12425, Attempts: 80004,
		Outcomes: Outcomes{OK: 149977, RateLimited: 9236, AuthRejected: 3189},
		Gateway: &Gateway{
			Instances: []Server{{ID: "gateway-0", Requests: 53887, Utilization: 0.3},
				{ID: "gateway-1", Requests: 54623, Utilization: 0.31}, {ID: "gateway-2", Requests: 53892, Utilization: 0.29}},
			Stages: []Stage{{Type: "auth", Requests: 162402}, {Type: "ratelimit", Requests: 159213},
				{Type: "cache", Requests: 149977}, {Type: "transform", Requests: 80004}, {Type: "log", Requests: 80004}},
			CacheHits: 69973, CacheMisses: 80004,
		},
	}
	for i, n := range []int64{4068, 3926, 4008, 4051} {
		run.Servers = append(run.Servers, Server{ID: "orders-" + strconv.Itoa(i), Requests: n, Utilization: 0.3})
	}
	for i, n := range []int64{10604, 10739, 10656, 10664, 10630, 10658} {
		run.Servers = append(run.Servers, Server{ID: "catalog-" + strconv.Itoa(i), Requests: n, Utilization: 0.2})
	}
	return run
}

// linkValue is the flow from the node named a to the node named b, 0
// when there is none.
func linkValue(tp *topology, a, b string) int64 {
	for _, l := range tp.links {
		if tp.nodes[l.src].name == a && tp.nodes[l.dst].name == b {
			return l.value
		}
	}
	return 0
}

func TestTopologyOfAGatewayPipeline(t *testing.T) {
	run := pipelineRun()
	tp := buildTopology(&run, nil)
	checkFlows(t, tp, run.Outcomes)
	for _, c := range []struct {
		from, to string
		want     int64
	}{
		{"clients", "L4 balancer", 162402},
		{"L4 balancer", "gateway-1", 54623},
		{"gateway-2", "1. auth", 53892},
		{"1. auth", "2. ratelimit", 159213},
		{"1. auth", "rejected: auth_rejected", 3189},
		{"2. ratelimit", "rejected: rate_limited", 9236},
		{"3. cache", "ok: served from cache", 69973},
		{"3. cache", "4. transform", 80004},
		{"5. log", "balancer: p2c", 80004},
		{"balancer: p2c", "orders ×4", 16053},
		{"balancer: p2c", "catalog ×6", 63951},
		{"orders ×4", "orders-1", 3926},
		{"catalog-5", "upstream responses", 10658},
		{"upstream responses", "ok", 80004},
	} {
		if got := linkValue(tp, c.from, c.to); got != c.want {
			t.Errorf("%s → %s: %d, want %d", c.from, c.to, got, c.want)
		}
	}
	// A flow into and out of every instance.
	for _, s := range append(slices.Clone(run.Servers), run.Gateway.Instances...) {
		var in, out bool
		for _, l := range tp.links {
			in = in || tp.nodes[l.dst].name == s.ID
			out = out || tp.nodes[l.src].name == s.ID
		}
		if !in || !out {
			t.Errorf("%s: flow in %v, out %v", s.ID, in, out)
		}
	}
	if tp.grouped != 0 {
		t.Errorf("%d groups drawn as one node, want none", tp.grouped)
	}
}

// Flows add up whatever the counts: failures of every kind, a run
// without gateway, counts that disagree with each other.
func TestTopologyConservesRequests(t *testing.T) {
	failing := pipelineRun()
	failing.Outcomes = Outcomes{OK: 140000, Error5xx: 900, Timeout: 3000, QueueFull: 500, NoUpstream: 800,
		ConnectFailure: 400, RateLimited: 9236, AuthRejected: 3189}
	failing.Outcomes.OK = failing.Requests - failing.Outcomes.Failed() - failing.Outcomes.Rejected()
	failing.Gateway.Instances[2].Requests -= 300 // the L4 balancer had no instance for some
	failing.Gateway.Stages[0].Requests -= 700    // some waited in a gateway queue and timed out

	direct := fixtureRun("round-robin", 0, []string{"a-0", "a-1", "b-0"}, 1)
	direct.Gateway = nil

	inconsistent := pipelineRun()
	inconsistent.Gateway.Instances[0].Requests *= 3      // more than the requests
	inconsistent.Gateway.Stages[3].Requests = 10_000_000 // more than reached it
	inconsistent.Gateway.CacheHits = 0

	noServers := fixtureRun("random", 1, nil, 1)
	noServers.Gateway = nil

	lastStageAnswers := pipelineRun()
	lastStageAnswers.Gateway.Stages = lastStageAnswers.Gateway.Stages[:3] // the cache is last

	for name, run := range map[string]Run{"failing": failing, "direct": direct, "inconsistent": inconsistent,
		"no servers": noServers, "last stage answers": lastStageAnswers, "hand-made fixture": fixtureRun("p2c", 0, []string{"s-0", "s-1"}, 1)} {
		t.Run(name, func(t *testing.T) {
			checkFlows(t, buildTopology(&run, nil), run.Outcomes)
		})
	}
	tp := buildTopology(&failing, nil)
	for _, sink := range []string{"failed: error_5xx", "failed: timeout", "failed: queue_full", "failed: no_upstream",
		"failed: connect_failure", "rejected: rate_limited", "rejected: auth_rejected", "ok: served from cache", "ok"} {
		if _, ok := tp.names[sink]; !ok {
			t.Errorf("no sink %q", sink)
		}
	}
	if got := linkValue(tp, "L4 balancer", "failed: no_upstream"); got != 300 {
		t.Errorf("L4 balancer → no_upstream: %d, want 300", got)
	}
	if got := linkValue(tp, "3. cache", "4. transform"); got != 80004 {
		t.Errorf("3. cache → 4. transform: %d, want 80004", got)
	}
	if got := linkValue(tp, "balancer: p2c", "failed: no_upstream"); got != 500 {
		t.Errorf("balancer → no_upstream: %d, want 500", got)
	}
}

// Instances with a failure window are marked, and so is a group drawn as
// one node that has one.
func TestTopologyMarksFailedInstances(t *testing.T) {
	run := pipelineRun()
	for i := range 20 {
		run.Servers = append(run.Servers, Server{ID: "big-" + strconv.Itoa(i), Requests: 10, Utilization: 0.95})
	}
	tp := buildTopology(&run, []FailureWindow{{Server: "orders-2", Kind: "crash"}, {Server: "big-7", Kind: "hang"}})
	for _, n := range tp.nodes {
		want := n.name == "orders-2" || n.name == "orders ×4" || n.name == "big ×20"
		if n.failed != want {
			t.Errorf("%s: failed %v, want %v", n.name, n.failed, want)
		}
		if n.name == "big ×20" && nodeColor(n) != utilColor(0.95) {
			t.Errorf("big ×20 coloured %s", nodeColor(n))
		}
	}
	if tp.grouped != 1 {
		t.Errorf("%d groups drawn as one node, want 1", tp.grouped)
	}
}

func TestUtilColor(t *testing.T) {
	for u, want := range map[float64]string{0: "#2da44e", 0.7: "#d4a72c", 1: "#cf222e", 2: "#cf222e", -1: "#2da44e"} {
		if got := utilColor(u); got != want {
			t.Errorf("utilColor(%g) = %s, want %s", u, got, want)
		}
	}
}

// bigRun is a run of n server instances in groups of size each (one
// group when size is 0), with 20 gateway instances.
func bigRun(n, size int) Run {
	servers := make([]string, n)
	for i := range servers {
		g, k := "fleet", i
		if size > 0 {
			g, k = fmt.Sprintf("svc%d", i/size), i%size
		}
		servers[i] = fmt.Sprintf("%s-%d", g, k)
	}
	run := fixtureRun("p2c", 0, servers, 1)
	run.Gateway.Instances = nil
	for i := range 20 {
		run.Gateway.Instances = append(run.Gateway.Instances, Server{ID: "gateway-" + strconv.Itoa(i), Requests: 100})
	}
	return run
}

// A 100-instance fleet stays legible: groups of more than 12 instances,
// and instances beyond the budget, are drawn as one node each, so the
// node count is bounded; the page stays under 2.5 MB (the heatmaps take
// most of what is not ECharts).
func TestTopologyOfALargeFleetIsBounded(t *testing.T) {
	for _, c := range []struct {
		name        string
		n, size     int
		maxNodes    int
		wantGrouped int
	}{
		// clients, L4, gateway ×20, 3 stages, balancer, fleet ×100,
		// responses and at most 9 sinks.
		{"one group of 100", 100, 0, 18, 2},
		// 10 groups of 10: 4 of them drawn instance by instance (48).
		{"ten groups of 10", 100, 10, 8 + 10 + 40 + 9, 7},
		{"100 groups of 1", 100, 1, 8 + 100 + 48 + 9, 53},
	} {
		t.Run(c.name, func(t *testing.T) {
			run := bigRun(c.n, c.size)
			tp := buildTopology(&run, nil)
			checkFlows(t, tp, run.Outcomes)
			if len(tp.nodes) > c.maxNodes {
				t.Errorf("%d nodes, want at most %d", len(tp.nodes), c.maxNodes)
			}
			if tp.grouped != c.wantGrouped {
				t.Errorf("%d groups drawn as one node, want %d", tp.grouped, c.wantGrouped)
			}
		})
	}
	// The page of a 100-instance run of a minute with three strategies:
	// under 2.5 MB, the topology charts under 16 KB each.
	r := &Results{Scenario: "big", Mode: "sim", DurationS: 60, WarmupS: 5}
	for _, name := range []string{"p2c", "round-robin", "least-request"} {
		run := bigRun(100, 10)
		run.Strategy = name
		run.Series = fixtureSeries(65, 100, 0)
		r.Runs = append(r.Runs, run)
	}
	page := render(t, r, HTMLOptions{})
	t.Logf("report of %d bytes", len(page))
	if len(page) > 5<<19 {
		t.Errorf("report of %d bytes, want at most 2.5 MB", len(page))
	}
	for _, s := range specsOf(t, page) {
		if !strings.HasPrefix(s.ID, "topology-") {
			continue
		}
		b, _ := json.Marshal(s.Option)
		if len(b) > 16<<10 {
			t.Errorf("%s: %d bytes of options", s.ID, len(b))
		}
	}
}

// The chart carries the topology: nodes with their columns and colours,
// links by name, failed and rejected links coloured like their sinks.
func TestTopologyChartOptions(t *testing.T) {
	run := pipelineRun()
	r := &Results{Scenario: "gw", Mode: "sim", Runs: []Run{run}}
	var opt map[string]any
	for _, s := range specsOf(t, render(t, r, HTMLOptions{})) {
		if s.ID == "topology-0" {
			opt = s.Option
		}
	}
	if opt == nil {
		t.Fatal("no topology-0 chart")
	}
	se := opt["series"].([]any)[0].(map[string]any)
	if se["type"] != "sankey" {
		t.Fatalf("series type %v", se["type"])
	}
	nodes := se["data"].([]any)
	links := se["links"].([]any)
	tp := buildTopology(&run, nil)
	if len(nodes) != len(tp.nodes) || len(links) != len(tp.links) {
		t.Fatalf("%d nodes and %d links, want %d and %d", len(nodes), len(links), len(tp.nodes), len(tp.links))
	}
	var rejected bool
	for _, l := range links {
		l := l.(map[string]any)
		if l["target"] == "rejected: rate_limited" {
			rejected = true
			if c := l["lineStyle"].(map[string]any)["color"]; c != kindColor["rate_limited"] {
				t.Errorf("rate_limited link coloured %v", c)
			}
		}
	}
	if !rejected {
		t.Error("no link to rejected: rate_limited")
	}
	for _, n := range nodes {
		n := n.(map[string]any)
		if _, ok := n["depth"]; !ok {
			t.Errorf("node %v has no depth", n["name"])
		}
	}
}
