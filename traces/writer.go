package traces

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"time"
)

// Entry is one request to log.
type Entry struct {
	// Start is its arrival, in nanoseconds since the Unix epoch.
	Start int64
	// Total is its whole time; Service the answering upstream's time (-1:
	// none answered).
	Total, Service time.Duration
	// Demand is the work the request asked of the upstream, when known
	// (the simulator's demand; -1 otherwise): CSV's service_ms logs it
	// rather than Service, which includes the upstream's queueing.
	Demand time.Duration
	// Path is its path, Server the upstream that answered last ("" none).
	Path, Server string
	// Client is the client's identity, logged in NGINX and HAProxy logs
	// as the address 10.c₂.c₁.c₀ of its low 24 bits (what ip_hash and
	// per-address limits read); Key is the request's key, CSV's key
	// column.
	Client, Key uint32
	// Status is the HTTP status answered.
	Status int
	// Tries is how many upstream attempts it took (HAProxy's retries are
	// Tries-1).
	Tries int
}

// SimOrigin is the instant a simulated run's access log starts at,
// 2026-01-01T00:00:00Z, in nanoseconds since the Unix epoch: fixed, so
// that logs are byte-identical run after run.
const SimOrigin = int64(1767225600) * 1e9

// LogName is the file a run's access log of strategy goes to:
// access-<strategy>.log, or .csv for CSV. Characters other than letters,
// digits, '.', '_' and '-' become '-'.
func LogName(strategy, format string) string {
	b := []byte(strategy)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			b[i] = '-'
		}
	}
	ext := ".log"
	if format == CSV {
		ext = ".csv"
	}
	return "access-" + string(b) + ext
}

// WriteFormats lists the formats a Writer writes.
var WriteFormats = []string{NGINX, HAProxy, CSV}

// Writer writes entries as access log lines: NGINX in DefaultNGINXFormat,
// HAProxy's HTTP log format behind a syslog header (as halog reads it),
// or CSV with the header time,path,key,service_ms,status,total_ms,server.
// Times are rounded to the millisecond (CSV: the microsecond), an
// NGINX line's $msec to its arrival plus $request_time, so that reading
// the line back gives the arrival to the millisecond. Write allocates
// nothing. It is not safe for concurrent use.
type Writer struct {
	w      *bufio.Writer
	format string
	buf    []byte
}

// NewWriter returns a writer of format (one of WriteFormats) to w; a CSV
// writer writes its header first.
func NewWriter(w io.Writer, format string) (*Writer, error) {
	switch format {
	case NGINX, HAProxy, CSV:
	default:
		return nil, fmt.Errorf("cannot write access logs in %q (formats: nginx, haproxy, csv)", format)
	}
	lw := &Writer{w: bufio.NewWriterSize(w, 256<<10), format: format, buf: make([]byte, 0, 512)}
	if format == CSV {
		if _, err := lw.w.WriteString("time,path,key,service_ms,status,total_ms,server\n"); err != nil {
			return nil, err
		}
	}
	return lw, nil
}

// Write logs one entry.
func (lw *Writer) Write(e *Entry) error {
	b := lw.buf[:0]
	startMs := (e.Start + 5e5) / 1e6
	totalMs := max(0, (int64(e.Total)+5e5)/1e6)
	svcMs := int64(-1)
	if e.Service >= 0 {
		svcMs = (int64(e.Service) + 5e5) / 1e6
	}
	path := e.Path
	if path == "" {
		path = "/"
	}
	switch lw.format {
	case NGINX:
		end := (startMs + totalMs) * 1e6
		b = appendAddr(b, e.Client)
		b = append(b, " - - ["...)
		b = appendCLF(b, end, false)
		b = append(b, " +0000] \"GET "...)
		b = append(b, path...)
		b = append(b, " HTTP/1.1\" "...)
		b = strconv.AppendInt(b, int64(e.Status), 10)
		b = append(b, ` 0 "-" "edgelab" `...)
		b = appendFixed3(b, totalMs)
		b = append(b, " \""...)
		if svcMs >= 0 {
			b = appendFixed3(b, svcMs)
		} else {
			b = append(b, '-')
		}
		b = append(b, "\" \""...)
		if e.Server != "" {
			b = append(b, e.Server...)
		} else {
			b = append(b, '-')
		}
		b = append(b, "\" "...)
		b = appendFixed3(b, startMs+totalMs)
	case HAProxy:
		// The syslog header halog skips: "Mmm dd hh:mm:ss host tag[pid]: ".
		t := time.Unix(0, (startMs+totalMs)*1e6).UTC()
		b = append(b, months[t.Month()-1]...)
		b = append(b, ' ')
		b = appendPad(b, t.Day(), ' ')
		b = append(b, ' ')
		b = appendPad(b, t.Hour(), '0')
		b = append(b, ':')
		b = appendPad(b, t.Minute(), '0')
		b = append(b, ':')
		b = appendPad(b, t.Second(), '0')
		b = append(b, " edgelab haproxy[1]: "...)
		b = appendAddr(b, e.Client)
		b = append(b, ":40000 ["...)
		b = appendCLF(b, startMs*1e6, true)
		b = append(b, "] edgelab edgelab/"...)
		if e.Server != "" {
			b = append(b, e.Server...)
		} else {
			b = append(b, "<NOSRV>"...)
		}
		b = append(b, " 0/0/"...)
		if svcMs >= 0 {
			b = append(b, '0', '/')
			b = strconv.AppendInt(b, svcMs, 10)
		} else {
			b = append(b, "-1/-1"...)
		}
		b = append(b, '/')
		b = strconv.AppendInt(b, totalMs, 10)
		b = append(b, ' ')
		b = strconv.AppendInt(b, int64(e.Status), 10)
		b = append(b, " 0 - - ---- 1/1/0/0/"...)
		b = strconv.AppendInt(b, int64(max(0, e.Tries-1)), 10)
		b = append(b, ` 0/0 "GET `...)
		b = append(b, path...)
		b = append(b, ` HTTP/1.1"`...)
	case CSV:
		us := (e.Start + 500) / 1e3
		b = appendFixed(b, us, 6)
		b = append(b, ',')
		b = append(b, path...)
		b = append(b, ',')
		b = strconv.AppendUint(b, uint64(e.Key), 10)
		b = append(b, ',')
		if svc := e.Service; e.Demand >= 0 || svc >= 0 {
			if e.Demand >= 0 {
				svc = e.Demand
			}
			b = appendFixed(b, (int64(svc)+500)/1e3, 3)
		}
		b = append(b, ',')
		b = strconv.AppendInt(b, int64(e.Status), 10)
		b = append(b, ',')
		b = appendFixed(b, (int64(e.Total)+500)/1e3, 3)
		b = append(b, ',')
		b = append(b, e.Server...)
	}
	b = append(b, '\n')
	lw.buf = b
	_, err := lw.w.Write(b)
	return err
}

// Flush writes out what the writer buffers.
func (lw *Writer) Flush() error { return lw.w.Flush() }

// appendAddr writes a client's low 24 bits as the address 10.a.b.c.
func appendAddr(b []byte, key uint32) []byte {
	b = append(b, "10."...)
	b = strconv.AppendUint(b, uint64(key>>16&0xff), 10)
	b = append(b, '.')
	b = strconv.AppendUint(b, uint64(key>>8&0xff), 10)
	b = append(b, '.')
	return strconv.AppendUint(b, uint64(key&0xff), 10)
}

// appendCLF writes ns (since the epoch, UTC) as 07/Dec/2026:06:50:27,
// with milliseconds when ms.
func appendCLF(b []byte, ns int64, ms bool) []byte {
	t := time.Unix(0, ns).UTC()
	b = appendPad(b, t.Day(), '0')
	b = append(b, '/')
	b = append(b, months[t.Month()-1]...)
	b = append(b, '/')
	b = strconv.AppendInt(b, int64(t.Year()), 10)
	b = append(b, ':')
	b = appendPad(b, t.Hour(), '0')
	b = append(b, ':')
	b = appendPad(b, t.Minute(), '0')
	b = append(b, ':')
	b = appendPad(b, t.Second(), '0')
	if ms {
		b = append(b, '.')
		m := t.Nanosecond() / 1e6
		b = append(b, byte('0'+m/100), byte('0'+m/10%10), byte('0'+m%10))
	}
	return b
}

// appendPad writes a two-digit number, padded on the left with pad.
func appendPad(b []byte, n int, pad byte) []byte {
	if n < 10 {
		return append(b, pad, byte('0'+n))
	}
	return strconv.AppendInt(b, int64(n), 10)
}

// appendFixed3 writes ms milliseconds as seconds with three decimals.
func appendFixed3(b []byte, ms int64) []byte { return appendFixed(b, ms, 3) }

// appendFixed writes v/10^dec with dec decimals.
func appendFixed(b []byte, v int64, dec int) []byte {
	if v < 0 {
		b = append(b, '-')
		v = -v
	}
	p := int64(1)
	for range dec {
		p *= 10
	}
	b = strconv.AppendInt(b, v/p, 10)
	b = append(b, '.')
	f := v % p
	for d := p / 10; d > 0; d /= 10 {
		b = append(b, byte('0'+f/d%10))
	}
	return b
}
