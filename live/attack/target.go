package attack

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/edgelab/edgelab/engine"
	"github.com/edgelab/edgelab/live/wire"
	"github.com/edgelab/edgelab/plan"
	"github.com/edgelab/edgelab/workloads"
)

// The attacker's targets carry their request's serial number and
// scheduled time in the URL fragment ("http://host/path#seq=42;at=1234"),
// which HTTP clients never send: vegeta copies the URL into each Result,
// so the collector matches every answer with its schedule without any
// shared table (vegeta's own Result.Seq numbers hits in an order that
// may differ from the order in which workers call the targeter).
const (
	fragSeq    = "#seq="
	fragAt     = ";at="
	fragKey    = ";k=" // the request's key and client, for the access log
	fragClient = ";c="
)

// targeter draws each request's properties from the simulator's random
// streams, in the simulator's order: the n-th call draws what the
// simulator draws for its n-th request (sim/request.go, newRequest), from
// the same streams of the same seed and replication. Every stream is drawn
// for every request, even the ones the simulator skips for a scenario
// (keys without a hashing strategy, say): the streams are independent, so
// this changes nothing and keeps request n identical in every case.
// Paths come from clients.paths (drawn as the simulator's gateway does;
// sent even without gateway routes, for a user's own gateway), or "/".
type targeter struct {
	mu      sync.Mutex
	seq     uint64
	clock   *workloads.ArrivalClock // "arrivals": request n's scheduled time
	clients *rand.Rand              // "clients"
	count   int
	keys    workloads.KeySampler // "keys"
	paths   *rand.Rand           // "paths"; nil when there is one path
	mix     plan.PathMix         // clients.paths
	demand  []workloads.Sampler  // "demand/<group>", in scenario order

	urls   []string // per path: the full URL
	tokens func(seq uint64) string

	// A trace (process: trace): which groups take their demand from it,
	// and whether urls are per route (urls[1+group]).
	fromTrace []bool
	routed    bool
}

// draw is one request's properties.
type draw struct {
	seq    uint64
	at     time.Duration
	client int
	key    uint32
	path   int
	demand []time.Duration
}

// newTargeter returns the targeter of replication rep of the scenario,
// sending to base (a URL such as http://127.0.0.1:8080).
func newTargeter(sc *workloads.Scenario, rep int, base string, tokens func(uint64) string) (*targeter, error) {
	u, err := url.Parse(base)
	switch {
	case err != nil:
		return nil, fmt.Errorf("target %q: %w", base, err)
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("target %q: the scheme must be http or https", base)
	case u.Host == "":
		return nil, fmt.Errorf("target %q: no host", base)
	case u.RawQuery != "" || u.Fragment != "" || u.User != nil:
		return nil, fmt.Errorf("target %q: give a base URL without query, fragment or user", base)
	}
	seed := sc.Seed
	clock, err := sc.ArrivalClock(engine.Source(seed, rep, "arrivals"))
	if err != nil {
		return nil, err
	}
	t := &targeter{
		clock:   clock,
		clients: engine.Stream(seed, rep, "clients"),
		count:   max(1, sc.Clients.Count),
		keys:    sc.Clients.Keys.KeySampler(engine.Stream(seed, rep, "keys")),
		tokens:  tokens,
	}
	for i := range sc.Servers {
		g := &sc.Servers[i]
		t.demand = append(t.demand, g.Service.Sampler(engine.Source(seed, rep, "demand/"+g.Name)))
	}
	// The path mix (plan.PathMix), drawn as the simulator's gateway draws it.
	t.mix = plan.NewPathMix(sc)
	prefix := strings.TrimSuffix(u.Path, "/")
	for _, path := range t.mix.Paths {
		pu := *u
		pu.Path = prefix + path
		pu.RawPath = ""
		t.urls = append(t.urls, pu.String())
	}
	if len(t.mix.Paths) > 1 {
		t.paths = engine.Stream(seed, rep, "paths")
	}
	if clock.Trace() != nil {
		// A trace's request goes to its route's path: the first prefix
		// that routes to its server group (urls[1+group]); a path no route
		// matches to one none does (urls[0]), answered 404.
		t.fromTrace = make([]bool, len(sc.Servers))
		for g := range sc.Servers {
			t.fromTrace[g] = sc.Servers[g].Service.From == workloads.FromTrace
		}
		t.urls = t.urls[:0]
		paths := []string{"/"}
		if gw := sc.Gateway; gw != nil && len(gw.Routes) > 0 {
			paths[0] = "/edgelab-unrouted"
			for _, g := range sc.Servers {
				p := ""
				for _, r := range gw.Routes {
					if r.To == g.Name && p == "" {
						p = r.Prefix
					}
				}
				paths = append(paths, p)
			}
		}
		for _, path := range paths {
			pu := *u
			pu.Path = prefix + path
			pu.RawPath = ""
			t.urls = append(t.urls, pu.String())
		}
		t.routed = len(paths) > 1
	}
	return t, nil
}

// draw fills d with the next request's properties; d.demand must have room
// for one value per server group.
func (t *targeter) draw(d *draw) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.seq++
	d.seq = t.seq
	d.at = t.clock.Next()
	d.client = t.clients.IntN(t.count)
	d.key = t.keys.Key()
	d.path = 0
	if t.paths != nil {
		d.path = t.mix.Pick(t.paths.Float64())
	}
	for g, s := range t.demand {
		d.demand[g] = workloads.Nanos(s.Sample())
	}
	if tr := t.clock.Trace(); tr != nil {
		// The trace's record of this request, as the simulator reads it
		// (sim/model.go): its key, its client, its route and its demand.
		d.key = tr.Key
		d.client = int(tr.Key % uint32(t.count))
		d.path = 0
		if t.routed {
			d.path = int(tr.Route) + 1
		}
		for g, from := range t.fromTrace {
			if from && tr.Service >= 0 {
				d.demand[g] = tr.Service
			}
		}
	}
}

// target is the vegeta.Targeter: a GET of the drawn path with the header
// protocol of package wire. It is safe for concurrent use;
// besides the header map vegeta needs, it allocates one string for the URL
// and every header value together.
func (t *targeter) target(tgt *vegeta.Target) error {
	var small [8]time.Duration
	d := draw{demand: small[:0]}
	if n := len(t.demand); n <= len(small) {
		d.demand = small[:n]
	} else {
		d.demand = make([]time.Duration, n)
	}
	t.draw(&d)
	tok := ""
	if t.tokens != nil {
		tok = t.tokens(d.seq)
	}

	var buf [256]byte
	b := append(buf[:0], t.urls[d.path]...)
	b = append(b, fragSeq...)
	seqAt := len(b)
	b = wire.AppendNumber(b, d.seq)
	seqEnd := len(b)
	b = append(b, fragAt...)
	b = strconv.AppendInt(b, int64(d.at), 10)
	b = append(b, fragKey...)
	b = strconv.AppendUint(b, uint64(d.key), 10)
	b = append(b, fragClient...)
	b = strconv.AppendUint(b, uint64(d.client), 10)
	urlEnd := len(b)
	b = wire.AppendDemand(b, d.demand)
	demandEnd := len(b)
	b = wire.AppendNumber(b, uint64(d.key))
	keyEnd := len(b)
	b = wire.AppendNumber(b, uint64(d.client))
	clientEnd := len(b)
	if tok != "" {
		b = append(b, "Bearer "...)
		b = append(b, tok...)
	}
	s := string(b)

	vals := make([]string, 5)
	vals[0] = s[seqAt:seqEnd]
	vals[1] = s[urlEnd:demandEnd]
	vals[2] = s[demandEnd:keyEnd]
	vals[3] = s[keyEnd:clientEnd]
	h := make(http.Header, 5)
	h[wire.HeaderSeq] = vals[0:1:1]
	h[wire.HeaderDemand] = vals[1:2:2]
	h[wire.HeaderKey] = vals[2:3:3]
	h[wire.HeaderClient] = vals[3:4:4]
	if tok != "" {
		vals[4] = s[clientEnd:]
		h["Authorization"] = vals[4:5:5]
	}
	tgt.Method = http.MethodGet
	tgt.URL = s[:urlEnd]
	tgt.Body = nil
	tgt.Header = h
	return nil
}

// parseFragment returns the serial number and scheduled time a
// target's URL carries; ok is false when it carries none.
func parseFragment(u string) (seq uint64, at time.Duration, ok bool) {
	i := strings.LastIndex(u, fragSeq)
	if i < 0 {
		return 0, 0, false
	}
	rest := u[i+len(fragSeq):]
	j := strings.Index(rest, fragAt)
	if j < 0 {
		return 0, 0, false
	}
	seq, err1 := strconv.ParseUint(rest[:j], 10, 64)
	ats := rest[j+len(fragAt):]
	if k := strings.IndexByte(ats, ';'); k >= 0 {
		ats = ats[:k]
	}
	ns, err2 := strconv.ParseInt(ats, 10, 64)
	if err1 != nil || err2 != nil {
		return 0, 0, false
	}
	return seq, time.Duration(ns), true
}

// fragmentKey returns the key and client a target's URL carries, and its
// path.
func fragmentKey(u string) (key, client uint32, path string) {
	field := func(name string) uint32 {
		i := strings.LastIndex(u, name)
		if i < 0 {
			return 0
		}
		v := u[i+len(name):]
		if j := strings.IndexByte(v, ';'); j >= 0 {
			v = v[:j]
		}
		n, _ := strconv.ParseUint(v, 10, 32)
		return uint32(n)
	}
	key, client = field(fragKey), field(fragClient)
	if i := strings.Index(u, "://"); i >= 0 {
		u = u[i+3:]
		if j := strings.IndexByte(u, '/'); j >= 0 {
			path = u[j:]
		}
	}
	if i := strings.IndexByte(path, '#'); i >= 0 {
		path = path[:i]
	}
	return key, client, path
}
