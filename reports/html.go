package reports

// The self-contained HTML report: one page per results.json (and per sweep
// or capacity search) whose charts are drawn by Apache ECharts, inlined in
// the page so that it opens offline, from a file, years later.
//
// The chart options are built with go-echarts' typed API, but the page is
// rendered here, with html/template, not with go-echarts' renderer: that
// renderer loads ECharts from a CDN, embeds option JSON in a <script>
// without escaping it (a scenario named "</script><script>..." would
// inject into the page) and strips "__f__" markers from its whole output,
// and its default chart ids are random. Here option JSON is encoded with
// encoding/json's HTML escaping (<, >, & become \u003c, \u003e, \u0026),
// chart ids are fixed, text goes through html/template, and the only
// <script> elements are ECharts itself and a fixed bootstrap.

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"math"
	"strconv"
	"strings"
	"sync"
)

// assets holds the committed ECharts release (echarts.min.js, its
// license and notice, echarts.version); `make assets` refreshes it and
// TestEChartsIsThePinnedRelease checks it against the pinned sha512.
//
//go:embed assets
var assets embed.FS

// ErrNoECharts is wrapped by the HTML writers' errors when the binary was
// built without the ECharts library (reports/assets/echarts.min.js).
var ErrNoECharts = errors.New("the ECharts library is not embedded in this binary: restore reports/assets/echarts.min.js (git checkout, or make assets) and rebuild")

// echarts returns the embedded library and its version, read once.
var echarts = sync.OnceValues(func() (echartsLib, error) {
	js, err := fs.ReadFile(assets, "assets/echarts.min.js")
	if err != nil || len(js) == 0 {
		return echartsLib{}, ErrNoECharts
	}
	// The library is inlined in a <script> element: it must not close
	// the element or open an HTML comment inside it.
	lower := bytes.ToLower(js)
	for _, bad := range []string{"</script", "<script", "<!--"} {
		if bytes.Contains(lower, []byte(bad)) {
			return echartsLib{}, fmt.Errorf("reports/assets/echarts.min.js contains %q and cannot be inlined in a <script>", bad)
		}
	}
	v, _ := fs.ReadFile(assets, "assets/echarts.version")
	version, _, _ := strings.Cut(strings.TrimSpace(string(v)), " ")
	return echartsLib{js: template.JS(js), version: version}, nil
})

type echartsLib struct {
	js      template.JS
	version string
}

// HTMLAvailable returns nil when the HTML report can be rendered, or an
// error wrapping ErrNoECharts when the binary was built without ECharts.
func HTMLAvailable() error {
	_, err := echarts()
	return err
}

// HTMLOptions tune an HTML report.
type HTMLOptions struct {
	// Title replaces the page's default title (the scenario's name).
	Title string
	// SLO, when not nil and not zero, adds a verdict per objective and
	// strategy to the summary table (capacity passes the searched SLO).
	SLO *SLO
	// Version names the edgelab that renders the page (edgelab
	// --version), shown with the inputs and in the footer.
	Version string
}

// SLO is a service-level objective checked by the HTML summary; zero
// fields are not checked. It is also the objective of a capacity search
// (experiment.ParseSLO reads the --slo flag into one).
type SLO struct {
	// P99MS and MeanMS bound the response time of ok requests.
	P99MS  float64 `json:"p99_ms,omitempty"`
	MeanMS float64 `json:"mean_ms,omitempty"`
	// Availability is the least ok / (ok + failed), in percent (99.9).
	Availability float64 `json:"availability,omitempty"`
}

// IsZero reports whether the SLO checks nothing.
func (s SLO) IsZero() bool { return s.P99MS <= 0 && s.MeanMS <= 0 && s.Availability <= 0 }

// String renders the SLO as "p99 ≤ 200 ms, mean ≤ 50 ms, availability ≥
// 99.9%".
func (s SLO) String() string {
	var parts []string
	if s.P99MS > 0 {
		parts = append(parts, "p99 ≤ "+fmtNum(s.P99MS)+" ms")
	}
	if s.MeanMS > 0 {
		parts = append(parts, "mean ≤ "+fmtNum(s.MeanMS)+" ms")
	}
	if s.Availability > 0 {
		parts = append(parts, "availability ≥ "+fmtNum(s.Availability)+"%")
	}
	if len(parts) == 0 {
		return "no objective"
	}
	return strings.Join(parts, ", ")
}

// Meets reports whether run meets every objective of the SLO. A run with
// no ok request meets none.
func (s SLO) Meets(run *Run) bool {
	for _, c := range s.checks(run) {
		if !c.ok {
			return false
		}
	}
	return run.OK > 0
}

// sloCheck is one objective checked against one run.
type sloCheck struct {
	label string // "p99 ≤ 200 ms"
	value string // the run's figure
	ok    bool
}

func (s SLO) checks(run *Run) []sloCheck {
	var out []sloCheck
	okRun := run.OK > 0
	if s.P99MS > 0 {
		out = append(out, sloCheck{"p99 ≤ " + fmtNum(s.P99MS) + " ms", fmtMS(run.LatencyMS.P99), okRun && run.LatencyMS.P99 <= s.P99MS})
	}
	if s.MeanMS > 0 {
		out = append(out, sloCheck{"mean ≤ " + fmtNum(s.MeanMS) + " ms", fmtMS(run.LatencyMS.Mean), okRun && run.LatencyMS.Mean <= s.MeanMS})
	}
	if s.Availability > 0 {
		out = append(out, sloCheck{"availability ≥ " + fmtNum(s.Availability) + "%", fmtPct(run.Availability),
			okRun && 100*run.Availability >= s.Availability})
	}
	return out
}

// WriteHTML writes the self-contained HTML report of r to w: a summary
// table (with SLO verdicts when opt.SLO is set) and the charts r has data
// for — latency percentiles with 95% CIs, the latency CDF, latency,
// throughput, errors and healthy instances over time with failure windows
// shaded, load per instance, the gateway's stages, and the simulation
// overlaid when r.Compare is set. The page is rendered in memory first:
// nothing is written to w on error. The same results give the same bytes.
func WriteHTML(w io.Writer, r *Results, opt HTMLOptions) error {
	if r == nil {
		return errors.New("html report: no results")
	}
	p := newPage(opt)
	p.Title = opt.Title
	if p.Title == "" {
		p.Title = r.Scenario + " — edgelab report"
	}
	buildRunReport(p, r, opt)
	return p.write(w)
}

// page is what the template renders.
type page struct {
	Title    string
	Subtitle string
	Notes    []string
	Sections []*section

	specs   []chartSpec
	ids     map[string]bool
	edgelab string // the version that renders the page
}

func newPage(opt HTMLOptions) *page { return &page{ids: map[string]bool{}, edgelab: opt.Version} }

// section is one titled part of the page: paragraphs, tables and charts
// in order.
type section struct {
	ID    string
	Title string
	Items []item
}

// item is one of a paragraph, a table or a chart.
type item struct {
	Text  string
	Pre   string // preformatted text: a command, a scenario file
	Table *table
	Chart *chartDiv
}

type table struct {
	Caption string
	Header  []string
	Rows    [][]cell
}

// cell is a table cell; Class is "num", "pass", "fail" or empty.
type cell struct {
	Text  string
	Class string
}

type chartDiv struct {
	ID     string
	Height int
	Half   bool
}

// chartSpec is one chart as the bootstrap script receives it.
type chartSpec struct {
	ID     string         `json:"id"`
	Option map[string]any `json:"option"`
	// Nines marks a chart whose y axis is in nines (−log10(1 − share)):
	// the page's script labels it, and its tooltip, in percent.
	Nines bool `json:"nines,omitempty"`
}

func (p *page) section(id, title string) *section {
	s := &section{ID: id, Title: title}
	p.Sections = append(p.Sections, s)
	return s
}

func (s *section) text(format string, args ...any) {
	s.Items = append(s.Items, item{Text: fmt.Sprintf(format, args...)})
}

func (s *section) table(t *table) { s.Items = append(s.Items, item{Table: t}) }

// pre adds preformatted text to the section (escaped like every value).
func (s *section) pre(text string) { s.Items = append(s.Items, item{Pre: text}) }

// echart is what every go-echarts chart type provides.
type echart interface {
	Validate()
	JSON() map[string]any
}

// chart adds a chart to the section and its options to the page. ids are
// fixed by the caller (no random go-echarts ids) and must be unique.
func (p *page) chart(s *section, id string, height int, half bool, c echart) {
	if p.ids[id] {
		panic("reports: duplicate chart id " + id)
	}
	p.ids[id] = true
	c.Validate()
	p.specs = append(p.specs, chartSpec{ID: id, Option: c.JSON()})
	s.Items = append(s.Items, item{Chart: &chartDiv{ID: id, Height: height, Half: half}})
}

// write renders the page and writes it to w in one piece.
func (p *page) write(w io.Writer) error {
	lib, err := echarts()
	if err != nil {
		return fmt.Errorf("html report: %w", err)
	}
	specs, err := scriptJSON(p.specs)
	if err != nil {
		return fmt.Errorf("html report: %w", err)
	}
	// Drop sections left empty (no data for them).
	var secs []*section
	for _, s := range p.Sections {
		if len(s.Items) > 0 {
			secs = append(secs, s)
		}
	}
	data := struct {
		Title, Subtitle string
		Notes           []string
		Sections        []*section
		ChartCount      int
		ECharts         template.JS
		Version         string
		Edgelab         string
		Boot            template.JS
	}{p.Title, p.Subtitle, p.Notes, secs, len(p.specs), lib.js, lib.version, p.edgelab,
		template.JS("var EDGELAB_CHARTS = " + specs + ";\n" + bootJS)}
	var buf bytes.Buffer
	if err := pageTemplate.Execute(&buf, data); err != nil {
		return fmt.Errorf("html report: render: %w", err)
	}
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("html report: write: %w", err)
	}
	return nil
}

// scriptJSON encodes v for a <script> element. encoding/json escapes <, >
// and & (and U+2028, U+2029) inside strings, so no "</script" or "<!--"
// can appear; the check below makes that an invariant.
func scriptJSON(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("encode chart options: %w", err)
	}
	if bytes.ContainsAny(b, "<>") {
		return "", errors.New("encode chart options: unescaped < or > in JSON")
	}
	return string(b), nil
}

// fin returns x rounded to 6 significant digits, or nil (JSON null, a gap
// in a chart) when x is not finite.
func fin(x float64) any {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return nil
	}
	return round6sig(x)
}

func round6sig(x float64) float64 {
	v, err := strconv.ParseFloat(strconv.FormatFloat(x, 'g', 6, 64), 64)
	if err != nil {
		return x
	}
	return v
}

// fmtNum writes x compactly: "200", "99.9", "0.25".
func fmtNum(x float64) string { return strconv.FormatFloat(round6sig(x), 'f', -1, 64) }

func fmtMS(x float64) string  { return strconv.FormatFloat(x, 'f', 2, 64) }
func fmtPct(a float64) string { return strconv.FormatFloat(100*a, 'f', 3, 64) }
func fmtInt(n int64) string   { return strconv.FormatInt(n, 10) }
