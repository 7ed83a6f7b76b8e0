package reports

import (
	"bytes"
	"context"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// expRecorder records n exponential latencies of the given mean (ms).
func expRecorder(n int, meanMS float64) *LatencyRecorder {
	r := rand.New(rand.NewPCG(1, 2))
	l := NewLatencyRecorder()
	for range n {
		l.Record(time.Duration(r.ExpFloat64() * meanMS * 1e6))
	}
	return l
}

// The CDF samples the recorder evenly in nines, as far as its count
// resolves, agrees with the recorder's quantiles, rises, and ends at the
// maximum.
func TestLatencyCDF(t *testing.T) {
	l := expRecorder(1000000, 10)
	cdf := cdfOf(l)
	// 10^6 values resolve 6 nines: 240 levels of 0.025 nines, plus the max.
	if len(cdf) < 200 || len(cdf) > 242 {
		t.Fatalf("%d points", len(cdf))
	}
	for i := 1; i < len(cdf); i++ {
		if cdf[i].MS < cdf[i-1].MS || cdf[i].Q <= cdf[i-1].Q {
			t.Fatalf("not rising at %d: %v then %v", i, cdf[i-1], cdf[i])
		}
	}
	if last := cdf[len(cdf)-1]; last.Q != 1 || last.MS != round6sig(float64(l.max)/1e6) {
		t.Errorf("last point %v, want the max %v at 1", last, float64(l.max)/1e6)
	}
	for _, p := range cdf[1 : len(cdf)-1] {
		want := float64(l.Quantile(p.Q)) / 1e6
		// The exponential's own quantile, within the recorder's precision.
		exact := -10 * math.Log(1-p.Q)
		if math.Abs(p.MS-want) > 1e-3*want+1e-6 || math.Abs(p.MS-exact) > 0.05*exact+0.05 {
			t.Errorf("q %v: %v ms, recorder %v, exponential %v", p.Q, p.MS, want, exact)
		}
	}
	if got := cdfOf(expRecorder(1000, 10)); len(got) > 3/cdfStep+2 {
		t.Errorf("1000 values: %d points, beyond the 3 nines they resolve", len(got))
	}
	if cdfOf(NewLatencyRecorder()) != nil {
		t.Error("an empty recorder has a CDF")
	}
}

// The report draws the full-resolution CDF (hundreds of points) on the
// nines axis.
func TestHTMLCDFFullResolution(t *testing.T) {
	needECharts(t)
	var b bytes.Buffer
	if err := WriteHTML(&b, fixture(), HTMLOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, s := range specsOf(t, b.Bytes()) {
		if s.ID != "latency-cdf" {
			continue
		}
		if !s.Nines {
			t.Error("the CDF's axis is not marked as nines")
		}
		series, _ := s.Option["series"].([]any)
		if len(series) != 2 {
			t.Fatalf("%d series", len(series))
		}
		for _, se := range series {
			data, _ := se.(map[string]any)["data"].([]any)
			if len(data) < 100 {
				t.Errorf("CDF series has %d points, want at least 100", len(data))
			}
		}
		return
	}
	t.Fatal("no latency-cdf chart")
}

// "Print → PDF" gives a document with every chart drawn: headless
// Chromium prints the report, and the PDF's text holds every chart's
// title (ECharts draws them into the chart's canvas, which prints as
// vector text).
func TestHTMLPrintsToPDF(t *testing.T) {
	chromium := findChromium(t)
	needECharts(t)
	pdftotext, err := exec.LookPath("pdftotext")
	if err != nil {
		if os.Getenv("EDGELAB_REQUIRE_CHROMIUM") == "1" {
			t.Fatal("pdftotext is not installed and EDGELAB_REQUIRE_CHROMIUM=1 (apt-get install poppler-utils)")
		}
		t.Skip("pdftotext is not installed (apt-get install poppler-utils)")
	}
	dir := t.TempDir()
	var b bytes.Buffer
	if err := WriteHTML(&b, fixture(), HTMLOptions{}); err != nil {
		t.Fatal(err)
	}
	page := filepath.Join(dir, "report.html")
	if err := os.WriteFile(page, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	pdf := filepath.Join(dir, "report.pdf")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, chromium, "--headless", "--no-sandbox", "--disable-gpu",
		"--disable-background-networking", "--no-first-run", "--disable-dev-shm-usage", "--user-data-dir="+t.TempDir(),
		"--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
		"--virtual-time-budget=15000", "--no-pdf-header-footer", "--print-to-pdf="+pdf, "file://"+page)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, tail(string(out), 2000))
	}
	text, err := exec.CommandContext(ctx, pdftotext, "-layout", pdf, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	flat := strings.Join(strings.Fields(string(text)), " ")
	for _, s := range specsOf(t, b.Bytes()) {
		title, _ := s.Option["title"].(map[string]any)
		name, _ := title["text"].(string)
		// Compare the title's first words, spaces folded (long titles
		// wrap, hostile names are not ASCII).
		words := strings.Fields(name)
		if len(words) > 3 {
			words = words[:3]
		}
		if want := strings.Join(words, " "); want != "" && !strings.Contains(flat, want) {
			t.Errorf("chart %s (%q) is not in the printed PDF", s.ID, want)
		}
	}
}

// The inputs are in the page, escaped, with a command that reproduces
// the results.
func TestHTMLInputs(t *testing.T) {
	needECharts(t)
	r := fixture()
	r.Input = &Input{Command: "run", File: "my scenario.yaml", Scenario: "name: x\n# </pre><script>alert(1)</script>\n",
		Sets: []string{"seed=9", "servers[0].count=3"}, Strategies: []string{"p2c", "random"}}
	if got, want := r.Input.CommandLine(), `edgelab run 'my scenario.yaml' --strategy p2c,random --set seed=9 --set 'servers[0].count=3'`; got != want {
		t.Errorf("CommandLine() = %q, want %q", got, want)
	}
	var b bytes.Buffer
	if err := WriteHTML(&b, r, HTMLOptions{Version: "v1.2.3 (revision abc)"}); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	for _, want := range []string{`<section id="scenario">`, "&lt;/pre&gt;&lt;script&gt;alert(1)&lt;/script&gt;",
		"edgelab run &#39;my scenario.yaml&#39;", "rendered by edgelab v1.2.3 (revision abc)", "Generated by edgelab v1.2.3"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(page, "<script>alert(1)") {
		t.Error("the scenario text is not escaped")
	}
}
