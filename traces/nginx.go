package traces

import (
	"bytes"
	"fmt"
	"strings"
	"time"
)

// DefaultNGINXFormat is the NGINX log_format edgelab reads when none is
// given and writes: combined with the timing NGINX leaves out of it
// ($request_time, the tries' $upstream_response_time and $upstream_addr,
// and $msec, the log time to the millisecond). To log it:
//
//	log_format edgelab '$remote_addr - $remote_user [$time_local] "$request" '
//	                   '$status $body_bytes_sent "$http_referer" "$http_user_agent" '
//	                   '$request_time "$upstream_response_time" "$upstream_addr" $msec';
//	access_log /var/log/nginx/access.log edgelab;
const DefaultNGINXFormat = `$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" $request_time "$upstream_response_time" "$upstream_addr" $msec`

// CombinedNGINXFormat is NGINX's predefined combined format
// (https://nginx.org/en/docs/http/ngx_http_log_module.html#log_format):
// its only time, $time_local, has a resolution of one second.
const CombinedNGINXFormat = `$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"`

var (
	defaultNGINX  = mustNGINX(DefaultNGINXFormat)
	combinedNGINX = mustNGINX(CombinedNGINXFormat)
)

func mustNGINX(f string) *NGINXFormat {
	nf, err := CompileNGINX(f, "")
	if err != nil {
		panic(err)
	}
	return nf
}

// nginxVar says what a variable of a log_format gives.
type nginxVar uint8

const (
	nvOther nginxVar = iota
	nvMsec
	nvTimeLocal
	nvTimeISO
	nvRequestTime
	nvUpstreamTime
	nvRequest
	nvURI
	nvKey
	nvStatus
	nvUpstreamAddr
)

// NGINXFormat parses lines of one NGINX log_format: the literal text
// between variables delimits their values.
type NGINXFormat struct {
	lits [][]byte // lits[i] precedes vars[i]; the last follows the last var
	vars []nginxVar
	// what the format can tell
	hasMsec, hasLocal, hasISO, hasReqTime bool
}

// CompileNGINX compiles an NGINX log_format string (empty: the default
// format; "combined": NGINX's). keyVar names the variable that holds a
// request's key (default remote_addr). Two variables with no text between
// them cannot be told apart, and a format with no time variable ($msec,
// $time_local or $time_iso8601) gives no arrivals: both are errors.
func CompileNGINX(format, keyVar string) (*NGINXFormat, error) {
	switch format {
	case "":
		format = DefaultNGINXFormat
	case "combined":
		format = CombinedNGINXFormat
	}
	keyVar = strings.TrimPrefix(keyVar, "$")
	if keyVar == "" {
		keyVar = "remote_addr"
	}
	nf := &NGINXFormat{}
	lit := []byte{}
	for i := 0; i < len(format); {
		c := format[i]
		if c != '$' {
			lit = append(lit, c)
			i++
			continue
		}
		j := i + 1
		braced := j < len(format) && format[j] == '{'
		if braced {
			j++
		}
		k := j
		for k < len(format) && (format[k] == '_' || format[k] >= 'a' && format[k] <= 'z' || format[k] >= 'A' && format[k] <= 'Z' || format[k] >= '0' && format[k] <= '9') {
			k++
		}
		name := format[j:k]
		if braced {
			if k >= len(format) || format[k] != '}' {
				return nil, fmt.Errorf("log_format: unclosed ${ at offset %d", i)
			}
			k++
		}
		if name == "" {
			lit = append(lit, c)
			i++
			continue
		}
		if len(nf.vars) > 0 && len(lit) == 0 {
			return nil, fmt.Errorf("log_format: $%s follows another variable with no text between them, so their values cannot be told apart", name)
		}
		nf.lits = append(nf.lits, lit)
		lit = []byte{}
		v := nvOther
		switch name {
		case "msec":
			v, nf.hasMsec = nvMsec, true
		case "time_local":
			v, nf.hasLocal = nvTimeLocal, true
		case "time_iso8601":
			v, nf.hasISO = nvTimeISO, true
		case "request_time":
			v, nf.hasReqTime = nvRequestTime, true
		case "upstream_response_time":
			v = nvUpstreamTime
		case "request":
			v = nvRequest
		case "request_uri", "uri":
			v = nvURI
		case "status":
			v = nvStatus
		case "upstream_addr":
			v = nvUpstreamAddr
		}
		if name == keyVar {
			v = nvKey
		}
		nf.vars = append(nf.vars, v)
		i = k
	}
	nf.lits = append(nf.lits, lit)
	if !nf.hasMsec && !nf.hasLocal && !nf.hasISO {
		return nil, fmt.Errorf("log_format %q has no time ($msec, $time_local or $time_iso8601): it gives no arrival times", format)
	}
	return nf, nil
}

// Parse implements Parser. The arrival is the log time ($msec, else
// $time_iso8601 or $time_local) less $request_time: NGINX logs a request
// when it ends. A time of one-second resolution gets an offset within its
// second drawn from the line itself (uniform, deterministic), so that the
// arrivals of one second spread over it instead of coming at once.
func (nf *NGINXFormat) Parse(line []byte, r *Record) error {
	if !bytes.HasPrefix(line, nf.lits[0]) {
		return fmt.Errorf("expected %q at the start", nf.lits[0])
	}
	pos := len(nf.lits[0])
	var logged int64
	var coarse bool
	var have bool
	for i, v := range nf.vars {
		next := nf.lits[i+1]
		var val []byte
		if len(next) == 0 { // the last variable runs to the end
			val, pos = line[pos:], len(line)
		} else {
			k := bytes.Index(line[pos:], next)
			if k < 0 {
				return fmt.Errorf("truncated: no %q after field %d", next, i+1)
			}
			val, pos = line[pos:pos+k], pos+k+len(next)
		}
		var err error
		switch v {
		case nvMsec:
			var d time.Duration
			if d, err = seconds(val); err == nil && d >= 0 {
				logged, have, coarse = int64(d), true, false
			}
		case nvTimeISO:
			if !nf.hasMsec {
				logged, err = isoTime(val)
				have, coarse = err == nil, true
			}
		case nvTimeLocal:
			if !nf.hasMsec && !nf.hasISO {
				logged, err = clfTime(val)
				have, coarse = err == nil, true
			}
		case nvRequestTime:
			r.Total, err = seconds(val)
		case nvUpstreamTime:
			r.Service, err = seconds(lastTry(val))
		case nvRequest:
			r.Path, err = requestPath(val)
		case nvURI:
			r.Path = val
		case nvKey:
			r.Key = val
		case nvStatus:
			r.Status, err = integer(val)
		case nvUpstreamAddr:
			if s := lastTry(val); !(len(s) == 1 && s[0] == '-') {
				r.Server = s
			}
		}
		if err != nil {
			return err
		}
	}
	if !have {
		return fmt.Errorf("no time")
	}
	if pos != len(line) && len(nf.lits[len(nf.lits)-1]) > 0 && !bytes.HasSuffix(line, nf.lits[len(nf.lits)-1]) {
		return fmt.Errorf("trailing text %q", clip(line[pos:]))
	}
	if coarse {
		logged += int64(spread(line) * 1e9)
	}
	r.Start = logged
	if r.Total > 0 {
		r.Start -= int64(r.Total)
	}
	return nil
}

// spread is a number in [0, 1) fixed by the line's bytes (FNV-1a, then
// SplitMix64's finaliser).
func spread(line []byte) float64 {
	h := uint64(14695981039346656037)
	for _, c := range line {
		h ^= uint64(c)
		h *= 1099511628211
	}
	h += 0x9e3779b97f4a7c15
	h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9
	h = (h ^ (h >> 27)) * 0x94d049bb133111eb
	h ^= h >> 31
	return float64(h>>11) / (1 << 53)
}
