package workloads

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
)

// PathWeight is one entry of the clients' path mix.
type PathWeight struct {
	// Path is the request path ("/orders/42").
	Path string `yaml:"path"`
	// Weight is the entry's relative frequency (default 1).
	Weight float64 `yaml:"weight"`
}

// L4 balancing algorithms in front of gateway instances.
const (
	L4RoundRobin = "round-robin"
	L4FlowHash   = "flow-hash"
	L4LeastConn  = "least-conn"
)

// Gateway stage types.
const (
	StageAuth      = "auth"
	StageRateLimit = "ratelimit"
	StageCache     = "cache"
	StageTransform = "transform"
	StageLog       = "log"
)

// Where a ratelimit stage counts (Stage.Scope).
const (
	ScopeTier     = "tier"
	ScopeInstance = "instance"
)

// JWT signing algorithms an auth stage accepts (Stage.Alg).
const (
	AuthHS256 = "HS256"
	AuthRS256 = "RS256"
)

// maxHeaderRules bounds each list of a transform stage's header rules.
const maxHeaderRules = 64

// Gateway is a tier of API-gateway instances behind an L4 balancer.
type Gateway struct {
	// Preset names the API gateway whose defaults the tier takes ("kong",
	// "aws-api-gateway"); balancer.preset and every key written win over
	// it. After loading it reads "name@version". See package presets.
	Preset string `yaml:"preset"`
	// Instances is the number of gateway instances (default 1).
	Instances int `yaml:"instances"`
	// L4 is how the L4 balancer spreads connections: round-robin,
	// flow-hash (by client) or least-conn.
	L4 string `yaml:"l4"`
	// Concurrency is the requests an instance processes at once (its CPU
	// workers; default 64).
	Concurrency int `yaml:"concurrency"`
	// Queue is the waiting room per instance; omitted = unbounded.
	Queue *int `yaml:"queue"`
	// ProxyCost is the CPU time an instance spends on every request it
	// processes apart from its stages and TLS: reading and parsing it,
	// choosing a server, forwarding it and relaying the answer (default 0;
	// edgelab live --calibrate measures it).
	ProxyCost Duration `yaml:"proxy_cost"`
	// Stages run in order on every request.
	Stages []Stage `yaml:"stages"`
	// Routes map path prefixes to server groups, first match wins.
	// Without routes every request may go to any server.
	Routes []Route `yaml:"routes"`
	// TLS, when set, terminates TLS at the gateway instances, charging
	// handshakes and records to their CPU (see TLS).
	TLS *TLS `yaml:"tls"`
	// Connections, when set, bounds each instance's client connections
	// (see ConnLimit).
	Connections *ConnLimit `yaml:"connections"`
	// Health is the L4 balancer's active health check of gateway
	// instances (none when omitted).
	Health *ActiveHealth `yaml:"health"`
	// Failures is the gateway instances' failure schedule (crash, hang,
	// slow, random-crash).
	Failures []Failure `yaml:"failures"`
}

// Stage is one step of the gateway's pipeline.
type Stage struct {
	// Type is auth, ratelimit, cache, transform or log.
	Type string `yaml:"type"`
	// Cost is gateway CPU time per request spent in the stage.
	Cost Duration `yaml:"cost"`
	// Reject is the fraction of requests auth rejects.
	Reject float64 `yaml:"reject"`
	// Algorithm is the rate limiter: token-bucket, sliding-window or
	// fixed-window.
	Algorithm string `yaml:"algorithm"`
	// Rate is the rate limit in requests per second.
	Rate float64 `yaml:"rate"`
	// Burst is the token bucket's size (default one second of rate), or
	// the leaky bucket's NGINX burst (default 0).
	Burst int `yaml:"burst"`
	// Delay is the leaky bucket's NGINX delay=: excess requests admitted
	// without waiting (default 0: every one waits).
	Delay int `yaml:"delay"`
	// NoDelay admits the leaky bucket's excess requests at once (NGINX
	// nodelay).
	NoDelay bool `yaml:"nodelay"`
	// Window is the window of the window algorithms (default 1s).
	Window Duration `yaml:"window"`
	// Per is global (one limit for all traffic) or client (one per client).
	Per string `yaml:"per"`
	// Scope is where the limit is counted: tier (default: one count for
	// the whole gateway tier) or instance (each gateway instance counts
	// alone, as Kong's and APISIX's local policies do, so the tier admits
	// up to instances × the limit).
	Scope string `yaml:"scope"`
	// TTL is how long a cached response stays fresh.
	TTL Duration `yaml:"ttl"`
	// Size is the number of responses the cache holds per instance.
	Size int `yaml:"size"`
	// Alg is the auth stage's JWT signing algorithm, HS256 (default) or
	// RS256. Live mode verifies tokens with exactly this algorithm.
	Alg string `yaml:"alg"`
	// Headers are a transform stage's request header rewrites (live mode).
	// A pointer, so that Stage stays comparable.
	Headers *HeaderRules `yaml:"headers"`
}

// HeaderRules are the request header rewrites of a transform stage, applied
// in this order before the request is forwarded: Rename, Remove, Set.
type HeaderRules struct {
	// Rename moves each header's values to a new name (old: new),
	// replacing the new name's values.
	Rename map[string]string `yaml:"rename"`
	// Remove lists headers deleted from the request.
	Remove []string `yaml:"remove"`
	// Set gives headers set on the request (name: value), replacing any
	// value it had.
	Set map[string]string `yaml:"set"`
}

// Route sends requests whose path starts with Prefix to a server group.
type Route struct {
	Prefix string `yaml:"prefix"`
	To     string `yaml:"to"`
}

// Route returns the index of the server group for path, or -1.
func (g *Gateway) Route(path string, groups []ServerGroup) int {
	for _, r := range g.Routes {
		if strings.HasPrefix(path, r.Prefix) {
			for i := range groups {
				if groups[i].Name == r.To {
					return i
				}
			}
		}
	}
	return -1
}

func (g *Gateway) setDefaults() {
	if g.Instances == 0 {
		g.Instances = 1
	}
	if g.L4 == "" {
		g.L4 = L4RoundRobin
	}
	if g.Concurrency == 0 {
		g.Concurrency = 64
	}
	for i := range g.Stages {
		st := &g.Stages[i]
		if st.Type == StageRateLimit {
			if st.Algorithm == "" {
				st.Algorithm = "token-bucket"
			}
			if st.Per == "" {
				st.Per = "global"
			}
			if st.Scope == "" {
				st.Scope = ScopeTier
			}
		}
		if st.Type == StageAuth && st.Alg == "" {
			st.Alg = AuthHS256
		}
	}
	if h := g.Health; h != nil {
		(&Health{Active: h}).setDefaults(false, false)
	}
}

func (g *Gateway) validate(s *Scenario) error {
	const p = "gateway"
	switch {
	case g.Instances < 1 || g.Instances > 10000:
		return bad(p+".instances", "must be between 1 and 10000 (got %d)", g.Instances)
	case g.Concurrency < 1 || g.Concurrency > maxConcurrency:
		return bad(p+".concurrency", "must be between 1 and %d", maxConcurrency)
	case g.Queue != nil && (*g.Queue < 0 || *g.Queue > 1<<30):
		return bad(p+".queue", "must be between 0 and %d; omit it for an unbounded queue", 1<<30)
	}
	if err := oneOf(p+".l4", g.L4, L4RoundRobin, L4FlowHash, L4LeastConn); err != nil {
		return err
	}
	seen := map[string]bool{}
	for i := range g.Stages {
		if err := g.Stages[i].validate(fmt.Sprintf("%s.stages[%d]", p, i)); err != nil {
			return err
		}
		t := g.Stages[i].Type
		if seen[t] && (t == StageAuth || t == StageCache) {
			return bad(fmt.Sprintf("%s.stages[%d].type", p, i), "only one %s stage is allowed", t)
		}
		seen[t] = true
	}
	for i, r := range g.Routes {
		rp := fmt.Sprintf("%s.routes[%d]", p, i)
		if !strings.HasPrefix(r.Prefix, "/") {
			return bad(rp+".prefix", "a path prefix starts with / (got %q)", r.Prefix)
		}
		found := false
		for _, sg := range s.Servers {
			found = found || sg.Name == r.To
		}
		if !found {
			names := make([]string, len(s.Servers))
			for j, sg := range s.Servers {
				names[j] = sg.Name
			}
			return bad(rp+".to", "no server group is named %q (groups: %s)", r.To, strings.Join(names, ", "))
		}
	}
	if len(g.Routes) > 0 {
		for i, pw := range s.Clients.Paths {
			if g.Route(pw.Path, s.Servers) < 0 {
				return bad(fmt.Sprintf("clients.paths[%d].path", i), "no gateway route matches %q (add a route with prefix: /)", pw.Path)
			}
		}
		if len(s.Clients.Paths) == 0 && s.Clients.Arrival.Process != ProcessTrace && g.Route("/", s.Servers) < 0 {
			return bad(p+".routes", "requests without clients.paths have path /, which no route matches")
		}
	}
	if g.ProxyCost < 0 || g.ProxyCost.D() > time.Hour {
		return bad(p+".proxy_cost", "must be a CPU time between 0 and 1h (got %s)", g.ProxyCost)
	}
	if h := g.Health; h != nil {
		if err := (&Health{Active: h}).validate(); err != nil {
			var e *Error
			if errors.As(err, &e) {
				e.Field = strings.Replace(e.Field, "balancer.health.active", p+".health", 1)
			}
			return err
		}
	}
	for i := range g.Failures {
		f := &g.Failures[i]
		fp := fmt.Sprintf("%s.failures[%d]", p, i)
		if f.Kind == FailErrors {
			return bad(fp+".kind", "gateway instances do not answer with errors; use crash, hang, slow or random-crash")
		}
		if f.Kind == FailSlow && f.Latency != 0 {
			return bad(fp+".latency", "a slow gateway takes factor (its stages cost factor times more), not latency")
		}
		if err := f.validate(fp, g.Instances); err != nil {
			return err
		}
	}
	return nil
}

func (st *Stage) validate(p string) error {
	if err := oneOf(p+".type", st.Type, StageAuth, StageRateLimit, StageCache, StageTransform, StageLog); err != nil {
		return err
	}
	if st.Cost < 0 || st.Cost.D() > time.Hour {
		return bad(p+".cost", "must be between 0 and 1h")
	}
	given := map[string]bool{"reject": st.Reject != 0, "algorithm": st.Algorithm != "", "rate": st.Rate != 0,
		"burst": st.Burst != 0, "window": st.Window != 0, "per": st.Per != "", "scope": st.Scope != "", "ttl": st.TTL != 0, "size": st.Size != 0,
		"alg": st.Alg != "", "headers": st.Headers != nil, "delay": st.Delay != 0, "nodelay": st.NoDelay}
	takes := map[string][]string{
		StageAuth:      {"reject", "alg"},
		StageRateLimit: {"algorithm", "rate", "burst", "window", "per", "scope", "delay", "nodelay"},
		StageCache:     {"ttl", "size"},
		StageTransform: {"headers"},
	}[st.Type]
	for _, k := range []string{"reject", "alg", "algorithm", "rate", "burst", "window", "per", "scope", "delay", "nodelay", "ttl", "size", "headers"} {
		ok := false
		for _, t := range takes {
			ok = ok || t == k
		}
		if given[k] && !ok {
			return bad(p+"."+k, "a %s stage does not take %s", st.Type, k)
		}
	}
	switch st.Type {
	case StageAuth:
		if !finite(st.Reject) || st.Reject < 0 || st.Reject > 1 {
			return bad(p+".reject", "is a fraction between 0 and 1 (got %g)", st.Reject)
		}
		if err := oneOf(p+".alg", st.Alg, AuthHS256, AuthRS256); err != nil {
			return err
		}
	case StageRateLimit:
		if err := oneOf(p+".algorithm", st.Algorithm, "token-bucket", "sliding-window", "fixed-window", "leaky-bucket"); err != nil {
			return err
		}
		if st.Algorithm != "leaky-bucket" && (st.Delay != 0 || st.NoDelay) {
			k := "delay"
			if st.NoDelay {
				k = "nodelay"
			}
			return bad(p+"."+k, "belongs to the leaky-bucket algorithm (NGINX limit_req), not %s", st.Algorithm)
		}
		if st.Delay < 0 || st.Delay > 1<<30 {
			return bad(p+".delay", "must be between 0 and %d", 1<<30)
		}
		if err := oneOf(p+".per", st.Per, "global", "client"); err != nil {
			return err
		}
		if err := oneOf(p+".scope", st.Scope, ScopeTier, ScopeInstance); err != nil {
			return err
		}
		if !finite(st.Rate) || st.Rate <= 0 || st.Rate > maxRate {
			return bad(p+".rate", "must be a rate in requests/second above 0 (got %g)", st.Rate)
		}
		if st.Burst < 0 || st.Burst > 1<<30 {
			return bad(p+".burst", "must be between 0 and %d", 1<<30)
		}
		if st.Window < 0 {
			return bad(p+".window", "must not be negative")
		}
	case StageCache:
		if st.Size < 1 || st.Size > maxKeys {
			return bad(p+".size", "a cache holds between 1 and %d responses", maxKeys)
		}
		if st.TTL < 0 {
			return bad(p+".ttl", "must not be negative (0 = never expires)")
		}
	case StageTransform:
		if st.Headers != nil {
			return st.Headers.validate(p + ".headers")
		}
	}
	return nil
}

// validate checks a transform stage's header rules: valid header names,
// values without line breaks, and no header the lab or HTTP framing
// depends on.
func (h *HeaderRules) validate(p string) error {
	if len(h.Rename) > maxHeaderRules || len(h.Remove) > maxHeaderRules || len(h.Set) > maxHeaderRules {
		return bad(p, "at most %d entries in each of rename, remove and set", maxHeaderRules)
	}
	// Errors about a mapping's entries name the mapping: header names are
	// not valid key-path segments ("X-Api-Key").
	for _, k := range sortedKeys(h.Rename) {
		if err := checkHeaderName(p+".rename", k); err != nil {
			return err
		}
		if err := checkHeaderName(p+".rename", h.Rename[k]); err != nil {
			return err
		}
	}
	for i, k := range h.Remove {
		if err := checkHeaderName(fmt.Sprintf("%s.remove[%d]", p, i), k); err != nil {
			return err
		}
	}
	for _, k := range sortedKeys(h.Set) {
		if err := checkHeaderName(p+".set", k); err != nil {
			return err
		}
		if v := h.Set[k]; strings.ContainsAny(v, "\r\n\x00") || len(v) > 4096 {
			return bad(p+".set", "the value of %s must be one line of at most 4096 bytes", k)
		}
	}
	return nil
}

// checkHeaderName reports whether name is a valid HTTP field name (an RFC
// 9110 token) that a transform stage may rewrite: not one of HTTP framing
// and routing, nor an X-Edgelab-* header, which carry the lab's request
// identity.
func checkHeaderName(field, name string) error {
	if name == "" || len(name) > 256 {
		return bad(field, "a header name has 1 to 256 characters (got %q)", name)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
		if !ok {
			return bad(field, "%q is not a valid header name (letters, digits and !#$%%&'*+-.^_`|~)", name)
		}
	}
	lower := strings.ToLower(name)
	if strings.HasPrefix(lower, "x-edgelab-") {
		return bad(field, "%s carries the lab's request identity and cannot be rewritten", name)
	}
	switch lower {
	case "connection", "content-length", "host", "te", "trailer", "transfer-encoding", "upgrade":
		return bad(field, "%s is part of HTTP framing and cannot be rewritten", name)
	}
	return nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sortStrings(keys)
	return keys
}

func validatePaths(paths []PathWeight) error {
	for i := range paths {
		pw := &paths[i]
		p := fmt.Sprintf("clients.paths[%d]", i)
		if !strings.HasPrefix(pw.Path, "/") {
			return bad(p+".path", "a path starts with / (got %q)", pw.Path)
		}
		if pw.Weight == 0 {
			pw.Weight = 1
		}
		if math.IsNaN(pw.Weight) || pw.Weight < 0 || pw.Weight > 1e9 {
			return bad(p+".weight", "must be above 0")
		}
	}
	return nil
}
