package traces

import (
	"bytes"
	"errors"
	"fmt"
	"time"
)

// The field parsers below allocate nothing: access logs are read at disk
// speed, one line at a time.

// seconds parses a decimal number of seconds ("0.012", "3") to a
// duration; "-" (no value) is -1.
func seconds(b []byte) (time.Duration, error) {
	return decimal(b, 1e9)
}

// millis parses a number of milliseconds ("20", "-1"); "-" and negative
// values are -1 (the phase was not reached).
func millis(b []byte) (time.Duration, error) {
	if len(b) > 0 && b[0] == '-' {
		if len(b) == 1 || allDigits(b[1:]) {
			return -1, nil
		}
		return 0, fmt.Errorf("bad milliseconds %q", b)
	}
	return decimal(b, 1e6)
}

// decimal parses a non-negative decimal times unit nanoseconds; "-" is -1.
func decimal(b []byte, unit int64) (time.Duration, error) {
	if len(b) == 1 && b[0] == '-' {
		return -1, nil
	}
	if len(b) == 0 || len(b) > 30 {
		return 0, fmt.Errorf("bad number %q", b)
	}
	var whole, frac, scale int64 = 0, 0, 1
	i := 0
	for ; i < len(b) && b[i] != '.'; i++ {
		c := b[i]
		if c < '0' || c > '9' || whole > 1e12 {
			return 0, fmt.Errorf("bad number %q", b)
		}
		whole = whole*10 + int64(c-'0')
	}
	if i < len(b) {
		i++
		if i == len(b) {
			return 0, fmt.Errorf("bad number %q", b)
		}
		for ; i < len(b); i++ {
			c := b[i]
			if c < '0' || c > '9' {
				return 0, fmt.Errorf("bad number %q", b)
			}
			if scale < 1e9 {
				frac = frac*10 + int64(c-'0')
				scale *= 10
			}
		}
	}
	ns := whole*unit + frac*unit/scale
	if ns < 0 || whole > (1<<62)/unit {
		return 0, fmt.Errorf("number out of range %q", b)
	}
	return time.Duration(ns), nil
}

// integer parses a non-negative decimal integer.
func integer(b []byte) (int, error) {
	if len(b) == 0 || len(b) > 9 || !allDigits(b) {
		return 0, fmt.Errorf("bad integer %q", b)
	}
	n := 0
	for _, c := range b {
		n = n*10 + int(c-'0')
	}
	return n, nil
}

func allDigits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return len(b) > 0
}

var months = [12]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}

// clfTime parses the common log format date, "07/Dec/2026:06:50:27" with
// optional fraction ".123" (HAProxy) and optional zone " +0100" (NGINX
// $time_local), to nanoseconds since the Unix epoch.
func clfTime(b []byte) (int64, error) {
	bad := func() (int64, error) { return 0, fmt.Errorf("bad date %q (want 02/Jan/2006:15:04:05)", b) }
	if len(b) < 20 || b[2] != '/' || b[6] != '/' || b[11] != ':' || b[14] != ':' || b[17] != ':' {
		return bad()
	}
	mon := -1
	for i, m := range months {
		if string(b[3:6]) == m {
			mon = i
		}
	}
	day, e1 := integer(b[0:2])
	year, e2 := integer(b[7:11])
	hh, e3 := integer(b[12:14])
	mm, e4 := integer(b[15:17])
	ss, e5 := integer(b[18:20])
	if mon < 0 || errors.Join(e1, e2, e3, e4, e5) != nil || !inRange(year, day, hh, mm, ss) {
		return bad()
	}
	rest := b[20:]
	frac, rest, err := fraction(rest)
	if err != nil {
		return bad()
	}
	off := 0
	if len(rest) > 0 {
		if len(rest) != 6 || rest[0] != ' ' || (rest[1] != '+' && rest[1] != '-') {
			return bad()
		}
		zh, e6 := integer(rest[2:4])
		zm, e7 := integer(rest[4:6])
		if e6 != nil || e7 != nil {
			return bad()
		}
		off = (zh*60 + zm) * 60
		if rest[1] == '-' {
			off = -off
		}
	}
	t := time.Date(year, time.Month(mon+1), day, hh, mm, ss, 0, time.UTC)
	return t.UnixNano() - int64(off)*1e9 + int64(frac), nil
}

// isoTime parses an RFC 3339 time, "2026-12-07T06:50:27.123456Z" or with
// a zone "+01:00", to nanoseconds since the Unix epoch.
func isoTime(b []byte) (int64, error) {
	bad := func() (int64, error) { return 0, fmt.Errorf("bad time %q (want RFC 3339)", b) }
	if len(b) < 20 || b[4] != '-' || b[7] != '-' || (b[10] != 'T' && b[10] != ' ') || b[13] != ':' || b[16] != ':' {
		return bad()
	}
	year, e1 := integer(b[0:4])
	mon, e2 := integer(b[5:7])
	day, e3 := integer(b[8:10])
	hh, e4 := integer(b[11:13])
	mm, e5 := integer(b[14:16])
	ss, e6 := integer(b[17:19])
	if errors.Join(e1, e2, e3, e4, e5, e6) != nil || mon < 1 || mon > 12 || !inRange(year, day, hh, mm, ss) {
		return bad()
	}
	rest := b[19:]
	frac, rest, err := fraction(rest)
	if err != nil {
		return bad()
	}
	off := 0
	switch {
	case len(rest) == 1 && rest[0] == 'Z':
	case len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':':
		zh, e7 := integer(rest[1:3])
		zm, e8 := integer(rest[4:6])
		if e7 != nil || e8 != nil {
			return bad()
		}
		off = (zh*60 + zm) * 60
		if rest[0] == '-' {
			off = -off
		}
	default:
		return bad()
	}
	t := time.Date(year, time.Month(mon), day, hh, mm, ss, 0, time.UTC)
	return t.UnixNano() - int64(off)*1e9 + int64(frac), nil
}

// fraction reads an optional ".123" of a second at the start of b, and
// returns it with what follows.
func fraction(b []byte) (time.Duration, []byte, error) {
	if len(b) == 0 || b[0] != '.' {
		return 0, b, nil
	}
	j := 1
	for j < len(b) && b[j] >= '0' && b[j] <= '9' {
		j++
	}
	f, err := decimal(b[:j], 1e9)
	return f, b[j:], err
}

// inRange checks a date's fields: years 1700–2200 (a time in nanoseconds
// since 1970 holds 1678–2262), days, hours, minutes and seconds (a leap
// second 60 allowed).
func inRange(year, day, hh, mm, ss int) bool {
	return year >= 1700 && year <= 2200 && day >= 1 && day <= 31 && hh <= 23 && mm <= 59 && ss <= 60
}

// lastTry returns the last value of an NGINX list of tries: values are
// separated by ", " (tries) and " : " (internal redirects).
func lastTry(b []byte) []byte {
	if i := bytes.LastIndex(b, []byte(", ")); i >= 0 {
		b = b[i+2:]
	}
	if i := bytes.LastIndex(b, []byte(" : ")); i >= 0 {
		b = b[i+3:]
	}
	return bytes.TrimSpace(b)
}

// requestPath returns the path of a request line ("GET /x?y HTTP/1.1"),
// an absolute URL's path included (ALB logs "GET https://h:443/x HTTP/1.1").
func requestPath(b []byte) ([]byte, error) {
	i := bytes.IndexByte(b, ' ')
	if i < 0 {
		return nil, fmt.Errorf("bad request line %q", b)
	}
	u := b[i+1:]
	if j := bytes.IndexByte(u, ' '); j >= 0 {
		u = u[:j]
	}
	if k := bytes.Index(u, []byte("://")); k >= 0 {
		u = u[k+3:]
		if s := bytes.IndexByte(u, '/'); s >= 0 {
			u = u[s:]
		} else {
			u = []byte("/")
		}
	}
	if len(u) == 0 {
		return nil, fmt.Errorf("bad request line %q", b)
	}
	return u, nil
}

// hostOf drops the port of "10.0.0.1:5678" or "[::1]:5678": a client's
// port changes with every connection, its address does not.
func hostOf(b []byte) []byte {
	if len(b) > 0 && b[0] == '[' {
		if i := bytes.IndexByte(b, ']'); i > 0 {
			return b[1:i]
		}
		return b
	}
	if i := bytes.LastIndexByte(b, ':'); i >= 0 && bytes.IndexByte(b[:i], ':') < 0 {
		return b[:i]
	}
	return b
}

// fields splits a line into space-separated fields, a double-quoted field
// (with backslash escapes) being one, into dst (reused), without copying.
// Quotes are dropped from quoted fields.
func fields(dst [][]byte, line []byte) ([][]byte, error) {
	dst = dst[:0]
	i := 0
	for i < len(line) {
		for i < len(line) && line[i] == ' ' {
			i++
		}
		if i == len(line) {
			break
		}
		if line[i] == '"' {
			j := i + 1
			for j < len(line) && line[j] != '"' {
				if line[j] == '\\' {
					j++
				}
				j++
			}
			if j >= len(line) {
				return dst, errors.New("unterminated quote")
			}
			dst = append(dst, line[i+1:j])
			i = j + 1
			continue
		}
		j := i
		for j < len(line) && line[j] != ' ' {
			j++
		}
		dst = append(dst, line[i:j])
		i = j
	}
	return dst, nil
}
