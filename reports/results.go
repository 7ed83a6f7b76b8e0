// Package reports holds edgelab's results model and the streaming recorders
// that fill it: HDR-histogram latency percentiles with an exact mean, outcome
// counts, time-averaged gauges, 95% confidence intervals across
// replications, and the text and JSON renderings.
package reports

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
)

// Results is the content of results.json.
type Results struct {
	Scenario  string  `json:"scenario"`
	Mode      string  `json:"mode"`
	Seed      uint64  `json:"seed"`
	DurationS float64 `json:"duration_s"`
	WarmupS   float64 `json:"warmup_s"`
	// Partial is true when the run was interrupted before its end.
	Partial bool  `json:"partial,omitempty"`
	Runs    []Run `json:"runs"`
	// Failures lists the failure windows of the run (the same for every
	// strategy), for charts.
	Failures []FailureWindow `json:"failures,omitempty"`
	// Compare holds the simulation of the same scenario when a live run
	// was asked to compare itself with it (edgelab live --compare).
	Compare *Results `json:"compare,omitempty"`
	// Input is what produced the results, enough to reproduce them.
	Input *Input `json:"input,omitempty"`
	// Presets are the systems whose defaults the scenario took
	// (balancer.preset, gateway.preset), at the version they ran.
	Presets []Preset `json:"presets,omitempty"`
	// Trace is what the replay of a trace read (clients.arrival.process:
	// trace), in the first replication of the first strategy.
	Trace *Trace `json:"trace,omitempty"`
}

// Trace is what a trace replay read of its log.
type Trace struct {
	// File and Format name the log; Speed is clients.arrival.speed.
	File   string  `json:"file"`
	Format string  `json:"format"`
	Speed  float64 `json:"speed"`
	// Records counts the log's requests read, Replayed those in the window
	// (warm-up included).
	Records  int64 `json:"records"`
	Replayed int64 `json:"replayed"`
	// Skipped counts malformed lines, FirstBad names the first
	// (file:line: why); Late counts arrivals further out of time order
	// than clients.arrival.reorder.
	Skipped  int64  `json:"skipped"`
	FirstBad string `json:"first_bad,omitempty"`
	Late     int64  `json:"late"`
}

// Text is the trace's line of the text report.
func (t *Trace) Text() string {
	s := fmt.Sprintf("trace %s (%s", t.File, t.Format)
	if t.Speed != 1 {
		s += fmt.Sprintf(", speed %g", t.Speed)
	}
	s += fmt.Sprintf("): %d requests replayed", t.Replayed)
	if t.Skipped > 0 {
		s += fmt.Sprintf("; %d malformed lines skipped, the first %s", t.Skipped, t.FirstBad)
	}
	if t.Late > 0 {
		s += fmt.Sprintf("; %d arrivals later than the reorder window", t.Late)
	}
	return s
}

// Preset is one preset a run used.
type Preset struct {
	// Key is the scenario key that selected it: balancer.preset or
	// gateway.preset.
	Key string `json:"key"`
	// Name is the system ("nginx") and Version the version whose
	// behaviour ran ("1.31"; absent for a system without versions).
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
}

// PresetText is "nginx@1.31 (balancer), kong (gateway)", or "".
func PresetText(ps []Preset) string {
	var out []string
	for _, p := range ps {
		s := p.Name
		if p.Version != "" {
			s += "@" + p.Version
		}
		out = append(out, s+" ("+strings.TrimSuffix(p.Key, ".preset")+")")
	}
	return strings.Join(out, ", ")
}

// Input is the scenario as it was given to the command that produced a
// results.json.
type Input struct {
	// Command is the edgelab command that ran: run or live.
	Command string `json:"command"`
	// File is the scenario file as named on the command line ("" for the
	// embedded quick-start); Scenario its text, verbatim.
	File     string `json:"file,omitempty"`
	Scenario string `json:"scenario"`
	// Sets are the overrides applied to it (--set, --seed as seed=N) and
	// Strategies the --strategy list, when given.
	Sets       []string `json:"sets,omitempty"`
	Strategies []string `json:"strategies,omitempty"`
}

// CommandLine is the command that reproduces the results (its output
// directory aside).
func (in *Input) CommandLine() string {
	args := []string{"edgelab", in.Command}
	if in.File != "" {
		args = append(args, shellQuote(in.File))
	}
	if len(in.Strategies) > 0 {
		args = append(args, "--strategy", shellQuote(strings.Join(in.Strategies, ",")))
	}
	for _, s := range in.Sets {
		args = append(args, "--set", shellQuote(s))
	}
	return strings.Join(args, " ")
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=,:@+%") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// FailureWindow is one failure of one server instance.
type FailureWindow struct {
	Server string  `json:"server"`
	Kind   string  `json:"kind"`
	StartS float64 `json:"start_s"`
	EndS   float64 `json:"end_s"`
}

// Run is one strategy's results, over all replications.
type Run struct {
	Strategy     string `json:"strategy"`
	Replications int    `json:"replications"`
	Requests     int64  `json:"requests"`
	OK           int64  `json:"ok"`
	Failed       int64  `json:"failed"`
	Rejected     int64  `json:"rejected"`
	// Attempts counts attempts sent to servers, retries and hedges
	// included; absent (0) when an external gateway made them (live
	// --gateway), whose retries edgelab does not see.
	Attempts int64 `json:"attempts,omitempty"`
	// UpstreamConnections counts the connections to servers that the
	// attempts opened (balancer.upstream), the others reusing idle ones;
	// absent without balancer.upstream.
	UpstreamConnections int64   `json:"upstream_connections,omitempty"`
	ThroughputRPS       float64 `json:"throughput_rps"`
	GoodputRPS          float64 `json:"goodput_rps"`
	Availability        float64 `json:"availability"`
	LatencyMS           Latency `json:"latency_ms"`
	// LatencyCDF is the distribution of ok requests' latency over all
	// replications: a few hundred [ms, share] points sampled evenly in
	// nines (see CDFPoint), for a full-resolution CDF.
	LatencyCDF []CDFPoint `json:"latency_cdf,omitempty"`
	// CI95 holds the half-width of the 95% confidence interval of a metric
	// across replications ("latency_ms.p99": 1.2), when there are several.
	CI95     map[string]float64 `json:"ci95,omitempty"`
	Outcomes Outcomes           `json:"outcomes"`
	Servers  []Server           `json:"servers"`
	Sim      *SimStats          `json:"sim,omitempty"`
	// Replicates holds the per-replication figures behind the means, when
	// there are several replications (for paired comparisons).
	Replicates *Replicates `json:"replicates,omitempty"`
	// Live describes the load generation of a live run.
	Live *LiveStats `json:"live,omitempty"`
	// Gateway describes the gateway tier, when the scenario has one.
	Gateway *Gateway `json:"gateway,omitempty"`
	// Series is the first replication's time series.
	Series *Series `json:"series,omitempty"`
}

// Gateway is the gateway tier's share of the work, after warm-up.
type Gateway struct {
	// Instances are the gateway instances' load, like servers'.
	Instances []Server `json:"instances"`
	// Stages lists each stage with the requests that ran it and its CPU
	// cost per request.
	Stages []Stage `json:"stages"`
	// QueueMS is the mean wait for a gateway worker.
	QueueMS float64 `json:"queue_ms"`
	// LatencyShare is the fraction of ok upstream requests' response time
	// spent in the gateway (queue and stages).
	LatencyShare float64 `json:"latency_share"`
	CacheHits    int64   `json:"cache_hits"`
	CacheMisses  int64   `json:"cache_misses"`
	// CacheHitRatio is hits / (hits + misses).
	CacheHitRatio float64 `json:"cache_hit_ratio"`
	// Connections counts the client connections measured requests opened
	// (clients.keepalive, gateway.tls), FullHandshakes and
	// ResumedHandshakes their TLS handshakes, and TLSShare the share of
	// the gateway instances' CPU time that TLS took (handshakes and
	// records, against stages).
	Connections       int64   `json:"connections,omitempty"`
	FullHandshakes    int64   `json:"full_handshakes,omitempty"`
	ResumedHandshakes int64   `json:"resumed_handshakes,omitempty"`
	TLSShare          float64 `json:"tls_share,omitempty"`
	// CPUPerRequestMS is the gateway tier's CPU time per request it
	// processed, in milliseconds: in the simulator what it charged
	// (gateway.proxy_cost, stages and TLS); in live mode what the gateway
	// instances' goroutines measurably spent (live --cpu), TLS included.
	CPUPerRequestMS float64 `json:"cpu_ms_per_request,omitempty"`
	// Edge is the L4 balancer's TLS termination (gateway.tls.at: edge);
	// nil when the instances terminate TLS.
	Edge *Edge `json:"edge,omitempty"`
	// HandshakeCPUMS is the gateway's mean CPU time per TLS handshake, in
	// milliseconds: charged in the simulator (gateway.tls.full and
	// resumed), measured in live mode (live --cpu: the handshakes' CPU
	// over those the clients made in the measured window).
	HandshakeCPUMS float64 `json:"handshake_cpu_ms,omitempty"`
	// ConnectMS is, in live mode, the median time a client's new TLS
	// connection took to be ready: its TCP connect and its handshake, the
	// server's CPU and the client's and their round trips.
	ConnectMS float64 `json:"connect_ms,omitempty"`
}

// Edge is TLS terminated by the L4 balancer in front of the gateway
// instances (gateway.tls.at: edge).
type Edge struct {
	// Workers is gateway.tls.edge_workers; Utilization their busy share
	// (time-averaged) and MeanQueue the requests waiting for one.
	Workers     int     `json:"workers,omitempty"`
	Utilization float64 `json:"utilization"`
	MeanQueue   float64 `json:"mean_queue"`
	// QueueMS is the mean wait for a worker and CPUPerRequestMS the CPU
	// time per request, in milliseconds: in the simulator the TLS it
	// charged; in live mode (--cpu) what the L4 balancer's goroutines
	// spent, TLS and relaying the bytes, of which TLSShare is TLS.
	QueueMS         float64 `json:"queue_ms"`
	CPUPerRequestMS float64 `json:"cpu_ms_per_request"`
	TLSShare        float64 `json:"tls_share,omitempty"`
}

// Stage is one gateway stage's statistics.
type Stage struct {
	Type     string  `json:"type"`
	Requests int64   `json:"requests"`
	CostMS   float64 `json:"cost_ms"`
	// LatencyShare is the stage's cost as a fraction of the mean response
	// time of ok requests answered upstream.
	LatencyShare float64 `json:"latency_share"`
}

// Latency summarises the client-observed response time of ok requests in
// milliseconds.
type Latency struct {
	Mean float64 `json:"mean"`
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P95  float64 `json:"p95"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p999"`
	Max  float64 `json:"max"`
}

// Outcomes counts how requests ended.
type Outcomes struct {
	OK         int64 `json:"ok"`
	Error5xx   int64 `json:"error_5xx"`
	Timeout    int64 `json:"timeout"`
	QueueFull  int64 `json:"queue_full"`
	NoUpstream int64 `json:"no_upstream"`
	// ConnectFailure counts requests whose last attempt was refused or
	// reset by a crashed server.
	ConnectFailure int64 `json:"connect_failure"`
	RateLimited    int64 `json:"rate_limited"`
	AuthRejected   int64 `json:"auth_rejected"`
}

// Failed is the number of requests that failed (not ok, not rejected by
// policy).
func (o Outcomes) Failed() int64 {
	return o.Error5xx + o.Timeout + o.QueueFull + o.NoUpstream + o.ConnectFailure
}

// Rejected is the number of requests refused by policy.
func (o Outcomes) Rejected() int64 { return o.RateLimited + o.AuthRejected }

// Total is the number of requests with an outcome.
func (o Outcomes) Total() int64 { return o.OK + o.Failed() + o.Rejected() }

// Add adds b's counts to o.
func (o *Outcomes) Add(b Outcomes) {
	o.OK += b.OK
	o.Error5xx += b.Error5xx
	o.Timeout += b.Timeout
	o.QueueFull += b.QueueFull
	o.NoUpstream += b.NoUpstream
	o.ConnectFailure += b.ConnectFailure
	o.RateLimited += b.RateLimited
	o.AuthRejected += b.AuthRejected
}

// Server is one server instance's statistics after warm-up.
type Server struct {
	ID          string  `json:"id"`
	Requests    int64   `json:"requests"`
	Utilization float64 `json:"utilization"`
	MeanQueue   float64 `json:"mean_queue"`
}

// SimStats describes the simulation itself.
type SimStats struct {
	Events uint64  `json:"events"`
	WallS  float64 `json:"wall_s"`
}

// LiveStats describes a live run's load generation: the rate vegeta
// achieved and how late requests left compared with their schedule (the
// send lag; latencies are measured from the scheduled time, correcting for
// coordinated omission).
type LiveStats struct {
	TargetRPS   float64 `json:"target_rps"`
	AchievedRPS float64 `json:"achieved_rps"`
	// ShortfallPct is how far AchievedRPS fell below TargetRPS, in
	// percent of the target (0 when it did not).
	ShortfallPct float64 `json:"shortfall_pct"`
	// Warning, when set, says that the load generator did not send the
	// scenario's rate (a shortfall over ShortfallWarnPct): the system
	// was offered less load than the scenario describes.
	Warning   string  `json:"warning,omitempty"`
	SendLagMS Latency `json:"send_lag_ms"`
	// MaxConnections is the attacker's bound on its open connections
	// (derived from the file descriptor limit); 0 when unknown.
	MaxConnections int `json:"max_connections,omitempty"`
	// ReadyProbes is the number of requests the wait for an external
	// gateway sent through it and had answered before the load began
	// (live --gateway): a round robin's rotation moved that many picks
	// (the catalogue's round-robin offset parameter replays it).
	ReadyProbes int `json:"ready_probes,omitempty"`
	// Target is the URL the load was sent to.
	Target string  `json:"target"`
	WallS  float64 `json:"wall_s"`
}

// ShortfallWarnPct is the shortfall of the achieved rate below the target,
// in percent, beyond which a live run's results carry a warning.
const ShortfallWarnPct = 5.0

// CheckRate fills ShortfallPct and Warning from TargetRPS and
// AchievedRPS.
func (l *LiveStats) CheckRate() {
	l.ShortfallPct, l.Warning = 0, ""
	if l.TargetRPS <= 0 || l.AchievedRPS >= l.TargetRPS {
		return
	}
	l.ShortfallPct = Round((l.TargetRPS-l.AchievedRPS)/l.TargetRPS*100, 3)
	if l.ShortfallPct > ShortfallWarnPct {
		l.Warning = fmt.Sprintf("the load generator sent %.1f req/s of the %.1f targeted (%.1f%% short): "+
			"the system was offered less load than the scenario describes", l.AchievedRPS, l.TargetRPS, l.ShortfallPct)
		if l.MaxConnections > 0 {
			l.Warning += fmt.Sprintf("; the attacker holds at most %d connections (from the open file limit)", l.MaxConnections)
		}
	}
}

// JSON renders results as indented JSON with a trailing newline: the
// bytes of results.json.
func (r *Results) JSON() ([]byte, error) { return IndentJSON("results", r) }

// IndentJSON renders v as JSON indented by two spaces with a trailing
// newline, the layout of every file edgelab writes; what names v in the
// error.
func IndentJSON(what string, v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encode %s: %w", what, err)
	}
	return buf.Bytes(), nil
}

// WriteFileAtomic writes data to path through a temporary file in the same
// directory and a rename, so readers never see a half-written file.
func WriteFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, 0o644)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// ReadResults parses a results.json and checks that it is one the text,
// CSV and HTML writers can render: a scenario with runs, and in each run a
// time series whose arrays all have one value per bucket and whose
// per-instance rows have one row per instance. A file edited by hand or
// truncated is refused with what is wrong, never rendered into a panic.
func ReadResults(data []byte) (*Results, error) {
	var res Results
	if err := json.Unmarshal(data, &res); err != nil {
		return nil, fmt.Errorf("not a results.json: %s", JSONError(err))
	}
	if res.Scenario == "" || len(res.Runs) == 0 {
		return nil, errors.New("not a results.json: no scenario or runs")
	}
	for i := range res.Runs {
		if err := res.Runs[i].check(); err != nil {
			return nil, fmt.Errorf("runs[%d] (%s): %w", i, res.Runs[i].Strategy, err)
		}
	}
	return &res, nil
}

// check validates a run read from a file.
func (r *Run) check() error {
	if r.Requests < 0 || r.OK < 0 || r.Failed < 0 || r.Rejected < 0 || r.Attempts < 0 {
		return errors.New("negative counts")
	}
	if err := r.Replicates.check(r.Replications); err != nil {
		return err
	}
	s := r.Series
	if s == nil {
		return nil
	}
	n := len(s.T)
	perBucket := []struct {
		name string
		len  int
	}{
		{"offered", len(s.Offered)}, {"ok", len(s.OK)}, {"error_5xx", len(s.Error5xx)}, {"timeout", len(s.Timeout)},
		{"queue_full", len(s.QueueFull)}, {"connect_failure", len(s.ConnectFailure)}, {"no_upstream", len(s.NoUpstream)},
		{"rate_limited", len(s.RateLimited)}, {"auth_rejected", len(s.AuthRejected)}, {"p50_ms", len(s.P50MS)},
		{"p99_ms", len(s.P99MS)}, {"healthy", len(s.Healthy)}, {"instances", len(s.Instances)},
	}
	for _, a := range perBucket {
		if a.name == "healthy" && a.len == 0 {
			continue // not measured (an external gateway)
		}
		if a.len != n {
			return fmt.Errorf("series.%s has %d values for %d buckets (t_s)", a.name, a.len, n)
		}
	}
	if len(s.InFlight) != 0 && len(s.InFlight) != len(s.Utilization) {
		return fmt.Errorf("series.in_flight has %d rows, series.utilization %d", len(s.InFlight), len(s.Utilization))
	}
	for _, m := range []struct {
		name string
		rows [][]float64
	}{{"in_flight", s.InFlight}, {"utilization", s.Utilization}} {
		if len(m.rows) != 0 && len(m.rows) != len(r.Servers) {
			return fmt.Errorf("series.%s has %d rows for %d servers", m.name, len(m.rows), len(r.Servers))
		}
		for k, row := range m.rows {
			if len(row) != n {
				return fmt.Errorf("series.%s[%d] has %d values for %d buckets (t_s)", m.name, k, len(row), n)
			}
		}
	}
	return nil
}

// JSONError describes an error of encoding/json's decoder in a reader's
// terms, without Go's type and struct names: "runs[0].requests: want a
// whole number, got text" rather than "cannot unmarshal string into Go
// struct field Run.runs.requests of type int64".
func JSONError(err error) string {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		want := "a value of another kind"
		switch te.Type.Kind() {
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
			reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			want = "a whole number"
		case reflect.Float32, reflect.Float64:
			want = "a number"
		case reflect.String:
			want = "text"
		case reflect.Bool:
			want = "true or false"
		case reflect.Slice, reflect.Array:
			want = "a list"
		case reflect.Struct, reflect.Map:
			want = "an object"
		}
		got := map[string]string{"string": "text", "number": "a number", "bool": "true or false", "array": "a list", "object": "an object"}[te.Value]
		if got == "" {
			got = te.Value
		}
		if te.Field == "" {
			return fmt.Sprintf("want %s, got %s", want, got)
		}
		return fmt.Sprintf("%s: want %s, got %s", te.Field, want, got)
	case errors.As(err, &se):
		return fmt.Sprintf("not valid JSON at byte %d: %s", se.Offset, strings.TrimPrefix(se.Error(), "json: "))
	case err != nil:
		return strings.TrimPrefix(err.Error(), "json: ")
	}
	return ""
}
