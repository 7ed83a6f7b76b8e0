package configs

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tufanbarisyildirim/gonginx/config"
	"github.com/tufanbarisyildirim/gonginx/parser"
)

// ImportOptions choose what to import.
type ImportOptions struct {
	// Upstream names the upstream (NGINX), backend (HAProxy) or cluster
	// (Envoy) to import; "" when the file has one.
	Upstream string
}

// nginxSite is a directive with the file it is in.
type nginxSite struct {
	d     config.IDirective
	file  string
	chain []config.IDirective // enclosing blocks, outermost first
}

func (s nginxSite) at() string {
	if u, ok := s.d.(*config.Upstream); ok {
		// gonginx gives a block the line where it ends: find where it
		// starts.
		return fmt.Sprintf("%s:%d", s.file, blockLine(s.file, "upstream", u.UpstreamName, u.Line))
	}
	return fmt.Sprintf("%s:%d", s.file, s.d.GetLine())
}

// blockLine is the line of "directive name {" in file, or def.
func blockLine(file, directive, name string, def int) int {
	b, err := os.ReadFile(file)
	if err != nil {
		return def
	}
	re := regexp.MustCompile(`^\s*` + regexp.QuoteMeta(directive) + `\s+` + regexp.QuoteMeta(name) + `(\s|\{|$)`)
	for i, line := range strings.Split(string(b), "\n") {
		if re.MatchString(line) {
			return i + 1
		}
	}
	return def
}

func params(d config.IDirective) []string {
	var out []string
	for _, p := range d.GetParameters() {
		out = append(out, p.Value)
	}
	return out
}

var lineRE = regexp.MustCompile(`line (\d+)`)

// ImportNGINX reads an NGINX configuration (includes followed, with
// github.com/tufanbarisyildirim/gonginx) and writes the scenario of one of
// its upstreams: the nginx preset, the servers with their weights, the
// balancing method, passive health (max_fails, fail_timeout), and, from
// the location that proxies to it, retries (proxy_next_upstream, _tries,
// _timeout), the read timeout, client-abort handling and limit_req.
func ImportNGINX(file string, opt ImportOptions) (*Imported, error) {
	p, err := parser.NewParser(file, parser.WithIncludeParsing(), parser.WithSkipValidDirectivesErr(), parser.WithSkipComments())
	if err != nil {
		return nil, &InputError{At: file, Msg: fmt.Sprintf("cannot read: %v", unwrap(err))}
	}
	conf, err := p.Parse()
	if err != nil {
		at := file
		if m := lineRE.FindStringSubmatch(err.Error()); m != nil {
			at += ":" + m[1]
		}
		return nil, &InputError{At: at, Msg: "not a valid NGINX configuration: " + err.Error()}
	}
	var sites []nginxSite
	walkNGINX(conf.Block, file, nil, &sites)

	var ups []nginxSite
	for _, s := range sites {
		if _, ok := s.d.(*config.Upstream); ok {
			ups = append(ups, s)
		}
	}
	var names []string
	for _, u := range ups {
		names = append(names, u.d.(*config.Upstream).UpstreamName)
	}
	i, err := pick(file, "upstream", names, opt.Upstream)
	if err != nil {
		return nil, err
	}
	up := ups[i]
	im := &nginxImport{file: file, sites: sites, up: up, t: &tree{}}
	if err := im.build(); err != nil {
		return nil, err
	}
	return render("NGINX upstream", up.d.(*config.Upstream).UpstreamName, file, im.t, im.notes), nil
}

func unwrap(err error) error {
	for {
		u, ok := err.(interface{ Unwrap() error })
		if !ok || u.Unwrap() == nil {
			return err
		}
		err = u.Unwrap()
	}
}

// walkNGINX lists every directive with its file, following includes.
func walkNGINX(b config.IBlock, file string, chain []config.IDirective, out *[]nginxSite) {
	if isNil(b) {
		return
	}
	for _, d := range b.GetDirectives() {
		*out = append(*out, nginxSite{d: d, file: file, chain: chain})
		if inc, ok := d.(*config.Include); ok {
			for _, c := range inc.Configs {
				walkNGINX(c.Block, relativeTo(file, c.FilePath), chain, out)
			}
			continue
		}
		if u, ok := d.(*config.Upstream); ok {
			for _, ud := range u.Directives {
				*out = append(*out, nginxSite{d: ud, file: file, chain: append(slices.Clip(chain), d)})
			}
			continue
		}
		if sub := d.GetBlock(); !isNil(sub) {
			walkNGINX(sub, file, append(slices.Clip(chain), d), out)
		}
	}
}

// relativeTo names an included file as the main file is named: beside it
// when the main file's name is relative.
func relativeTo(main, included string) string {
	if filepath.IsAbs(main) || !filepath.IsAbs(included) {
		return included
	}
	absMain, err := filepath.Abs(main)
	if err != nil {
		return included
	}
	rel, err := filepath.Rel(filepath.Dir(absMain), included)
	if err != nil || strings.HasPrefix(rel, "..") {
		return included
	}
	return filepath.Join(filepath.Dir(main), rel)
}

func isNil(v any) bool {
	if v == nil {
		return true
	}
	r := reflect.ValueOf(v)
	return r.Kind() == reflect.Pointer && r.IsNil()
}

type nginxImport struct {
	file  string
	sites []nginxSite
	up    nginxSite
	t     *tree
	notes []Note
}

func (im *nginxImport) note(s nginxSite, why string) {
	what := strings.TrimSpace(s.d.GetName() + " " + strings.Join(params(s.d), " "))
	im.notes = append(im.notes, Note{At: s.at(), What: what, Why: why})
}

// siteOf finds the site of a directive found by pointer.
func (im *nginxImport) siteOf(d config.IDirective) nginxSite {
	for _, s := range im.sites {
		if s.d == d {
			return s
		}
	}
	return nginxSite{d: d, file: im.file}
}

// nginxMethods maps an upstream's method directive to the nginx preset's
// algorithm name.
var nginxMethods = map[string]string{"least_conn": "least_conn", "ip_hash": "ip_hash", "random": "random", "least_time": "least_time"}

func (im *nginxImport) build() error {
	u := im.up.d.(*config.Upstream)
	upAt := im.up.at()
	t := im.t
	t.set("name", yamlString(u.UpstreamName), upAt)
	t.set("duration", "60s", "")
	t.set("warmup", "10s", "")
	t.set("clients.arrival", "{process: poisson, rate: 100}", "not in the configuration: your load")

	t.set("balancer.preset", "nginx", upAt+": NGINX; write nginx@<version> for yours")
	for _, d := range u.Directives {
		s := im.siteOf(d)
		ps := params(d)
		switch name := d.GetName(); name {
		case "least_conn", "ip_hash", "least_time":
			t.set("balancer.strategy", nginxMethods[name], s.at())
		case "random":
			alg := "random"
			if len(ps) > 0 && ps[0] == "two" {
				alg = "random two"
				if len(ps) > 1 && ps[1] != "least_conn" {
					im.note(s, "random two "+ps[1]+" (NGINX Plus) is taken as random two least_conn")
				}
			}
			t.set("balancer.strategy", yamlString(alg), s.at())
		case "hash":
			if slices.Contains(ps, "consistent") {
				t.set("balancer.strategy", `"hash consistent"`, s.at())
				im.note(s, "the key "+ps[0]+" is edgelab's request key (clients.keys)")
			} else {
				im.note(s, "hash without consistent (the key modulo the servers) has no catalogue strategy; left at round robin")
			}
		case "keepalive":
			if len(ps) > 0 && allDigits(ps[0]) {
				t.set("balancer.upstream.keepalive", ps[0], s.at())
				if len(ps) > 1 {
					im.note(s, "the idle connections are kept per gateway instance (per worker in NGINX); "+strings.Join(ps[1:], " ")+" is not modelled")
				}
			} else {
				im.note(s, "not a number of connections")
			}
		case "keepalive_requests", "keepalive_time", "keepalive_timeout":
			im.note(s, "an upstream connection's lifetime is not modelled (it stays while idle connections are kept)")
		case "zone":
			im.note(s, "state shared by the workers: edgelab models one worker, the same")
		case "sticky":
			t.set("balancer.affinity", "client", s.at()+": approximation")
			im.note(s, "sticky sessions taken as balancer.affinity: client")
		default:
			im.note(s, "not modelled")
		}
	}

	// Servers: one group, one instance per server line.
	var weights []string
	var down []string
	maxFails, failTimeout := "", ""
	var primaries int
	for _, sv := range u.UpstreamServers {
		at := fmt.Sprintf("%s:%d", im.up.file, sv.Line)
		if slices.Contains(sv.Flags, "backup") {
			im.notes = append(im.notes, Note{At: at, What: "server " + sv.Address + " backup", Why: "backup servers are used only when every primary is out: not modelled, left out"})
			continue
		}
		w := "1"
		if v, ok := sv.Parameters["weight"]; ok {
			w = v
		}
		weights = append(weights, w)
		if slices.Contains(sv.Flags, "down") {
			down = append(down, strconv.Itoa(primaries))
		}
		for k, v := range sv.Parameters {
			switch k {
			case "weight":
			case "max_fails":
				if maxFails != "" && maxFails != v {
					im.notes = append(im.notes, Note{At: at, What: "max_fails=" + v, Why: "servers differ; edgelab has one value for the group, the first server's: " + maxFails})
				} else {
					maxFails = v
				}
			case "fail_timeout":
				if failTimeout != "" && failTimeout != v {
					im.notes = append(im.notes, Note{At: at, What: "fail_timeout=" + v, Why: "servers differ; edgelab has one value for the group, the first server's: " + failTimeout})
				} else {
					failTimeout = v
				}
			case "slow_start":
				d, err := nginxDuration(v)
				if err != nil {
					return &InputError{At: at, Msg: fmt.Sprintf("slow_start=%s: %v", v, err)}
				}
				t.set("balancer.health.slow_start", d, at+": NGINX Plus slow_start")
			default:
				im.notes = append(im.notes, Note{At: at, What: k + "=" + v, Why: "not modelled"})
			}
		}
		primaries++
	}
	if primaries == 0 {
		return &InputError{At: upAt, Msg: "the upstream has no primary server"}
	}
	if maxFails != "" || failTimeout != "" {
		if maxFails != "" {
			t.set("balancer.health.passive.max_fails", maxFails, im.serverAt(u, "max_fails"))
		}
		if failTimeout != "" {
			d, err := nginxDuration(failTimeout)
			if err != nil {
				return &InputError{At: im.serverAt(u, "fail_timeout"), Msg: fmt.Sprintf("fail_timeout=%s: %v", failTimeout, err)}
			}
			t.set("balancer.health.passive.fail_timeout", d, im.serverAt(u, "fail_timeout"))
		}
	}
	if err := im.proxySettings(u.UpstreamName); err != nil {
		return err
	}
	// The servers list, last.
	from := upAt + ": the server lines (concurrency and service are not in the configuration)"
	if len(down) > 0 {
		from += "; servers marked down crash for the whole run"
	}
	t.set("servers", serverGroup(u.UpstreamName, primaries, weights, down), from)
	return nil
}

// serverAt is the line of the first server line with parameter k.
func (im *nginxImport) serverAt(u *config.Upstream, k string) string {
	for _, sv := range u.UpstreamServers {
		if _, ok := sv.Parameters[k]; ok {
			return fmt.Sprintf("%s:%d", im.up.file, sv.Line)
		}
	}
	return im.up.at()
}

// proxySettings reads the location that proxies to the upstream, with the
// values it inherits from its server and http blocks.
func (im *nginxImport) proxySettings(name string) error {
	var pass *nginxSite
	for i, s := range im.sites {
		if s.d.GetName() != "proxy_pass" {
			continue
		}
		ps := params(s.d)
		if len(ps) == 0 {
			continue
		}
		target := strings.TrimPrefix(strings.TrimPrefix(ps[0], "http://"), "https://")
		target, _, _ = strings.Cut(target, "/")
		if target == name {
			if pass != nil {
				im.note(s, "another location proxies to the upstream; the first one's settings are used ("+pass.at()+")")
				continue
			}
			pass = &im.sites[i]
		}
	}
	t := im.t
	if pass == nil {
		im.notes = append(im.notes, Note{At: im.up.at(), What: "upstream " + name, Why: "no proxy_pass to it: NGINX's default retries and timeouts"})
		return nil
	}
	// lookup finds the directive that applies at the proxy_pass: in its own
	// block first, then in the enclosing ones.
	lookup := func(directive string) (nginxSite, bool) {
		for i := len(pass.chain) - 1; i >= 0; i-- {
			b := pass.chain[i].GetBlock()
			if isNil(b) {
				continue
			}
			for _, d := range b.GetDirectives() {
				if d.GetName() == directive {
					return im.siteOf(d), true
				}
			}
		}
		return nginxSite{}, false
	}
	if s, ok := lookup("proxy_next_upstream"); ok {
		ps := params(s.d)
		if slices.Contains(ps, "off") {
			t.set("clients.retries.max", "0", s.at())
		} else {
			var on []string
			for _, p := range ps {
				switch p {
				case "error":
					on = append(on, "connect_failure")
				case "timeout":
					on = append(on, "timeout")
				case "http_500", "http_502", "http_504":
					if !slices.Contains(on, "error_5xx") {
						on = append(on, "error_5xx")
					}
				case "http_503":
					on = append(on, "queue_full")
				case "invalid_header":
				case "non_idempotent":
					im.note(s, "non_idempotent: edgelab's requests are all retried alike")
				default:
					im.note(s, p+" is not modelled")
				}
			}
			list := "[" + strings.Join(on, ", ") + "]"
			t.set("clients.retries.on", list, s.at())
			// What NGINX counts against max_fails: errors and timeouts, and
			// the 5xx it retries.
			counted := []string{"connect_failure", "timeout"}
			for _, o := range on {
				if o == "error_5xx" || o == "queue_full" {
					counted = append(counted, o)
				}
			}
			t.set("balancer.health.passive.on", "["+strings.Join(counted, ", ")+"]", s.at())
		}
	}
	if s, ok := lookup("proxy_next_upstream_tries"); ok {
		n, err := strconv.Atoi(firstParam(s.d))
		if err != nil || n < 0 {
			return &InputError{At: s.at(), Msg: "proxy_next_upstream_tries: want a number"}
		}
		if n > 0 {
			t.set("clients.retries.max", strconv.Itoa(min(n-1, 10)), s.at())
			if n-1 > 10 {
				im.note(s, "edgelab retries at most 10 times")
			}
		}
	}
	for _, m := range []struct{ directive, key string }{
		{"proxy_next_upstream_timeout", "clients.retries.timeout"},
		{"proxy_read_timeout", "clients.retries.per_try_timeout"},
	} {
		if s, ok := lookup(m.directive); ok {
			d, err := nginxDuration(firstParam(s.d))
			if err != nil {
				return &InputError{At: s.at(), Msg: fmt.Sprintf("%s: %v", m.directive, err)}
			}
			t.set(m.key, d, s.at())
			if m.directive == "proxy_read_timeout" {
				im.note(s, "NGINX times the gap between two reads; edgelab the whole answer")
			}
		}
	}
	for _, directive := range []string{"proxy_connect_timeout", "proxy_send_timeout"} {
		if s, ok := lookup(directive); ok {
			im.note(s, "not modelled: edgelab's backends answer connections at once")
		}
	}
	if s, ok := lookup("proxy_ignore_client_abort"); ok {
		t.set("balancer.ignore_client_abort", strconv.FormatBool(firstParam(s.d) == "on"), s.at())
	}
	if s, ok := lookup("limit_req"); ok {
		if err := im.limitReq(s); err != nil {
			return err
		}
	}
	return nil
}

// limitReq maps limit_req (with its limit_req_zone) to a leaky-bucket
// ratelimit stage of a one-instance gateway tier.
func (im *nginxImport) limitReq(s nginxSite) error {
	zone, burst, delay, nodelay := "", "0", "", false
	for _, p := range params(s.d) {
		switch {
		case strings.HasPrefix(p, "zone="):
			zone = strings.TrimPrefix(p, "zone=")
		case strings.HasPrefix(p, "burst="):
			burst = strings.TrimPrefix(p, "burst=")
		case strings.HasPrefix(p, "delay="):
			delay = strings.TrimPrefix(p, "delay=")
		case p == "nodelay":
			nodelay = true
		}
	}
	var zs nginxSite
	found := false
	for _, z := range im.sites {
		if z.d.GetName() != "limit_req_zone" {
			continue
		}
		for _, p := range params(z.d) {
			if name, _, _ := strings.Cut(strings.TrimPrefix(p, "zone="), ":"); strings.HasPrefix(p, "zone=") && name == zone {
				zs, found = z, true
			}
		}
	}
	if !found {
		return &InputError{At: s.at(), Msg: fmt.Sprintf("limit_req zone=%s: no limit_req_zone defines it", zone)}
	}
	zp := params(zs.d)
	rate := 0.0
	for _, p := range zp {
		if v, ok := strings.CutPrefix(p, "rate="); ok {
			per := 1.0
			switch {
			case strings.HasSuffix(v, "r/s"):
				v = strings.TrimSuffix(v, "r/s")
			case strings.HasSuffix(v, "r/m"):
				v, per = strings.TrimSuffix(v, "r/m"), 60
			}
			r, err := strconv.ParseFloat(v, 64)
			if err != nil || r <= 0 {
				return &InputError{At: zs.at(), Msg: "limit_req_zone rate: want N r/s or N r/m"}
			}
			rate = r / per
		}
	}
	per := "global"
	if len(zp) > 0 && (zp[0] == "$binary_remote_addr" || zp[0] == "$remote_addr") {
		per = "client"
	} else if len(zp) > 0 {
		im.note(zs, "the key "+zp[0]+" is counted as one global limit")
	}
	stage := fmt.Sprintf("[{type: ratelimit, algorithm: leaky-bucket, rate: %s, burst: %s, per: %s", strconv.FormatFloat(rate, 'g', -1, 64), burst, per)
	if nodelay {
		stage += ", nodelay: true"
	} else if delay != "" {
		stage += ", delay: " + delay
	}
	stage += "}]"
	im.t.set("gateway.instances", "1", s.at()+": limit_req runs in the NGINX that balances")
	im.t.set("gateway.stages", stage, s.at()+", "+zs.at())
	return nil
}

func firstParam(d config.IDirective) string {
	if ps := params(d); len(ps) > 0 {
		return ps[0]
	}
	return ""
}

// nginxDuration reads an NGINX time ("10s", "1m", "500ms", "30" = seconds)
// as a Go duration.
func nginxDuration(v string) (string, error) {
	units := []struct {
		suffix string
		d      time.Duration
	}{{"ms", time.Millisecond}, {"s", time.Second}, {"m", time.Minute}, {"h", time.Hour}, {"d", 24 * time.Hour}}
	total := time.Duration(0)
	rest := v
	for rest != "" {
		i := strings.IndexFunc(rest, func(r rune) bool { return r < '0' || r > '9' })
		if i == 0 {
			return "", fmt.Errorf("%q is not an NGINX time", v)
		}
		if i < 0 {
			n, _ := strconv.Atoi(rest)
			total += time.Duration(n) * time.Second
			break
		}
		n, _ := strconv.Atoi(rest[:i])
		rest = rest[i:]
		matched := false
		for _, u := range units {
			if strings.HasPrefix(rest, u.suffix) && !(u.suffix == "m" && strings.HasPrefix(rest, "ms")) {
				total += time.Duration(n) * u.d
				rest = rest[len(u.suffix):]
				matched = true
				break
			}
		}
		if !matched {
			return "", fmt.Errorf("%q is not an NGINX time", v)
		}
	}
	return time.Duration(total).String(), nil
}

// allDigits reports whether s is a non-empty run of decimal digits.
func allDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}
