package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/edgelab/edgelab/reports"
)

// topologyOf runs examples/gateway-pipeline.yaml (a gateway tier of 3
// instances, two routes to the groups orders and catalog) with extra
// flags and returns its results, its report.html and the links of each
// strategy's topology chart, by chart id.
func topologyOf(t *testing.T, extra ...string) (*reports.Results, []byte, map[string][]map[string]any) {
	t.Helper()
	if err := reports.HTMLAvailable(); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	args := append([]string{"run", filepath.Join("..", "..", "examples", "gateway-pipeline.yaml"), "--out", out,
		"--set", "duration=20s"}, extra...)
	var stdout, stderr strings.Builder
	if code := run(context.Background(), args, &stdout, &stderr); code != 0 {
		t.Fatalf("run: exit %d %s", code, stderr.String())
	}
	data, err := os.ReadFile(filepath.Join(out, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := reports.ReadResults(data)
	if err != nil {
		t.Fatal(err)
	}
	page, err := os.ReadFile(filepath.Join(out, "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	const marker = "var EDGELAB_CHARTS = "
	i := bytes.Index(page, []byte(marker))
	if i < 0 {
		t.Fatal("no chart specs in report.html")
	}
	var specs []struct {
		ID     string `json:"id"`
		Option struct {
			Series []struct {
				Type  string           `json:"type"`
				Links []map[string]any `json:"links"`
			} `json:"series"`
		} `json:"option"`
	}
	if err := json.NewDecoder(bytes.NewReader(page[i+len(marker):])).Decode(&specs); err != nil {
		t.Fatal(err)
	}
	links := map[string][]map[string]any{}
	for _, s := range specs {
		if strings.HasPrefix(s.ID, "topology-") && len(s.Option.Series) == 1 && s.Option.Series[0].Type == "sankey" {
			links[s.ID] = s.Option.Series[0].Links
		}
	}
	return res, page, links
}

// The simulated gateway pipeline's report draws, for every strategy, a
// flow into and out of every gateway and server instance, and sinks that
// hold the run's outcomes: ok + failed + rejected = requests.
func TestReportTopologyOfAGatewayPipeline(t *testing.T) {
	res, page, charts := topologyOf(t)
	if !bytes.Contains(page, []byte(`<section id="topology">`)) {
		t.Error("report.html has no topology section")
	}
	if len(charts) != len(res.Runs) {
		t.Fatalf("%d topology charts for %d strategies", len(charts), len(res.Runs))
	}
	for k, run := range res.Runs {
		links := charts["topology-"+strconv.Itoa(k)]
		in, out := map[string]float64{}, map[string]float64{}
		for _, l := range links {
			v := l["value"].(float64)
			out[l["source"].(string)] += v
			in[l["target"].(string)] += v
		}
		for _, s := range append(run.Servers, run.Gateway.Instances...) {
			if in[s.ID] == 0 || in[s.ID] != out[s.ID] {
				t.Errorf("%s: %s receives %v requests and sends %v", run.Strategy, s.ID, in[s.ID], out[s.ID])
			}
		}
		if out["clients"] != float64(run.Requests) {
			t.Errorf("%s: clients send %v, want %d", run.Strategy, out["clients"], run.Requests)
		}
		var ok, failed, rejected float64
		for name, v := range in {
			switch {
			case name == "ok" || name == "ok: served from cache":
				ok += v
			case strings.HasPrefix(name, "failed: "):
				failed += v
			case strings.HasPrefix(name, "rejected: "):
				rejected += v
			}
		}
		if ok != float64(run.OK) || failed != float64(run.Failed) || rejected != float64(run.Rejected) ||
			ok+failed+rejected != float64(run.Requests) {
			t.Errorf("%s: sinks ok %v failed %v rejected %v, want %d %d %d", run.Strategy, ok, failed, rejected,
				run.OK, run.Failed, run.Rejected)
		}
		for _, sink := range []string{"rejected: auth_rejected", "rejected: rate_limited", "ok: served from cache"} {
			if in[sink] == 0 {
				t.Errorf("%s: no flow into %q", run.Strategy, sink)
			}
		}
	}
}

// With crashing servers the failures reach their own sinks.
func TestReportTopologyShowsFailures(t *testing.T) {
	res, _, charts := topologyOf(t, "--strategy", "round-robin", "--set", "servers[0].queue=5",
		"--set", "clients.arrival.rate=6000", "--set", "gateway.stages[1].rate=6000")
	run := res.Runs[0]
	if run.Failed == 0 {
		t.Fatalf("no request failed: %+v", run.Outcomes)
	}
	var failed float64
	for _, l := range charts["topology-0"] {
		if strings.HasPrefix(l["target"].(string), "failed: ") {
			failed += l["value"].(float64)
		}
	}
	if failed != float64(run.Failed) {
		t.Errorf("failed sinks hold %v, want %d", failed, run.Failed)
	}
}

// A 100-instance run (the pipeline with 96 catalog instances, three
// strategies) keeps a report under 2.5 MB, of which the topology charts
// take little, and draws the large group as one node.
func TestReportTopologyOfAHundredInstances(t *testing.T) {
	res, page, charts := topologyOf(t, "--set", "servers[1].count=96", "--set", "duration=60s")
	if n := len(res.Runs[0].Servers); n != 100 {
		t.Fatalf("%d servers", n)
	}
	t.Logf("report.html: %d bytes", len(page))
	if len(page) > 5<<19 {
		t.Errorf("report.html of %d bytes, want at most 2.5 MB", len(page))
	}
	for id, links := range charts {
		names := map[string]bool{}
		for _, l := range links {
			names[l["source"].(string)], names[l["target"].(string)] = true, true
		}
		if !names["catalog ×96"] || names["catalog-0"] || !names["orders-3"] {
			t.Errorf("%s: the 96 catalog instances are not one node, or orders' are not drawn", id)
		}
		if len(names) > 30 {
			t.Errorf("%s: %d nodes", id, len(names))
		}
	}
}
