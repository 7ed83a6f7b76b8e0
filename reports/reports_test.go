package reports

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// The HDR histogram keeps 3 significant digits: every quantile is within
// 0.1% of the exact order statistic, and the mean is exact.
func TestLatencyRecorderAccuracy(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	l := NewLatencyRecorder()
	var xs []float64
	sum := 0.0
	for range 200000 {
		v := time.Duration(rng.ExpFloat64() * float64(20*time.Millisecond))
		l.Record(v)
		xs = append(xs, float64(v))
		sum += float64(v)
	}
	slices.Sort(xs)
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999} {
		exact := xs[int(math.Ceil(q*float64(len(xs))))-1]
		got := float64(l.Quantile(q))
		if math.Abs(got-exact)/exact > 0.001 {
			t.Errorf("q%.3f: %v, exact %v", q, time.Duration(got), time.Duration(exact))
		}
	}
	if got, want := float64(l.Mean()), sum/float64(len(xs)); math.Abs(got-want) > 1 {
		t.Errorf("mean %v, exact %v", got, want)
	}
	s := l.Summary()
	if s.Max != math.Round(xs[len(xs)-1]/1e6*1e6)/1e6 && math.Abs(s.Max-xs[len(xs)-1]/1e6) > 1e-6 {
		t.Errorf("max %v, exact %v", s.Max, xs[len(xs)-1]/1e6)
	}
	if !(s.P50 < s.P90 && s.P90 < s.P99 && s.P99 <= s.P999 && s.P999 <= s.Max) {
		t.Errorf("quantiles out of order: %+v", s)
	}
}

func TestLatencyRecorderClampsAndMerges(t *testing.T) {
	a, b := NewLatencyRecorder(), NewLatencyRecorder()
	a.Record(0)             // below the histogram's 1µs floor
	a.Record(2 * time.Hour) // above its 1h ceiling
	b.Record(time.Millisecond)
	a.Merge(b)
	if a.Count() != 3 {
		t.Fatalf("count %d", a.Count())
	}
	s := a.Summary()
	if s.Max != 7.2e6 || math.Abs(s.Mean-(7.2e6+1)/3) > 1e-6 {
		t.Fatalf("max %v mean %v", s.Max, s.Mean)
	}
	if s.P999 > s.Max {
		t.Fatalf("p99.9 %v above max %v", s.P999, s.Max)
	}
	a.Reset()
	if a.Count() != 0 || a.Summary() != (Latency{}) {
		t.Fatal("reset kept values")
	}
}

func TestTimeAverage(t *testing.T) {
	var g TimeAverage
	g.Set(0, 2)
	g.Set(10, 4) // 2 for 10 ns
	g.Add(20, -4)
	// 2·10 + 4·10 + 0·20 over 40 ns.
	if m := g.Mean(40); m != 1.5 {
		t.Fatalf("mean %v", m)
	}
	g.Restart(40)
	g.Set(50, 1)
	if m := g.Mean(60); m != 0.5 {
		t.Fatalf("mean after restart %v", m)
	}
}

// Student t with 4 degrees of freedom: t(0.975) = 2.776 (any t table).
func TestMeanCI95(t *testing.T) {
	mean, half := MeanCI95([]float64{1, 2, 3, 4, 5})
	want := 2.7764451 * math.Sqrt(2.5) / math.Sqrt(5)
	if mean != 3 || math.Abs(half-want) > 1e-6 {
		t.Fatalf("mean %v half %v, want 3 ± %v", mean, half, want)
	}
	if _, h := MeanCI95([]float64{7}); h != 0 {
		t.Fatal("one sample has no interval")
	}
}

func rep(okN int, ms float64, timeouts int64) Replication {
	l := NewLatencyRecorder()
	for range okN {
		l.Record(time.Duration(ms * 1e6))
	}
	return Replication{
		Latency:  l,
		Outcomes: Outcomes{OK: int64(okN), Timeout: timeouts},
		Attempts: int64(okN) + timeouts,
		Servers:  []Server{{ID: "s-0", Requests: int64(okN) + timeouts, Utilization: 0.5}},
	}
}

func TestSummarize(t *testing.T) {
	r := Summarize("p2c", []Replication{rep(90, 10, 10), rep(100, 12, 0)}, 10)
	if r.Requests != 200 || r.OK != 190 || r.Failed != 10 || r.Rejected != 0 || r.Attempts != 200 {
		t.Fatalf("counts %+v", r)
	}
	if r.LatencyMS.Mean != 11 || r.LatencyMS.Max != 12 {
		t.Fatalf("latency %+v", r.LatencyMS)
	}
	if r.ThroughputRPS != 10 || r.Availability != 0.95 {
		t.Fatalf("throughput %v availability %v", r.ThroughputRPS, r.Availability)
	}
	if r.CI95["latency_ms.mean"] <= 0 || r.Servers[0].Requests != 200 || r.Servers[0].Utilization != 0.5 {
		t.Fatalf("ci %v servers %+v", r.CI95, r.Servers)
	}
	one := Summarize("random", []Replication{rep(10, 5, 0)}, 1)
	if one.CI95 != nil {
		t.Fatal("one replication has no CI")
	}
}

func TestWriteText(t *testing.T) {
	res := &Results{Scenario: "demo", Mode: "sim", Seed: 1, DurationS: 10, Runs: []Run{
		Summarize("round-robin", []Replication{rep(10, 5, 1)}, 10),
		Summarize("p2c", []Replication{rep(11, 4, 0)}, 10),
	}}
	var b bytes.Buffer
	if err := WriteText(&b, res); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"round-robin", "p2c", "p99 ms", "timeout", "availability %"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "queue_full") {
		t.Error("outcome rows with all zeros should be left out")
	}
}

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "results.json")
	if err := WriteFileAtomic(path, []byte("one")); err != nil {
		t.Fatal(err)
	}
	if err := WriteFileAtomic(path, []byte("two")); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	entries, _ := os.ReadDir(dir)
	if string(data) != "two" || len(entries) != 1 {
		t.Fatalf("content %q, %d entries", data, len(entries))
	}
	if err := WriteFileAtomic(filepath.Join(dir, "missing", "x.json"), nil); err == nil {
		t.Fatal("writing into a missing directory should fail")
	}
}

// Printable escapes what a terminal would act on and keeps every script.
func TestPrintable(t *testing.T) {
	for in, want := range map[string]string{
		"checkout":        "checkout",
		"платёж 決済":       "платёж 決済",
		"a\rb":            `a\rb`,
		"\x1b[2Jclear":    `\x1b[2Jclear`,
		"rtl\u202eevil":   `rtl\u202eevil`,
		"tab\tnewline\n":  `tab\tnewline\n`,
		"bad \xff utf-8":  `bad \ufffd utf-8`,
		"zero\u200bwidth": `zero\u200bwidth`,
	} {
		if got := Printable(in); got != want {
			t.Errorf("Printable(%q) = %q, want %q", in, got, want)
		}
	}
}

// Decoding errors read in the file's terms, never Go's.
func TestJSONError(t *testing.T) {
	var r Results
	for in, want := range map[string]string{
		`{"scenario": 5}`:                          "scenario: want text, got a number",
		`{"runs": [{"requests": "many"}]}`:         "runs.requests: want a whole number, got text",
		`{"runs": 3}`:                              "runs: want a list, got a number",
		`{"scenario": "x",`:                        "unexpected end of JSON input",
		`{"scenario": "x", "runs": [{"ok": 1.5}]}`: "runs.ok: want a whole number, got number 1.5",
	} {
		msg := JSONError(json.Unmarshal([]byte(in), &r))
		if !strings.Contains(msg, want) || strings.Contains(msg, "Go ") || strings.Contains(msg, "int64") {
			t.Errorf("%s: %q, want %q", in, msg, want)
		}
	}
}

// A live run that fell short of its target rate says so in results and
// in the text output; one that kept up does not.
func TestWriteTextRateShortfall(t *testing.T) {
	short := LiveStats{TargetRPS: 2000, AchievedRPS: 1500, MaxConnections: 3290}
	short.CheckRate()
	if short.ShortfallPct != 25 || !strings.Contains(short.Warning, "1500.0 req/s of the 2000.0 targeted (25.0% short)") ||
		!strings.Contains(short.Warning, "3290 connections") {
		t.Fatalf("short: %+v", short)
	}
	ok := LiveStats{TargetRPS: 2000, AchievedRPS: 1960}
	ok.CheckRate()
	if ok.ShortfallPct != 2 || ok.Warning != "" {
		t.Fatalf("2%% short: %+v", ok)
	}
	res := &Results{Scenario: "demo", Mode: "live", Seed: 1, DurationS: 10, Runs: []Run{
		Summarize("round-robin", []Replication{rep(10, 5, 1)}, 10),
		Summarize("p2c", []Replication{rep(11, 4, 0)}, 10),
	}}
	res.Runs[0].Live, res.Runs[1].Live = &short, &ok
	var b bytes.Buffer
	if err := WriteText(&b, res); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if !strings.Contains(out, "target rps") || !strings.Contains(out, "\nWARNING: round-robin: the load generator sent 1500.0 req/s") {
		t.Errorf("no shortfall warning:\n%s", out)
	}
	if strings.Count(out, "WARNING") != 1 {
		t.Errorf("want one warning (p2c kept up):\n%s", out)
	}
}
