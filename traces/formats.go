package traces

import (
	"bytes"
	"errors"
	"fmt"
	"time"
)

// haproxyParser reads HAProxy's HTTP log format (option httplog,
// https://docs.haproxy.org/2.6/configuration.html#8.2.3), with or without
// a syslog header before it:
//
//	ci:cp [tr] ft b/s TR/Tw/Tc/Tr/Ta ST B CC CS tsc ac/fc/bc/sc/rc sq/bq {hrl} {hsl} "r"
//
// The arrival is the request date %tr (milliseconds); Service is Tr, the
// server's time to its response headers; Total is Ta. A timer of -1 (the
// phase was not reached) leaves the field unknown.
type haproxyParser struct{}

func (haproxyParser) Parse(line []byte, r *Record) error {
	// The date: the first "[dd/Mon/yyyy:hh:mm:ss.mmm]".
	at := -1
	for i := bytes.IndexByte(line, '['); i >= 0 && i+26 <= len(line); {
		if line[i+3] == '/' && line[i+7] == '/' && line[i+12] == ':' {
			at = i
			break
		}
		j := bytes.IndexByte(line[i+1:], '[')
		if j < 0 {
			break
		}
		i += 1 + j
	}
	if at < 1 || line[at-1] != ' ' {
		return errors.New("no accept date [dd/Mon/yyyy:hh:mm:ss.mmm]")
	}
	end := bytes.IndexByte(line[at:], ']')
	if end < 0 {
		return errors.New("unterminated date")
	}
	start, err := clfTime(line[at+1 : at+end])
	if err != nil {
		return err
	}
	r.Start = start
	// The client before the date.
	ci := line[:at-1]
	if k := bytes.LastIndexByte(ci, ' '); k >= 0 {
		ci = ci[k+1:]
	}
	r.Key = hostOf(ci)
	var buf [16][]byte
	f, err := fields(buf[:0], line[at+end+1:])
	if err != nil {
		return err
	}
	// ft b/s timers ST B CC CS tsc conns queues ... "request"
	if len(f) < 11 {
		return fmt.Errorf("truncated: %d fields after the date, want at least 11", len(f))
	}
	if s := bytes.IndexByte(f[1], '/'); s >= 0 {
		if srv := f[1][s+1:]; string(srv) != "<NOSRV>" {
			r.Server = f[1]
		}
	}
	var t [5]time.Duration
	tm := f[2]
	for i := range t {
		k := bytes.IndexByte(tm, '/')
		v := tm
		if i < 4 {
			if k < 0 {
				return fmt.Errorf("bad timers %q (want TR/Tw/Tc/Tr/Ta)", f[2])
			}
			v, tm = tm[:k], tm[k+1:]
		}
		if len(v) > 0 && v[0] == '+' {
			v = v[1:]
		}
		if t[i], err = millis(v); err != nil {
			return fmt.Errorf("bad timers %q: %v", f[2], err)
		}
	}
	r.Service, r.Total = t[3], t[4]
	if r.Status, err = integer(f[3]); err != nil {
		return fmt.Errorf("status: %v", err)
	}
	// The request line is the last field (quoted in the log).
	if last := f[len(f)-1]; bytes.IndexByte(last, ' ') > 0 {
		r.Path, _ = requestPath(last)
	}
	return nil
}

// albParser reads AWS Application Load Balancer access logs
// (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-access-logs.html):
// space-separated fields, some quoted, new fields appended at the end.
// The arrival is request_creation_time (field 22); Service is
// target_processing_time, Total the three processing times together, each
// -1 when the request never reached a target.
type albParser struct{}

func (albParser) Parse(line []byte, r *Record) error {
	var buf [40][]byte
	f, err := fields(buf[:0], line)
	if err != nil {
		return err
	}
	if len(f) < 22 {
		return fmt.Errorf("truncated: %d fields, want at least 22", len(f))
	}
	switch string(f[0]) {
	case "http", "https", "h2", "grpcs", "ws", "wss":
	default:
		return fmt.Errorf("type %q is none of http, https, h2, grpcs, ws, wss", f[0])
	}
	if r.Start, err = isoTime(f[21]); err != nil {
		return fmt.Errorf("request_creation_time: %v", err)
	}
	r.Key = hostOf(f[3])
	if string(f[4]) != "-" {
		r.Server = f[4]
	}
	var p [3]time.Duration
	for i := range p {
		v := f[5+i]
		if string(v) == "-1" {
			p[i] = -1
			continue
		}
		if p[i], err = seconds(v); err != nil {
			return fmt.Errorf("processing time: %v", err)
		}
	}
	r.Service = p[1]
	if p[0] >= 0 && p[1] >= 0 && p[2] >= 0 {
		r.Total = p[0] + p[1] + p[2]
	}
	if r.Status, err = integer(f[8]); err != nil && string(f[8]) != "-" {
		return fmt.Errorf("elb_status_code: %v", err)
	}
	r.Path, _ = requestPath(f[12])
	return nil
}

// envoyParser reads Envoy's default access log format
// (https://www.envoyproxy.io/docs/envoy/latest/configuration/observability/access_log/usage#default-format-string):
//
//	[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS%
//	%BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%"
//	"%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%"
//
// The arrival is START_TIME; Total is DURATION and Service the upstream
// service time (ms); the key is X-Forwarded-For's first address.
type envoyParser struct{}

func (envoyParser) Parse(line []byte, r *Record) error {
	if len(line) < 2 || line[0] != '[' {
		return errors.New("no [START_TIME]")
	}
	end := bytes.IndexByte(line, ']')
	if end < 0 {
		return errors.New("unterminated [START_TIME]")
	}
	var err error
	if r.Start, err = isoTime(line[1:end]); err != nil {
		return err
	}
	var buf [16][]byte
	f, err := fields(buf[:0], line[end+1:])
	if err != nil {
		return err
	}
	if len(f) < 12 {
		return fmt.Errorf("truncated: %d fields after the time, want 12", len(f))
	}
	if r.Path, err = requestPath(f[0]); err != nil {
		return err
	}
	if r.Status, err = integer(f[1]); err != nil {
		return fmt.Errorf("response code: %v", err)
	}
	if r.Total, err = millis(f[5]); err != nil {
		return fmt.Errorf("duration: %v", err)
	}
	if r.Service, err = millis(f[6]); err != nil {
		return fmt.Errorf("upstream service time: %v", err)
	}
	if xff := f[7]; string(xff) != "-" {
		if k := bytes.IndexByte(xff, ','); k >= 0 {
			xff = xff[:k]
		}
		r.Key = bytes.TrimSpace(xff)
	}
	if string(f[11]) != "-" {
		r.Server = f[11]
	}
	return nil
}

// csvParser reads edgelab's plain CSV: a header naming the columns time
// (seconds, decimals allowed, any origin; required), path, key and
// service_ms, and optionally status, total_ms and server (which edgelab
// writes), in any order; other columns are ignored. Fields are not
// quoted.
type csvParser struct {
	time, path, key, service, status, total, server, n int
}

func newCSV(header []byte) (*csvParser, error) {
	c := &csvParser{time: -1, path: -1, key: -1, service: -1, status: -1, total: -1, server: -1}
	cols := bytes.Split(bytes.TrimSpace(header), []byte{','})
	for i, col := range cols {
		switch string(bytes.TrimSpace(col)) {
		case "time":
			c.time = i
		case "path":
			c.path = i
		case "key":
			c.key = i
		case "service_ms":
			c.service = i
		case "status":
			c.status = i
		case "total_ms":
			c.total = i
		case "server":
			c.server = i
		}
	}
	c.n = len(cols)
	if c.time < 0 {
		return nil, errors.New("a CSV log needs a header naming its columns, with a time column (time,path,key,service_ms)")
	}
	return c, nil
}

func (c *csvParser) Parse(line []byte, r *Record) error {
	col := 0
	for len(line) > 0 || col == 0 {
		v := line
		if k := bytes.IndexByte(line, ','); k >= 0 {
			v, line = line[:k], line[k+1:]
		} else {
			line = nil
		}
		v = bytes.TrimSpace(v)
		switch col {
		case c.time:
			neg := len(v) > 1 && v[0] == '-'
			if neg {
				v = v[1:]
			}
			d, err := seconds(v)
			if err != nil || d < 0 {
				return fmt.Errorf("time: bad seconds %q", v)
			}
			r.Start = int64(d)
			if neg {
				r.Start = -r.Start
			}
		case c.path:
			r.Path = v
		case c.key:
			r.Key = v
		case c.service, c.total:
			if len(v) > 0 {
				d, err := decimal(v, 1e6)
				if err != nil && col == c.service {
					return fmt.Errorf("service_ms: %v", err)
				}
				if err != nil {
					return fmt.Errorf("total_ms: %v", err)
				}
				if col == c.service {
					r.Service = d
				} else {
					r.Total = d
				}
			}
		case c.status:
			if len(v) > 0 {
				n, err := integer(v)
				if err != nil {
					return fmt.Errorf("status: %v", err)
				}
				r.Status = n
			}
		case c.server:
			r.Server = v
		}
		col++
		if line == nil {
			break
		}
	}
	if col <= c.time {
		return fmt.Errorf("truncated: %d columns, the header names %d", col, c.n)
	}
	return nil
}
