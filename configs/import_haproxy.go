package configs

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// HAProxy has no Go parser module we can use (haproxytech's config-parser
// and client-native are not served by our module proxy), so this reads
// the subset of the configuration a balancer's behaviour depends on:
// sections (global, defaults, frontend, backend, listen, and the others
// skipped), and in defaults, backend and listen: balance, hash-type,
// retries, retry-on, option redispatch, option abortonclose, timeout,
// default-server and server with weight, check, inter, rise, fall,
// backup, disabled and slowstart. The rest is listed as not mapped.

// haLine is one configuration line, split into words.
type haLine struct {
	at    string // file:line
	words []string
}

// haSection is a section and its lines.
type haSection struct {
	kind, name string
	at         string
	lines      []haLine
	defaults   *haSection // the defaults section it inherits from
}

var haSectionKinds = map[string]bool{"global": true, "defaults": true, "frontend": true, "backend": true, "listen": true,
	"resolvers": true, "peers": true, "userlist": true, "mailers": true, "program": true, "http-errors": true,
	"cache": true, "ring": true, "log-forward": true, "crt-store": true, "traces": true, "acme": true}

// readHAProxy splits a configuration into sections.
func readHAProxy(file string) ([]*haSection, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, &InputError{At: file, Msg: fmt.Sprintf("cannot read: %v", unwrap(err))}
	}
	var out []*haSection
	var cur, defaults *haSection
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		text := sc.Text()
		if i := strings.IndexByte(text, '#'); i >= 0 && !strings.Contains(text[:i], `"`) {
			text = text[:i]
		}
		words := strings.Fields(text)
		if len(words) == 0 {
			continue
		}
		at := fmt.Sprintf("%s:%d", file, n)
		if haSectionKinds[words[0]] {
			cur = &haSection{kind: words[0], at: at}
			if len(words) > 1 {
				cur.name = words[1]
			}
			switch words[0] {
			case "defaults":
				defaults = cur
			case "backend", "listen":
				if cur.name == "" {
					return nil, &InputError{At: at, Msg: words[0] + " needs a name"}
				}
				cur.defaults = defaults
			}
			out = append(out, cur)
			continue
		}
		if cur == nil {
			return nil, &InputError{At: at, Msg: fmt.Sprintf("%q before any section (global, defaults, frontend, backend, listen)", words[0])}
		}
		cur.lines = append(cur.lines, haLine{at: at, words: words})
	}
	if err := sc.Err(); err != nil {
		return nil, &InputError{At: file, Msg: err.Error()}
	}
	return out, nil
}

// haDuration reads an HAProxy time: milliseconds unless a unit (us, ms,
// s, m, h, d) says otherwise.
func haDuration(v string) (time.Duration, error) {
	i := strings.IndexFunc(v, func(r rune) bool { return r < '0' || r > '9' })
	num, unit := v, "ms"
	if i == 0 {
		return 0, fmt.Errorf("%q is not an HAProxy time", v)
	}
	if i > 0 {
		num, unit = v[:i], v[i:]
	}
	n, err := strconv.Atoi(num)
	if err != nil {
		return 0, fmt.Errorf("%q is not an HAProxy time", v)
	}
	per := map[string]time.Duration{"us": time.Microsecond, "ms": time.Millisecond, "s": time.Second, "m": time.Minute, "h": time.Hour, "d": 24 * time.Hour}[unit]
	if per == 0 {
		return 0, fmt.Errorf("%q is not an HAProxy time (units: us, ms, s, m, h, d)", v)
	}
	return time.Duration(n) * per, nil
}

// haServer is a server line with default-server applied.
type haServer struct {
	at, name, addr string
	params         map[string]string // keyword → value ("" for flags)
}

// haServerKeywords take a value; the others are flags.
var haServerKeywords = map[string]bool{"weight": true, "maxconn": true, "maxqueue": true, "inter": true, "fastinter": true,
	"downinter": true, "rise": true, "fall": true, "slowstart": true, "observe": true, "error-limit": true, "on-error": true,
	"port": true, "addr": true, "cookie": true, "id": true, "resolvers": true, "init-addr": true, "ssl": false, "agent-check": false}

func haParams(words []string) map[string]string {
	out := map[string]string{}
	for i := 0; i < len(words); i++ {
		k := words[i]
		if haServerKeywords[k] && i+1 < len(words) {
			out[k] = words[i+1]
			i++
			continue
		}
		out[k] = ""
	}
	return out
}

// ImportHAProxy reads an HAProxy configuration's backend (or listen
// section) and writes its scenario: the haproxy preset, the servers with
// their weights (disabled ones crash for the run), balance, health checks,
// retries with retry-on and option redispatch, the connect timeout's
// turn-around, the server timeout and option abortonclose.
func ImportHAProxy(file string, opt ImportOptions) (*Imported, error) {
	sections, err := readHAProxy(file)
	if err != nil {
		return nil, err
	}
	var backends []*haSection
	var names []string
	for _, s := range sections {
		if s.kind == "backend" || s.kind == "listen" {
			backends = append(backends, s)
			names = append(names, s.name)
		}
	}
	i, err := pick(file, "backend", names, opt.Upstream)
	if err != nil {
		return nil, err
	}
	be := backends[i]
	im := &haImport{t: &tree{}, be: be}
	if err := im.build(); err != nil {
		return nil, err
	}
	return render("HAProxy backend", be.name, file, im.t, im.notes), nil
}

type haImport struct {
	t     *tree
	be    *haSection
	notes []Note
}

func (im *haImport) note(l haLine, why string) {
	im.notes = append(im.notes, Note{At: l.at, What: strings.Join(l.words, " "), Why: why})
}

// haBalance maps balance's algorithm to the haproxy preset's names.
func haBalance(words []string) (string, bool) {
	alg := words[0]
	switch {
	case alg == "roundrobin" || alg == "static-rr" || alg == "leastconn" || alg == "first" || alg == "source":
		return alg, true
	case alg == "random" || strings.HasPrefix(alg, "random("):
		return alg, true
	}
	return "", false
}

var haRetryOn = map[string][]string{"conn-failure": {"connect_failure"}, "response-timeout": {"timeout"},
	"500": {"error_5xx"}, "502": {"error_5xx"}, "504": {"error_5xx"}, "503": {"queue_full"},
	"all-retryable-errors": {"connect_failure", "timeout", "error_5xx", "queue_full"}}

func (im *haImport) build() error {
	be, t := im.be, im.t
	t.set("name", yamlString(be.name), be.at)
	t.set("duration", "60s", "")
	t.set("warmup", "10s", "")
	t.set("clients.arrival", "{process: poisson, rate: 100}", "not in the configuration: your load")
	t.set("balancer.preset", "haproxy", be.at+": HAProxy; write haproxy@<version> for yours (the defaults changed in 3.3)")

	// The backend's lines after its defaults': a later line wins.
	var lines []haLine
	if be.defaults != nil {
		lines = append(lines, be.defaults.lines...)
	}
	lines = append(lines, be.lines...)
	var defaultServer map[string]string
	var servers []haServer
	var checkTimeout time.Duration
	checkAt := ""
	for _, l := range lines {
		w := l.words
		switch {
		case w[0] == "balance" && len(w) > 1:
			alg, ok := haBalance(w[1:])
			if !ok {
				im.note(l, "no catalogue strategy hashes this key; left at the preset's default")
				continue
			}
			t.set("balancer.strategy", yamlString(alg), l.at)
			if len(w) > 2 {
				im.note(l, "the algorithm's arguments are not modelled")
			}
		case w[0] == "hash-type":
			im.note(l, "edgelab's hashes have their own functions")
		case w[0] == "retries" && len(w) > 1:
			n, err := strconv.Atoi(w[1])
			if err != nil || n < 0 {
				return &InputError{At: l.at, Msg: "retries: want a number"}
			}
			if n > 10 {
				im.note(l, "edgelab retries at most 10 times")
				n = 10
			}
			t.set("clients.retries.max", strconv.Itoa(n), l.at)
		case w[0] == "retry-on" && len(w) > 1:
			var on []string
			for _, k := range w[1:] {
				if k == "none" {
					on = nil
					break
				}
				m, ok := haRetryOn[k]
				if !ok {
					im.note(l, k+" is not modelled")
					continue
				}
				for _, o := range m {
					if !contains(on, o) {
						on = append(on, o)
					}
				}
			}
			t.set("clients.retries.on", "["+strings.Join(on, ", ")+"]", l.at)
		case len(w) >= 2 && w[0] == "option" && w[1] == "redispatch":
			v := "-1"
			if len(w) > 2 {
				if _, err := strconv.Atoi(w[2]); err != nil {
					return &InputError{At: l.at, Msg: "option redispatch: want a number"}
				}
				v = w[2]
			}
			t.set("clients.retries.redispatch", v, l.at)
		case len(w) >= 3 && w[0] == "no" && w[1] == "option" && w[2] == "redispatch":
			t.set("clients.retries.redispatch", "0", l.at)
		case len(w) >= 2 && w[0] == "option" && w[1] == "abortonclose":
			t.set("balancer.ignore_client_abort", "false", l.at)
		case len(w) >= 3 && w[0] == "no" && w[1] == "option" && w[2] == "abortonclose":
			t.set("balancer.ignore_client_abort", "true", l.at)
		case w[0] == "timeout" && len(w) > 2:
			d, err := haDuration(w[2])
			if err != nil {
				return &InputError{At: l.at, Msg: fmt.Sprintf("timeout %s: %v", w[1], err)}
			}
			switch w[1] {
			case "connect":
				t.set("clients.retries.turnaround", min(d, time.Second).String(), l.at+": the turn-around is min(timeout connect, 1s)")
			case "server":
				t.set("clients.retries.per_try_timeout", d.String(), l.at)
				im.note(l, "HAProxy times the server's inactivity; edgelab the whole answer")
			case "check":
				checkTimeout, checkAt = d, l.at
			case "client", "http-request", "http-keep-alive", "queue", "tunnel", "client-fin", "server-fin":
			default:
				im.note(l, "not modelled")
			}
		case w[0] == "default-server":
			defaultServer = haParams(w[1:])
		case w[0] == "server":
			if len(w) < 3 {
				return &InputError{At: l.at, Msg: "server: want a name and an address"}
			}
			p := map[string]string{}
			for k, v := range defaultServer {
				p[k] = v
			}
			for k, v := range haParams(w[3:]) {
				p[k] = v
			}
			servers = append(servers, haServer{at: l.at, name: w[1], addr: w[2], params: p})
		case w[0] == "mode" || w[0] == "log" || w[0] == "option" && len(w) > 1 && (w[1] == "httplog" || w[1] == "tcplog" || w[1] == "dontlognull" || w[1] == "forwardfor"):
		default:
			im.note(l, "not modelled")
		}
	}
	return im.servers(servers, checkTimeout, checkAt)
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// servers writes the server group and the health checks.
func (im *haImport) servers(servers []haServer, checkTimeout time.Duration, checkAt string) error {
	t := im.t
	var weights, down []string
	check := ""
	inter, rise, fall := "", "", ""
	n := 0
	for _, s := range servers {
		l := haLine{at: s.at, words: []string{"server", s.name, s.addr}}
		if _, ok := s.params["backup"]; ok {
			im.note(l, "backup servers are used only when every active one is down: not modelled, left out")
			continue
		}
		w := "1"
		if v, ok := s.params["weight"]; ok {
			w = v
		}
		weights = append(weights, w)
		if _, ok := s.params["disabled"]; ok {
			down = append(down, strconv.Itoa(n))
		}
		if _, ok := s.params["check"]; ok {
			if check == "" {
				check = s.at
			}
			for _, kv := range []struct {
				k   string
				dst *string
			}{{"inter", &inter}, {"rise", &rise}, {"fall", &fall}} {
				if v, ok := s.params[kv.k]; ok {
					if *kv.dst != "" && *kv.dst != v {
						im.note(l, kv.k+" "+v+": servers differ; edgelab has one value for the group, the first server's")
						continue
					}
					*kv.dst = v
				}
			}
		}
		for k, v := range s.params {
			switch k {
			case "weight", "check", "inter", "rise", "fall", "disabled":
			case "slowstart":
				d, err := haDuration(v)
				if err != nil {
					return &InputError{At: s.at, Msg: fmt.Sprintf("slowstart: %v", err)}
				}
				t.set("balancer.health.slow_start", d.String(), s.at)
			default:
				im.note(haLine{at: s.at, words: []string{strings.TrimSpace(k + " " + v)}}, "not modelled")
			}
		}
		n++
	}
	if n == 0 {
		return &InputError{At: im.be.at, Msg: "the backend has no active server"}
	}
	if check == "" {
		t.set("balancer.health.active", "null", im.be.at+": no server has check")
	} else {
		interval := 2 * time.Second
		if inter != "" {
			d, err := haDuration(inter)
			if err != nil {
				return &InputError{At: check, Msg: fmt.Sprintf("inter: %v", err)}
			}
			interval = d
		}
		t.set("balancer.health.active.interval", interval.String(), check)
		to, toAt := interval, check+": without timeout check, inter"
		if checkTimeout > 0 {
			to, toAt = min(checkTimeout, interval), checkAt
		}
		t.set("balancer.health.active.timeout", to.String(), toAt)
		if rise != "" {
			t.set("balancer.health.active.healthy", rise, check)
		}
		if fall != "" {
			t.set("balancer.health.active.unhealthy", fall, check)
		}
	}
	from := im.be.at + ": the server lines (concurrency and service are not in the configuration)"
	if len(down) > 0 {
		from += "; disabled servers crash for the whole run"
	}
	t.set("servers", serverGroup(im.be.name, n, weights, down), from)
	return nil
}
