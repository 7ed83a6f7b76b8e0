// Package traces reads and writes access logs: NGINX (any log_format),
// HAProxy HTTP logs, AWS ALB access logs, Envoy's default format and a
// plain CSV. A Reader streams a log line by line without keeping it;
// a Replay turns it into arrivals in time order, bounded by a reorder
// window, for the simulator and the live attacker alike; a Writer writes
// requests in the NGINX, HAProxy or CSV format, so that a run can be
// replayed, fitted and read with the tools people already use.
//
// Reading allocates nothing per line: a Record's byte fields point into
// the Reader's buffer and are valid until the next call.
package traces

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// Record is one request of an access log.
type Record struct {
	// Start is when the request arrived, in nanoseconds since the Unix
	// epoch (UTC).
	Start int64
	// Path is the request path (query included), Key the client's address
	// or the key the format names, Server the upstream that answered; any
	// may be empty. They point into the reader's buffer.
	Path, Key, Server []byte
	// Status is the HTTP status (0 when the log has none).
	Status int
	// Service is the time the upstream took (NGINX $upstream_response_time
	// of the last try, HAProxy Tr, ALB target_processing_time, Envoy's
	// x-envoy-upstream-service-time, CSV service_ms); Total the request's
	// whole time at the balancer. Each is -1 when the log does not say.
	Service, Total time.Duration
}

// Parser reads one line of a format into a Record.
type Parser interface {
	// Parse fills r from line (without its newline). It returns an error
	// saying what is wrong with a malformed line; r's byte fields may
	// point into line.
	Parse(line []byte, r *Record) error
}

// Format names.
const (
	NGINX   = "nginx"
	HAProxy = "haproxy"
	ALB     = "alb"
	Envoy   = "envoy"
	CSV     = "csv"
)

// Formats lists the formats a log can be read in.
var Formats = []string{NGINX, HAProxy, ALB, Envoy, CSV}

// Options choose how a log is read.
type Options struct {
	// Format is one of Formats, or empty to detect it from the first line.
	Format string
	// LogFormat is an NGINX log_format string (variables as $name); empty
	// reads the format DefaultNGINXFormat. "combined" reads NGINX's
	// predefined combined format.
	LogFormat string
	// KeyVar names the NGINX variable that holds a request's key (default
	// remote_addr).
	KeyVar string
	// Strict makes a malformed line an error instead of a skipped line.
	Strict bool
}

// maxLine bounds a line: longer ones are malformed (skipped).
const maxLine = 64 << 10

// Reader reads a log's records in file order.
type Reader struct {
	name   string
	br     *bufio.Reader
	p      Parser
	strict bool
	line   int64
	// pending holds a first line read to detect the format.
	pending []byte
	first   bool
	// skipped counts malformed lines; firstBad says where the first was.
	skipped  int64
	firstBad error
	format   string
}

// NewReader returns a reader of the log r, named name in messages. It
// reads the first line to detect the format (or check it), so a log in
// no format it knows fails here.
func NewReader(r io.Reader, name string, opt Options) (*Reader, error) {
	rd := &Reader{name: name, br: bufio.NewReaderSize(r, maxLine), strict: opt.Strict}
	first, err := rd.readLine()
	if err == io.EOF && len(first) == 0 {
		return nil, fmt.Errorf("%s: empty log", name)
	}
	if err != nil && err != io.EOF {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	format := opt.Format
	if format == "" {
		if format = Detect(first); format == "" {
			return nil, fmt.Errorf("%s:1: no known log format (%s) reads this line: %q", name, strings.Join(Formats, ", "), clip(first))
		}
		if format == NGINX && opt.LogFormat == "" && defaultNGINX.Parse(first, new(Record)) != nil {
			opt.LogFormat = "combined"
		}
	}
	rd.format = format
	switch format {
	case NGINX:
		nf, err := CompileNGINX(opt.LogFormat, opt.KeyVar)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		rd.p = nf
	case HAProxy:
		rd.p = haproxyParser{}
	case ALB:
		rd.p = albParser{}
	case Envoy:
		rd.p = envoyParser{}
	case CSV:
		cp, err := newCSV(first)
		if err != nil {
			return nil, fmt.Errorf("%s:1: %w", name, err)
		}
		rd.p, rd.line = cp, 1
		return rd, nil // the header is not a record
	default:
		return nil, fmt.Errorf("%s: unknown log format %q (known: %s)", name, format, strings.Join(Formats, ", "))
	}
	if err := rd.p.Parse(first, new(Record)); err != nil {
		return nil, fmt.Errorf("%s:1: not a %s log line (%v): %q", name, format, err, clip(first))
	}
	rd.pending = append([]byte(nil), first...)
	rd.first = true
	return rd, nil
}

// Format is the log's format.
func (rd *Reader) Format() string { return rd.format }

// Line is the number of the line the last record came from.
func (rd *Reader) Line() int64 { return rd.line }

// Skipped returns how many malformed lines were skipped, and the first
// one's error (file:line: why).
func (rd *Reader) Skipped() (int64, error) { return rd.skipped, rd.firstBad }

// Next reads the next record into r: io.EOF at the end of the log. A
// malformed line (truncated, unparsable, longer than 64 KiB) is skipped
// and counted, or with Options.Strict returned as an error naming its
// line. Blank lines are skipped silently.
func (rd *Reader) Next(r *Record) error {
	for {
		var line []byte
		var err error
		if rd.first {
			line, rd.first = rd.pending, false
			rd.line++
		} else {
			line, err = rd.readLine()
			if err == errLong {
				rd.line++
				if e := rd.bad(fmt.Errorf("line longer than %d bytes", maxLine)); e != nil {
					return e
				}
				continue
			}
			if len(line) == 0 && err != nil {
				if err == io.EOF {
					return io.EOF
				}
				return fmt.Errorf("%s: %w", rd.name, err)
			}
			rd.line++
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		*r = Record{Service: -1, Total: -1}
		if perr := rd.p.Parse(line, r); perr != nil {
			if e := rd.bad(perr); e != nil {
				return e
			}
			continue
		}
		return nil
	}
}

// bad counts a malformed line: an error under Strict.
func (rd *Reader) bad(err error) error {
	err = fmt.Errorf("%s:%d: %w", rd.name, rd.line, err)
	if rd.strict {
		return err
	}
	if rd.skipped == 0 {
		rd.firstBad = err
	}
	rd.skipped++
	return nil
}

var errLong = errors.New("line too long")

// readLine returns the next line without its line ending; the slice is
// valid until the next read. A line longer than the buffer is consumed
// whole and reported as errLong.
func (rd *Reader) readLine() ([]byte, error) {
	line, err := rd.br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		for err == bufio.ErrBufferFull {
			_, err = rd.br.ReadSlice('\n')
		}
		return nil, errLong
	}
	line = bytes.TrimSuffix(line, []byte{'\n'})
	line = bytes.TrimSuffix(line, []byte{'\r'})
	return line, err
}

// Detect names the format whose parser reads line, trying CSV (a header),
// ALB, Envoy, HAProxy and NGINX (DefaultNGINXFormat, then combined) in
// that order; empty when none does.
func Detect(line []byte) string {
	if _, err := newCSV(line); err == nil {
		return CSV
	}
	var r Record
	for _, c := range []struct {
		name string
		p    Parser
	}{{ALB, albParser{}}, {Envoy, envoyParser{}}, {HAProxy, haproxyParser{}}, {NGINX, defaultNGINX}, {NGINX, combinedNGINX}} {
		if c.p.Parse(line, &r) == nil {
			return c.name
		}
	}
	return ""
}

// clip shortens a line for a message.
func clip(b []byte) string {
	if len(b) > 120 {
		return string(b[:120]) + "…"
	}
	return string(b)
}
