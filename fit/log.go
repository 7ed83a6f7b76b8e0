package fit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/edgelab/edgelab/traces"
)

// Ways to group a log's service times into upstreams (Options.By).
const (
	// ByUpstream: HAProxy's backend (the part of backend/server before the
	// slash); for other formats every server together.
	ByUpstream = "upstream"
	// ByServer: each server (address) on its own.
	ByServer = "server"
	// ByPath: the first segment of the path (/api/users → /api).
	ByPath = "path"
	// ByAll: one group.
	ByAll = "all"
)

// Options choose how a log is read and grouped.
type Options struct {
	traces.ReplayOptions
	// By is ByUpstream (default), ByServer, ByPath or ByAll.
	By string
}

// Report is what FitLog found in a log.
type Report struct {
	// Log and Format name the log; Stats are what reading it counted.
	Log    string             `json:"log"`
	Format string             `json:"format"`
	Stats  traces.ReplayStats `json:"stats"`
	// Arrival is the fit of the arrival times.
	Arrival *ArrivalFit `json:"arrival"`
	// Services are the fits per group, in order of first appearance;
	// Skipped names groups with too few times to fit.
	Services []*ServiceFit `json:"services"`
	Skipped  []string      `json:"skipped,omitempty"`
}

// FitLog reads the log at path and fits its arrivals and, per group, its
// service times. It holds every arrival time and service time (16 bytes
// a request), unlike a replay.
func FitLog(path string, opt Options) (*Report, error) {
	by := opt.By
	if by == "" {
		by = ByUpstream
	}
	switch by {
	case ByUpstream, ByServer, ByPath, ByAll:
	default:
		return nil, fmt.Errorf("--by %q: want upstream, server, path or all", by)
	}
	names := map[string]int{}
	var order []string
	servers := []map[string]bool{}
	group := func(r *traces.Record) int {
		var key []byte
		switch by {
		case ByUpstream:
			key = []byte("upstream")
			if i := bytes.IndexByte(r.Server, '/'); i > 0 {
				key = r.Server[:i]
			}
		case ByServer:
			key = r.Server
			if len(key) == 0 {
				key = []byte("-")
			}
		case ByPath:
			key = []byte("/")
			if len(r.Path) > 1 {
				p := r.Path[1:]
				if i := bytes.IndexAny(p, "/?"); i >= 0 {
					p = p[:i]
				}
				key = append([]byte("/"), p...)
			}
		case ByAll:
			key = []byte("all")
		}
		g, ok := names[string(key)]
		if !ok {
			g = len(order)
			names[string(key)] = g
			order = append(order, string(key))
			servers = append(servers, map[string]bool{})
		}
		if len(r.Server) > 0 && len(servers[g]) < 100_000 && !servers[g][string(r.Server)] {
			servers[g][string(r.Server)] = true
		}
		return g
	}
	ro := opt.ReplayOptions
	ro.Group = group
	p, err := traces.OpenReplay(path, ro)
	if err != nil {
		return nil, err
	}
	defer p.Close()
	var at []time.Duration
	var svc [][]time.Duration
	var a traces.Arrival
	for p.Next(&a) {
		at = append(at, a.At)
		for int(a.Group) >= len(svc) {
			svc = append(svc, nil)
		}
		if a.Service >= 0 {
			svc[a.Group] = append(svc[a.Group], a.Service)
		}
	}
	if err := p.Err(); err != nil {
		return nil, err
	}
	rep := &Report{Log: path, Format: p.Format(), Stats: p.Stats()}
	if rep.Arrival, err = FitArrivals(at); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	for g, name := range order {
		if g >= len(svc) || len(svc[g]) < 10 {
			rep.Skipped = append(rep.Skipped, name)
			continue
		}
		f, err := FitService(name, svc[g])
		if err != nil {
			return nil, err
		}
		f.Instances = max(1, len(servers[g]))
		rep.Services = append(rep.Services, f)
	}
	return rep, nil
}

// YAML writes the scenario fragment the fit gives: clients.arrival and
// servers[] with name, count and service, each with the alternatives and
// their ΔAIC (and KS distance) in comments.
func (r *Report) YAML() []byte {
	var b bytes.Buffer
	st := r.Stats
	fmt.Fprintf(&b, "# edgelab fit %s (%s): %d requests over %.3f s", r.Log, r.Format, r.Arrival.N, r.Arrival.SpanS)
	if st.Skipped > 0 {
		fmt.Fprintf(&b, "; %d malformed lines skipped (first: %s)", st.Skipped, st.FirstBad)
	}
	if st.Late > 0 {
		fmt.Fprintf(&b, "; %d arrivals later than the reorder window", st.Late)
	}
	b.WriteString("\n# arrival rate by AIC (ΔAIC from the one chosen, the simplest within 2 of the lowest):")
	for _, m := range r.Arrival.Models {
		fmt.Fprintf(&b, " %s %+.1f", m.Model, m.AIC-r.Arrival.Best().AIC)
	}
	fmt.Fprintf(&b, "\nclients:\n  arrival: %s\n", r.Arrival.Best().YAML)
	if len(r.Services) > 0 {
		b.WriteString("servers:\n")
	}
	for _, s := range r.Services {
		fmt.Fprintf(&b, "  # %s: %d times, mean %.3f ms, %d server(s); by AIC:", s.Name, s.N, s.MeanMS, s.Instances)
		for _, c := range s.Candidates {
			fmt.Fprintf(&b, " %s %+.1f (KS %.3f)", c.Family, c.AIC-s.Best().AIC, c.KS)
		}
		fmt.Fprintf(&b, "\n  - name: %s\n    count: %d\n    service: %s\n", strconv.Quote(s.Name), s.Instances, s.Best().YAML)
	}
	if len(r.Skipped) > 0 {
		fmt.Fprintf(&b, "# not fitted (under 10 upstream times): %s\n", strings.Join(r.Skipped, ", "))
	}
	return b.Bytes()
}

// JSON is the fragment YAML gives, as JSON, with the fit's details under
// "fit".
func (r *Report) JSON() ([]byte, error) {
	var frag map[string]any
	if err := yaml.Unmarshal(r.YAML(), &frag); err != nil {
		return nil, fmt.Errorf("fit: %w", err)
	}
	frag["fit"] = r
	return json.MarshalIndent(frag, "", "  ")
}
