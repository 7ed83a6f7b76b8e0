package reports

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"
)

// Hostile names: each would inject markup or script if it reached the
// page unescaped.
const (
	hostileScenario = `</script><script>alert(1)</script>`
	hostileStrategy = `<img src=x onerror=alert(2)>`
	hostileServer   = `"><svg onload=alert(3)>`
	hostileKind     = `<!--<script>alert(4)//`
)

// fixtureSeries is a deterministic time series for n instances.
func fixtureSeries(buckets, instances int, k float64) *Series {
	s := NewSeries(time.Second, buckets, instances)
	for b := range buckets {
		x := float64(b)
		s.Offered[b] = 100
		s.OK[b] = 95 - int64(b%3)
		s.Error5xx[b] = int64(b % 3)
		if b >= 8 && b < 12 {
			s.Timeout[b] = 3
		}
		s.P50MS[b] = 10 + k + math.Sin(x)
		s.P99MS[b] = 60 + 5*k + 10*math.Cos(x)
		if b == 9 {
			s.P50MS[b], s.P99MS[b] = 0, 0 // no ok request: a gap
		}
		s.Instances[b] = instances
		s.Healthy[b] = instances
		if b >= 8 && b < 12 {
			s.Healthy[b] = instances - 1
		}
		for i := range instances {
			s.Utilization[i][b] = math.Mod(0.1*float64(i+1)+0.03*x+0.1*k, 1)
			s.InFlight[i][b] = float64((i + b) % 5)
		}
	}
	return s
}

// fixtureRun is one strategy's results; k varies the figures.
func fixtureRun(strategy string, k float64, servers []string, reps int) Run {
	run := Run{
		Strategy: strategy, Replications: reps, Requests: 2000, OK: 1950, Failed: 40, Rejected: 10, Attempts: 2100,
		ThroughputRPS: 100, GoodputRPS: 97.5, Availability: 1950.0 / 1990,
		LatencyMS: Latency{Mean: 14 + k, P50: 10 + k, P90: 25 + k, P95: 40 + 2*k, P99: 90 + 10*k, P999: 250 + 20*k, Max: 900 + k},
		Outcomes:  Outcomes{OK: 1950, Error5xx: 30, Timeout: 10, RateLimited: 6, AuthRejected: 4},
		Series:    fixtureSeries(25, len(servers), k),
		Gateway: &Gateway{
			Instances: []Server{{ID: "gateway-0", Requests: 1000, Utilization: 0.2}, {ID: "gateway-1", Requests: 1000, Utilization: 0.25}},
			Stages: []Stage{{Type: "auth", Requests: 2000, CostMS: 0.2, LatencyShare: 0.01},
				{Type: hostileKind, Requests: 1996, CostMS: 0, LatencyShare: 0},
				{Type: "cache", Requests: 1990, CostMS: 0.05, LatencyShare: 0.003}},
			QueueMS: 0.01, LatencyShare: 0.02, CacheHits: 900, CacheMisses: 1090, CacheHitRatio: 900.0 / 1990,
		},
	}
	for i, id := range servers {
		run.Servers = append(run.Servers, Server{ID: id, Requests: int64(500 + 10*i), Utilization: 0.5 + 0.05*float64(i), MeanQueue: 0.1})
	}
	run.LatencyCDF = cdfOf(expRecorder(100000, 12+k))
	if reps > 1 {
		run.CI95 = map[string]float64{"latency_ms.mean": 0.5, "latency_ms.p50": 0.4, "latency_ms.p90": 1, "latency_ms.p95": 2,
			"latency_ms.p99": 6 + k, "latency_ms.p999": 30, "availability": 0.001, "throughput_rps": 0.5}
	}
	return run
}

// fixture is a live run with everything a report can show: failure
// windows, a gateway, replications' confidence intervals, load
// generation statistics and the simulation to compare with; names are
// hostile.
func fixture() *Results {
	servers := []string{hostileServer, "web-1", "web-2"}
	r := &Results{Scenario: hostileScenario, Mode: "live", Seed: 7, DurationS: 20, WarmupS: 5,
		Failures: []FailureWindow{{Server: hostileServer, Kind: "crash", StartS: 8, EndS: 12},
			{Server: "web-2", Kind: hostileKind, StartS: 15, EndS: 18}},
	}
	for i, name := range []string{hostileStrategy, "p2c"} {
		run := fixtureRun(name, float64(i), servers, 3)
		run.Live = &LiveStats{TargetRPS: 100, AchievedRPS: 99.8, SendLagMS: Latency{P50: 0.1, P99: 0.8, Max: 3},
			Target: "http://127.0.0.1:1/" + hostileStrategy, WallS: 25}
		r.Runs = append(r.Runs, run)
	}
	r.Compare = &Results{Scenario: hostileScenario, Mode: "sim", Seed: 7, DurationS: 20, WarmupS: 5, Failures: r.Failures}
	for i, name := range []string{hostileStrategy, "p2c"} {
		r.Compare.Runs = append(r.Compare.Runs, fixtureRun(name, float64(i)+0.5, servers, 3))
	}
	return r
}

// fixtureCharts are the charts of fixture(), in page order.
var fixtureCharts = []string{"latency-percentiles", "latency-cdf", "latency-p99-time", "latency-p50-time",
	"throughput-0", "throughput-1", "instances-time", "instance-requests", "instance-utilization",
	"utilization-0", "inflight-0", "utilization-1", "inflight-1", "gateway-stages", "gateway-requests",
	"topology-0", "topology-1", "compare-percentiles", "compare-cdf", "compare-p99-time"}

// needECharts fails the test with the fix when the assets are missing.
func needECharts(t *testing.T) {
	t.Helper()
	if err := HTMLAvailable(); err != nil {
		t.Fatalf("%v", err)
	}
}

func render(t *testing.T, r *Results, opt HTMLOptions) []byte {
	t.Helper()
	needECharts(t)
	var b bytes.Buffer
	if err := WriteHTML(&b, r, opt); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// pageSpec is a chart's spec as the page carries it.
type pageSpec struct {
	ID     string         `json:"id"`
	Option map[string]any `json:"option"`
	Nines  bool           `json:"nines"`
}

// specsOf decodes the chart specs embedded in a page.
func specsOf(t *testing.T, page []byte) []pageSpec {
	t.Helper()
	const marker = "var EDGELAB_CHARTS = "
	i := bytes.Index(page, []byte(marker))
	if i < 0 {
		t.Fatal("no chart specs in the page")
	}
	var specs []pageSpec
	if err := json.NewDecoder(bytes.NewReader(page[i+len(marker):])).Decode(&specs); err != nil {
		t.Fatalf("chart specs: %v", err)
	}
	return specs
}

// walk calls f on every element node of the parsed page.
func walk(t *testing.T, page []byte, f func(n *html.Node)) *html.Node {
	t.Helper()
	doc, err := html.Parse(bytes.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	var rec func(n *html.Node)
	rec = func(n *html.Node) {
		if n.Type == html.ElementNode {
			f(n)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			rec(c)
		}
	}
	rec(doc)
	return doc
}

func attr(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

func text(n *html.Node) string {
	var b strings.Builder
	var rec func(n *html.Node)
	rec = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			rec(c)
		}
	}
	rec(n)
	return b.String()
}

// withoutLibrary returns the page with the content of its first script,
// ECharts, removed after checking that it is the embedded library, so
// that the page's own content can be searched.
func withoutLibrary(t *testing.T, page []byte) []byte {
	t.Helper()
	lib, err := echarts()
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(page, []byte("<script>"))
	if i < 0 || !bytes.HasPrefix(page[i+len("<script>"):], []byte(lib.js)) {
		t.Fatal("the first script is not the embedded ECharts")
	}
	return slices.Concat(page[:i+len("<script>")], page[i+len("<script>")+len(lib.js):])
}

// The page references nothing outside itself: no script, stylesheet,
// image, frame or font from the network, no CDN host anywhere, exactly
// two inline scripts (ECharts and the bootstrap).
func TestHTMLIsSelfContained(t *testing.T) {
	page := render(t, fixture(), HTMLOptions{})
	scripts := 0
	walk(t, page, func(n *html.Node) {
		switch n.Data {
		case "script":
			scripts++
			if _, ok := attr(n, "src"); ok {
				t.Errorf("<script src>: %v", n.Attr)
			}
		case "link", "img", "iframe", "object", "embed", "video", "audio", "source", "base", "form":
			t.Errorf("unexpected <%s> %v", n.Data, n.Attr)
		}
		for _, a := range n.Attr {
			v := strings.ToLower(strings.TrimSpace(a.Val))
			if strings.Contains(v, "://") || strings.HasPrefix(v, "//") || strings.Contains(v, "url(") {
				t.Errorf("<%s %s=%q> refers outside the page", n.Data, a.Key, a.Val)
			}
			if a.Key == "src" || a.Key == "srcset" || a.Key == "xlink:href" || a.Key == "action" ||
				(a.Key == "href" && !strings.HasPrefix(a.Val, "#")) {
				t.Errorf("<%s %s=%q>: only in-page anchors are allowed", n.Data, a.Key, a.Val)
			}
		}
		if n.Data == "style" && (strings.Contains(text(n), "@import") || strings.Contains(text(n), "url(")) {
			t.Errorf("<style> imports or loads: %s", text(n))
		}
	})
	if scripts != 2 {
		t.Errorf("%d <script> elements, want 2", scripts)
	}
	lower := strings.ToLower(string(page))
	for _, host := range []string{"go-echarts.github.io", "go-echarts-assets", "cdn.jsdelivr", "unpkg.com", "cdnjs",
		"googleapis", "fastly", "cloudflare"} {
		if strings.Contains(lower, host) {
			t.Errorf("the page mentions %s", host)
		}
	}
}

// User-supplied names cannot inject into the page: they appear only
// escaped, the page has its two scripts and no element or event handler
// of theirs, and the names survive the round trip into the charts.
func TestHTMLEscapesHostileNames(t *testing.T) {
	page := withoutLibrary(t, render(t, fixture(), HTMLOptions{}))
	for _, s := range []string{hostileScenario, hostileStrategy, hostileServer, hostileKind, "<svg", "<img", "alert(1)</script>"} {
		if bytes.Contains(page, []byte(s)) {
			t.Errorf("the page contains %q unescaped", s)
		}
	}
	// Escaped forms: HTML in the text, JSON (\u003c) in the chart options.
	for _, s := range []string{"&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;", `\u003cimg src=x onerror=alert(2)\u003e`,
		`\"\u003e\u003csvg onload=alert(3)\u003e`, `\u003c!--\u003cscript\u003ealert(4)//`} {
		if !bytes.Contains(page, []byte(s)) {
			t.Errorf("the page lacks the escaped form %q", s)
		}
	}
	if n := strings.Count(strings.ToLower(string(page)), "<script"); n != 2 {
		t.Errorf("%d occurrences of <script, want 2", n)
	}
	var title string
	walk(t, page, func(n *html.Node) {
		switch n.Data {
		case "svg", "img":
			t.Errorf("injected <%s>", n.Data)
		case "title":
			title = text(n)
		}
		for _, a := range n.Attr {
			if strings.HasPrefix(a.Key, "on") {
				t.Errorf("injected handler <%s %s=%q>", n.Data, a.Key, a.Val)
			}
		}
	})
	if !strings.HasPrefix(title, hostileScenario) {
		t.Errorf("title %q does not show the scenario's name as text", title)
	}
	// The names reach the charts intact, as data.
	var names []string
	for _, s := range specsOf(t, page) {
		for _, se := range s.Option["series"].([]any) {
			if name, ok := se.(map[string]any)["name"].(string); ok {
				names = append(names, name)
			}
		}
	}
	if !slices.Contains(names, hostileStrategy) {
		t.Errorf("no series named %q among %q", hostileStrategy, names)
	}
}

// A results.json with failures, a gateway, replications and a comparison
// gets every chart, in order, each with a div, a title and named axes.
func TestHTMLHasEveryChart(t *testing.T) {
	slo := &SLO{P99MS: 95, Availability: 99}
	page := render(t, fixture(), HTMLOptions{SLO: slo})
	specs := specsOf(t, page)
	var ids []string
	for _, s := range specs {
		ids = append(ids, s.ID)
	}
	if !slices.Equal(ids, fixtureCharts) {
		t.Errorf("charts\n%q\nwant\n%q", ids, fixtureCharts)
	}
	if !bytes.Contains(page, []byte(fmt.Sprintf(`data-charts="%d"`, len(fixtureCharts)))) {
		t.Error("body does not count the charts")
	}
	divs := map[string]bool{}
	var sections []string
	walk(t, page, func(n *html.Node) {
		id, _ := attr(n, "id")
		if class, _ := attr(n, "class"); strings.HasPrefix(class, "chart") {
			divs[id] = true
		}
		if n.Data == "section" {
			sections = append(sections, id)
		}
	})
	for _, id := range fixtureCharts {
		if !divs[id] {
			t.Errorf("no div for chart %s", id)
		}
	}
	if want := []string{"findings", "summary", "latency", "time", "load", "gateway", "topology", "compare"}; !slices.Equal(sections, want) {
		t.Errorf("sections %q, want %q", sections, want)
	}
	for _, s := range specs {
		title, _ := s.Option["title"].(map[string]any)["text"].(string)
		if title == "" {
			t.Errorf("%s: no title", s.ID)
		}
		for _, axis := range []string{"xAxis", "yAxis"} {
			axes, _ := s.Option[axis].([]any) // none for a sankey
			for _, a := range axes {
				if name, _ := a.(map[string]any)["name"].(string); name == "" {
					t.Errorf("%s: unnamed %s", s.ID, axis)
				}
			}
		}
	}
	opt := func(id string) string {
		for _, s := range specs {
			if s.ID == id {
				b, _ := json.Marshal(s.Option)
				return string(b)
			}
		}
		t.Fatalf("no chart %s", id)
		return ""
	}
	// 95% CI whiskers, one custom series per strategy.
	if n := strings.Count(opt("latency-percentiles"), `"id":"edgelab-errorbar-`); n != 2 {
		t.Errorf("latency-percentiles: %d error bar series, want 2", n)
	}
	if !strings.Contains(opt("latency-percentiles"), "95% CI over 3 replications") {
		t.Error("latency-percentiles: the subtitle does not say what the whiskers are")
	}
	// Failure windows shaded, labelled by server and kind, and warm-up.
	for _, id := range []string{"latency-p99-time", "throughput-0", "instances-time", "compare-p99-time"} {
		o := opt(id)
		if !strings.Contains(o, `"markArea"`) || !strings.Contains(o, `\u003e crash`) || !strings.Contains(o, `"warm-up"`) {
			t.Errorf("%s: failure windows not shaded: %.300s", id, o)
		}
	}
	// Errors by kind on a second axis.
	if o := opt("throughput-0"); !strings.Contains(o, `"name":"timeout"`) || !strings.Contains(o, `"yAxisIndex":1`) {
		t.Error("throughput-0: no error kinds on the right axis")
	}
	// The CDF is on a log axis; the heatmaps have a colour scale.
	if !strings.Contains(opt("latency-cdf"), `"type":"log"`) {
		t.Error("latency-cdf: no log axis")
	}
	if !strings.Contains(opt("utilization-1"), `"visualMap"`) {
		t.Error("utilization-1: no visual map")
	}
	// The comparison: both modes side by side.
	if o := opt("compare-cdf"); !strings.Contains(o, `p2c (live)`) || !strings.Contains(o, `p2c (sim)`) {
		t.Error("compare-cdf: live and sim not overlaid")
	}
	// Tables: SLO verdicts, load generation, comparison, gateway.
	for _, s := range []string{"p99 ≤ 95 ms", "availability ≥ 99%", "✓ 90.00", "✗ 100.00", "✗ misses", "Load generation (live)",
		"live against sim", "Gateway tier", "90.00 ± 6.00"} {
		if !bytes.Contains(page, []byte(s)) {
			t.Errorf("the page lacks %q", s)
		}
	}
}

// Without an SLO the summary still shows availability and p99; without
// series, gateway or comparison those sections are left out.
func TestHTMLLeavesOutWhatIsMissing(t *testing.T) {
	run := fixtureRun("round-robin", 0, []string{"a", "b"}, 1)
	run.Series, run.Gateway = nil, nil
	r := &Results{Scenario: "plain", Mode: "sim", Seed: 1, DurationS: 10, Runs: []Run{run}}
	page := render(t, r, HTMLOptions{})
	var ids []string
	for _, s := range specsOf(t, page) {
		ids = append(ids, s.ID)
	}
	if want := []string{"latency-percentiles", "latency-cdf", "instance-requests", "instance-utilization", "topology-0"}; !slices.Equal(ids, want) {
		t.Errorf("charts %q, want %q", ids, want)
	}
	for _, s := range []string{`id="time"`, `id="gateway"`, `id="compare"`, `"id":"edgelab-errorbar-`, "SLO"} {
		if bytes.Contains(page, []byte(s)) {
			t.Errorf("the page has %q", s)
		}
	}
	for _, s := range []string{"availability %", "p99 ms", "97.990"} {
		if !bytes.Contains(page, []byte(s)) {
			t.Errorf("the summary lacks %q", s)
		}
	}
}

// The same results give the same bytes, also after a round trip through
// results.json (edgelab report re-renders what edgelab run wrote).
func TestHTMLIsDeterministic(t *testing.T) {
	a := render(t, fixture(), HTMLOptions{})
	b := render(t, fixture(), HTMLOptions{})
	if !bytes.Equal(a, b) {
		t.Fatal("two renderings differ")
	}
	data, err := fixture().JSON()
	if err != nil {
		t.Fatal(err)
	}
	var back Results
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if c := render(t, &back, HTMLOptions{}); !bytes.Equal(a, c) {
		t.Error("the rendering of the decoded results.json differs")
	}
}

func TestHTMLErrors(t *testing.T) {
	var b bytes.Buffer
	if err := WriteHTML(&b, nil, HTMLOptions{}); err == nil {
		t.Error("nil results: no error")
	}
	if err := WriteSweepHTML(&b, &SweepReport{Key: "k"}, HTMLOptions{}); err == nil {
		t.Error("empty sweep: no error")
	}
	if err := WriteCapacityHTML(&b, nil, HTMLOptions{}); err == nil {
		t.Error("nil capacity: no error")
	}
	if b.Len() != 0 {
		t.Errorf("errors wrote %d bytes", b.Len())
	}
	if !errors.Is(fmt.Errorf("x: %w", ErrNoECharts), ErrNoECharts) || !strings.Contains(ErrNoECharts.Error(), "make assets") {
		t.Error("ErrNoECharts does not say to run make assets")
	}
}

func TestKnee(t *testing.T) {
	var x, queue, fleet, linear []float64
	for i := 1; i <= 9; i++ {
		rho := float64(i) / 10
		x = append(x, rho)
		queue = append(queue, 1/(1-rho)) // M/M/1 response time against load
		fleet = append(fleet, 1/rho)     // latency against fleet size
		linear = append(linear, 3*rho+1)
	}
	if k := Knee(x, queue); k < 4 || k > 7 {
		t.Errorf("M/M/1 knee at ρ = %v, want between 0.5 and 0.8", x[k])
	}
	if k := Knee(x, fleet); k < 1 || k > 4 {
		t.Errorf("1/x knee at %v, want between 0.2 and 0.5", k)
	}
	if k := Knee(x, linear); k != -1 {
		t.Errorf("a straight line has a knee at %d", k)
	}
	if k := Knee(x[:2], queue[:2]); k != -1 {
		t.Errorf("two points have a knee at %d", k)
	}
	if k := Knee(x, make([]float64, len(x))); k != -1 {
		t.Errorf("a flat curve has a knee at %d", k)
	}
}

// sweepFixture is a load sweep of two strategies, the second key varied
// too, with a hostile key name.
func sweepFixture() *SweepReport {
	s := &SweepReport{Key: hostileKind, Keys: []string{hostileKind, "servers[0].count"}}
	for _, count := range []float64{2, 4} {
		for i := 1; i <= 8; i++ {
			rho := float64(i) / 10
			r := &Results{Scenario: hostileScenario, Mode: "sim", DurationS: 10}
			for k, name := range []string{hostileStrategy, "p2c"} {
				run := fixtureRun(name, 0, []string{"a"}, 1)
				run.Series, run.Gateway = nil, nil
				run.LatencyMS.P99 = (10 + float64(k)) / (1 - rho) / count
				run.LatencyMS.P50 = run.LatencyMS.P99 / 4
				r.Runs = append(r.Runs, run)
			}
			s.Points = append(s.Points, SweepPoint{Value: rho * 100, Values: []float64{rho * 100, count}, Results: r})
		}
	}
	return s
}

func TestSweepHTML(t *testing.T) {
	needECharts(t)
	var b bytes.Buffer
	if err := WriteSweepHTML(&b, sweepFixture(), HTMLOptions{SLO: &SLO{P99MS: 20}}); err != nil {
		t.Fatal(err)
	}
	page := b.Bytes()
	var ids []string
	for _, s := range specsOf(t, page) {
		ids = append(ids, s.ID)
		series := s.Option["series"].([]any)
		if len(series) < 4 {
			t.Errorf("%s: %d series, want a curve per strategy and count", s.ID, len(series))
		}
	}
	if want := []string{"sweep-p99", "sweep-p50", "sweep-availability", "sweep-throughput"}; !slices.Equal(ids, want) {
		t.Errorf("charts %q, want %q", ids, want)
	}
	for _, s := range []string{`"markPoint"`, `"name":"knee `, "SLO p99 ≤ 20 ms", `p2c (servers[0].count=4)`, "Knee of each p99 curve", "✗ misses", "✓ meets"} {
		if !bytes.Contains(page, []byte(s)) {
			t.Errorf("the page lacks %q", s)
		}
	}
	if own := withoutLibrary(t, page); bytes.Contains(own, []byte(hostileKind)) || bytes.Contains(own, []byte(hostileScenario)) {
		t.Error("hostile names unescaped")
	}
	if n := strings.Count(strings.ToLower(string(page)), "<script"); n != 2 {
		t.Errorf("%d <script, want 2", n)
	}
}

// capacity.json decodes into a CapacityReport, which renders the answer,
// the thresholds and the probes.
func TestCapacityHTML(t *testing.T) {
	needECharts(t)
	const capacityJSON = `{"key": "servers[0].count", "answer": 6, "slo": {"p99_ms": 200, "availability": 99.9},
	  "probes": [{"value": 12, "p99_ms": 80, "mean_ms": 20, "availability": 100, "meets": true},
	             {"value": 4, "p99_ms": 900, "mean_ms": 300, "availability": 98, "meets": false},
	             {"value": 6, "p99_ms": 190, "mean_ms": 40, "availability": 99.95, "meets": true},
	             {"value": 5, "p99_ms": 350, "mean_ms": 90, "availability": 99.5, "meets": false}],
	  "monotonic": true, "tolerate_crash": 1, "monthly_cost": 525.6}`
	var c CapacityReport
	if err := json.Unmarshal([]byte(capacityJSON), &c); err != nil {
		t.Fatal(err)
	}
	c.Scenario = hostileScenario
	var b bytes.Buffer
	if err := WriteCapacityHTML(&b, &c, HTMLOptions{}); err != nil {
		t.Fatal(err)
	}
	page := b.Bytes()
	var ids []string
	for _, s := range specsOf(t, page) {
		ids = append(ids, s.ID)
	}
	if want := []string{"capacity-latency", "capacity-availability"}; !slices.Equal(ids, want) {
		t.Errorf("charts %q, want %q", ids, want)
	}
	for _, s := range []string{"The smallest servers[0].count meeting p99 ≤ 200 ms, availability ≥ 99.9% is 6.", "525.60", "N+1",
		"SLO p99 ≤ 200 ms", "answer: 6", `"xAxis":6`, "SLO availability ≥ 99.9%"} {
		if !bytes.Contains(page, []byte(s)) {
			t.Errorf("the page lacks %q", s)
		}
	}
	// Probes in increasing order in the table.
	re := regexp.MustCompile(`<tr><td class="num">(\d+)</td>`)
	var order []int
	for _, m := range re.FindAllSubmatch(page, -1) {
		v, _ := strconv.Atoi(string(m[1]))
		order = append(order, v)
	}
	if !slices.Equal(order, []int{4, 5, 6, 12}) {
		t.Errorf("probe rows %v", order)
	}
	if bytes.Contains(withoutLibrary(t, page), []byte(hostileScenario)) {
		t.Error("hostile scenario unescaped")
	}
	c.Answer, c.Monotonic = nil, false
	b.Reset()
	if err := WriteCapacityHTML(&b, &c, HTMLOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"No probed value of servers[0].count (4 to 12) meets", "Not monotonic"} {
		if !bytes.Contains(b.Bytes(), []byte(s)) {
			t.Errorf("no answer: the page lacks %q", s)
		}
	}
}

// findChromium returns a headless-capable Chromium, or skips the test
// (fails it when EDGELAB_REQUIRE_CHROMIUM=1, as in CI).
func findChromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("EDGELAB_REQUIRE_CHROMIUM") == "1" {
		t.Fatal("chromium is not installed and EDGELAB_REQUIRE_CHROMIUM=1 (apt-get install chromium)")
	}
	t.Skip("chromium is not installed (apt-get install chromium); set EDGELAB_REQUIRE_CHROMIUM=1 to make this a failure")
	return ""
}

// dumpDOM loads a file in headless Chromium, offline, lets its scripts
// run for up to 15 s of virtual time, and returns the resulting DOM.
func dumpDOM(t *testing.T, chromium, file string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, chromium, "--headless", "--no-sandbox", "--disable-gpu",
		"--disable-background-networking", "--disable-quic", "--no-first-run", "--disable-component-update",
		"--disable-sync", "--disable-dev-shm-usage", "--user-data-dir="+t.TempDir(),
		// Offline: any request to the network fails.
		"--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
		"--virtual-time-budget=15000", "--dump-dom", "file://"+file)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium: %v\n%s", err, tail(stderr.String(), 2000))
	}
	return out
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// Every chart of the report, the sweep and the capacity pages renders in
// a real browser, offline, hostile names and all: the bootstrap counts
// each chart's "finished" event, and every chart div holds a canvas.
func TestHTMLRendersInChromium(t *testing.T) {
	chromium := findChromium(t)
	needECharts(t)
	dir := t.TempDir()
	pages := map[string]func(*bytes.Buffer) error{
		"report.html":   func(b *bytes.Buffer) error { return WriteHTML(b, fixture(), HTMLOptions{SLO: &SLO{P99MS: 95}}) },
		"sweep.html":    func(b *bytes.Buffer) error { return WriteSweepHTML(b, sweepFixture(), HTMLOptions{}) },
		"capacity.html": func(b *bytes.Buffer) error { return WriteCapacityHTML(b, capacityFixture(), HTMLOptions{}) },
		"fit.html":      func(b *bytes.Buffer) error { return WriteFitHTML(b, fitFixture(), HTMLOptions{}) },
	}
	for _, name := range []string{"report.html", "sweep.html", "capacity.html", "fit.html"} {
		t.Run(name, func(t *testing.T) {
			var b bytes.Buffer
			if err := pages[name](&b); err != nil {
				t.Fatal(err)
			}
			file := filepath.Join(dir, name)
			if err := os.WriteFile(file, b.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			specs := specsOf(t, b.Bytes())
			if name == "report.html" && !slices.ContainsFunc(specs, func(s pageSpec) bool { return s.ID == "topology-0" }) {
				t.Error("report.html has no topology chart to draw")
			}
			dom := dumpDOM(t, chromium, file)
			var body *html.Node
			canvas := map[string]bool{}
			walk(t, dom, func(n *html.Node) {
				if n.Data == "body" {
					body = n
				}
				if id, _ := attr(n, "id"); id != "" {
					var has func(n *html.Node) bool
					has = func(n *html.Node) bool {
						for c := n.FirstChild; c != nil; c = c.NextSibling {
							if (c.Type == html.ElementNode && c.Data == "canvas") || has(c) {
								return true
							}
						}
						return false
					}
					canvas[id] = has(n)
				}
				if n.Data == "img" || n.Data == "svg" {
					t.Errorf("the DOM has an injected <%s>", n.Data)
				}
			})
			if body == nil {
				t.Fatalf("no body in the DOM:\n%s", tail(string(dom), 2000))
			}
			if failed, ok := attr(body, "data-failed"); ok {
				t.Errorf("charts failed: %s", failed)
			}
			rendered, _ := attr(body, "data-rendered")
			if want := strconv.Itoa(len(specs)); rendered != want {
				t.Errorf("%s of %s charts finished rendering", rendered, want)
			}
			for _, s := range specs {
				if !canvas[s.ID] {
					t.Errorf("chart %s has no canvas", s.ID)
				}
			}
		})
	}
}

func capacityFixture() *CapacityReport {
	answer := 6.0
	c := &CapacityReport{Scenario: hostileScenario, Key: "servers[0].count", Answer: &answer,
		SLO: SLO{P99MS: 200, MeanMS: 60, Availability: 99.9}, Monotonic: true}
	for v := 3.0; v <= 10; v++ {
		c.Probes = append(c.Probes, CapacityProbe{Value: v, P99MS: 1200 / v, MeanMS: 300 / v, Availability: 100 - 2/v/v, Meets: v >= answer})
	}
	return c
}

// A large fleet over a long run keeps its heatmaps bounded: adjacent
// buckets are averaged into columns, and the subtitle says so.
func TestHTMLHeatmapIsBounded(t *testing.T) {
	servers := make([]string, 100)
	for i := range servers {
		servers[i] = "s-" + strconv.Itoa(i)
	}
	run := fixtureRun("random", 0, servers, 1)
	run.Series = fixtureSeries(600, len(servers), 0)
	r := &Results{Scenario: "big", Mode: "sim", DurationS: 590, WarmupS: 10, Runs: []Run{run}}
	page := render(t, r, HTMLOptions{})
	for _, s := range specsOf(t, page) {
		if s.ID != "utilization-0" && s.ID != "inflight-0" {
			continue
		}
		data := s.Option["series"].([]any)[0].(map[string]any)["data"].([]any)
		if len(data) > maxHeatmapCells || len(data) < maxHeatmapCells/2 {
			t.Errorf("%s: %d cells, want at most %d", s.ID, len(data), maxHeatmapCells)
		}
		if sub := s.Option["title"].(map[string]any)["subtext"].(string); !strings.Contains(sub, "each column averages 3 buckets") {
			t.Errorf("%s: subtitle %q", s.ID, sub)
		}
	}
	if len(page) > 3<<20 {
		t.Errorf("report of %d bytes", len(page))
	}
}

// fitFixture is an edgelab fit page: a rate and one upstream.
func fitFixture() *FitView {
	v := &FitView{Title: "edgelab fit — access.log", Subtitle: "nginx log", Fragment: "clients:\n  arrival: {process: poisson, rate: 10}\n"}
	v.Rate = FitCurves{XName: "t (s)", YName: "rps", X: []float64{0, 1, 2, 3}, Observed: []float64{9, 11, 10, 10},
		Models: []FitCurve{{Name: "constant", Y: []float64{10, 10, 10, 10}}}}
	v.RateTable = FitTable{Header: []string{"model", "ΔAIC"}, Rows: [][]string{{"constant", "+0.0"}}}
	v.Services = []FitService{{Name: "api", Text: "40 times",
		Density: FitCurves{XName: "ms", YName: "density", X: []float64{1, 2, 3}, Observed: []float64{0.5, 0.3, 0.2},
			Models: []FitCurve{{Name: "exponential", Y: []float64{0.45, 0.3, 0.2}}}},
		Table: FitTable{Header: []string{"family", "ΔAIC", "service"}, Rows: [][]string{{"exponential", "+0.0", "{dist: exponential, mean: 2ms}"}}}}}
	return v
}
