package reports

// The topology section: one sankey per strategy showing how the measured
// requests flowed through the system, from the clients to how they ended.
//
// Everything is derived from fields results.json already has. Where it
// does not say which way a request went, the flow is apportioned:
//
//   - Server groups are the ids' prefixes (plan.ServerID names instances
//     "<group>-<i>"). results.json has no per-route counts, so a route is
//     drawn as the server group it leads to.
//   - Requests forwarded upstream are split among groups and instances in
//     proportion to their attempts (servers[].requests, retries included),
//     so that each instance's flow is in requests and flows add up; the
//     outcomes of upstream requests are known only in total, so every
//     instance flows into one "upstream responses" node that splits into
//     the outcome sinks.
//   - Requests lost between two points of the path (the L4 balancer and
//     the gateway instances, an instance and its first stage, a stage and
//     the next) end at the outcome sinks that can explain the loss: a
//     stage of type auth at "rejected: auth_rejected", ratelimit at
//     "rejected: rate_limited", cache at "ok: served from cache", the L4
//     balancer at "failed: no_upstream" or "failed: connect_failure", a
//     gateway instance at connect_failure, queue_full or timeout. What the
//     preferred outcomes cannot take goes to the outcomes left, so the
//     sinks always hold exactly the run's outcome counts.
//
// Legibility with large fleets: a static page cannot expand a node, so a
// group of at most maxTopologyGroup instances is drawn instance by
// instance and a larger one (or one beyond maxTopologyInstances drawn
// instances in all) as one node coloured by its mean utilization; the
// "Load per instance" charts show every instance. The same holds for the
// gateway instances. Strategies get one chart each rather than tabs or a
// timeline: nothing to click, every view printed and saved as PNG.

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/go-echarts/go-echarts/v2/charts"
	"github.com/go-echarts/go-echarts/v2/opts"
)

const (
	// maxTopologyGroup is the largest group drawn instance by instance.
	maxTopologyGroup = 12
	// maxTopologyInstances bounds the instance nodes of one chart; groups
	// are expanded smallest first while they fit.
	maxTopologyInstances = 48
)

// Node kinds of a topology.
const (
	topoSource   = "source"   // the clients
	topoTier     = "tier"     // the L4 balancer, the upstream balancer, the responses
	topoGateway  = "gateway"  // a gateway instance, or all of them
	topoStage    = "stage"    // a gateway stage
	topoGroup    = "group"    // a server group
	topoInstance = "instance" // a server instance
	topoSink     = "sink"     // an outcome
)

// topoNode is one node of a topology.
type topoNode struct {
	name  string
	kind  string
	depth int
	// util is the (mean) utilization of an instance or group node, -1
	// when it has none.
	util float64
	// failed marks an instance (or a group with one) that had a failure
	// window.
	failed bool
	// outcome is a sink's outcome kind ("ok", "timeout", ...; "cache" for
	// ok requests served from the cache).
	outcome string
}

// topoLink is a flow of requests between two nodes.
type topoLink struct {
	src, dst int
	value    int64
}

// topology is the request flow of one run: a DAG whose links carry
// requests, in which what enters a node leaves it, the source sends every
// request and the sinks receive the run's outcome counts.
type topology struct {
	nodes []topoNode
	links []topoLink
	// grouped counts the groups (server or gateway) drawn as one node.
	grouped int

	names map[string]bool
	sinks map[string]int
	rem   map[string]int64 // outcome counts not yet routed to a sink
	depth int              // the sinks' column
}

// sinkOrder lists the outcomes in the order sinks are filled when a loss
// has no preferred outcome left, ok last.
var sinkOrder = []string{"error_5xx", "timeout", "queue_full", "connect_failure", "no_upstream",
	"rate_limited", "auth_rejected", "cache", "ok"}

// sinkName names an outcome's sink.
func sinkName(outcome string) string {
	switch outcome {
	case "ok":
		return "ok"
	case "cache":
		return "ok: served from cache"
	case "rate_limited", "auth_rejected":
		return "rejected: " + outcome
	}
	return "failed: " + outcome
}

// add adds a node named name (made unique) and returns its index.
func (t *topology) add(name, kind string, depth int) int {
	base := name
	for k := 2; t.names[name]; k++ {
		name = base + " (" + strconv.Itoa(k) + ")"
	}
	t.names[name] = true
	t.nodes = append(t.nodes, topoNode{name: name, kind: kind, depth: depth, util: -1})
	return len(t.nodes) - 1
}

// link adds a flow of n requests from a to b; empty flows are left out.
func (t *topology) link(a, b int, n int64) {
	if n > 0 {
		t.links = append(t.links, topoLink{a, b, n})
	}
}

// sink returns the sink node of an outcome, adding it on first use.
func (t *topology) sink(outcome string) int {
	if i, ok := t.sinks[outcome]; ok {
		return i
	}
	i := t.add(sinkName(outcome), topoSink, t.depth)
	t.nodes[i].outcome = outcome
	t.sinks[outcome] = i
	return i
}

// end routes n requests from node a to outcome sinks: first to the
// preferred outcomes, as far as their counts allow, then to any outcome
// left. "cache" draws from the ok count, up to the cache hits left.
func (t *topology) end(a int, n int64, prefer ...string) {
	take := func(outcome string) {
		k := outcome
		if k == "cache" {
			k = "ok"
		}
		m := min(n, t.rem[k])
		if outcome == "cache" {
			m = min(m, t.rem["cache"])
			t.rem["cache"] -= m
		}
		if m <= 0 {
			return
		}
		t.rem[k] -= m
		n -= m
		t.link(a, t.sink(outcome), m)
	}
	for _, o := range prefer {
		take(o)
	}
	for _, o := range sinkOrder {
		if n == 0 {
			return
		}
		if o != "cache" {
			take(o)
		}
	}
}

// apportion splits total in proportion to weights (evenly when they are
// all zero) by largest remainders, ties to the earlier index: the parts
// are whole and add up to total.
func apportion(total int64, weights []int64) []int64 {
	out := make([]int64, len(weights))
	if len(weights) == 0 || total <= 0 {
		return out
	}
	var sum int64
	for _, w := range weights {
		sum += max(w, 0)
	}
	type rest struct {
		i int
		r float64
	}
	rests := make([]rest, len(weights))
	var given int64
	for i, w := range weights {
		share := float64(total) / float64(len(weights))
		if sum > 0 {
			share = float64(total) * float64(max(w, 0)) / float64(sum)
		}
		out[i] = int64(math.Floor(share))
		given += out[i]
		rests[i] = rest{i, share - float64(out[i])}
	}
	slices.SortStableFunc(rests, func(a, b rest) int { return cmp.Compare(b.r, a.r) })
	for k := 0; given < total; k = (k + 1) % len(rests) {
		out[rests[k].i]++
		given++
	}
	return out
}

// groupOf returns the group of a server id "<group>-<i>": the id without
// its last "-<digits>" (the id itself when it has none).
func groupOf(id string) string {
	i := strings.LastIndexByte(id, '-')
	if i <= 0 || i == len(id)-1 {
		return id
	}
	if _, err := strconv.Atoi(id[i+1:]); err != nil {
		return id
	}
	return id[:i]
}

// instGroup is a group of instances (servers or gateway instances).
type instGroup struct {
	name    string
	members []Server
	expand  bool
}

func (g *instGroup) requests() int64 {
	var n int64
	for _, s := range g.members {
		n += s.Requests
	}
	return n
}

func (g *instGroup) meanUtil() float64 {
	if len(g.members) == 0 {
		return 0
	}
	u := 0.0
	for _, s := range g.members {
		u += s.Utilization
	}
	return u / float64(len(g.members))
}

// groupServers groups servers by id prefix, in order of first appearance,
// and marks the groups drawn instance by instance: those of at most
// maxTopologyGroup instances, smallest first, while the chart's
// instances stay within budget.
func groupServers(servers []Server, budget int) []*instGroup {
	var gs []*instGroup
	index := map[string]*instGroup{}
	for _, s := range servers {
		name := groupOf(s.ID)
		g := index[name]
		if g == nil {
			g = &instGroup{name: name}
			index[name] = g
			gs = append(gs, g)
		}
		g.members = append(g.members, s)
	}
	bySize := slices.Clone(gs)
	slices.SortStableFunc(bySize, func(a, b *instGroup) int { return cmp.Compare(len(a.members), len(b.members)) })
	for _, g := range bySize {
		if len(g.members) <= maxTopologyGroup && len(g.members) <= budget {
			g.expand = true
			budget -= len(g.members)
		}
	}
	return gs
}

// buildTopology derives the request flow of run (see the top of this
// file); failures mark the instances that failed.
func buildTopology(run *Run, failures []FailureWindow) *topology {
	o := run.Outcomes
	t := &topology{names: map[string]bool{}, sinks: map[string]int{}, rem: map[string]int64{
		"ok": o.OK, "error_5xx": o.Error5xx, "timeout": o.Timeout, "queue_full": o.QueueFull,
		"connect_failure": o.ConnectFailure, "no_upstream": o.NoUpstream,
		"rate_limited": o.RateLimited, "auth_rejected": o.AuthRejected,
	}}
	failedIDs := map[string]bool{}
	for _, f := range failures {
		failedIDs[f.Server] = true
	}
	total := o.Total()
	gw := run.Gateway
	if gw != nil && len(gw.Instances) == 0 && len(gw.Stages) == 0 {
		gw = nil
	}
	// Columns: clients, [L4, gateway instances, stages...], balancer,
	// groups, instances, responses, outcomes.
	depth := 0
	clients := t.add("clients", topoSource, depth)
	t.depth = 5
	if gw != nil {
		t.depth += 2 + len(gw.Stages)
		t.rem["cache"] = gw.CacheHits
	}
	prev := []int{clients}
	prevN := []int64{total}
	if gw != nil {
		depth++
		l4 := t.add("L4 balancer", topoTier, depth)
		t.link(clients, l4, total)
		depth++
		budget := maxTopologyInstances
		gs := groupServers(gw.Instances, budget)
		var nodes []int
		var weights []int64
		for _, g := range gs {
			if g.expand {
				for _, s := range g.members {
					i := t.add(s.ID, topoGateway, depth)
					t.nodes[i].util, t.nodes[i].failed = s.Utilization, failedIDs[s.ID]
					nodes = append(nodes, i)
					weights = append(weights, s.Requests)
				}
				continue
			}
			i := t.add(fmt.Sprintf("%s ×%d", g.name, len(g.members)), topoGateway, depth)
			t.nodes[i].util = g.meanUtil()
			t.nodes[i].failed = slices.ContainsFunc(g.members, func(s Server) bool { return failedIDs[s.ID] })
			nodes = append(nodes, i)
			weights = append(weights, g.requests())
			t.grouped++
		}
		var sent int64
		for _, w := range weights {
			sent += w
		}
		sent = min(sent, total)
		got := apportion(sent, weights)
		for k, i := range nodes {
			t.link(l4, i, got[k])
		}
		t.end(l4, total-sent, "no_upstream", "connect_failure")
		prev, prevN = nodes, got
		for si, st := range gw.Stages {
			depth++
			var in int64
			for _, n := range prevN {
				in += n
			}
			ran := min(max(st.Requests, 0), in)
			node := t.add(fmt.Sprintf("%d. %s", si+1, st.Type), topoStage, depth)
			parts := apportion(ran, prevN)
			for k, p := range prev {
				t.link(p, node, parts[k])
				if si == 0 {
					// Lost at a gateway instance before the first stage.
					t.end(p, prevN[k]-parts[k], "connect_failure", "queue_full", "timeout")
				} else {
					t.end(p, prevN[k]-parts[k], stagePrefers(gw.Stages[si-1].Type)...)
				}
			}
			prev, prevN = []int{node}, []int64{ran}
		}
		if n := len(gw.Stages); n > 0 {
			// What the last stage answered itself is not forwarded.
			typ := gw.Stages[n-1].Type
			answered := min(prevN[0], t.answers(typ))
			t.end(prev[0], answered, stagePrefers(typ)...)
			prevN[0] -= answered
		}
	}
	// The upstream balancer: forwarded requests.
	depth++
	var fwd int64
	for _, n := range prevN {
		fwd += n
	}
	name := "balancer"
	if run.Strategy != "" {
		name += ": " + run.Strategy
	}
	bal := t.add(name, topoTier, depth)
	for k, p := range prev {
		t.link(p, bal, prevN[k])
	}
	noUp := min(fwd, t.rem["no_upstream"])
	t.end(bal, noUp, "no_upstream")
	fwd -= noUp
	resp := t.add("upstream responses", topoTier, t.depth-1)
	gs := groupServers(run.Servers, maxTopologyInstances)
	weights := make([]int64, len(gs))
	var attempts int64
	for k, g := range gs {
		weights[k] = g.requests()
		attempts += weights[k]
	}
	if attempts == 0 {
		t.link(bal, resp, fwd)
	} else {
		for k, part := range apportion(fwd, weights) {
			g := gs[k]
			gi := t.add(fmt.Sprintf("%s ×%d", g.name, len(g.members)), topoGroup, depth+1)
			t.nodes[gi].util = g.meanUtil()
			t.nodes[gi].failed = slices.ContainsFunc(g.members, func(s Server) bool { return failedIDs[s.ID] })
			t.link(bal, gi, part)
			if !g.expand {
				t.grouped++
				t.link(gi, resp, part)
				continue
			}
			ws := make([]int64, len(g.members))
			for j, s := range g.members {
				ws[j] = s.Requests
			}
			for j, n := range apportion(part, ws) {
				s := g.members[j]
				ii := t.add(s.ID, topoInstance, depth+2)
				t.nodes[ii].util, t.nodes[ii].failed = s.Utilization, failedIDs[s.ID]
				t.link(gi, ii, n)
				t.link(ii, resp, n)
			}
		}
	}
	t.end(resp, fwd, "ok", "error_5xx", "timeout", "queue_full", "connect_failure")
	return t
}

// stagePrefers lists the outcomes of requests that ran a stage of type
// typ and went no further.
func stagePrefers(typ string) []string {
	switch typ {
	case "auth":
		return []string{"auth_rejected", "timeout"}
	case "ratelimit":
		return []string{"rate_limited", "timeout"}
	case "cache":
		return []string{"cache", "timeout"}
	}
	return []string{"timeout"}
}

// answers is the number of requests a stage of type typ can still have
// answered itself: the rejections or cache hits not yet routed.
func (t *topology) answers(typ string) int64 {
	switch typ {
	case "auth":
		return t.rem["auth_rejected"]
	case "ratelimit":
		return t.rem["rate_limited"]
	case "cache":
		return min(t.rem["cache"], t.rem["ok"])
	}
	return 0
}

// topologySection adds the topology section: one sankey per strategy.
func topologySection(p *page, r *Results) {
	var drawn []int
	for i := range r.Runs {
		if r.Runs[i].Outcomes.Total() > 0 {
			drawn = append(drawn, i)
		}
	}
	if len(drawn) == 0 {
		return
	}
	s := p.section("topology", "Topology")
	s.text("How the measured requests flowed, one chart per strategy: edge widths are requests; "+
		"failed and rejected requests end at their own coloured sinks. Server groups are the instances' id prefixes "+
		"and stand for the routes that lead to them; groups of more than %d instances are drawn as one node "+
		"(every instance is in Load per instance). Upstream flows are split among instances in proportion to their "+
		"attempts, and requests lost between two points are attributed to the outcomes that explain them.", maxTopologyGroup)
	for _, i := range drawn {
		topologyChart(p, s, r, i)
	}
}

// sankeyNode and sankeyLink are ECharts' sankey data items.
type sankeyNode struct {
	Name      string          `json:"name"`
	Depth     int             `json:"depth"`
	ItemStyle *opts.ItemStyle `json:"itemStyle,omitempty"`
}

type sankeyLink struct {
	Source    string          `json:"source"`
	Target    string          `json:"target"`
	Value     int64           `json:"value"`
	LineStyle *opts.LineStyle `json:"lineStyle,omitempty"`
}

// topologyChart draws run i's topology.
func topologyChart(p *page, s *section, r *Results, i int) {
	run := &r.Runs[i]
	t := buildTopology(run, r.Failures)
	id := fmt.Sprintf("topology-%d", i)
	sub := "requests after warm-up; node colour: utilization (green idle, amber 70%, red saturated); red border: had a failure window"
	if t.grouped > 0 {
		sub = joinSub(sub, fmt.Sprintf("groups of over %d instances drawn as one node", maxTopologyGroup))
	}
	text := chartText{"Request flow — " + run.Strategy, sub}
	sk := charts.NewSankey()
	sk.SetGlobalOptions(globals(id, text, "item", false)...)
	nodes := make([]sankeyNode, len(t.nodes))
	columns := map[int]int{}
	for k, n := range t.nodes {
		nodes[k] = sankeyNode{Name: n.name, Depth: n.depth, ItemStyle: &opts.ItemStyle{Color: nodeColor(n)}}
		if n.failed {
			nodes[k].ItemStyle.BorderColor = "#cf222e"
			nodes[k].ItemStyle.BorderWidth = 2
		}
		columns[n.depth]++
	}
	links := make([]sankeyLink, len(t.links))
	for k, l := range t.links {
		links[k] = sankeyLink{Source: t.nodes[l.src].name, Target: t.nodes[l.dst].name, Value: l.value}
		if dst := t.nodes[l.dst]; dst.kind == topoSink {
			links[k].LineStyle = &opts.LineStyle{Color: nodeColor(dst), Opacity: opts.Float(0.45)}
		}
	}
	sk.AddSeries(run.Strategy, nil, nil, with(func(se *charts.SingleSeries) {
		se.Data, se.Links = nodes, links
		se.Top, se.Bottom, se.Left, se.Right = "76", "16", "16", "180"
		se.NodeWidth, se.NodeGap = opts.Int(14), opts.Int(12)
		se.Label = &opts.Label{Show: opts.Bool(true), Position: "right", Formatter: "{b}  {c}", FontSize: 11,
			BackgroundColor: "rgba(255,255,255,0.75)", BorderRadius: 2}
		se.LineStyle = &opts.LineStyle{Color: "#8c959f", Opacity: opts.Float(0.3)}
		se.Emphasis = &opts.Emphasis{Focus: "adjacency"}
	}))
	most := 0
	for _, n := range columns {
		most = max(most, n)
	}
	p.chart(s, id, min(max(400, 120+34*most), 1100), false, sk)
}

// nodeColor colours a node: outcomes by kind, instances and groups by
// utilization, the rest grey.
func nodeColor(n topoNode) string {
	switch {
	case n.kind == topoSink && n.outcome == "ok":
		return "#2da44e"
	case n.kind == topoSink && n.outcome == "cache":
		return "#7ee2a8"
	case n.kind == topoSink:
		if c, ok := kindColor[n.outcome]; ok {
			return c
		}
		return "#cf222e"
	case n.util >= 0:
		return utilColor(n.util)
	case n.kind == topoStage:
		return "#8c959f"
	}
	return "#57606a"
}

// utilColor maps a utilization to green (0), amber (0.7) and red (1).
func utilColor(u float64) string {
	type rgb struct{ r, g, b float64 }
	green, amber, red := rgb{0x2d, 0xa4, 0x4e}, rgb{0xd4, 0xa7, 0x2c}, rgb{0xcf, 0x22, 0x2e}
	if math.IsNaN(u) {
		u = 0
	}
	u = min(max(u, 0), 1)
	a, b, f := green, amber, u/0.7
	if u > 0.7 {
		a, b, f = amber, red, (u-0.7)/0.3
	}
	mix := func(x, y float64) int { return int(math.Round(x + (y-x)*f)) }
	return fmt.Sprintf("#%02x%02x%02x", mix(a.r, b.r), mix(a.g, b.g), mix(a.b, b.b))
}
