package workloads

import (
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"time"

	"github.com/edgelab/edgelab/traces"
)

// traceHead is how many records loading reads of a trace to check it and
// to estimate its rate and mean upstream time.
const traceHead = 100_000

// validateTraceKeys checks that the trace keys appear with process: trace
// only, and their values.
func (a *Arrival) validateTraceKeys() error {
	if a.Process != ProcessTrace {
		for k, given := range map[string]bool{"file": a.File != "", "format": a.Format != "", "log_format": a.LogFormat != "",
			"key_var": a.KeyVar != "", "speed": a.Speed != 0, "window": a.Window != nil, "reorder": a.Reorder != 0, "strict": a.Strict} {
			if given {
				return bad("clients.arrival."+k, "belongs to process: trace")
			}
		}
		return nil
	}
	if a.File == "" {
		return bad("clients.arrival.file", "a trace replays an access log: name it (e.g. file: access.log)")
	}
	if a.Format != "" {
		if err := oneOf("clients.arrival.format", a.Format, traces.Formats...); err != nil {
			return err
		}
	}
	if a.LogFormat != "" && a.Format != "" && a.Format != traces.NGINX {
		return bad("clients.arrival.log_format", "is NGINX's log_format; format is %s", a.Format)
	}
	if a.LogFormat != "" || a.KeyVar != "" {
		if _, err := traces.CompileNGINX(a.LogFormat, a.KeyVar); err != nil {
			return bad("clients.arrival.log_format", "%v", err)
		}
	}
	if a.Speed == 0 {
		a.Speed = 1
	}
	if !finite(a.Speed) || a.Speed < 1e-3 || a.Speed > 1e6 {
		return bad("clients.arrival.speed", "must be between 0.001 and 1e6 (got %g)", a.Speed)
	}
	if w := a.Window; w != nil {
		if w.From < 0 || w.To < 0 {
			return bad("clients.arrival.window", "from and to must not be negative")
		}
		if w.To != 0 && w.To <= w.From {
			return bad("clients.arrival.window.to", "must be after from (%s ≤ %s)", w.To, w.From)
		}
	}
	if a.Reorder < 0 {
		return bad("clients.arrival.reorder", "must not be negative")
	}
	return nil
}

// validateFrom checks a service taken from the trace.
func (s *Service) validateFrom(p string) error {
	if s.From != FromTrace {
		return bad(p+".from", "the only source of demands is the trace (from: trace); got %q", s.From)
	}
	if s.Dist != "" || s.Mean != 0 || s.SD != 0 || s.Sigma != 0 || s.P99 != 0 || s.Alpha != 0 || s.Shape != 0 || s.SCV != 0 || s.Min != 0 || s.Max != 0 {
		return bad(p+".from", "takes each demand from the trace: give no distribution beside it")
	}
	return nil
}

// TraceOptions returns how the scenario's trace replays; route maps a
// request path to a server group (nil when the gateway has no routes).
func (s *Scenario) TraceOptions() traces.ReplayOptions {
	a := &s.Clients.Arrival
	opt := traces.ReplayOptions{
		Options: traces.Options{Format: a.Format, LogFormat: a.LogFormat, KeyVar: a.KeyVar, Strict: a.Strict},
		Speed:   a.Speed, Reorder: a.Reorder.D(),
	}
	if a.Window != nil {
		opt.From, opt.To = a.Window.From.D(), a.Window.To.D()
	}
	if g := s.Gateway; g != nil && len(g.Routes) > 0 {
		opt.Route = func(path []byte) int { return g.routeBytes(path, s.Servers) }
	}
	return opt
}

// routeBytes is Route for a path held in bytes.
func (g *Gateway) routeBytes(path []byte, groups []ServerGroup) int {
	for _, r := range g.Routes {
		if len(path) >= len(r.Prefix) && string(path[:len(r.Prefix)]) == r.Prefix {
			for i := range groups {
				if groups[i].Name == r.To {
					return i
				}
			}
		}
	}
	return -1
}

// OpenTrace opens the scenario's trace for one replay (process: trace).
// The caller closes it.
func (s *Scenario) OpenTrace() (*traces.Replay, error) {
	a := &s.Clients.Arrival
	if a.Process != ProcessTrace {
		return nil, errors.New("the scenario replays no trace")
	}
	return traces.OpenReplay(a.tracePath, s.TraceOptions())
}

// TraceStats is what loading read of the trace: its head (or all of it
// when the duration came from it).
func (s *Scenario) TraceStats() traces.ReplayStats { return s.Clients.Arrival.traceStats }

// TracePath is the trace's file, resolved against the scenario's
// directory.
func (s *Scenario) TracePath() string { return s.Clients.Arrival.tracePath }

// resolve is a file named in the scenario, relative to the scenario's
// own directory (as given when the scenario came from standard input).
func (s *Scenario) resolve(file string) string {
	if s.src != nil && !filepath.IsAbs(file) && !strings.HasPrefix(s.src.file, "-") {
		return filepath.Join(filepath.Dir(s.src.file), file)
	}
	return file
}

// probeTrace reads the head of a trace: a log that cannot be read or is
// in no known format fails here, with its file and line. The head's rate
// (times speed) becomes clients.arrival.rate, for estimates and reports,
// and its mean upstream time the mean of every service: {from: trace}.
// Without a duration, the whole trace is read for its length.
func (s *Scenario) probeTrace() error {
	a := &s.Clients.Arrival
	var fromTrace []int
	for i := range s.Servers {
		if s.Servers[i].Service.From == FromTrace {
			fromTrace = append(fromTrace, i)
		}
	}
	if a.Process != ProcessTrace {
		if len(fromTrace) > 0 {
			return bad(fmt.Sprintf("servers[%d].service.from", fromTrace[0]), "takes demands from a trace, but clients.arrival.process is %s, not trace", a.Process)
		}
		return nil
	}
	if len(s.Clients.Paths) > 0 {
		return bad("clients.paths", "a trace's requests have their own paths; remove clients.paths")
	}
	a.tracePath = s.resolve(a.File)
	p, err := s.OpenTrace()
	if err != nil {
		return bad("clients.arrival.file", "%v", err)
	}
	defer p.Close()
	whole := s.Duration == 0
	var arr traces.Arrival
	var n, nSvc int64
	var sum float64
	var last time.Duration
	for (whole || n < traceHead) && p.Next(&arr) {
		n++
		last = arr.At
		if arr.Service >= 0 {
			nSvc++
			sum += float64(arr.Service)
		}
	}
	if err := p.Err(); err != nil {
		return bad("clients.arrival.file", "%v", err)
	}
	a.traceStats = p.Stats()
	if n == 0 {
		return bad("clients.arrival.file", "%s has no request in the window replayed", a.tracePath)
	}
	if last > 0 {
		a.Rate = float64(n-1) / last.Seconds()
	} else {
		a.Rate = float64(n) // one instant: a rate per second of the burst
	}
	if whole {
		s.Duration = Duration(last.Truncate(time.Millisecond)+time.Millisecond) - s.Warmup
		if s.Duration <= 0 {
			return bad("warmup", "is longer than the trace (%s)", last)
		}
	}
	if len(fromTrace) > 0 {
		if nSvc == 0 {
			return bad(fmt.Sprintf("servers[%d].service.from", fromTrace[0]), "%s records no upstream time in its first %d lines", a.tracePath, n)
		}
		a.traceMean = max(Duration(math.Round(sum/float64(nSvc))), 1)
	}
	return nil
}

// fillTraceMeans gives every service: {from: trace} the mean upstream time
// of the trace's head, once the services are validated.
func (s *Scenario) fillTraceMeans() {
	for i := range s.Servers {
		if sv := &s.Servers[i].Service; sv.From == FromTrace {
			sv.Mean = s.Clients.Arrival.traceMean
		}
	}
}
