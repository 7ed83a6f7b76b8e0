package reports

import (
	"bytes"
	"html"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	xhtml "golang.org/x/net/html"
)

// twoRuns builds results of two strategies over the given per-replication
// p99s (and means equal to p99/4), availability 1.
func twoRuns(p99a, p99b []float64) *Results {
	run := func(name string, p99 []float64) Run {
		r := Run{Strategy: name, Replications: len(p99), Requests: 1000, OK: 1000, Availability: 1}
		mean := make([]float64, len(p99))
		for i, v := range p99 {
			mean[i] = v / 4
		}
		m, h := MeanCI95(p99)
		r.LatencyMS.P99 = m
		r.LatencyMS.Mean = m / 4
		if len(p99) > 1 {
			r.CI95 = map[string]float64{"latency_ms.p99": h}
			ones := []float64{}
			for range p99 {
				ones = append(ones, 1)
			}
			r.Replicates = &Replicates{MeanMS: mean, P50MS: mean, P90MS: p99, P99MS: p99, P999MS: p99,
				Availability: ones, Failed: make([]int64, len(p99)), ThroughputRPS: ones}
		}
		return r
	}
	return &Results{Scenario: "s", Mode: "sim", Seed: 1, Runs: []Run{run("least-request", p99a), run("round-robin", p99b)}}
}

func joined(f Findings) string { return strings.Join(f.Sentences, "\n") }

func TestPairedDiff(t *testing.T) {
	// Differences 1, 2, 3: mean 2, sd 1, t(2) = 4.302653: half 2.484138,
	// so the CI −0.48…4.48 includes zero: not significant.
	d := PairedDiff([]float64{10, 10, 10}, []float64{11, 12, 13})
	if math.Abs(d.Delta-2) > 1e-12 || math.Abs(d.Half-2.484138) > 1e-5 || d.Significant() || d.Method != "paired" {
		t.Errorf("paired: %+v", d)
	}
	if d := PairedDiff([]float64{10}, []float64{11}); d.HasCI() || d.Significant() {
		t.Errorf("one pair has a CI: %+v", d)
	}
	// Welch: equal variances 1, n 3 each: se = sqrt(2/3), df = 4.
	w := WelchDiff([]float64{1, 2, 3}, []float64{4, 5, 6})
	if w.Delta != 3 || math.Abs(w.Half-2.776445*math.Sqrt(2.0/3)) > 1e-5 || !w.Significant() {
		t.Errorf("welch: %+v", w)
	}
}

func TestRunFindingsWording(t *testing.T) {
	tests := []struct {
		name      string
		r         *Results
		slo       *SLO
		want, not []string
	}{
		{"one replication", twoRuns([]float64{100}, []float64{150}), nil,
			[]string{"one replication", "no confidence interval", "replications: 5", "Lowest p99: least-request",
				"round-robin against least-request: p99 +50.00 ms", "may be noise"},
			[]string{"significant"}},
		{"real difference", twoRuns([]float64{100, 102, 98, 101, 99}, []float64{150, 151, 149, 152, 148}), nil,
			[]string{"paired across the 5 replications", "round-robin against least-request: significant: p99 +50.00 ms (95% CI +"},
			[]string{"not significant", "one replication"}},
		{"noise", twoRuns([]float64{100, 120, 90, 110, 95}, []float64{101, 115, 95, 108, 99}), nil,
			[]string{"no significant difference (within the noise of 5 replications): p99 +0.600 ms (95% CI −"},
			[]string{"significant: p99"}},
		{"SLO", twoRuns([]float64{100, 102, 98, 101, 99}, []float64{150, 151, 149, 152, 148}), &SLO{P99MS: 120},
			[]string{"Meet the SLO (p99 ≤ 120 ms): least-request. Miss it: round-robin (p99 ≤ 120 ms: 150.00)."}, nil},
		{"SLO narrow", twoRuns([]float64{100, 130, 90, 140, 95}, []float64{150, 151, 149, 152, 148}), &SLO{P99MS: 120},
			[]string{"Close to the limit: least-request's p99 (111.00 ± ", "more replications would settle"}, nil},
		{"nobody meets", twoRuns([]float64{100}, []float64{150}), &SLO{P99MS: 50},
			[]string{"No strategy meets the SLO (p99 ≤ 50 ms)"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := joined(RunFindings(tt.r, tt.slo))
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("findings lack %q:\n%s", w, got)
				}
			}
			for _, w := range tt.not {
				if strings.Contains(got, w) {
					t.Errorf("findings say %q:\n%s", w, got)
				}
			}
		})
	}
}

// Altering the results changes the sentences: the same two strategies,
// first apart, then with round-robin's p99 brought back to
// least-request's, then ahead of it.
func TestRunFindingsFollowTheNumbers(t *testing.T) {
	apart := joined(RunFindings(twoRuns([]float64{100, 102, 98, 101, 99}, []float64{150, 151, 149, 152, 148}), nil))
	close := joined(RunFindings(twoRuns([]float64{100, 102, 98, 101, 99}, []float64{101, 101, 99, 100, 100}), nil))
	ahead := joined(RunFindings(twoRuns([]float64{100, 102, 98, 101, 99}, []float64{80, 81, 79, 82, 78}), nil))
	if apart == close || close == ahead {
		t.Fatalf("sentences did not change:\n%s\n--\n%s\n--\n%s", apart, close, ahead)
	}
	if !strings.Contains(apart, "significant: p99 +50.00 ms") || !strings.Contains(close, "no significant difference") ||
		!strings.Contains(ahead, "Lowest p99: round-robin") || !strings.Contains(ahead, "least-request against round-robin: significant: p99 +20.00 ms") {
		t.Errorf("sentences do not follow the numbers:\n%s\n--\n%s\n--\n%s", apart, close, ahead)
	}
}

// The findings section comes before every chart of the page.
func TestFindingsComeFirst(t *testing.T) {
	var b bytes.Buffer
	if err := WriteHTML(&b, twoRuns([]float64{100, 102, 98}, []float64{150, 151, 149}), HTMLOptions{}); err != nil {
		t.Fatal(err)
	}
	page := html.UnescapeString(b.String())
	f, c := strings.Index(page, `<section id="findings">`), strings.Index(page, `class="chart`)
	if f < 0 || c < 0 || f > c {
		t.Fatalf("findings at %d, first chart at %d", f, c)
	}
	if !strings.Contains(page, "round-robin against least-request: significant: p99 +50.00 ms") {
		t.Error("the page lacks the findings sentence")
	}
}

func TestChangeSentence(t *testing.T) {
	tests := []struct {
		c    Change
		want string
	}{
		{Change{Metric: "p99", Unit: " ms", Diff: Diff{A: 200, B: 115, Delta: -85, Half: 10, Method: "paired"}},
			"p99 falls from 200.00 ms to 115.00 ms (−42.5%, 95% CI −47.5…−37.5%)"},
		{Change{Metric: "p99", Unit: " ms", Diff: Diff{A: 200, B: 205, Delta: 5, Half: 10, Method: "welch"}},
			"p99 rises from 200.00 ms to 205.00 ms (+2.5%, 95% CI −2.5…+7.5%): not significant, within the noise"},
		{Change{Metric: "p99", Unit: " ms", Diff: Diff{A: 200, B: 115, Delta: -85}},
			"p99 falls from 200.00 ms to 115.00 ms (−42.5%)"},
		{Change{Metric: "availability", Unit: "%", Points: true, Diff: Diff{A: 99.5, B: 99.9, Delta: 0.4, Half: 0.1, Method: "paired"}},
			"availability rises from 99.500% to 99.900% (+0.400 pts, 95% CI +0.300…+0.500 pts)"},
		{Change{Metric: "failed requests", Diff: Diff{A: 0, B: 12, Delta: 12}}, "failed requests rise from 0.00 to 12.00 (+12.00)"},
	}
	for _, tt := range tests {
		if got := tt.c.Sentence(); got != tt.want {
			t.Errorf("got  %s\nwant %s", got, tt.want)
		}
	}
}

func TestDiffMethod(t *testing.T) {
	a := twoRuns([]float64{1, 2, 3}, []float64{1, 2, 3})
	b := twoRuns([]float64{1, 2, 3}, []float64{1, 2, 3})
	if m, _ := DiffMethod(a, b); m != "paired" {
		t.Errorf("sim vs sim, same seed: %q", m)
	}
	b.Mode = "live"
	if m, note := DiffMethod(a, b); m != "welch" || !strings.Contains(note, "sim against live") {
		t.Errorf("sim vs live: %q %q", m, note)
	}
	if m, _ := DiffMethod(a, twoRuns([]float64{1}, []float64{2})); m != "" {
		t.Errorf("one replication: %q", m)
	}
}

// The findings section renders in a real browser before every chart, on
// a run's page and on a comparison page (which also draws its charts).
func TestFindingsRenderInChromium(t *testing.T) {
	chromium := findChromium(t)
	needECharts(t)
	dir := t.TempDir()
	a, b := fixture(), fixture()
	b.Mode = "live"
	pages := map[string]func(*bytes.Buffer) error{
		"report.html": func(w *bytes.Buffer) error { return WriteHTML(w, fixture(), HTMLOptions{SLO: &SLO{P99MS: 95}}) },
		"compare.html": func(w *bytes.Buffer) error {
			return WriteDiffHTML(w, []DiffSide{{"A", a, nil}, {"B", b, nil}}, HTMLOptions{})
		},
	}
	for _, name := range []string{"report.html", "compare.html"} {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := pages[name](&buf); err != nil {
				t.Fatal(err)
			}
			file := filepath.Join(dir, name)
			if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			specs := specsOf(t, buf.Bytes())
			var order []string
			var body *xhtml.Node
			walk(t, dumpDOM(t, chromium, file), func(n *xhtml.Node) {
				if n.Data == "body" {
					body = n
				}
				if id, _ := attr(n, "id"); n.Data == "section" || (id != "" && strings.HasPrefix(classOf(n), "chart")) {
					order = append(order, id)
				}
			})
			if len(order) == 0 || order[0] != "findings" {
				t.Errorf("sections and charts in the DOM: %q; want findings first", order)
			}
			if body == nil {
				t.Fatal("no body")
			}
			if rendered, _ := attr(body, "data-rendered"); rendered != strconv.Itoa(len(specs)) {
				t.Errorf("%s of %d charts finished rendering", rendered, len(specs))
			}
		})
	}
}

func classOf(n *xhtml.Node) string {
	c, _ := attr(n, "class")
	return c
}
