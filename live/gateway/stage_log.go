package gateway

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/edgelab/edgelab/live/wire"
	"github.com/edgelab/edgelab/plan"
)

// accessLog writes one JSON line per request with log/slog, through a
// buffer that Close flushes.
type accessLog struct {
	mu     sync.Mutex
	f      *os.File // nil: lines are discarded
	bw     *bufio.Writer
	closed bool
	logger *slog.Logger
}

// newAccessLog creates (truncates) path, or discards lines when path is "".
func newAccessLog(path string, instance int) (*accessLog, error) {
	l := &accessLog{}
	var w io.Writer = io.Discard
	if path != "" {
		f, err := os.Create(path)
		if err != nil {
			return nil, fmt.Errorf("access log: %w", err)
		}
		l.f = f
		l.bw = bufio.NewWriterSize(f, 64<<10)
		w = l
	}
	h := slog.NewJSONHandler(w, &slog.HandlerOptions{ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
		if len(groups) == 0 && a.Key == slog.LevelKey {
			return slog.Attr{} // every line is INFO
		}
		return a
	}})
	l.logger = slog.New(h).With(slog.String("gateway", "gateway-"+strconv.Itoa(instance)))
	return l, nil
}

// Write implements io.Writer for the handler (one call per line).
// Lines written after close are dropped.
func (l *accessLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return len(p), nil
	}
	return l.bw.Write(p)
}

// write logs one answered request. Its fields: time (when the answer
// was complete), msg "access", gateway, method, path, status, outcome
// (X-Edgelab-Outcome, else aborted when the handler gave up mid-answer,
// ok below 400, client_error below 500, error_5xx), server (X-Edgelab-Server, empty when no upstream answered),
// duration_ms (time in this instance, stages and upstream), client
// (X-Edgelab-Client, else the peer's IP), seq (X-Edgelab-Seq), cache
// (hit, miss or empty) and bytes (body bytes sent).
func (l *accessLog) write(r *http.Request, rec *statusRecorder, d time.Duration) {
	status := rec.status
	if status == 0 {
		status = http.StatusOK
	}
	h := rec.Header()
	outcome := h.Get(wire.HeaderOutcome)
	if outcome == "" {
		switch {
		case !rec.done:
			outcome = "aborted"
		case status < 400:
			outcome = plan.OK.String()
		case status < 500:
			outcome = "client_error"
		default:
			outcome = plan.Error5xx.String()
		}
	}
	client := r.Header.Get(wire.HeaderClient)
	if client == "" {
		client, _, _ = net.SplitHostPort(r.RemoteAddr)
	}
	l.logger.LogAttrs(r.Context(), slog.LevelInfo, "access",
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
		slog.Int("status", status),
		slog.String("outcome", outcome),
		slog.String("server", h.Get(wire.HeaderServer)),
		slog.Float64("duration_ms", float64(d)/1e6),
		slog.String("client", client),
		slog.String("seq", r.Header.Get(wire.HeaderSeq)),
		slog.String("cache", h.Get(wire.HeaderCache)),
		slog.Int64("bytes", rec.bytes),
	)
}

// close flushes the buffer and closes the file.
func (l *accessLog) close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed || l.f == nil {
		l.closed = true
		return nil
	}
	l.closed = true
	ferr := l.bw.Flush()
	cerr := l.f.Close()
	if err := errors.Join(ferr, cerr); err != nil {
		return fmt.Errorf("access log: %w", err)
	}
	return nil
}
